"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a browser session ends, each service that
received tokens in it is told with a signed logout token, in the background, retried with backoff while the
service does not answer."""

import logging
import secrets
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlencode

from django.utils import timezone
from django_tasks import task

from ..models import RelyingParty, User
from . import keys
from .claims import subject
from .server import issuer

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6  # over about a minute: 2, 4, 8, 16, 32 seconds apart
LOGOUT_TOKEN_LIFETIME = 120  # seconds
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_token(service: RelyingParty, user: User, sid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "aud": service.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "sub": subject(user, service),
        "sid": sid,
    }
    return keys.signer().sign(claims, typ="logout+jwt")


def _post(uri: str, token: str) -> None:
    request = urllib.request.Request(  # noqa: S310 (an https address validated at registration)
        uri,
        data=urlencode({"logout_token": token}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read(1000)


@task()
def deliver_backchannel_logout(*, service_id: str, sid: str, user_id: str, attempt: int = 1) -> str:
    service = (
        RelyingParty.objects.filter(id=service_id, active=True).exclude(backchannel_logout_uri="").first()
    )
    user = User.objects.filter(public_id=user_id).first()
    if service is None or user is None:
        return "skipped"
    try:
        _post(service.backchannel_logout_uri, logout_token(service, user, sid))
    except (OSError, urllib.error.HTTPError) as error:
        if attempt >= MAX_ATTEMPTS:
            logger.warning("Back-channel logout to %s failed for good: %r", service.client_id, error)
            return "failed"
        deliver_backchannel_logout.using(run_after=timezone.now() + timedelta(seconds=2**attempt)).enqueue(
            service_id=service_id, sid=sid, user_id=user_id, attempt=attempt + 1
        )
        return "retrying"
    return "delivered"
