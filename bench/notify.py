"""Notifications: messages accepted per second through the API, against a trivial endpoint of the same server, and
messages delivered per second by one worker to a local SMTP server, against a bare smtplib loop — in one run.

    .venv/bin/python bench/notify.py [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--seconds 8]
        [--rounds 2] [--clients 16] [--threads 8] [--postgres-processes 2] [--sqlite-processes 1]
        [--engines postgres,sqlite]

For each engine (PostgreSQL: that database is dropped and created again; SQLite: a temporary folder), in a process
of its own (Django is configured once per process): migrate, make a sending service (rate limit raised out of the
way) with an email template and a live API key, start a local SMTP server (aiosmtpd, its own process, keeping
every message in a Maildir) and `ventanilla serve --no-worker`. Then, with the same client threads:

  - accepted: POST /api/v1/notify/messages with the live key and a fresh Idempotency-Key, every answer checked
    (201, queued);
  - GET /healthz (one database query) as the trivial endpoint,

alternated for --rounds rounds, the best of each kept (the machine may be shared);

then, with the queue holding every message just accepted, ONE `ventanilla worker` starts: delivered per second is
the number delivered over the time from the first hand-over to the last (from the messages' own timestamps),
beside a bare smtplib loop sending as many messages of the same shape to the same SMTP server — one connection
per message as the platform does, and all on one connection. Every message is checked to have arrived once.
GOV.UK Notify's published load test reached 170 requests per second: the target for accepted/s.
"""

import json
import os
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.identity import (  # noqa: E402
    Client,
    configure,
    free_port,
    healthz,
    measure,
    percentiles,
    run_on_each_engine,
    start_server,
)
from tests.notify.live import MailServer  # noqa: E402 (the tests' SMTP server process)

TARGET = 170
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/vt_bench_notify"
TEMPLATE = "aviso-de-cobro"
PERSONALISATION = {"name": "Ana Bench", "amount": "25.00", "due": "30 de junio"}


def set_up() -> str:
    """The bench's sending service, its email template and a live key; returns the key."""
    from ventanilla.core.actor import Actor
    from ventanilla.notify import services

    actor = Actor.system("bench")
    service = services.create_sending_service(
        slug="bench",
        name_es="Tesorería Municipal",
        name_en="Municipal Treasury",
        actor=actor,
        # Far above what this machine accepts: the bench measures the work, not the limit (still counted).
        rate_limit_per_minute=10_000_000,
    )
    services.save_template(
        service=service,
        slug=TEMPLATE,
        channel="email",
        essential=True,
        subject_es="Aviso de cobro para ((name))",
        subject_en="Payment notice for ((name))",
        body_es="Hola, ((name)):\n\nTiene un saldo de ((amount)) USD que vence el ((due)).\n\n"
        "Puede pagarlo en https://example.org/pagos",
        body_en="Hello ((name)),\n\nYou owe ((amount)) USD, due on ((due)).\n\nPay at https://example.org/pagos",
        actor=actor,
    )
    _key, secret = services.create_api_key(service=service, name="bench", kind="live", actor=actor)
    return secret


def accept(client: Client, key: str) -> None:
    body = json.dumps(
        {
            "template": TEMPLATE,
            "to": f"vecino+{uuid.uuid4().hex[:8]}@example.org",
            "personalisation": PERSONALISATION,
            "reference": "COB-2026",
        }
    )
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    client.connection.request("POST", "/api/v1/notify/messages", body=body, headers=headers)
    response = client.connection.getresponse()
    text = response.read()
    assert response.status == 201, f"send: {response.status} {text[:300]!r}"
    assert json.loads(text)["status"] == "created"


