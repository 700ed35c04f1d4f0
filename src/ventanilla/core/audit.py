"""The append-only, hash-chained audit log."""

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .actor import Actor
from .models import AuditChainHead, AuditEntry

GENESIS_HASH = "0" * 64


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _entry_hash(entry: AuditEntry) -> str:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "on_behalf_of": entry.on_behalf_of,
        "channel": entry.channel,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def record(
    *, actor: Actor, action: str, object_type: str, object_id: str, data: dict | None = None
) -> AuditEntry:
    """Append one entry. Runs inside the caller's transaction, so the entry exists exactly when the change does."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        entry = AuditEntry(
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor_id=actor.id,
            actor_label=actor.label,
            on_behalf_of=actor.on_behalf_of,
            channel=actor.channel,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            # Round-trip through JSON so the stored value (and so the hash) is what the database gives back.
            data=json.loads(_canonical(data or {})),
            prev_hash=head.last_hash,
        )
        entry.hash = _entry_hash(entry)
        entry.save(force_insert=True)
        head.last_seq, head.last_hash = entry.seq, entry.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return entry


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


def verify(*, batch_size: int = 5000) -> tuple[int, list[Problem]]:
    """Walk the whole chain. Returns how many entries were checked and every break found."""
    problems: list[Problem] = []
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        checked += 1
        if entry.seq != expected_seq:
            problems.append(
                Problem(expected_seq, f"entries {expected_seq}–{entry.seq - 1} are missing (deleted)")
            )
        if entry.prev_hash != prev_hash:
            problems.append(Problem(entry.seq, "does not follow the previous entry (chain broken)"))
        if _entry_hash(entry) != entry.hash:
            problems.append(Problem(entry.seq, "content does not match its hash (edited)"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    if last_seq != expected_seq - 1 or last_hash != prev_hash:
        problems.append(
            Problem(expected_seq, f"the log ends before its recorded last entry #{last_seq} (deleted)")
        )
    return checked, problems


def history(*, object_type: str, object_id: str):
    return AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("seq")
