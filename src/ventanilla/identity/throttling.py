"""Throttling and lockout for sign-in and second-factor attempts.

Failures are counted per key in a sliding window: a key is a hash of what was tried (an account identifier,
whether or not such an account exists, so lockout reveals nothing) or of the client's address. A key with
MAX_FAILURES failures inside WINDOW is locked until the oldest of them leaves the window.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import FailedAttempt

WINDOW = timedelta(minutes=15)


def max_failures(kind: str) -> int:
    """Per account (or code) 5 failures, per client address 50 (an office's shared connection)."""
    return settings.VENTANILLA_THROTTLE.get(kind, 5)


def key(kind: str, value: str) -> str:
    return (
        f"{kind}:" + hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()[: 60 - len(kind)]
    )


def _kind(throttle_key: str) -> str:
    return throttle_key.split(":", 1)[0]


def locked_for(*keys: str) -> int:
    """Seconds until every key may be tried again (0: none is locked)."""
    now = timezone.now()
    wait = 0
    for throttle_key in keys:
        limit = max_failures(_kind(throttle_key))
        recent = list(
            FailedAttempt.objects.filter(key=throttle_key, at__gt=now - WINDOW)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            wait = max(wait, int((recent[-1] + WINDOW - now).total_seconds()) + 1)
    return wait


@transaction.atomic
def record_failure(*keys: str) -> None:
    FailedAttempt.objects.bulk_create([FailedAttempt(key=throttle_key) for throttle_key in keys])
    FailedAttempt.objects.filter(at__lt=timezone.now() - WINDOW).delete()


def clear(*keys: str) -> None:
    FailedAttempt.objects.filter(key__in=keys).delete()