def delivery(env: dict) -> dict:
    """One worker empties the queue: how many it delivered, and at what rate (first hand-over to last)."""
    from django.db.models import Max, Min

    from ventanilla.notify.models import Message

    queued = Message.objects.filter(status="created").count()
    log = tempfile.NamedTemporaryFile("w+", prefix="ventanilla-bench-worker-", suffix=".log")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "ventanilla.cli", "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + max(120, queued / 5)
    try:
        while Message.objects.filter(status__in=("created", "sending")).exists():
            if worker.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                sys.exit(f"The worker stopped or stalled: {log.read()[-2000:]}")
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    delivered = Message.objects.filter(status="delivered")
    span = delivered.aggregate(first=Min("sent_at"), last=Max("completed_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    not_delivered = Message.objects.exclude(status="delivered").count()
    assert not not_delivered, f"{not_delivered} messages not delivered"
    return {
        "queued": queued,
        "delivered": delivered.count(),
        "seconds": seconds,
        "rate": delivered.count() / seconds,
        "ids": {str(message_id) for message_id in delivered.values_list("id", flat=True)},
    }


def bare_smtp(port: int, count: int, *, reuse: bool) -> float:
    """Messages per second from a plain smtplib loop: a plain-text and HTML email like the platform's."""
    html = (
        "<!doctype html><html lang='es'><body><p>" + "Tiene un saldo pendiente. " * 20 + "</p></body></html>"
    )

    def message(number: int) -> EmailMessage:
        email = EmailMessage()
        email["From"], email["To"] = "no-reply@ventanilla.invalid", f"vecino+{number}@example.org"
        email["Subject"] = "Aviso de cobro para Ana Bench"
        email["Message-ID"] = f"<bare-{uuid.uuid4()}@ventanilla.invalid>"
        email.set_content("Hola, Ana Bench: tiene un saldo de 25.00 USD que vence el 30 de junio.")
        email.add_alternative(html, subtype="html")
        return email

    started = time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as connection:
            for number in range(count):
                connection.send_message(message(number))
    else:
        for number in range(count):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as connection:
                connection.send_message(message(number))
    return count / (time.perf_counter() - started)


def run_engine(args) -> dict:
    """One engine, start to finish, in this process."""
    postgres = args.engine == "postgres"
    processes = args.postgres_processes if postgres else args.sqlite_processes
    folder = Path(tempfile.mkdtemp(prefix="ventanilla-bench-notify-"))
    mail = MailServer(folder).start()
    port = free_port()
    os.environ.update(
        {
            "VENTANILLA_SMTP_HOST": "127.0.0.1",
            "VENTANILLA_SMTP_PORT": str(mail.port),
            # serve starts a sandbox SMS provider there (idle: the bench sends email only).
            "VENTANILLA_SMS_SANDBOX_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    engine, env = configure(args.database_url if postgres else None, port)
    try:
        key = set_up()
        server = start_server(env, port, args.threads, processes=processes)
        for _ in range(20):  # warm-up: every server thread opens its connection and caches the template
            accept(Client(port), key)
        # Alternated, best round of each: on a shared machine another program's burst lowers one measurement,
        # and the ratio would measure that program.
        sends, trivials = [], []
        for _ in range(args.rounds):
            sends.append(
                measure(
                    lambda client: accept(client, key),
                    lambda: Client(port),
                    clients=args.clients,
                    seconds=args.seconds,
                )
            )
            trivials.append(
                measure(healthz, lambda: Client(port), clients=args.clients, seconds=args.seconds)
            )
        accepted, accept_latencies = max(sends, key=lambda result: result[0])
        trivial, trivial_latencies = max(trivials, key=lambda result: result[0])
        server.terminate()
        server.wait(timeout=30)

        delivered = delivery(env)
        received = mail.received()
        arrived = [message["Message-ID"].strip("<>").split("@")[0] for message in received]
        assert len(arrived) == len(set(arrived)), "an email arrived twice"
        assert set(arrived) == delivered["ids"], "an email delivered was not received, or the reverse"
        count = delivered["delivered"]
        bare_per_message = bare_smtp(mail.port, count, reuse=False)
        bare_one_connection = bare_smtp(mail.port, count, reuse=True)
    finally:
        mail.stop()

    server_label = (
        f"{processes} process(es) x {args.threads} threads ({'gunicorn' if processes > 1 else 'waitress'})"
    )
    print(
        f"\n== {engine}: `ventanilla serve` {server_label}, {args.clients} client threads, "
        f"best of {args.rounds} alternated rounds of {args.seconds:.0f} s"
    )
    print(f"{'':>34} {'per second':>11} {'p50':>9} {'p95':>9}")
    for label, rate, samples in (
        ("POST /api/v1/notify/messages", accepted, accept_latencies),
        ("GET /healthz", trivial, trivial_latencies),
    ):
        p50, p95 = percentiles(samples)
        print(f"{label:>34} {rate:>11.1f} {p50:>6.1f} ms {p95:>6.1f} ms")
    print(f"ratio: one message accepted costs as much as {trivial / accepted:.1f} trivial requests")
    print(
        f"one worker delivered {count} emails (all queued, each received once) in {delivered['seconds']:.1f} s: "
        f"{delivered['rate']:.1f}/s"
    )
    print(
        f"bare smtplib loop, same count: {bare_per_message:.1f}/s with a connection per message "
        f"(the platform's way: ratio {bare_per_message / delivered['rate']:.1f}), "
        f"{bare_one_connection:.1f}/s on one connection"
    )
    return {
        "engine": engine,
        "processes": processes,
        "accepted": accepted,
        "trivial": trivial,
        "delivered": delivered["rate"],
        "bare": bare_per_message,
    }


def summary(result: dict) -> str:
    verdict = "PASS" if result["accepted"] >= TARGET else "BELOW TARGET"
    return (
        f"{result['accepted']:.0f} accepted/s ({result['trivial'] / result['accepted']:.1f} trivial requests each) "
        f"— {verdict} (target {TARGET}/s); one worker delivers {result['delivered']:.0f}/s, "
        f"{result['bare'] / result['delivered']:.1f}x slower than bare smtplib"
    )


if __name__ == "__main__":
    run_on_each_engine(
        doc=__doc__,
        script=__file__,
        default_database=DEFAULT_DATABASE,
        banner="ventanilla notifications bench: accepted/s through the API, delivered/s by one worker",
        run_engine=run_engine,
        summary=summary,
    )
