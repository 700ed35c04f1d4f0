"""The official's queue page with 1,000,000 cases in PostgreSQL: p50/p99 over HTTP, against a trivial endpoint of the
same server in the same run.

    .venv/bin/python bench/inbox.py [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--cases 1000000]
        [--requests 400]

Drops and creates the named PostgreSQL database, migrates it, publishes a service in each of ten institutions,
generates the cases in SQL (INSERT … SELECT … FROM generate_series: open, waiting on the applicant and finished;
two queues per institution; deadlines spread from ten days late to a month ahead; some escalated, some
assigned), ANALYZEs, signs an official in with a password and an authenticator app code, and then, one request
at a time, times:

  - GET /gestion/solicitudes/ (the queue page) with a mix of filters (role, state, late, mine) and following
    "next page" links;
  - GET /api/v1/back-office/cases with the same filters (the JSON equivalent, bearer token);
  - GET /healthz (one database query) as the trivial endpoint.

It prints p50/p99 of each, the ratios, and EXPLAIN ANALYZE of the queue's query. Target: page p50 ≤ 15 ms, p99 ≤ 50 ms.
"""

import argparse
import html
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.identity import (  # noqa: E402
    Client,
    configure,
    form_fields,
    free_port,
    start_server,
)
from bench.submissions import DEFINITION, publish_service  # noqa: E402

TARGET_P50, TARGET_P99 = 15.0, 50.0
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/vt_bench_inbox"
INSTITUTIONS = 10
PASSWORD = "a long passphrase for the bench"  # noqa: S105 (a throwaway bench account)
FILTERS = ["", "role=clerk", "role=reviewer", "state=review", "late=1", "mine=1", "role=supervisor"]


def definition_for(code: str) -> dict:
    """The submissions bench's service, with a second queue (review) so officials have several roles."""
    document = json.loads(json.dumps(DEFINITION))
    document["procedure"] = code
    workflow = document["workflow"]
    workflow["states"].insert(
        1,
        {
            "key": "review",
            "label": {"es": "En revisión", "en": "In review"},
            "role": "reviewer",
            "sla_days": 5,
        },
    )
    workflow["actions"].insert(
        0,
        {
            "key": "accept",
            "label": {"es": "Aceptar", "en": "Accept"},
            "roles": ["clerk"],
            "from": ["received"],
        },
    )
    workflow["actions"][0]["to"] = "review"
    for action in workflow["actions"][1:]:
        action["from"], action["roles"] = ["review"], ["reviewer"]
    return document


def set_up() -> tuple[list, list, object, object, str]:
    """Institutions with a published service each, an official of the first one (clerk, reviewer, supervisor)
    with an authenticator app, and a citizen to file the cases. Returns ids for the generator and the official."""
    import pyotp
    from django.utils import timezone

    from ventanilla.cases import services
    from ventanilla.core.actor import Actor
    from ventanilla.identity import factors
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import DocumentType, TotpDevice, User

    actor = Actor.system("bench")
    institutions, versions = [], []
    for number in range(INSTITUTIONS):
        code = f"MUN-BENCH-{number}-AVISO"
        institution, version = publish_service(
            code=code, institution_code=f"MUN-BENCH-{number}", definition=definition_for(code)
        )
        institutions.append(institution)
        versions.append(version)
    official = identity.create_user(
        username="funcionaria", email="funcionaria@example.org", password=PASSWORD, is_staff=True, actor=actor
    )
    official.totp_secret = pyotp.random_base32()
    TotpDevice.objects.create(
        user=official,
        name="phone",
        encrypted_secret=factors.encrypt_secret(official.totp_secret),
        confirmed_at=timezone.now(),
    )
    for role in ("clerk", "reviewer", "supervisor"):
        services.grant_role(user=official, institution=institutions[0], role=role, actor=actor)
    citizen = User.objects.create_user(
        username="8-888-8888",
        email="bench@example.org",
        password=PASSWORD,
        document_type=DocumentType.CEDULA,
        document_number="8-888-8888",
        nationality="PAN",
    )
    token = identity.issue_api_token(user=official, name="bench", actor=actor)
    return institutions, versions, official, citizen, token


