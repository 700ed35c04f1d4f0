"""Documents: signed PDFs issued per second and verifications per second through the API, against a trivial
endpoint of the same server, and what signing costs against rendering alone — in one run.

    .venv/bin/python bench/documents.py [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--seconds 8]
        [--rounds 2] [--clients 16] [--threads 8] [--postgres-processes 2] [--sqlite-processes 1]
        [--engines postgres,sqlite]

For each engine (PostgreSQL: that database is dropped and created again; SQLite: a temporary folder), in a process
of its own: migrate, make an issuing institution with an integrator's token and a citizen, and start
`ventanilla serve --no-worker`. Then, alternated for --rounds rounds, the best of each kept (the machine may be
shared):

  - in this process, one thread, the cost of each step of a document: rendering the PDF alone (reportlab, the
    QR code included), rendering + signing it (PAdES with the institution's ECDSA key and an RFC 3161 timestamp
    from the platform's authority, RSA 3072), and checking a signed PDF (signature, whole-file coverage, chain to
    the CA, timestamp, then the document's status by the file's hash);
  - through the server, with the client threads: POST /api/v1/documents (each a new reference: checked, rendered,
    signed, timestamped and stored, answer 201 checked), POST /api/v1/verify with a signed PDF (answer "valid"
    checked), GET /api/v1/verify/<code>, and GET /healthz (one database query) as the trivial endpoint.
"""

import json
import sys
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

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/vt_bench_documents"
BOUNDARY = "ventanilla-bench-boundary"


def set_up() -> dict:
    """An institution with an integrator's token, a citizen, and one signed document to verify."""
    from ventanilla.catalogue.models import Institution
    from ventanilla.core.actor import Actor
    from ventanilla.documents import keys, services
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import DocumentType, StaffRole, User

    actor = Actor.system("bench")
    institution = Institution.objects.create(
        code="ATTT",
        kind="other",
        name_es="Autoridad de Tránsito (banco de pruebas)",
        name_en="Transit (bench)",
    )
    integrator = identity.create_user(
        username="bench-integrator", email="integrator@bench.invalid", password=uuid.uuid4().hex, actor=actor
    )
    StaffRole.objects.create(user=integrator, role=StaffRole.Role.INTEGRATOR, institution=institution)
    citizen = User.objects.create_user(
        username="8-900-9001",
        first_name="Ana",
        last_name="Banco de Pruebas",
        document_type=DocumentType.CEDULA,
        document_number="8-900-9001",
    )
    keys.ca(), keys.tsa(), keys.signer_of(institution)  # made once, before anything is timed
    document, _ = services.issue_document(
        institution=institution, data=document_in(citizen, "BENCH-0"), actor=actor
    )
    return {
        "institution": institution,
        "citizen": citizen,
        "document": document,
        "token": identity.issue_api_token(user=integrator, name="bench", actor=actor),
    }


def fields() -> list[dict]:
    return [
        {
            "key": "vehicle_categories",
            "label_es": "Categorías",
            "label_en": "Categories",
            "value": ["B", "C"],
        },
        {
            "key": "birthdate",
            "label_es": "Fecha de nacimiento",
            "label_en": "Date of birth",
            "value": "1990-04-12",
        },
        {
            "key": "address",
            "label_es": "Dirección",
            "label_en": "Address",
            "value": "Calle 50, Edificio 4, Apto. 4B",
        },
    ]


def document_in(citizen, reference: str):
    from ventanilla.documents import services

    return services.DocumentIn(
        kind="licence",
        holder=f"user:{citizen.public_id}",
        holder_name=citizen.get_full_name(),
        holder_identifier=citizen.document_number,
        title_es="Licencia de conducir",
        title_en="Driving licence",
        source=reference,
        fields=fields(),
    )


def per_second(step, seconds: float) -> tuple[float, list[float]]:
    """`step()` in this thread for `seconds`: operations per second and latencies."""
    latencies = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        started = time.perf_counter()
        step()
        latencies.append(time.perf_counter() - started)
    return len(latencies) / sum(latencies), latencies


class IssuerClient(Client):
    def __init__(self, port: int, token: str, citizen_id: str):
        super().__init__(port)
        self.token, self.holder = token, f"user:{citizen_id}"


def issue_over_http(client: IssuerClient) -> None:
    body = {
        "institution": "ATTT",
        "kind": "licence",
        "reference": f"BENCH-{uuid.uuid4().hex[:16]}",
        "holder": client.holder,
        "holder_name": "Ana Banco de Pruebas",
        "title_es": "Licencia de conducir",
        "title_en": "Driving licence",
        "fields": fields(),
    }
    headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"}
    client.connection.request("POST", "/api/v1/documents", body=json.dumps(body), headers=headers)
    response = client.connection.getresponse()
    text = response.read()
    assert response.status == 201, f"issue: {response.status} {text[:300]!r}"
    assert json.loads(text)["status"] == "valid"


