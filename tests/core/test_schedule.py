from datetime import timedelta

import pytest
from django.utils import timezone

from ventanilla.core import schedule
from ventanilla.core.models import PeriodicRun

pytestmark = pytest.mark.django_db


def queued_tasks():
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.values_list("task_path", flat=True))


def test_each_periodic_task_is_queued_once_per_period_however_many_workers_ask():
    names = {periodic.name for periodic in schedule.registered()}
    assert "ventanilla.cases.tasks.escalate_overdue_cases" in names
    now = timezone.now()
    first = schedule.enqueue_due(now=now)
    second = schedule.enqueue_due(now=now + timedelta(seconds=30))  # another worker, moments later
    assert set(first) == names
    assert second == []
    assert sorted(queued_tasks()) == sorted(names)


def test_a_task_is_queued_again_when_its_period_has_passed():
    now = timezone.now()
    schedule.enqueue_due(now=now)
    deadline_check = "ventanilla.cases.tasks.escalate_overdue_cases"
    due = PeriodicRun.objects.get(name=deadline_check).next_run_at
    assert deadline_check not in schedule.enqueue_due(now=due - timedelta(seconds=1))
    assert deadline_check in schedule.enqueue_due(now=due + timedelta(seconds=1))
