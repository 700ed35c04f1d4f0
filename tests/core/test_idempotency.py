from datetime import timedelta

import pytest
from django.utils import timezone

from ventanilla.core import idempotency
from ventanilla.core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def counting_producer():
    calls = []

    def produce():
        calls.append(1)
        return 201, {"n": len(calls)}

    return produce, calls


def test_the_same_key_and_body_replays_the_first_answer_without_doing_it_again():
    produce, calls = counting_producer()
    first = idempotency.once(owner="user:a", scope="test", key="k1", body={"x": 1}, produce=produce)
    again = idempotency.once(owner="user:a", scope="test", key="k1", body={"x": 1}, produce=produce)
    assert first == (201, {"n": 1}, False)
    assert again == (201, {"n": 1}, True)
    assert len(calls) == 1


def test_the_same_key_with_another_body_is_refused():
    produce, _calls = counting_producer()
    idempotency.once(owner="user:a", scope="test", key="k1", body={"x": 1}, produce=produce)
    with pytest.raises(idempotency.IdempotencyConflict):
        idempotency.once(owner="user:a", scope="test", key="k1", body={"x": 2}, produce=produce)


def test_keys_belong_to_their_owner_and_scope():
    produce, calls = counting_producer()
    idempotency.once(owner="user:a", scope="test", key="k1", body={}, produce=produce)
    idempotency.once(owner="user:b", scope="test", key="k1", body={}, produce=produce)
    idempotency.once(owner="user:a", scope="other", key="k1", body={}, produce=produce)
    assert len(calls) == 3


def test_a_refused_request_is_not_remembered_so_it_can_be_corrected():
    answers = iter([(422, {"detail": "no"}), (201, {"ok": True})])
    refused = idempotency.once(owner="user:a", scope="test", key="k", body={}, produce=lambda: next(answers))
    accepted = idempotency.once(owner="user:a", scope="test", key="k", body={}, produce=lambda: next(answers))
    assert refused[0] == 422 and accepted == (201, {"ok": True}, False)


@pytest.mark.parametrize("key", ["", " padded ", "x" * 201, "line\nbreak"])
def test_malformed_keys_are_refused(key):
    with pytest.raises(idempotency.InvalidIdempotencyKey):
        idempotency.once(owner="user:a", scope="test", key=key, body={}, produce=lambda: (201, {}))


def test_answers_are_forgotten_after_a_day():
    produce, calls = counting_producer()
    idempotency.once(owner="user:a", scope="test", key="k", body={}, produce=produce)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency.purge_expired() == 1
    idempotency.once(owner="user:a", scope="test", key="k", body={}, produce=produce)
    assert len(calls) == 2
