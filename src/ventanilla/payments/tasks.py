from datetime import timedelta

from django_tasks import task

from ventanilla.core import schedule

from . import services


@task()
def deliver_webhook(*, delivery_id: str) -> str:
    """Tell an institution its obligation was paid or refunded (retries are queued by the service)."""
    return services.deliver_webhook(delivery_id=delivery_id)


@task()
def refund_duplicate(*, item_id: str) -> str:
    refund = services.refund_duplicate(item_id=item_id)
    return refund.status if refund else "nothing to do"


@task()
def retry_refund(*, refund_id: str) -> str:
    return services.send_refund(refund_id=refund_id).status


@schedule.every(timedelta(minutes=1))
@task()
def sweep_pending_payments() -> dict:
    """Expire abandoned payments and ask providers about the quiet ones."""
    return services.sweep_pending()


@schedule.every(timedelta(hours=24))
@task()
def reconcile_yesterday() -> list:
    return [f"{r.provider} {r.day}: {r.status}" for r in services.reconcile_day()]
