from django.contrib.auth import get_user_model


def user_by_username(username: str):
    return get_user_model().objects.filter(username=username).first()


def actor_for(user, *, channel: str = "web", on_behalf_of: str = ""):
    """The audit identity of a signed-in user."""
    from ventanilla.core.actor import Actor

    if user is None or not user.is_authenticated:
        return Actor.anonymous(channel=channel)
    return Actor(
        id=f"user:{user.public_id}", label=user.get_username(), channel=channel, on_behalf_of=on_behalf_of
    )
