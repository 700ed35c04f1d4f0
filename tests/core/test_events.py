import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ventanilla.core import events
from ventanilla.core.models import Event, EventDelivery

pytestmark = pytest.mark.django_db(transaction=True)

received = []
failures = {"left": 0}


@events.subscriber("test.happened")
def remember(event):
    if failures["left"]:
        failures["left"] -= 1
        raise RuntimeError("temporary failure")
    received.append(event.payload["n"])


@pytest.fixture(autouse=True)
def reset():
    received.clear()
    failures["left"] = 0


def run_worker():
    call_command("worker", batch=True, verbosity=0)


def test_an_event_reaches_its_subscriber_once_through_the_worker():
    events.emit("test.happened", subject="citizen:1", payload={"n": 1})
    assert received == []  # handed over in the background, not in the request
    run_worker()
    run_worker()
    assert received == [1]
    assert EventDelivery.objects.get().status == "delivered"


def test_a_rolled_back_change_announces_nothing():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        events.emit("test.happened", subject="citizen:1", payload={"n": 2})
        1 / 0  # noqa: B018
    run_worker()
    assert received == []
    assert not Event.objects.exists()


def test_a_failing_subscriber_is_retried_until_it_succeeds():
    from django_tasks_db.models import DBTaskResult

    failures["left"] = 2
    events.emit("test.happened", subject="citizen:1", payload={"n": 3})
    for _ in range(3):
        run_worker()
        # Retries are scheduled with backoff; bring them forward instead of sleeping.
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    delivery = EventDelivery.objects.get()
    assert received == [3]
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
