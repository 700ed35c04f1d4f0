"""Real processes for the payment tests: the sandbox gateway (its own HTTP process, as a real gateway is), the
payer's browser at the gateway's page, an institution's system receiving the platform's signed callbacks, and the
platform (tests/cases/live.py's LiveServer, with its worker) pointed at the gateway."""

import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

from tests.cases.live import LiveServer, _free_port
from tests.notify.live import _start, _stop

SECRET = "live-tests-payment-gateway-secret"


class SandboxGateway:
    """`ventanilla sandbox_pay` as its own process: how it behaves, and the payer's side of its pages."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> "SandboxGateway":
        command = [sys.executable, "-m", "ventanilla.payments.sandbox_gateway", "--port", str(self.port)]
        self.process = _start(
            [*command, "--secret", SECRET, "--callback-delay", "0.2"], self.port, "the gateway"
        )
        return self

    def stop(self) -> None:
        _stop(self.process)

    def _call(self, method: str, path: str, payload=None, headers: dict | None = None, form: bool = False):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=40)
        try:
            if form:
                body, content_type = urlencode(payload), "application/x-www-form-urlencoded"
            else:
                body, content_type = (
                    (json.dumps(payload) if payload is not None else None),
                    "application/json",
                )
            connection.request(
                method, path, body=body, headers={"Content-Type": content_type, **(headers or {})}
            )
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def api(self, method: str, path: str, payload=None, *, secret: str = SECRET):
        status, _, text = self._call(method, path, payload, {"Authorization": f"Bearer {secret}"})
        return status, json.loads(text) if text else None

    def control(self, **behaviour) -> dict:
        """mode="normal"|"fail"|"timeout", duplicate_callbacks=, reverse_callbacks=, drop_callbacks=, …"""
        return json.loads(self._call("POST", "/v1/control", behaviour)[2])

    def sessions(self) -> str:
        """The gateway's own page listing its sessions, newest first."""
        return self._call("GET", "/")[2]

    def force(self, session_id: str, status: str = "success", error_code: str = "") -> dict:
        """Settles a session without the payer's page."""
        return self.api(
            "POST", f"/v1/sessions/{session_id}/force", {"status": status, "error_code": error_code}
        )[1]

    def pay(self, next_url: str, *, method: str = "card", card: str = "4242 4242 4242 4242"):
        """The payer at the gateway's page: submits the form, and does not follow the way back (the browser is
        closed). Returns (status, Location)."""
        path = urlsplit(next_url).path
        status, headers, _ = self._call("POST", path, {"method": method, "card_number": card}, form=True)
        return status, headers.get("Location", "")

    def page(self, next_url: str) -> tuple[int, str]:
        status, _, text = self._call("GET", urlsplit(next_url).path)
        return status, text


class CallbackSink:
    """An institution's system: records the callbacks it receives; answers 500 to the first `fail_first`."""

    def __init__(self, fail_first: int = 0):
        self.received: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    sink.received.append((self.headers, body))  # its lookups ignore case, as Django's do
                    failing = len(sink.received) <= sink.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Platform(LiveServer):
    """`ventanilla serve` with its worker, a test service with a fee of B/. 25.00, paying through `gateway`, asking
    the gateway about a quiet payment after a second."""

    def __init__(self, gateway: SandboxGateway):
        super().__init__(
            env={
                "VENTANILLA_PAYMENTS_SANDBOX_URL": gateway.url,
                "VENTANILLA_PAYMENTS_SANDBOX_SECRET": SECRET,
                "VENTANILLA_PAYMENTS_REFRESH_SECONDS": "1",
                "VENTANILLA_PAYMENTS_CHECK_AFTER_SECONDS": "1",
            },
            fee="25.00",
        )
        self.treasurer = json.loads(
            self.run_python("from tests.payments.live import set_up; set_up()").splitlines()[-1]
        )["token"]

    def call(self, method: str, path: str, payload=None, *, token: str | None = None, **headers):
        all_headers = {
            "Authorization": f"Bearer {token or self.token}",
            "Content-Type": "application/json",
            **headers,
        }
        status, answer_headers, text = self.request(
            method, path, json.dumps(payload) if payload is not None else None, all_headers
        )
        return status, answer_headers, json.loads(text) if text else None

    def python(self, code: str):
        """Runs `code` (its last line an expression) in the server's environment; returns the value, as JSON."""
        *lines, last = code.strip().splitlines()
        body = "\n".join(lines)
        script = f"import json\n{body}\nprint(json.dumps({last}, default=str))"
        return json.loads(self.run_python(f"exec({script!r})").splitlines()[-1])


def set_up() -> None:
    """Runs inside the server's environment: the test municipality's treasurer, with an API token."""
    from ventanilla.cases import services as cases
    from ventanilla.catalogue import selectors as catalogue
    from ventanilla.core.actor import Actor
    from ventanilla.identity import services as identity
    from ventanilla.identity.models import User

    actor = Actor.system("live payment tests")
    treasurer = User.objects.create_user(username="tesorera", email="tesorera@example.org", password="x" * 20)
    cases.grant_role(
        user=treasurer, institution=catalogue.institution_by_code("MUN-PRUEBA"), role="treasurer", actor=actor
    )
    print(json.dumps({"token": identity.issue_api_token(user=treasurer, name="live", actor=actor)}))
