"""The append-only, hash-chained audit log.

`record` writes a line in the caller's transaction, so the line exists exactly when the change does, and takes no
lock: transactions that each record something commit side by side (a single chain tip locked until commit would
let only one commit at a time, some 300 a second on a disk that syncs in 3 ms). `seal` (a periodic task, every
minute) then chains the committed lines in the order they were written: each sealed line gets its position and a
hash covering the previous line's hash. Tampering with a sealed line is detected by `verify`; the window for
undetected tampering is the minute before a line is sealed."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .actor import Actor
from .models import AuditChainHead, AuditEntry

GENESIS_HASH = "0" * 64
SEAL_BATCH = 1000
SEALED_WITHIN = timedelta(minutes=10)  # a line still unsealed after this means no worker is sealing


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _entry_hash(entry: AuditEntry) -> str:
    body = {
        "seq": entry.position,
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
    """Append one line, in the caller's transaction."""
    return AuditEntry.objects.create(
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
    )


def seal(*, batch_size: int = SEAL_BATCH) -> int:
    """Chain every committed, unsealed line, oldest first. Returns how many were sealed. A line committed late
    by a long transaction is simply sealed in a later run, after lines written before it."""
    sealed = 0
    while True:
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
            pending = list(AuditEntry.objects.filter(position__isnull=True).order_by("seq")[:batch_size])
            for entry in pending:
                entry.position, entry.prev_hash = head.last_seq + 1, head.last_hash
                entry.hash = _entry_hash(entry)
                AuditEntry.objects.filter(seq=entry.seq).update(
                    position=entry.position, prev_hash=entry.prev_hash, hash=entry.hash
                )
                head.last_seq, head.last_hash = entry.position, entry.hash
            head.save(update_fields=["last_seq", "last_hash"])
        sealed += len(pending)
        if len(pending) < batch_size:
            return sealed


@dataclass(frozen=True)
class Problem:
    position: int  # the entry's place in the chain
    message: str


def verify(*, batch_size: int = 5000, now=None) -> tuple[int, list[Problem]]:
    """Walk the whole sealed chain. Returns how many entries were checked and every break found; lines left
    unsealed for long are reported too (no worker is sealing: they are not yet protected)."""
    problems: list[Problem] = []
    expected, prev_hash, checked = 1, GENESIS_HASH, 0
    sealed = AuditEntry.objects.filter(position__isnull=False).order_by("position")
    for entry in sealed.iterator(chunk_size=batch_size):
        checked += 1
        if entry.position != expected:
            problems.append(
                Problem(expected, f"entries {expected}–{entry.position - 1} are missing (deleted)")
            )
        if entry.prev_hash != prev_hash:
            problems.append(Problem(entry.position, "does not follow the previous entry (chain broken)"))
        if _entry_hash(entry) != entry.hash:
            problems.append(Problem(entry.position, "content does not match its hash (edited)"))
        expected, prev_hash = entry.position + 1, entry.hash
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    if last_seq != expected - 1 or last_hash != prev_hash:
        problems.append(
            Problem(expected, f"the log ends before its recorded last entry #{last_seq} (deleted)")
        )
    stale = AuditEntry.objects.filter(
        position__isnull=True, at__lt=(now or timezone.now()) - SEALED_WITHIN
    ).count()
    if stale:
        problems.append(Problem(expected, f"{stale} entries are still unsealed: is a worker running?"))
    return checked, problems


def history(*, object_type: str, object_id: str):
    return AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("seq")
