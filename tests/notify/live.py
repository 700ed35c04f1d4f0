"""Real processes for the notification tests: a mail server (aiosmtpd, keeping each message it accepts in a
Maildir), the sandbox SMS provider, and the platform (tests/cases/live.py's LiveServer, with its worker) pointed
at both. Also what the tests read back: the mail received, the texts received, the server's own database."""

import email
import email.policy
import http.client
import json
import mailbox
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.cases.live import ROOT, LiveServer, _free_port

SMS_SECRET = "live-tests-sandbox-secret"


def wait_for(condition, *, timeout: float = 15, what: str = "the condition"):
    """Polls `condition()` until it returns something truthy, and returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def _start(command: list[str], port: int, name: str) -> subprocess.Popen:
    """Starts a server process and waits until it listens on `port`. Its log goes to a file: a pipe nobody
    reads fills up and stops the process mid-run."""
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (open while the process runs)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{name} stopped at start: {log.read()}")
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port} in time")


def _stop(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


class MailServer:
    """aiosmtpd as its own process; stopping and starting it again keeps its port and the mail it received."""

    def __init__(self, folder: Path):
        self.port = _free_port()
        self.maildir = folder / "maildir"
        self.process: subprocess.Popen | None = None

    def start(self) -> "MailServer":
        self.process = _start(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{self.port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(self.maildir),
            ],
            self.port,
            "the mail server",
        )
        return self

    def stop(self) -> None:
        _stop(self.process)

    def received(self) -> list[email.message.EmailMessage]:
        if not self.maildir.exists():
            return []
        return [
            email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
            for message in mailbox.Maildir(self.maildir, create=False)
        ]


class SandboxSms:
    """`ventanilla sandbox_sms` as its own process: what it received and how it behaves, over its HTTP API."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "SandboxSms":
        self.process = _start(
            [
                sys.executable,
                "-m",
                "ventanilla.cli",
                "sandbox_sms",
                "--port",
                str(self.port),
                "--secret",
                SMS_SECRET,
                "--receipt-delay",
                "0.2",
            ],
            self.port,
            "the sandbox SMS provider",
        )
        return self

    def stop(self) -> None:
        _stop(self.process)

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            body = json.dumps(payload) if payload is not None else None
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            return json.loads(connection.getresponse().read() or b"{}")
        finally:
            connection.close()

    def received(self) -> list[dict]:
        return self._call("GET", "/v1/messages")["messages"]

    def control(self, **behaviour) -> dict:
        """mode="normal"|"fail"|"timeout", duplicate_receipts=, drop_receipts=, receipt_delay="""
        return self._call("POST", "/v1/control", behaviour)


class Platform(LiveServer):
    """`ventanilla serve` with its worker, sending email to `mail` and texts through `sms`, retrying fast."""

    def __init__(self, mail: MailServer, sms: SandboxSms):
        super().__init__(
            env={
                "VENTANILLA_SMTP_HOST": "127.0.0.1",
                "VENTANILLA_SMTP_PORT": str(mail.port),
                "VENTANILLA_SMS_SANDBOX_URL": sms.url,
                "VENTANILLA_SMS_SANDBOX_SECRET": SMS_SECRET,
                "VENTANILLA_NOTIFY_RETRY_SECONDS": "0.3",
                "VENTANILLA_NOTIFY_TIMEOUT": "5",
                "VENTANILLA_MAIL_FROM": "avisos@ventanilla.test",
            }
        )
        self.notify = json.loads(
            self.run_python("from tests.notify.live import set_up; set_up()").splitlines()[-1]
        )

    def call(self, method: str, path: str, payload: dict | None = None, *, token: str, **headers):
        """An API request with a bearer token (a person's, or a sending service's key): (status, headers, JSON)."""
        all_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
        status, answer_headers, text = self.request(
            method, path, json.dumps(payload) if payload is not None else None, all_headers
        )
        return status, answer_headers, json.loads(text) if text else None


def set_up() -> None:
    """Runs inside the server's environment: two citizens with a confirmed email and mobile number (one reads
    English, one Spanish) and their API tokens, an official who decides the test service's cases, and an
    institution's sending services with templates and keys."""
    from django.utils import timezone

    from ventanilla.cases import services as cases
    from ventanilla.catalogue.models import Institution
    from ventanilla.core.actor import Actor
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import DocumentType, User
    from ventanilla.notify import services as notify

    actor = Actor.system("live notify tests")
    facts: dict = {}
    for language, number, phone in (
        ("en", "8-111-1111", "+50761110001"),
        ("es", "8-222-2222", "+50761110002"),
    ):
        citizen = User.objects.create_user(
            username=number,
            email=f"{language}@example.org",
            password="a long passphrase for the live tests",
            first_name={"en": "Mary", "es": "María"}[language],
            last_name="Pérez",
            document_type=DocumentType.CEDULA,
            document_number=number,
            nationality="PAN",
            preferred_language=language,
            email_verified_at=timezone.now(),
            phone=phone,
            phone_verified_at=timezone.now(),
        )
        facts[language] = {
            "token": identity.issue_api_token(user=citizen, name="live", actor=actor),
            "person": f"user:{citizen.public_id}",
            "email": citizen.email,
            "phone": phone,
        }

    official = identity.create_user(
        username="funcionaria",
        email="funcionaria@example.org",
        password="another long passphrase",
        actor=actor,
    )
    municipality = Institution.objects.get(code="MUN-PRUEBA")
    for role in ("clerk", "reviewer"):
        cases.grant_role(user=official, institution=municipality, role=role, actor=actor)
    facts["official"] = identity.issue_api_token(user=official, name="live", actor=actor)

    def sending_service(slug: str, **fields):
        service = notify.create_sending_service(
            slug=slug, name_es="Padrón Municipal", name_en="Municipal Register", actor=actor, **fields
        )
        notify.save_template(
            service=service,
            slug="aviso",
            channel="email",
            essential=True,
            subject_es="Aviso ((number))",
            subject_en="Notice ((number))",
            body_es="Hola: su aviso ((number)) está listo.",
            body_en="Hello: your notice ((number)) is ready.",
            actor=actor,
        )
        notify.save_template(
            service=service,
            slug="aviso-sms",
            channel="sms",
            essential=True,
            body_es="Padrón: su aviso ((number)) está listo.",
            body_en="Register: your notice ((number)) is ready.",
            actor=actor,
        )
        return {
            kind: notify.create_api_key(service=service, name=f"live {kind}", kind=kind, actor=actor)[1]
            for kind in ("live", "test")
        }

    facts["padron"] = sending_service("padron")
    facts["limited"] = sending_service("limitado", rate_limit_per_minute=5)
    print(json.dumps(facts))
