import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from . import audit, idempotency, schedule
from .events import handler_named
from .models import EventDelivery

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


@task()
def deliver_event(*, delivery_id: str) -> str:
    """Hand one event to one subscriber. Safe to run twice: a delivered row is skipped."""
    with transaction.atomic():
        delivery = (
            EventDelivery.objects.select_for_update().select_related("event").filter(id=delivery_id).first()
        )
        if delivery is None or delivery.status != EventDelivery.Status.PENDING:
            return "skipped"
        handler = handler_named(delivery.subscriber)
        delivery.attempts += 1
        try:
            if handler is None:
                raise LookupError(f"no subscriber named {delivery.subscriber}")
            with transaction.atomic():
                handler(delivery.event)
        except Exception as error:
            logger.exception("Delivery of %s to %s failed", delivery.event, delivery.subscriber)
            delivery.last_error = repr(error)
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = EventDelivery.Status.FAILED
            else:
                backoff = timedelta(seconds=2**delivery.attempts)
                deliver_event.using(run_after=timezone.now() + backoff).enqueue(delivery_id=delivery_id)
            delivery.save(update_fields=["attempts", "last_error", "status"])
            return "retrying" if delivery.status == EventDelivery.Status.PENDING else "failed"
        delivery.status = EventDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.save(update_fields=["attempts", "status", "delivered_at"])
        return "delivered"


@schedule.every(timedelta(hours=1))
@task()
def purge_idempotency_records() -> int:
    """Answers to Idempotency-Keys are replayed for a day, then forgotten."""
    return idempotency.purge_expired()


@schedule.every(timedelta(minutes=1))
@task()
def seal_audit_log() -> int:
    """Chain the audit lines written since the last run (see core.audit)."""
    return audit.seal()
