"""Payments: payments created per second through the API, each with an Idempotency-Key and taken to the provider,
against a trivial endpoint of the same server — in one run.

    .venv/bin/python bench/payments.py [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--seconds 8]
        [--rounds 2] [--clients 16] [--threads 8] [--postgres-processes 2] [--sqlite-processes 1]
        [--engines postgres,sqlite]

For each engine (PostgreSQL: that database is dropped and created again; SQLite: a temporary folder), in a process
of its own: migrate, make one citizen per client thread with an API token and thousands of open obligations each
(so every payment pays obligations nobody is paying yet), and start `ventanilla serve --no-worker`, which starts the
sandbox payment gateway beside it. Then, with the same client threads, alternated for --rounds rounds, the best of
each kept (the machine may be shared):

  - created: POST /api/v1/payments for two of the citizen's obligations with a fresh Idempotency-Key; the platform
    checks and locks the obligations, records the payment and its items, opens the gateway's session over HTTP
    and answers 201 with the page to send the payer to (every answer checked);
  - GET /healthz (one database query) as the trivial endpoint;
  - the gateway alone: POST /v1/sessions straight to the sandbox gateway, to show how much of a creation is the
    provider's share.

A replay of a key already used is checked to answer the same payment without making another.
"""

import json
import os
import socket
import sys
import threading
import time
import uuid
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

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/vt_bench_payments"
OBLIGATIONS_EACH = 4000
GATEWAY_SECRET = "bench-gateway-secret"  # noqa: S105 (a throwaway sandbox secret)


def set_up(clients: int) -> list[dict]:
    """One citizen per client thread: its API token and its open obligations' ids."""
    from decimal import Decimal

    from ventanilla.catalogue.models import Institution
    from ventanilla.core.actor import Actor
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import DocumentType, User
    from ventanilla.payments.models import Obligation

    actor = Actor.system("bench")
    institution = Institution.objects.create(
        code="MUN-BENCH", kind="municipality", name_es="Municipio de Prueba", name_en="Test Municipality"
    )
    people = []
    for number in range(clients):
        citizen = User.objects.create_user(
            username=f"8-900-{1000 + number}",
            document_type=DocumentType.CEDULA,
            document_number=f"8-900-{1000 + number}",
            nationality="PAN",
            first_name="Ana",
            last_name=f"Bench {number}",
        )
        obligations = Obligation.objects.bulk_create(
            [
                Obligation(
                    institution=institution,
                    reference=f"B{number:02d}-{n:05d}",
                    debtor=f"user:{citizen.public_id}",
                    debtor_label=str(citizen),
                    kind="municipal",
                    concept_es="Impuesto municipal",
                    concept_en="Municipal tax",
                    amount=Decimal("12.50"),
                )
                for n in range(OBLIGATIONS_EACH)
            ],
            batch_size=1000,
        )
        ids = [str(obligation.id) for obligation in obligations]
        people.append(
            {
                "token": identity.issue_api_token(user=citizen, name="bench", actor=actor),
                "unpaid": iter(list(zip(ids[0::2], ids[1::2], strict=True))),
            }
        )
    return people


class PayerClient(Client):
    """A client thread's connection, with its citizen's token and the obligations it has not paid yet."""

    def __init__(self, port: int, person: dict):
        super().__init__(port)
        self.token = person["token"]
        self.unpaid = person["unpaid"]  # shared by every client of this citizen, rounds after rounds


def create(client: PayerClient, key: str | None = None) -> dict:
    body = json.dumps({"obligations": list(next(client.unpaid)), "provider": "sandbox"})
    headers = {
        "Authorization": f"Bearer {client.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key or str(uuid.uuid4()),
    }
    client.connection.request("POST", "/api/v1/payments", body=body, headers=headers)
    response = client.connection.getresponse()
    text = response.read()
    assert response.status == 201, f"create: {response.status} {text[:300]!r}"
    payment = json.loads(text)
    assert payment["status"] == "started" and payment["next_url"], payment
    return payment


def gateway_session(client: Client) -> None:
    body = json.dumps(
        {
            "amount": "25.00",
            "currency": "USD",
            "reference": str(uuid.uuid4()),
            "return_url": "http://127.0.0.1:9/",
            "callback_url": "http://127.0.0.1:9/",
        }
    )
    headers = {"Authorization": f"Bearer {GATEWAY_SECRET}", "Content-Type": "application/json"}
    client.connection.request("POST", "/v1/sessions", body=body, headers=headers)
    response = client.connection.getresponse()
    text = response.read()
    assert response.status == 201, f"gateway: {response.status} {text[:300]!r}"


