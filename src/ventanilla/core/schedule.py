"""Periodic background work (SLA checks, purges). Apps register a task with `@every(...)` in their tasks.py;
each worker's clock thread calls `enqueue_due()`, and a conditional UPDATE on PeriodicRun lets exactly one
worker queue each period's run, however many workers there are."""

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from .models import PeriodicRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task: object  # a django_tasks Task taking no arguments
    interval: timedelta


_periodic: dict[str, Periodic] = {}


def every(interval: timedelta):
    def register(task):
        name = f"{task.module_path}"
        _periodic[name] = Periodic(name=name, task=task, interval=interval)
        return task

    return register


def registered() -> list[Periodic]:
    return sorted(_periodic.values(), key=lambda periodic: periodic.name)


def enqueue_due(*, now=None) -> list[str]:
    """Queue every periodic task whose time has come; returns the names queued by this call."""
    now = now or timezone.now()
    queued = []
    for periodic in registered():
        with contextlib.suppress(IntegrityError):  # another worker created it at the same moment
            PeriodicRun.objects.get_or_create(name=periodic.name, defaults={"next_run_at": now})
        with transaction.atomic():
            claimed = PeriodicRun.objects.filter(name=periodic.name, next_run_at__lte=now).update(
                next_run_at=now + periodic.interval, last_run_at=now
            )
            if claimed:
                periodic.task.enqueue()
                queued.append(periodic.name)
    return queued


def run_clock(stop: threading.Event, *, tick_seconds: float = 30.0) -> None:
    """The worker's clock thread."""
    while not stop.is_set():
        try:
            enqueue_due()
        except Exception:
            logger.exception("Could not queue periodic tasks")
        finally:
            close_old_connections()
        stop.wait(tick_seconds)
