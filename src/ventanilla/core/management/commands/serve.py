import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Command(BaseCommand):
    help = (
        "Run the whole platform in one command: migrate, load the reference data on first start, then serve pages "
        "and API (waitress) with a background worker beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="Request threads in this process.")
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Request processes sharing the port (gunicorn; Python runs one thread at a time per process, "
            "so one per core uses the machine). Each has --threads threads.",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Serve only; run `ventanilla worker` elsewhere (for scale).",
        )
        parser.add_argument(
            "--no-setup",
            action="store_true",
            help="Skip migrations and reference data (when a release step already did them).",
        )

    def handle(self, *, host, port, threads, processes, no_worker, no_setup, **options):
        from django.core.wsgi import get_wsgi_application
        from waitress import serve

        if not no_setup:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database ready.")
            call_command("catalogue", "bootstrap", total=settings.VENTANILLA_CATALOGUE_SIZE)
            try:
                call_command("services", "load-reference")
            except CommandError as error:
                # A reference service the catalogue no longer fits must not keep the platform down.
                self.stderr.write(f"Reference services not loaded: {error}")
        helpers = []
        if not no_worker:
            helpers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "ventanilla.cli", "worker", "--verbosity", "0"],
                    preexec_fn=_die_with_parent,
                )
            )
            self.stdout.write(f"Background worker started (pid {helpers[-1].pid}).")
        for command, url, in_use, what in (
            (
                "sandbox_sms",
                settings.VENTANILLA_SMS_SANDBOX_URL,
                settings.VENTANILLA_SMS_PROVIDER == "sandbox",
                "Sandbox SMS provider: text messages appear at",
            ),
            (
                "sandbox_pay",
                settings.VENTANILLA_PAYMENTS_SANDBOX_URL,
                "sandbox" in settings.VENTANILLA_PAYMENT_PROVIDERS,
                "Sandbox payment gateway: payments appear at",
            ),
        ):
            if sandbox_port := _local_sandbox_port(url, in_use=in_use):
                helpers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "ventanilla.cli", command, "--port", str(sandbox_port)],
                        stdout=subprocess.DEVNULL,
                        preexec_fn=_die_with_parent,
                    )
                )
                self.stdout.write(f"{what} http://127.0.0.1:{sandbox_port}/")

        def stop(signum, frame):
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)"))
        try:
            if processes > 1:
                _serve_with_processes(
                    get_wsgi_application(), host=host, port=port, processes=processes, threads=threads
                )
            else:
                serve(
                    get_wsgi_application(),
                    host=host,
                    port=port,
                    threads=threads,
                    ident="ventanilla",
                    clear_untrusted_proxy_headers=True,
                    channel_timeout=60,
                )
        finally:
            for helper in helpers:
                helper.terminate()
            for helper in helpers:
                try:
                    helper.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    helper.kill()


def _die_with_parent() -> None:
    """In the helper, before it starts: on Linux, ask for SIGTERM when `serve` dies, even killed outright, so
    that no worker or sandbox outlives it (elsewhere they are stopped on a normal exit only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _local_sandbox_port(url: str, *, in_use: bool) -> int | None:
    """The port to start a sandbox provider (SMS, payments) on, when the platform uses it on this machine and
    nothing listens there yet (another `serve`, or a test, may have started one)."""
    address = urlsplit(url)
    if not in_use or address.hostname not in ("127.0.0.1", "localhost"):
        return None
    port = address.port or 80
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return None
    return port


def _serve_with_processes(application, *, host: str, port: int, processes: int, threads: int) -> None:
    """Several processes on one port, with gunicorn's pre-fork arbiter (it restarts a process that dies and
    stops them all cleanly on SIGTERM): Python runs one thread at a time per process, so one per core uses
    the machine."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": processes,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": 60,
                "backlog": 2048,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
            }.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    Server().run()
