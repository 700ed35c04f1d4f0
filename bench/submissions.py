"""Application submissions per second over HTTP on PostgreSQL (synchronous commit on), against a trivial endpoint
of the same server in the same run.

    .venv/bin/python bench/submissions.py [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--seconds 10]
        [--clients 8] [--threads 8]

Drops and creates the named PostgreSQL database, migrates it, publishes a small service (one page of questions,
a workflow with an SLA), makes a citizen with an API token and starts `ventanilla serve`. Then, with the same
client threads, it measures:

  - submissions: POST /api/v1/applications {service, answers, submit: true} with a fresh Idempotency-Key, one
    request per application (start, answer and send in one transaction), every answer checked (201, a
    reference, the case sent);
  - GET /healthz (one database query) as the trivial endpoint,

and prints both rates, their ratio and how the server was run. Target: 400 submissions per second.
"""

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.identity import Client, configure, free_port, healthz, measure, start_server  # noqa: E402

TARGET = 400
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/vt_bench_submissions"
SERVICE = "MUN-BENCH-AVISO"
ANSWERS = {
    "trade_name": "Fonda La Esquina",
    "activity": "restaurant",
    "employees": 4,
    "phone": "+50761234567",
    "declaration": True,
}
DEFINITION = {
    "format": "ventanilla.service/1",
    "procedure": SERVICE,
    "applicant": "any",
    "form": {
        "pages": [
            {
                "key": "business",
                "title": {"es": "El negocio", "en": "The business"},
                "fields": [
                    {
                        "key": "trade_name",
                        "type": "text",
                        "label": {"es": "Nombre comercial", "en": "Trade name"},
                    },
                    {
                        "key": "activity",
                        "type": "choice",
                        "label": {"es": "Actividad", "en": "Activity"},
                        "options": [
                            {"value": "restaurant", "label": {"es": "Restaurante", "en": "Restaurant"}},
                            {"value": "shop", "label": {"es": "Tienda", "en": "Shop"}},
                        ],
                    },
                    {
                        "key": "employees",
                        "type": "number",
                        "integer": True,
                        "min": 0,
                        "label": {"es": "Empleados", "en": "Employees"},
                    },
                    {"key": "phone", "type": "phone", "label": {"es": "Teléfono", "en": "Phone"}},
                    {
                        "key": "declaration",
                        "type": "declaration",
                        "label": {"es": "Declaración", "en": "Declaration"},
                        "text": {"es": "Declaro que es cierto.", "en": "I declare it is true."},
                    },
                ],
            }
        ]
    },
    "workflow": {
        "case_sla_days": 10,
        "initial": "received",
        "states": [
            {
                "key": "received",
                "label": {"es": "Recibida", "en": "Received"},
                "role": "clerk",
                "sla_days": 2,
            },
            {"key": "approved", "label": {"es": "Aprobada", "en": "Approved"}, "outcome": "approved"},
            {"key": "rejected", "label": {"es": "Rechazada", "en": "Rejected"}, "outcome": "rejected"},
        ],
        "actions": [
            {
                "key": "approve",
                "kind": "decision",
                "label": {"es": "Aprobar", "en": "Approve"},
                "roles": ["clerk"],
                "from": ["received"],
                "to": "approved",
            },
            {
                "key": "reject",
                "kind": "decision",
                "label": {"es": "Rechazar", "en": "Reject"},
                "roles": ["clerk"],
                "from": ["received"],
                "to": "rejected",
            },
        ],
    },
    "fees": "catalogue",
}


def publish_service(*, code: str, institution_code: str, definition: dict):
    """A procedure of a new institution, with `definition` published as its online service; returns the
    institution and the version."""
    from ventanilla.cases import services
    from ventanilla.catalogue.models import Institution, Procedure
    from ventanilla.core.actor import Actor

    institution = Institution.objects.create(
        code=institution_code,
        kind="municipality",
        name_es=f"Municipio {institution_code}",
        name_en=institution_code,
    )
    Procedure.objects.create(
        code=code,
        institution=institution,
        title_es="Aviso de operación",
        title_en="Notice of operation",
        description_es="Aviso.",
        description_en="Notice.",
        audience="both",
        channels=["online"],
        sign_in_level="low",
        max_days=10,
        level=4,
        status="published",
        languages=["es"],
    )
    return institution, services.import_definition(source=json.dumps(definition), actor=Actor.system("bench"))


