import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from ventanilla.core import schedule


class Command(BaseCommand):
    help = (
        "Run a background worker. Start as many as you like, on any machine that reaches the database: "
        "they share one queue and never run the same task twice. Each worker also keeps the clock that queues "
        "periodic tasks (deadline checks, purges); a period's run is queued once whichever worker sees it first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run what is due and queued, then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")

    def handle(self, *, batch, interval, verbosity, **options):
        stop = threading.Event()
        if batch:
            schedule.enqueue_due()
        else:
            threading.Thread(target=schedule.run_clock, args=(stop,), name="clock", daemon=True).start()
        try:
            call_command(
                "db_worker",
                queue_name="*",
                interval=interval,
                batch=batch,
                reload=False,
                startup_delay=not batch,
                verbosity=verbosity,
            )
        finally:
            stop.set()
