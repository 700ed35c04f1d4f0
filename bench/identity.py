"""Complete OpenID Connect sign-ins per second over HTTP, against a trivial endpoint of the same server.

    .venv/bin/python bench/identity.py [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--seconds 10]

Builds a throwaway database (SQLite in a temporary folder; with --database-url that PostgreSQL database is dropped
and created again), starts `ventanilla serve` on a free port, makes a citizen and a client_secret_basic relying
party, signs the citizen in and gives consent once. Then, in the same run and with the same number of client
threads, it measures:

  - complete sign-ins: authorize (session signed in, consent given: straight back with a code) → token
    (client_secret_basic, PKCE verifier) → userinfo, three requests each, every one checked;
  - GET /healthz (one database query) as the trivial endpoint,

and prints both rates and their ratio (how many trivial requests one sign-in costs).
"""

import argparse
import atexit
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.catalogue_search import recreate_postgres  # noqa: E402

PASSWORD = "a long passphrase for the bench"  # noqa: S105 (a throwaway bench account)
REDIRECT_URI = "http://127.0.0.1:9/callback"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(database_url: str | None, port: int) -> tuple[str, dict]:
    """Point Django (here and in the server) at a fresh database; returns a label and the server's env."""
    var = tempfile.mkdtemp(prefix="ventanilla-bench-identity-")
    atexit.register(shutil.rmtree, var, ignore_errors=True)
    if database_url:
        recreate_postgres(database_url)
        label = "PostgreSQL"
    else:
        database_url = f"sqlite:///{var}/bench.sqlite3"
        label = "SQLite"
    env = {
        **os.environ,
        "VENTANILLA_VAR_DIR": var,
        "DATABASE_URL": database_url,
        "VENTANILLA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "VENTANILLA_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "ventanilla.config.settings",
    }
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    return label, env


def start_server(env: dict, port: int, threads: int, processes: int = 1) -> subprocess.Popen:
    """`ventanilla serve` on the bench's database, once it answers /healthz."""
    command = [
        sys.executable,
        "-m",
        "ventanilla.cli",
        "serve",
        "--port",
        str(port),
        "--threads",
        str(threads),
    ]
    command += ["--processes", str(processes), "--no-setup", "--no-worker"]
    # The server's log goes to a file: a pipe nobody reads fills up and stops the server mid-run.
    log = tempfile.NamedTemporaryFile("w+", prefix="ventanilla-bench-serve-", suffix=".log")  # noqa: SIM115
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    atexit.register(server.terminate)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            if server.poll() is not None:
                log.seek(0)
                sys.exit(f"The server stopped: {log.read()}")
            time.sleep(0.3)
    sys.exit("The server did not start in time.")


def make_citizen_and_service() -> tuple[str, str]:
    from ventanilla.core.actor import Actor
    from ventanilla.identity.models import DocumentType, User
    from ventanilla.identity.oidc import services

    User.objects.create_user(
        username="8-888-8888",
        email="bench@example.org",
        password=PASSWORD,
        first_name="Ana",
        last_name="Bench",
        document_type=DocumentType.CEDULA,
        document_number="8-888-8888",
        nationality="PAN",
    )
    registration = services.register_relying_party(
        actor=Actor.system("bench"),
        client_id="bench-rp",
        name_es="Servicio de prueba",
        name_en="Bench service",
        redirect_uris=[REDIRECT_URI],
        sector="bench",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method's name)
        claims=[
            {"claim": c, "essential": True, "purpose_es": "Prueba.", "purpose_en": "Bench."}
            for c in ("given_name", "family_name", "email")
        ],
    )
    return registration.service.client_id, registration.client_secret


class Client:
    """One keep-alive connection with its own cookies."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, response.headers, text


def form_fields(html: str, action: str) -> dict:
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S).group(1)
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        checked = "checkbox" not in tag or "checked" in tag
        if name and checked:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def authorization_path(client_id: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"/oidc/authorize?{urlencode(query)}", verifier


def sign_in_once(port: int, client_id: str) -> dict:
    """Password sign-in and the first consent, through the pages; returns the browser's cookies."""
    browser = Client(port)
    _, _, page = browser.request("GET", "/entrar/")
    fields = form_fields(page, "/entrar/")
    status, _, _ = browser.request(
        "POST", "/entrar/", {**fields, "identifier": "8-888-8888", "password": PASSWORD}
    )
    assert status == 302, "the bench citizen could not sign in"
    path, _ = authorization_path(client_id)
    status, headers, _ = browser.request("GET", path)
    consent_path = headers["Location"]
    assert "/autorizar/" in consent_path, f"expected the consent page, got {consent_path}"
    _, _, page = browser.request("GET", consent_path)
    fields = form_fields(page, consent_path)
    status, headers, _ = browser.request("POST", consent_path, {**fields, "decision": "allow"})
    assert status == 302 and headers["Location"].startswith(REDIRECT_URI)
    return browser.cookies


