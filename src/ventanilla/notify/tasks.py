from datetime import timedelta

from django_tasks import task

from ventanilla.core import schedule

from . import services


@task()
def deliver_message(*, message_id: str) -> str:
    """Send one saved message (retries are queued by services.deliver itself, with backoff)."""
    return services.deliver(message_id=message_id)


@schedule.every(timedelta(minutes=5))
@task()
def settle_stuck_messages() -> dict:
    return services.settle_stuck()


@schedule.every(timedelta(hours=6))
@task()
def forget_old_message_contents() -> int:
    return services.forget_old_contents()