def replay_is_the_same_payment(port: int, person: dict) -> None:
    client = PayerClient(port, person)
    key = str(uuid.uuid4())
    first = create(client, key)
    client.unpaid = iter([tuple(item["obligation"] for item in first["items"])])
    body = json.dumps({"obligations": list(next(client.unpaid)), "provider": "sandbox"})
    headers = {
        "Authorization": f"Bearer {client.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    client.connection.request("POST", "/api/v1/payments", body=body, headers=headers)
    response = client.connection.getresponse()
    again = json.loads(response.read())
    assert response.getheader("Idempotent-Replayed") == "true" and again["id"] == first["id"], again


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"Nothing listens on {port}: the sandbox gateway did not start.")


def run_engine(args) -> dict:
    postgres = args.engine == "postgres"
    processes = args.postgres_processes if postgres else args.sqlite_processes
    port, gateway_port = free_port(), free_port()
    os.environ.update(
        {
            # serve starts the sandbox gateway there; the SMS sandbox is idle.
            "VENTANILLA_PAYMENTS_SANDBOX_URL": f"http://127.0.0.1:{gateway_port}",
            "VENTANILLA_PAYMENTS_SANDBOX_SECRET": GATEWAY_SECRET,
            "VENTANILLA_SMS_SANDBOX_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    engine, env = configure(args.database_url if postgres else None, port)
    people = set_up(args.clients + 1)
    spare = people.pop()
    server = start_server(env, port, args.threads, processes=processes)
    lock = threading.Lock()
    handed = iter(people * (2 * args.rounds + 2))

    def payer_client():
        with lock:
            return PayerClient(port, next(handed))

    wait_for_port(gateway_port)  # serve starts the gateway beside itself: it may listen a moment later
    for _ in range(3):  # warm-up: connections opened, the gateway answering
        create(payer_client())
    replay_is_the_same_payment(port, spare)
    creations, trivials, gateways = [], [], []
    for _ in range(args.rounds):
        creations.append(measure(create, payer_client, clients=args.clients, seconds=args.seconds))
        trivials.append(measure(healthz, lambda: Client(port), clients=args.clients, seconds=args.seconds))
        gateways.append(
            measure(gateway_session, lambda: Client(gateway_port), clients=args.clients, seconds=args.seconds)
        )
    server.terminate()
    server.wait(timeout=30)
    created, created_latencies = max(creations, key=lambda result: result[0])
    trivial, trivial_latencies = max(trivials, key=lambda result: result[0])
    gateway, gateway_latencies = max(gateways, key=lambda result: result[0])

    from ventanilla.payments.models import Payment

    counted = Payment.objects.count()
    assert counted == Payment.objects.filter(status="started").count(), "every payment reached the gateway"
    server_label = (
        f"{processes} process(es) x {args.threads} threads ({'gunicorn' if processes > 1 else 'waitress'})"
    )
    print(
        f"\n== {engine}: `ventanilla serve` {server_label}, {args.clients} client threads, "
        f"best of {args.rounds} alternated rounds of {args.seconds:.0f} s; {counted} payments made in all"
    )
    print(f"{'':>38} {'per second':>11} {'p50':>9} {'p95':>9}")
    for label, rate, samples in (
        ("POST /api/v1/payments (+ gateway)", created, created_latencies),
        ("GET /healthz", trivial, trivial_latencies),
        ("gateway alone: POST /v1/sessions", gateway, gateway_latencies),
    ):
        p50, p95 = percentiles(samples)
        print(f"{label:>38} {rate:>11.1f} {p50:>6.1f} ms {p95:>6.1f} ms")
    print(f"ratio: one payment created costs as much as {trivial / created:.1f} trivial requests")
    return {
        "engine": engine,
        "processes": processes,
        "created": created,
        "trivial": trivial,
        "gateway": gateway,
    }


def summary(result: dict) -> str:
    return (
        f"{result['created']:.0f} payments created/s with Idempotency-Keys "
        f"({result['trivial'] / result['created']:.1f} trivial requests each; /healthz {result['trivial']:.0f}/s; "
        f"the gateway alone {result['gateway']:.0f} sessions/s)"
    )


if __name__ == "__main__":
    run_on_each_engine(
        doc=__doc__,
        script=__file__,
        default_database=DEFAULT_DATABASE,
        banner="ventanilla payments bench: payments created/s through the API, against /healthz, in one run",
        run_engine=run_engine,
        summary=summary,
    )
