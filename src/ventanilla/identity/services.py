import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ventanilla.core import audit
from ventanilla.core.actor import Actor

from .models import ApiToken

TOKEN_PREFIX = "vnt_"  # noqa: S105 (a public prefix, not a secret)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_operator(*, username: str, email: str, password: str, actor: Actor):
    user = get_user_model().objects.create_superuser(username=username, email=email, password=password)
    audit.record(
        actor=actor, action="identity.operator_created", object_type="user", object_id=user.public_id
    )
    return user


@transaction.atomic
def create_user(
    *,
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    is_staff: bool = False,
    actor: Actor,
):
    user = get_user_model().objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
    audit.record(actor=actor, action="identity.user_created", object_type="user", object_id=user.public_id)
    return user


@transaction.atomic
def issue_api_token(*, user, name: str, actor: Actor) -> str:
    """Returns the token once; only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:8], token_hash=_hash(raw))
    audit.record(
        actor=actor,
        action="identity.api_token_issued",
        object_type="api_token",
        object_id=token.id,
        data={"user": str(user.public_id), "name": name},
    )
    return raw


def user_for_api_token(raw: str):
    """The active user a bearer token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(id=token.id).update(last_used_at=now)
    return token.user
