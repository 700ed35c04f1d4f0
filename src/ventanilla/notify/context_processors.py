import functools

from . import selectors


def unread_messages(request):
    """`unread_messages`: how many messages in the signed-in person's account are unread, counted only when a
    page shows it (the header and the account page do)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_messages": functools.cache(lambda: selectors.unread_count(f"user:{user.public_id}"))}
