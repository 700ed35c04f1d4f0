"""A real `ventanilla serve` (waitress, its own threads and database connections) on a throwaway database, for
the tests that need real HTTP from several threads at once, or a server process to kill.

pytest-django's live server shares one connection between its threads when the test database is SQLite in
memory, so concurrent requests would share one transaction; a separate process on its own database file (or
its own PostgreSQL database when DATABASE_URL is set) behaves like production on both."""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long passphrase for the live server"
USERNAME = "8-765-4321"
SERVICE = "MUN-PRUEBA-PERMISO"
ANSWERS = {
    "full_name": "María Pérez",
    "phone": "+50761234567",
    "owner_kind": "person",
    "description": "Ampliación de una planta",
    "cost": {"amount": "15000.00", "currency": "USD"},
    "floors": [{"area": 80}],
}

_template: dict = {}  # database URL of a migrated database, made once per test session


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres(url: str, *statements: str) -> None:
    import psycopg

    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def _name_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


class LiveServer:
    """A migrated throwaway database with the test service, a citizen and an API token, and the server.
    `env` adds settings (the mail server, the SMS provider, …) for the server and for `run_python`; `fee` puts
    a fee on the test service."""

    def __init__(self, env: dict | None = None, *, fee: str | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="ventanilla-live-"))
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.log = None
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith("postgres"):
            self.database_url = urlunsplit(urlsplit(base)._replace(path=f"/vt_live_{uuid.uuid4().hex[:12]}"))
        else:
            self.database_url = f"sqlite:///{self.folder / 'live.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "VENTANILLA_VAR_DIR": str(self.folder),
            "VENTANILLA_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "VENTANILLA_LOG_LEVEL": "ERROR",
            "DJANGO_SETTINGS_MODULE": "ventanilla.config.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            # Its own sandbox ports: 8026 and 8027 are the local demo's.
            "VENTANILLA_SMS_SANDBOX_URL": f"http://127.0.0.1:{_free_port()}",
            "VENTANILLA_PAYMENTS_SANDBOX_URL": f"http://127.0.0.1:{_free_port()}",
            **(env or {}),
        }
        self._create_database()
        self.facts = json.loads(
            self.run_python(f"from tests.cases.live import set_up; set_up(fee={fee!r})").splitlines()[-1]
        )
        self.token = self.facts["token"]

    # --- The database -----------------------------------------------------------------------------------

    def _create_database(self) -> None:
        """Copies a database migrated once per session (migrating takes far longer than copying)."""
        if self.database_url.startswith("sqlite"):
            if "sqlite" not in _template:
                template = Path(tempfile.mkdtemp(prefix="ventanilla-live-template-")) / "template.sqlite3"
                atexit.register(shutil.rmtree, template.parent, ignore_errors=True)
                self._migrate(f"sqlite:///{template}")
                _template["sqlite"] = template
            shutil.copy(_template["sqlite"], self.folder / "live.sqlite3")
            return
        if "postgres" not in _template:
            template_url = urlunsplit(
                urlsplit(self.database_url)._replace(path=f"/vt_live_template_{os.getpid()}")
            )
            name = _name_of(template_url)
            _postgres(template_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
            atexit.register(_postgres, template_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._migrate(template_url)
            _template["postgres"] = template_url
        template = _name_of(_template["postgres"])
        _postgres(self.database_url, f'CREATE DATABASE "{_name_of(self.database_url)}" TEMPLATE "{template}"')

    def _migrate(self, url: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "ventanilla.cli", "migrate", "--verbosity", "0"],
            env={**self.env, "DATABASE_URL": url},
            check=True,
            cwd=ROOT,
        )

    def run_python(self, code: str) -> str:
        """Runs Django code against this server's database in a separate process; returns what it printed."""
        script = f"import django; django.setup(); {code}"
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout

    def query(self, sql: str, *params) -> list[tuple]:
        """Reads the server's database directly (placeholders written %s), as an operator's SQL console would."""
        if self.database_url.startswith("sqlite"):
            with sqlite3.connect(f"file:{self.folder / 'live.sqlite3'}?mode=ro", uri=True) as connection:
                return connection.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()

    # --- The server ----------------------------------------------------------------------------------------

    def start(self, threads: int = 8, *, worker: bool = False) -> "LiveServer":
        """Serves, with `serve`'s own background worker beside it when `worker` is True."""
        # The log goes to a file: a pipe nobody reads fills up and stops the server (and its worker) mid-test.
        self.log = self.log or (self.folder / "serve.log").open("a+")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ventanilla.cli",
                "serve",
                "--no-setup",
                *([] if worker else ["--no-worker"]),
                "--port",
                str(self.port),
                "--threads",
                str(threads),
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                if self.process.poll() is not None:
                    self.log.seek(0)
                    raise RuntimeError(f"the server stopped: {self.log.read()}") from None
                time.sleep(0.2)
        raise RuntimeError("the server did not start in time")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, no goodbye — a power cut for the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.log:
            self.log.close()
        if not self.database_url.startswith("sqlite"):
            _postgres(
                self.database_url, f'DROP DATABASE IF EXISTS "{_name_of(self.database_url)}" WITH (FORCE)'
            )
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- Requests ------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 30):
        """One request on a new connection: (status, headers, text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def api(self, method: str, path: str, payload: dict | None = None, **headers):
        all_headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **headers}
        status, _, text = self.request(
            method, path, json.dumps(payload) if payload is not None else None, all_headers
        )
        return status, json.loads(text) if text else None


class Browser:
    """A person's browser over real HTTP: one cookie jar, forms posted with their hidden fields."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if fields is not None:
            body = urlencode(fields, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, response_headers, text = self.server.request(method, path, body, headers)
        for header in response_headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return status, response_headers, text

    def sign_in(self) -> None:
        _, _, page = self.request("GET", "/entrar/")
        status, _, _ = self.request(
            "POST",
            "/entrar/",
            {**form_fields(page, "/entrar/"), "identifier": USERNAME, "password": PASSWORD},
        )
        assert status == 302, "the citizen signs in"


def form_fields(html: str, action: str, *, tick_every_box: bool = False) -> dict:
    """The hidden and pre-filled inputs of the form that posts to `action` (the CSRF token among them); with
    `tick_every_box`, its checkboxes ticked too (a declaration)."""
    found = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert found, f"no form posting to {action}"
    fields = {}
    for tag in re.findall(r"<input[^>]*>", found.group(1)):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and ("checkbox" not in tag or "checked" in tag or tick_every_box):
            fields[name.group(1)] = value.group(1) if value else ("on" if "checkbox" in tag else "")
    return fields


def set_up(fee: str | None = None) -> None:
    """Runs inside the server's environment (LiveServer.run_python): the test service (with `fee`, if given),
    without its documents page so one request can start and send an application, a citizen who signs in with a
    password, a token."""
    from django.utils import timezone

    from tests.cases.fixtures import create_permit_procedure
    from ventanilla.cases import definitions, services
    from ventanilla.core.actor import Actor
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import DocumentType, User

    actor = Actor.system("live server tests")
    create_permit_procedure(fee=fee)
    document = definitions.parse_source((Path(__file__).with_name("permit.yaml")).read_text())
    document["form"]["pages"] = [page for page in document["form"]["pages"] if page["key"] != "documents"]
    services.import_definition(source=json.dumps(document), actor=actor)

    citizen = User.objects.create_user(
        username=USERNAME,
        email="live@example.org",
        password=PASSWORD,
        first_name="María",
        last_name="Pérez",
        document_type=DocumentType.CEDULA,
        document_number=USERNAME,
        nationality="PAN",
        email_verified_at=timezone.now(),
    )
    token = identity.issue_api_token(user=citizen, name="live", actor=actor)
    print(json.dumps({"token": token, "subject": f"user:{citizen.public_id}"}))
