"""Idempotency-Key handling for API writes: the same key with the same body replays the first answer; the same
key with a different body is refused; keys are kept for a day (see purge_idempotency_records)."""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import IdempotencyRecord

KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 200


class IdempotencyConflict(Exception):
    def __init__(self):
        super().__init__(
            _(
                "This Idempotency-Key was already used for a different request. Send a new key for a new "
                "request, or the same body to get the first answer again."
            )
        )


class InvalidIdempotencyKey(ValueError):
    def __init__(self):
        super().__init__(
            _("The Idempotency-Key header must be 1 to %(n)s visible characters.") % {"n": MAX_KEY_LENGTH}
        )


def body_hash(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _stored(owner: str, scope: str, key: str, digest: str) -> tuple[int, dict] | None:
    record = (
        IdempotencyRecord.objects.filter(
            owner=owner, scope=scope, key=key, created_at__gte=timezone.now() - KEEP_FOR
        )
        .only("request_hash", "status", "response")
        .first()
    )
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyConflict()
    return record.status, record.response


def once(
    *, owner: str, scope: str, key: str | None, body, produce: Callable[[], tuple[int, dict]]
) -> tuple[int, dict, bool]:
    """Run `produce` (a write returning status and JSON body) once per key. Returns (status, body, replayed).
    Without a key the write simply runs. Only successful answers are remembered: a refused request may be
    corrected and sent again with the same key."""
    if key is None:
        status, response = produce()
        return status, response, False
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable() or key.strip() != key:
        raise InvalidIdempotencyKey()
    digest = body_hash(body)
    stored = _stored(owner, scope, key, digest)
    if stored is not None:
        return *stored, True
    try:
        with transaction.atomic():
            status, response = produce()
            if status < 400:
                IdempotencyRecord.objects.create(
                    owner=owner, scope=scope, key=key, request_hash=digest, status=status, response=response
                )
    except IntegrityError:
        # A concurrent request with the same key committed first (its insert made ours wait, then fail).
        stored = _stored(owner, scope, key, digest)
        if stored is None:
            raise
        return *stored, True
    return status, response, False


def respond(*, owner: str, scope: str, key: str | None, body, status: int, produce: Callable[[], dict]):
    """An API write answered once per Idempotency-Key: `produce` makes the JSON body of a `status` answer; a
    replayed answer carries the header Idempotent-Replayed: true."""
    answered_status, answer, replayed = once(
        owner=owner, scope=scope, key=key, body=body, produce=lambda: (status, produce())
    )
    return answered(answer, status=answered_status, replayed=replayed)


def answered(body: dict, *, status: int, replayed: bool):
    """The JSON answer of a write made once per key; a replay says so in the header Idempotent-Replayed."""
    from django.http import JsonResponse

    response = JsonResponse(body, status=status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def form_key(token: str, body) -> str:
    """The idempotency key of a page's form: its hidden token and what it asks. The same form sent again is one
    write; the form changed (the back button, other choices) is a new one."""
    return f"{token[:64]}:{body_hash(body)[:16]}"


def purge_expired(*, now=None) -> int:
    deleted, _counts = IdempotencyRecord.objects.filter(
        created_at__lt=(now or timezone.now()) - KEEP_FOR
    ).delete()
    return deleted
