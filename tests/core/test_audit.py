import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ventanilla.core import audit
from ventanilla.core.actor import Actor
from ventanilla.core.models import AuditEntry

pytestmark = pytest.mark.django_db

OFFICIAL = Actor(id="user:42", label="ana.official", on_behalf_of="citizen:8-123-456", channel="office")


def write_entries(n=5):
    """n lines, sealed into the chain as the workers' periodic task does."""
    entries = [
        audit.record(
            actor=OFFICIAL,
            action="test.done",
            object_type="thing",
            object_id=str(i),
            data={"n": i, "amount": "12.50", "name": "Añasco"},
        )
        for i in range(n)
    ]
    assert audit.seal() == n
    return entries


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{table}", connection.ops.quote_name(AuditEntry._meta.db_table)), params)


def test_entries_record_who_for_whom_and_channel_and_the_log_verifies():
    write_entries()
    first = AuditEntry.objects.get(position=1)
    assert (first.actor_label, first.on_behalf_of, first.channel) == (
        "ana.official",
        "citizen:8-123-456",
        "office",
    )
    assert audit.verify() == (5, [])


def test_an_edited_row_is_reported():
    write_entries()
    raw("UPDATE {table} SET data = %s WHERE position = 3", ['{"n": 99}'])
    checked, problems = audit.verify()
    assert checked == 5
    assert [(p.position, "edited" in p.message) for p in problems] == [(3, True)]


def test_a_changed_actor_is_reported():
    write_entries()
    raw("UPDATE {table} SET actor_label = 'someone.else' WHERE position = 2")
    assert [p.position for p in audit.verify()[1]] == [2]


def test_a_deleted_row_in_the_middle_is_reported():
    write_entries()
    raw("DELETE FROM {table} WHERE position = 2")
    problems = audit.verify()[1]
    assert any(p.position == 2 and "missing" in p.message for p in problems)


def test_deleting_the_newest_rows_is_reported():
    write_entries()
    raw("DELETE FROM {table} WHERE position >= 4")
    problems = audit.verify()[1]
    assert problems and "deleted" in problems[-1].message


def test_the_orm_refuses_to_edit_or_delete():
    entry = write_entries(1)[0]
    entry.action = "forged"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_the_command_fails_loudly_on_tampering(capsys):
    write_entries()
    call_command("audit", "verify")
    assert "5 entries verified" in capsys.readouterr().out
    raw("UPDATE {table} SET object_id = 'x' WHERE position = 1")
    with pytest.raises(CommandError, match="tampered"):
        call_command("audit", "verify")


def test_lines_wait_unsealed_without_a_lock_and_are_chained_in_the_order_written():
    entries = write_entries(3)
    later = audit.record(actor=OFFICIAL, action="test.later", object_type="thing", object_id="9")
    assert later.position is None and later.hash == ""
    assert audit.verify() == (3, []), "an unsealed line is not a problem while it is fresh"
    assert audit.seal() == 1
    later = AuditEntry.objects.get(seq=later.seq)
    assert later.position == 4 and later.prev_hash == AuditEntry.objects.get(seq=entries[-1].seq).hash
    assert audit.verify() == (4, [])


def test_lines_left_unsealed_for_long_are_reported():
    from datetime import timedelta

    from django.utils import timezone

    audit.record(actor=OFFICIAL, action="test.done", object_type="thing", object_id="1")
    problems = audit.verify(now=timezone.now() + timedelta(minutes=11))[1]
    assert [problem.message for problem in problems] == ["1 entries are still unsealed: is a worker running?"]