def complete_sign_in(client: Client, client_id: str, basic: str) -> None:
    path, verifier = authorization_path(client_id)
    status, headers, _ = client.request("GET", path)
    location = headers.get("Location", "")
    assert status == 302 and location.startswith(REDIRECT_URI), f"authorize: {status} {location}"
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    status, _, body = client.request("POST", "/oidc/token", form, {"Authorization": f"Basic {basic}"})
    assert status == 200, f"token: {status} {body}"
    tokens = json.loads(body)
    assert tokens["id_token"].count(".") == 2
    status, _, body = client.request(
        "GET", "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert status == 200 and json.loads(body)["email"] == "bench@example.org", f"userinfo: {status} {body}"


def healthz(client: Client) -> None:
    status, _, _ = client.request("GET", "/healthz")
    assert status == 200


def measure(work, make_client, *, clients: int, seconds: float) -> tuple[float, list[float]]:
    """Runs `work(client)` in `clients` threads for `seconds`; returns operations per second and latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[BaseException] = []
    stop = time.perf_counter() + seconds

    def loop():
        client = make_client()
        mine = []
        try:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                work(client)
                mine.append(time.perf_counter() - started)
        except BaseException as error:  # reported below: a bench must not hide a failure
            failures.append(error)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return len(latencies) / elapsed, latencies


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95, in milliseconds."""
    return statistics.median(samples) * 1000, statistics.quantiles(samples, n=20)[-1] * 1000


def engine_arguments(parser: argparse.ArgumentParser, *, default_database: str) -> None:
    """The options of a bench that runs on both databases, each in a process of its own."""
    parser.add_argument(
        "--database-url", default=default_database, help="the PostgreSQL database to drop and recreate"
    )
    parser.add_argument("--engines", default="postgres,sqlite", help="which to run, in order")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each rate measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds of the measurements")
    parser.add_argument("--clients", type=int, default=16, help="client threads, the same for every endpoint")
    parser.add_argument("--threads", type=int, default=8, help="server threads (per process)")
    parser.add_argument("--postgres-processes", type=int, default=2, help="server processes on PostgreSQL")
    parser.add_argument("--sqlite-processes", type=int, default=1, help="server processes on SQLite")
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # set for the child process that runs one engine
    parser.add_argument("--results", help=argparse.SUPPRESS)


def each_engine(args, script: str, run_engine) -> list[dict] | None:
    """In the child process (--engine given), run that engine and hand its result back; in the parent, run a
    child per engine (Django is configured once per process) and return their results."""
    if args.engine:
        Path(args.results).write_text(json.dumps(run_engine(args)))
        return None
    results = []
    for engine in args.engines.split(","):
        with tempfile.NamedTemporaryFile(suffix=".json") as results_file:
            command = [
                sys.executable,
                script,
                *sys.argv[1:],
                "--engine",
                engine,
                "--results",
                results_file.name,
            ]
            subprocess.run(command, check=True)
            results.append(json.loads(Path(results_file.name).read_text()))
    return results


def run_on_each_engine(
    *, doc: str, script: str, default_database: str, banner: str, run_engine, summary
) -> None:
    """The whole command line of a bench that runs on both databases: the parent prints `banner`, runs a child per
    engine and prints `summary(result)` for each; a child runs `run_engine(args)` for its engine."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    engine_arguments(parser, default_database=default_database)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if not args.engine:
        print(banner)
    results = each_engine(args, script, run_engine)
    if results is None:
        return
    print("\n== summary")
    for result in results:
        print(f"{result['engine']:>10} ({result['processes']} process(es)): {summary(result)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to drop and recreate (default: SQLite)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    parser.add_argument(
        "--clients", type=int, default=4, help="client threads, the same for both measurements"
    )
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))

    port = free_port()
    engine, env = configure(args.database_url, port)
    client_id, secret = make_citizen_and_service()
    start_server(env, port, args.threads)
    cookies = sign_in_once(port, client_id)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    print(
        f"ventanilla identity bench on {engine}: `ventanilla serve` with {args.threads} threads, "
        f"{args.clients} client threads, {args.seconds:.0f} s per measurement"
    )

    complete_sign_in(Client(port, cookies), client_id, basic)  # warm-up
    sign_ins, sign_in_latencies = measure(
        lambda c: complete_sign_in(c, client_id, basic),
        lambda: Client(port, cookies),
        clients=args.clients,
        seconds=args.seconds,
    )
    trivial, trivial_latencies = measure(
        healthz, lambda: Client(port), clients=args.clients, seconds=args.seconds
    )

    print()
    print(f"{'':>34} {'per second':>11} {'p50':>9} {'p95':>9}")
    for label, rate, latencies in (
        ("complete sign-ins (3 requests)", sign_ins, sign_in_latencies),
        ("GET /healthz", trivial, trivial_latencies),
    ):
        p50, p95 = percentiles(latencies)
        print(f"{label:>34} {rate:>11.1f} {p50:>6.1f} ms {p95:>6.1f} ms")
    print(f"\nratio: one complete sign-in costs as much as {trivial / sign_ins:.1f} trivial requests")


if __name__ == "__main__":
    main()