def verify_over_http(pdf: bytes):
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="d.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    body = part + pdf + f"\r\n--{BOUNDARY}--\r\n".encode()

    def verify(client: Client) -> None:
        client.connection.request(
            "POST",
            "/api/v1/verify",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        response = client.connection.getresponse()
        text = response.read()
        assert response.status == 200 and json.loads(text)["status"] == "valid", text[:300]

    return verify


def verify_code_over_http(code: str):
    def verify(client: Client) -> None:
        status, _, text = client.request("GET", f"/api/v1/verify/{code}")
        assert status == 200 and json.loads(text)["status"] == "valid", text[:300]

    return verify


def run_engine(args) -> dict:
    postgres = args.engine == "postgres"
    processes = args.postgres_processes if postgres else args.sqlite_processes
    port = free_port()
    engine, env = configure(args.database_url if postgres else None, port)
    from ventanilla.core.actor import Actor
    from ventanilla.documents import pdf, services, verification
    from ventanilla.documents.models import Document, DocumentFile

    made = set_up()
    signed = bytes(DocumentFile.objects.get(document=made["document"]).pdf)
    actor = Actor.system("bench")
    unsaved = Document(
        institution=made["institution"],
        code="BENC-HBEN-CHXX",
        **{
            name: getattr(made["document"], name)
            for name in (
                "kind",
                "holder",
                "holder_name",
                "holder_identifier",
                "title_es",
                "title_en",
                "fields",
                "valid_from",
                "expires_at",
            )
        },
    )
    counter = iter(range(1, 10**9))
    steps = {
        "render": lambda: pdf.render(unsaved, "es"),
        "issue": lambda: services.issue_document(
            institution=made["institution"],
            data=document_in(made["citizen"], f"LOCAL-{next(counter)}"),
            actor=actor,
        ),
        "verify": lambda: verification.verify_pdf(signed),
    }
    assert verification.verify_pdf(signed).status == "valid"
    server = start_server(env, port, args.threads, processes=processes)
    print(
        f"\n== {engine}: `ventanilla serve` with {processes} process(es) x {args.threads} threads, "
        f"{args.clients} client threads, {args.seconds:.0f} s per measurement, best of {args.rounds} rounds"
    )

    def issuer():
        return IssuerClient(port, made["token"], made["citizen"].public_id)

    http = {
        "issued": (issue_over_http, issuer),
        "verified": (verify_over_http(signed), lambda: Client(port)),
        "by_code": (verify_code_over_http(made["document"].code), lambda: Client(port)),
        "trivial": (healthz, lambda: Client(port)),
    }
    best: dict = {}
    try:
        for work, make in http.values():
            work(make())  # warm-up
        for round_number in range(args.rounds):
            for name, step in steps.items():
                rate, latencies = per_second(step, args.seconds / 2)
                if rate > best.get(name, (0, []))[0]:
                    best[name] = (rate, latencies)
            for name, (work, make) in http.items():
                rate, latencies = measure(work, make, clients=args.clients, seconds=args.seconds)
                if rate > best.get(name, (0, []))[0]:
                    best[name] = (rate, latencies)
            print(f"round {round_number + 1}: " + ", ".join(f"{name} {best[name][0]:.0f}/s" for name in best))
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {"engine": engine, "processes": processes}
    for name, (rate, latencies) in best.items():
        p50, p95 = percentiles(latencies)
        result[name], result[f"{name}_p50"], result[f"{name}_p95"] = rate, p50, p95
    render_ms, issue_ms = 1000 / result["render"], 1000 / result["issue"]
    print(
        f"In this process, one thread: rendering a PDF {render_ms:.1f} ms; rendering + signing + storing {issue_ms:.1f} ms"
    )
    print(
        f"  -> signing (with the timestamp) and storing cost {issue_ms / render_ms - 1:.2f}x what rendering alone does"
    )
    print(f"  checking a signed PDF: {1000 / result['verify']:.1f} ms")
    for name, label in (
        ("issued", "documents issued"),
        ("verified", "PDFs verified"),
        ("by_code", "codes verified"),
    ):
        print(
            f"Through the API: {result[name]:.1f} {label}/s (p50 {result[name + '_p50']:.0f} ms, p95 "
            f"{result[name + '_p95']:.0f} ms) = {result['trivial'] / result[name]:.1f} trivial requests each"
        )
    print(f"GET /healthz: {result['trivial']:.0f}/s")
    return result


def summary(result: dict) -> str:
    return (
        f"{result['issued']:.0f} signed PDFs issued/s, {result['verified']:.0f} PDFs verified/s, "
        f"{result['by_code']:.0f} codes verified/s through the API (/healthz {result['trivial']:.0f}/s); "
        f"rendering + signing takes {result['render'] / result['issue']:.1f}x the time of rendering alone"
    )


if __name__ == "__main__":
    run_on_each_engine(
        doc=__doc__,
        script=__file__,
        default_database=DEFAULT_DATABASE,
        banner="ventanilla documents bench: signed PDFs issued/s, verifications/s, signing against rendering",
        run_engine=run_engine,
        summary=summary,
    )