def generate(total: int, institutions: list, versions: list, official, citizen) -> float:
    """`total` cases in one INSERT … SELECT: 70% open (half received, half in review), 10% waiting on the
    applicant, 20% finished; due dates from ten days late to a month ahead; 3% escalated, 5% assigned."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cases_case (
                id, reference, version_id, institution_id, subject, subject_label, applicant_id, filed_by_id,
                channel, stage, state, queue_role, outcome, answers, current_page, assigned_to_id, submitted_at,
                closed_at, state_entered_at, state_due_at, case_due_at, waiting_since, sent_back_from,
                breached_at, escalated, start_key, created_at, updated_at)
            SELECT
                gen_random_uuid(), 'SOL-B' || lpad(n::text, 9, '0'),
                (%(versions)s)[1 + mod(n, %(spread)s)], (%(institutions)s)[1 + mod(n, %(spread)s)],
                %(subject)s, 'Bench', %(citizen)s, %(citizen)s, 'api',
                CASE WHEN mod(n, 10) < 7 THEN 'open' WHEN mod(n, 10) = 7 THEN 'with_applicant' ELSE 'closed' END,
                CASE WHEN mod(n, 10) < 7 THEN (CASE WHEN mod(n / 10, 2) = 0 THEN 'received' ELSE 'review' END)
                     WHEN mod(n, 10) = 7 THEN 'more_information' ELSE 'approved' END,
                CASE WHEN mod(n, 10) < 7 THEN (CASE WHEN mod(n / 10, 2) = 0 THEN 'clerk' ELSE 'reviewer' END)
                     ELSE '' END,
                CASE WHEN mod(n, 10) >= 8 THEN 'approved' ELSE '' END,
                '{"trade_name": "Fonda", "employees": 3}'::jsonb, '',
                CASE WHEN mod(n, 20) = 3 THEN %(official)s END,
                now() - interval '20 days',
                CASE WHEN mod(n, 10) >= 8 THEN now() END,
                now() - interval '3 days',
                CASE WHEN mod(n, 10) < 7 THEN now() + (mod(n::bigint * 7919, 57600) - 14400) * interval '1 minute' END,
                now() + interval '30 days',
                CASE WHEN mod(n, 10) = 7 THEN now() END, '',
                NULL, mod(n, 33) = 0 AND mod(n, 10) < 7, '',
                now() - interval '20 days', now()
            FROM generate_series(1, %(total)s) AS n
            """,
            {
                "versions": [version.id for version in versions],
                "institutions": [institution.id for institution in institutions],
                "spread": len(institutions),
                "subject": f"user:{citizen.public_id}",
                "citizen": citizen.id,
                "official": official.id,
                "total": total,
            },
        )
        cursor.execute("ANALYZE cases_case")
    return time.perf_counter() - started


def sign_in(port: int, official) -> dict:
    import pyotp

    browser = Client(port)
    _, _, page = browser.request("GET", "/entrar/")
    status, _, _ = browser.request(
        "POST",
        "/entrar/",
        {**form_fields(page, "/entrar/"), "identifier": "funcionaria", "password": PASSWORD},
    )
    assert status == 302, f"sign-in: {status}"
    path = "/verificacion-adicional/?level=substantial&amp;next=/gestion/solicitudes/"
    _, _, page = browser.request("GET", html.unescape(path))
    fields = form_fields(page, path) if f'action="{path}"' in page else {}
    if not fields:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        fields = {"csrfmiddlewaretoken": token.group(1)} if token else {}
    code = pyotp.TOTP(official.totp_secret).now()
    status, _, _ = browser.request("POST", html.unescape(path), {**fields, "code": code})
    assert status == 302, f"second factor: {status}"
    status, _, page = browser.request("GET", "/gestion/solicitudes/")
    assert status == 200 and "SOL-B" in page, f"the queue page: {status}"
    return browser.cookies


