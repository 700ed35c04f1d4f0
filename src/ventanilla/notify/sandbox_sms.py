"""The sandbox SMS provider: a separate HTTP process that behaves like a real SMS gateway, for the local demo and
the tests. Run it with `ventanilla sandbox_sms --port 8026` (or `python -m ventanilla.notify.sandbox_sms`).

Protocol (what a real gateway plugin would also speak, more or less):

- POST /v1/messages, `Authorization: Bearer <secret>`, JSON {"to": "+507…", "body": "…", "sender": "…",
  "reference": "<the platform's message id>", "callback_url": "https://…"} → 202 {"id": "sbx_…"}.
  400 {"error": "invalid_number"} when `to` is not an E.164 number; 401 without the right secret.
- Some moments later, a delivery receipt: POST <callback_url> with JSON {"id", "reference", "to", "status", "at"},
  status "delivered", "temporary-failure" (numbers ending 9999: the phone is off) or "permanent-failure" (numbers
  ending 0000: no such number), signed with headers X-Sandbox-Timestamp (Unix seconds) and
  X-Sandbox-Signature: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body). A receipt the platform does
  not acknowledge with 2xx is sent again with backoff, five times.
- POST /v1/control {"mode": "normal" | "fail" | "timeout", "receipt_delay": s, "duplicate_receipts": bool,
  "drop_receipts": bool}: "fail" answers every message with 500, "timeout" holds it without answering for 30 s.
- GET /v1/messages (JSON) and GET / (a page) list what arrived; DELETE /v1/messages forgets it.

It keeps everything in memory: a restart starts empty."""

import argparse
import hmac
import html
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ventanilla.core import callbacks

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SIGNATURE_HEADER = "X-Sandbox-Signature"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"


def outcome_for(number: str) -> str:
    """What becomes of a message to this number (the test keys of the platform follow the same rule)."""
    if number.endswith("0000"):
        return "permanent-failure"
    if number.endswith("9999"):
        return "temporary-failure"
    return "delivered"


class Gateway:
    def __init__(self, secret: str, receipt_delay: float):
        self.secret = secret
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.settings = {
            "mode": "normal",
            "receipt_delay": receipt_delay,
            "duplicate_receipts": False,
            "drop_receipts": False,
        }

    def accept(self, request: dict) -> dict:
        message = {
            "id": f"sbx_{secrets.token_hex(8)}",
            "to": request["to"],
            "body": request.get("body", ""),
            "sender": request.get("sender", ""),
            "reference": request.get("reference", ""),
            "received_at": datetime.now(UTC).isoformat(),
            "status": outcome_for(request["to"]),
        }
        with self.lock:
            self.messages.append(message)
            settings = dict(self.settings)
        if request.get("callback_url") and not settings["drop_receipts"]:
            copies = 2 if settings["duplicate_receipts"] else 1
            for copy in range(copies):
                threading.Timer(
                    settings["receipt_delay"] * (copy + 1),
                    self.send_receipt,
                    args=(request["callback_url"], message),
                ).start()
        return message

    def send_receipt(self, url: str, message: dict) -> None:
        receipt = {key: message[key] for key in ("id", "reference", "to", "status")}
        receipt["at"] = datetime.now(UTC).isoformat()
        body = json.dumps(receipt).encode()
        callbacks.post_until_taken(
            url, body, self.secret, timestamp_header=TIMESTAMP_HEADER, signature_header=SIGNATURE_HEADER
        )


class Handler(BaseHTTPRequestHandler):
    gateway: Gateway
    server_version = "ventanilla-sandbox-sms"

    def log_message(self, format, *args):  # quiet: the tests start it often
        pass

    def _answer(self, status: int, body: dict | str, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self) -> dict | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            value = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def do_GET(self):
        with self.gateway.lock:
            messages = list(self.gateway.messages)
        if self.path == "/v1/messages":
            self._answer(200, {"messages": messages})
        elif self.path == "/":
            self._answer(200, page(messages), "text/html")
        else:
            self._answer(404, {"error": "not_found"})

    def do_DELETE(self):
        if self.path != "/v1/messages":
            return self._answer(404, {"error": "not_found"})
        with self.gateway.lock:
            self.gateway.messages.clear()
        return self._answer(204, {})

    def do_POST(self):
        body = self._json()
        if body is None:
            return self._answer(400, {"error": "invalid_json"})
        if self.path == "/v1/control":
            with self.gateway.lock:
                self.gateway.settings.update(
                    {key: value for key, value in body.items() if key in self.gateway.settings}
                )
                return self._answer(200, self.gateway.settings)
        if self.path != "/v1/messages":
            return self._answer(404, {"error": "not_found"})
        expected = f"Bearer {self.gateway.secret}"
        if not hmac.compare_digest(self.headers.get("Authorization", ""), expected):
            return self._answer(401, {"error": "unauthorized"})
        mode = self.gateway.settings["mode"]
        if mode == "fail":
            return self._answer(500, {"error": "internal_error"})
        if mode == "timeout":
            time.sleep(30)
            return self._answer(504, {"error": "timeout"})
        if not isinstance(body.get("to"), str) or not E164.match(body["to"]):
            return self._answer(400, {"error": "invalid_number"})
        return self._answer(202, {"id": self.gateway.accept(body)["id"]})


def page(messages: list[dict]) -> str:
    rows = "".join(
        f"<li><p><strong>{html.escape(m['to'])}</strong> · {html.escape(m['sender'])} · "
        f"<time>{html.escape(m['received_at'][:19])}</time> · {html.escape(m['status'])}</p>"
        f"<p>{html.escape(m['body'])}</p></li>"
        for m in reversed(messages)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Sandbox SMS: messages received</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}"
        "li{border-bottom:1px solid #ccc;list-style:none}ul{padding:0}</style></head><body>"
        "<h1>Sandbox SMS</h1><p>Text messages the platform sent, newest first. Nothing here reached a phone.</p>"
        f"<ul>{rows or '<li><p>No messages yet.</p></li>'}</ul></body></html>"
    )


def serve(*, host: str, port: int, secret: str, receipt_delay: float) -> None:
    handler = type("BoundHandler", (Handler,), {"gateway": Gateway(secret, receipt_delay)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


def arguments(parser: argparse.ArgumentParser, *, secret: str | None = None) -> argparse.ArgumentParser:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument(
        "--secret",
        required=secret is None,
        default=secret,
        help="Shared with the platform (VENTANILLA_SMS_SANDBOX_SECRET).",
    )
    parser.add_argument("--receipt-delay", type=float, default=1.0, help="Seconds before a delivery receipt.")
    return parser


if __name__ == "__main__":
    options = arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0])).parse_args()
    serve(host=options.host, port=options.port, secret=options.secret, receipt_delay=options.receipt_delay)
