"""Domain events through a transactional outbox.

`emit` writes the event, one delivery per subscriber and the background task for each, all in the caller's
transaction: if the change rolls back, nothing is announced; if it commits, every subscriber will hear of it once.
Apps subscribe with `@subscriber("app.event_name")` in their `subscribers.py`, imported by their AppConfig.ready.
A subscriber whose work must be part of the change itself (a case sent with a fee *is* an amount owed) says
`in_transaction=True`: it runs inside `emit`, and if it fails the whole change rolls back.
"""

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

from .models import Event, EventDelivery

Handler = Callable[[Event], None]
_subscribers: dict[str, dict[str, Handler]] = defaultdict(dict)
_in_transaction: dict[str, list[Handler]] = defaultdict(list)


def subscriber(event_name: str, *, in_transaction: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if in_transaction:
            _in_transaction[event_name].append(handler)
        else:
            _subscribers[event_name][f"{handler.__module__}.{handler.__qualname__}"] = handler
        return handler

    return register


def subscribers_of(event_name: str) -> dict[str, Handler]:
    return dict(_subscribers.get(event_name, {}))


def handler_named(name: str) -> Handler | None:
    for handlers in _subscribers.values():
        if name in handlers:
            return handlers[name]
    return None


def emit(name: str, *, subject: str, payload: dict | None = None) -> Event:
    from .tasks import deliver_event

    # Inside the caller's transaction (the usual case) a savepoint would only cost two round trips.
    with transaction.atomic(savepoint=False):
        event = Event.objects.create(name=name, subject=subject, payload=payload or {})
        for handler in _in_transaction.get(name, []):
            handler(event)
        for subscriber_name in subscribers_of(name):
            delivery = EventDelivery.objects.create(event=event, subscriber=subscriber_name)
            deliver_event.enqueue(delivery_id=str(delivery.id))
    return event
