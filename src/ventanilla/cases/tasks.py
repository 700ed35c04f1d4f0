from datetime import timedelta

from django_tasks import task

from ventanilla.core import schedule

from . import services


@schedule.every(timedelta(minutes=10))
@task()
def escalate_overdue_cases() -> int:
    """Cases past a deadline go to the supervisors' queue (and the cases.sla_breached event tells notify)."""
    return services.escalate_overdue()