def set_up() -> str:
    """The service and a citizen with an API token, in the bench's database; returns the token."""
    from django.db import connection

    from ventanilla.core.actor import Actor
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import DocumentType, User

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        setting = cursor.fetchone()[0]
    if setting != "on":
        sys.exit(f"synchronous_commit is {setting!r}: this bench measures durable submissions (on).")
    actor = Actor.system("bench")
    publish_service(code=SERVICE, institution_code="MUN-BENCH", definition=DEFINITION)
    citizen = User.objects.create_user(
        username="8-888-8888",
        email="bench@example.org",
        password="a long passphrase for the bench",  # noqa: S106 (a throwaway bench account)
        first_name="Ana",
        last_name="Bench",
        document_type=DocumentType.CEDULA,
        document_number="8-888-8888",
        nationality="PAN",
    )
    return identity.issue_api_token(user=citizen, name="bench", actor=actor)


def submit(client: Client, token: str) -> None:
    body = json.dumps({"service": SERVICE, "answers": ANSWERS, "submit": True})
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    client.connection.request("POST", "/api/v1/applications", body=body, headers=headers)
    response = client.connection.getresponse()
    text = response.read()
    assert response.status == 201, f"submission: {response.status} {text[:300]!r}"
    case = json.loads(text)
    assert case["reference"].startswith("SOL") and case["stage"] == "open", case


def count_cases() -> int:
    from ventanilla.cases.models import Case

    return Case.objects.filter(stage="open").count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE, help="a PostgreSQL database to drop and recreate"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    parser.add_argument(
        "--clients", type=int, default=8, help="client threads, the same for both measurements"
    )
    parser.add_argument("--threads", type=int, default=8, help="server threads (per process)")
    parser.add_argument("--processes", type=int, default=1, help="server processes (`serve --processes`)")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("This bench runs on PostgreSQL: pass --database-url postgres://…")
    sys.path.insert(0, str(ROOT / "src"))

    port = free_port()
    _engine, env = configure(args.database_url, port)
    token = set_up()
    server = start_server(env, port, args.threads, processes=args.processes)
    print(
        f"ventanilla submissions bench on PostgreSQL (synchronous_commit on): `ventanilla serve` "
        f"{args.processes} process(es) x {args.threads} threads ({'gunicorn' if args.processes > 1 else 'waitress'}), {args.clients} client threads, "
        f"{args.seconds:.0f} s per measurement"
    )
    for _ in range(20):  # warm-up: every server thread loads the definition and opens its connection
        submit(Client(port), token)
    before = count_cases()
    started = time.perf_counter()
    submissions, latencies = measure(
        lambda client: submit(client, token), lambda: Client(port), clients=args.clients, seconds=args.seconds
    )
    elapsed = time.perf_counter() - started
    stored = count_cases() - before
    trivial, trivial_latencies = measure(
        healthz, lambda: Client(port), clients=args.clients, seconds=args.seconds
    )
    server.terminate()

    print()
    print(f"{'':>30} {'per second':>11} {'p50':>9} {'p95':>9}")
    for label, rate, samples in (
        ("POST /api/v1/applications", submissions, latencies),
        ("GET /healthz", trivial, trivial_latencies),
    ):
        p50 = statistics.median(samples) * 1000
        p95 = statistics.quantiles(samples, n=20)[-1] * 1000
        print(f"{label:>30} {rate:>11.1f} {p50:>6.1f} ms {p95:>6.1f} ms")
    print(f"\n{stored} applications stored in {elapsed:.1f} s ({len(latencies)} acknowledged)")
    print(f"ratio: one submission costs as much as {trivial / submissions:.1f} trivial requests")
    verdict = "PASS" if submissions >= TARGET else "BELOW TARGET"
    print(f"{verdict}: {submissions:.0f} submissions/s (target {TARGET}/s)")


if __name__ == "__main__":
    main()