def time_requests(client: Client, paths: list[str], *, follow, headers=None) -> list[float]:
    """Milliseconds per request; `follow(text)` gives the next page's path (or None) to visit next."""
    samples = []
    for path in paths:
        started = time.perf_counter()
        status, _, text = client.request("GET", path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, f"{path}: {status} {text[:200]}"
        following = follow(text)
        if following:
            started = time.perf_counter()
            status, _, text = client.request("GET", following, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert status == 200, f"{following}: {status}"
    return samples


def next_page_link(text: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', text)
    return html.unescape(found.group(1)) if found else None


def explain(official, institution) -> str:
    """EXPLAIN ANALYZE of the queue query the page runs for the first page of its default view."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ventanilla.cases import selectors

    roles = selectors.roles_of(official, institution)
    with CaptureQueriesContext(connection) as captured:
        selectors.queue(institution=institution, roles=roles, user=official)
    sql = next(query["sql"] for query in captured.captured_queries if "cases_case" in query["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE, help="a PostgreSQL database to drop and recreate"
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument(
        "--requests", type=int, default=400, help="queue pages per measurement (plus next pages)"
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("This bench runs on PostgreSQL: pass --database-url postgres://…")
    sys.path.insert(0, str(ROOT / "src"))

    port = free_port()
    _engine, env = configure(args.database_url, port)
    institutions, versions, official, citizen, token = set_up()
    took = generate(args.cases, institutions, versions, official, citizen)
    print(
        f"ventanilla inbox bench on PostgreSQL: {args.cases:,} cases generated and analysed in {took:.1f} s"
    )
    server = start_server(env, port, threads=4, processes=1)
    cookies = sign_in(port, official)

    pages = [f"/gestion/solicitudes/?{FILTERS[i % len(FILTERS)]}" for i in range(args.requests)]
    api_paths = [f"/api/v1/back-office/cases?{FILTERS[i % len(FILTERS)]}" for i in range(args.requests)]
    bearer = {"Authorization": f"Bearer {token}"}

    def api_next(text: str) -> str | None:
        cursor = json.loads(text)["next"]
        return f"/api/v1/back-office/cases?after={cursor}" if cursor else None

    browser = Client(port, cookies)
    time_requests(browser, pages[:20], follow=next_page_link)  # warm-up
    page_ms = time_requests(browser, pages, follow=next_page_link)
    api_client = Client(port)
    time_requests(api_client, api_paths[:20], follow=api_next, headers=bearer)
    api_ms = time_requests(api_client, api_paths, follow=api_next, headers=bearer)
    trivial = time_requests(Client(port), ["/healthz"] * len(page_ms), follow=lambda text: None)
    server.terminate()

    print(f"\n{'':>34} {'requests':>9} {'p50':>9} {'p99':>9}")
    rows = (
        ("GET /gestion/solicitudes/ (page)", page_ms),
        ("GET /api/v1/back-office/cases", api_ms),
        ("GET /healthz", trivial),
    )
    for label, samples in rows:
        print(
            f"{label:>34} {len(samples):>9} {percentile(samples, 50):>6.1f} ms {percentile(samples, 99):>6.1f} ms"
        )
    p50, p99 = percentile(page_ms, 50), percentile(page_ms, 99)
    print(
        f"\nratio: the queue page costs {p50 / percentile(trivial, 50):.1f}x a trivial request at p50, "
        f"{p99 / percentile(trivial, 99):.1f}x at p99"
    )
    print("\nEXPLAIN ANALYZE (the default view's first page):\n" + explain(official, institutions[0]))
    verdict = "PASS" if p50 <= TARGET_P50 and p99 <= TARGET_P99 else "BELOW TARGET"
    print(
        f"\n{verdict}: page p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p50 ≤ {TARGET_P50:.0f}, p99 ≤ {TARGET_P99:.0f})"
    )


if __name__ == "__main__":
    main()
