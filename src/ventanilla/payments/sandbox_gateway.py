"""The sandbox payment gateway: a separate HTTP process that behaves like a real card and bank gateway, for the
local demo and the tests. Run it with `ventanilla sandbox_pay --port 8027` (or
`python -m ventanilla.payments.sandbox_gateway --secret S`).

Protocol (what a real gateway plugin would also speak, more or less). Amounts are decimal strings ("25.00").

- POST /v1/sessions, `Authorization: Bearer <secret>`, JSON {"amount", "currency", "reference" (the platform's
  payment id), "description", "return_url", "callback_url", "expires_in" (seconds)} → 201 {"id": "ps_…",
  "redirect_url", "status": "started"}. The same reference again answers the same session (200). 400
  {"error": "invalid_request", "detail"} for a bad amount, currency or URL; 401 without the right secret.
- GET /pay/<id>: the payer's page (card form, bank transfer, cancel). POST /pay/<id> (form: method=card|bank|
  cancel, card_number) → 303 to return_url?session=<id>. Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002
  is declined (card_declined); …9995 insufficient_funds; …0069 card_expired; …0119 provider_error; any other 16
  digits pays. A card payment is "submitted" at once and final a moment later; a bank transfer is "submitted" and
  pays after `bank_delay` seconds. A final or expired session cannot be paid again (409).
- Notifications: every change is an event {"event_id", "type": "payment.submitted|succeeded|failed|cancelled" or
  "refund.succeeded", "session", "reference", "status", "error_code", "amount", "currency", "refund": {"id",
  "reference"}, "at"} POSTed to the session's callback_url, signed with headers X-Sandbox-Timestamp (Unix seconds)
  and X-Sandbox-Signature: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body). An event not acknowledged
  with 2xx is sent again, with the same event_id, after 1, 2, 4, 8 and 16 seconds.
- GET /v1/sessions/<id> (bearer) → {"id", "reference", "status", "error_code", "amount", "currency", "refunded"};
  an unpaid session past its time reports "expired". POST /v1/sessions/<id>/cancel closes an unfinished one.
- POST /v1/refunds (bearer) {"session", "amount", "reference"} → 201 {"id": "rf_…", "status": "succeeded"} and a
  refund.succeeded event; the same reference again answers the same refund. 400 amount_exceeds_refundable; 409
  not_paid.
- GET /v1/settlements?date=YYYY-MM-DD (bearer) → {"date", "lines": [{"type": "payment"|"refund", "id",
  "reference", "refund_reference", "amount", "currency", "settled_at"}]}: what was settled on that day (UTC).
- POST /v1/control {"mode": "normal"|"fail"|"timeout", "callback_delay", "processing_delay", "bank_delay",
  "duplicate_callbacks", "drop_callbacks", "reverse_callbacks" (the final event before "submitted"),
  "decline_all", "settlement_omit": [session ids], "settlement_amount_override": {session id: amount}}: "fail"
  answers every /v1 call with 500, "timeout" holds it 30 s and answers 504. POST /v1/sessions/<id>/force
  {"status": "success"|"failed", "error_code"} settles a session without the payer's page (for tests).
- GET / lists the sessions; DELETE /v1/sessions forgets everything.

It keeps everything in memory: a restart starts empty."""

import argparse
import hmac
import html
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ventanilla.core import callbacks

SIGNATURE_HEADER = "X-Sandbox-Signature"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
FINAL = {"success", "failed", "cancelled", "expired"}
CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "card_expired",
    "4000000000000119": "provider_error",
}
EVENT_NAMES = {"success": "succeeded"}


def _money(text) -> Decimal | None:
    try:
        amount = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return amount


def _now() -> datetime:
    return datetime.now(UTC)


class Gateway:
    def __init__(self, secret: str, callback_delay: float):
        self.secret = secret
        self.lock = threading.RLock()  # the handler holds it across calls that take it again
        self.sessions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.settings = {
            "mode": "normal",
            "callback_delay": callback_delay,
            "processing_delay": 0.2,
            "bank_delay": 3.0,
            "duplicate_callbacks": False,
            "drop_callbacks": False,
            "reverse_callbacks": False,
            "decline_all": False,
            "settlement_omit": [],
            "settlement_amount_override": {},
        }

    # --- Sessions ------------------------------------------------------------------------------------------

    def create(self, request: dict, base_url: str) -> tuple[int, dict]:
        amount = _money(request.get("amount"))
        currency = str(request.get("currency") or "")
        problems = []
        if amount is None:
            problems.append("amount must be a positive decimal with at most two places")
        if not re.fullmatch(r"[A-Z]{3}", currency):
            problems.append("currency must be three capital letters")
        expires_in = request.get("expires_in", 1800)
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            problems.append("expires_in must be a positive number of seconds")
        for name in ("return_url", "callback_url", "reference"):
            if not isinstance(request.get(name), str) or not request[name]:
                problems.append(f"{name} is required")
        if problems:
            return 400, {"error": "invalid_request", "detail": "; ".join(problems)}
        with self.lock:
            for session in self.sessions.values():
                if session["reference"] == request["reference"]:
                    return 200, self.public(session)
            session = {
                "id": f"ps_{secrets.token_hex(8)}",
                "reference": request["reference"],
                "amount": amount,
                "currency": currency,
                "description": str(request.get("description") or "")[:300],
                "return_url": request["return_url"],
                "callback_url": request["callback_url"],
                "status": "started",
                "error_code": "",
                "refunded": Decimal("0.00"),
                "created_at": _now(),
                "expires_at": _now() + timedelta(seconds=expires_in),
                "settled_at": None,
                "redirect_url": f"{base_url}/pay/",
            }
            session["redirect_url"] += session["id"]
            self.sessions[session["id"]] = session
        return 201, self.public(session)

    def public(self, session: dict) -> dict:
        status = session["status"]
        if status == "started" and _now() >= session["expires_at"]:
            status = "expired"
        return {
            "id": session["id"],
            "reference": session["reference"],
            "status": status,
            "error_code": session["error_code"],
            "amount": str(session["amount"]),
            "currency": session["currency"],
            "refunded": str(session["refunded"]),
            "redirect_url": session["redirect_url"],
        }

    def open_for_payment(self, session: dict) -> bool:
        return session["status"] == "started" and _now() < session["expires_at"]

    def move(self, session: dict, status: str, error_code: str = "") -> None:
        """Change a session's status and announce it (the caller holds the lock)."""
        session["status"], session["error_code"] = status, error_code
        if status == "success":
            session["settled_at"] = _now()
        self.announce(session, status)

    def pay(self, session: dict, method: str, card_number: str) -> None:
        """What the payer did on the page; a card settles a moment later, a bank transfer after bank_delay."""
        if method == "cancel":
            self.move(session, "cancelled", "cancelled_by_payer")
            return
        outcome = "" if method == "bank" else CARDS.get(card_number, "")
        if self.settings["decline_all"] and method == "card":
            outcome = "card_declined"
        delay = self.settings["bank_delay"] if method == "bank" else self.settings["processing_delay"]
        if self.settings["reverse_callbacks"]:
            # The final word first, "submitted" after it: what a platform must not be confused by.
            session["status"] = "submitted"
            self._finish(session, outcome)
            self.announce(session, "submitted", late=0.5)
            return
        self.move(session, "submitted")
        threading.Timer(delay, self._finish_locked, args=(session, outcome)).start()

    def _finish_locked(self, session: dict, outcome: str) -> None:
        with self.lock:
            self._finish(session, outcome)

    def _finish(self, session: dict, outcome: str) -> None:
        if session["status"] != "submitted":
            return
        self.move(session, "failed" if outcome else "success", outcome)

    def cancel(self, session: dict) -> None:
        if self.public(session)["status"] not in FINAL:  # an expired session stays expired
            self.move(session, "cancelled", "cancelled_by_payer")

    def force(self, session: dict, status: str, error_code: str) -> None:
        if self.public(session)["status"] not in FINAL:
            self.move(session, status, error_code if status == "failed" else "")

    def refund(self, request: dict) -> tuple[int, dict]:
        session = self.sessions.get(str(request.get("session")))
        amount = _money(request.get("amount"))
        if session is None:
            return 404, {"error": "unknown_payment"}
        if amount is None or not request.get("reference"):
            return 400, {"error": "invalid_request", "detail": "amount and reference are required"}
        for refund in self.refunds.values():
            if refund["reference"] == request["reference"]:
                return 200, {"id": refund["id"], "status": "succeeded"}
        if session["status"] != "success":
            return 409, {"error": "not_paid"}
        if amount > session["amount"] - session["refunded"]:
            return 400, {"error": "amount_exceeds_refundable"}
        refund = {
            "id": f"rf_{secrets.token_hex(8)}",
            "reference": request["reference"],
            "session": session["id"],
            "amount": amount,
            "settled_at": _now(),
        }
        self.refunds[refund["id"]] = refund
        session["refunded"] += amount
        self.announce(session, "succeeded", refund=refund)
        return 201, {"id": refund["id"], "status": "succeeded"}

    def settlements(self, day: str) -> dict:
        omit = set(self.settings["settlement_omit"])
        override = self.settings["settlement_amount_override"]
        lines = [
            {
                "type": "payment",
                "id": session["id"],
                "reference": session["reference"],
                "refund_reference": "",
                "amount": str(override.get(session["id"], session["amount"])),
                "currency": session["currency"],
                "settled_at": session["settled_at"].isoformat(),
            }
            for session in self.sessions.values()
            if session["settled_at"]
            and session["settled_at"].date().isoformat() == day
            and session["id"] not in omit
        ]
        lines += [
            {
                "type": "refund",
                "id": refund["id"],
                "reference": self.sessions[refund["session"]]["reference"],
                "refund_reference": refund["reference"],
                "amount": str(refund["amount"]),
                "currency": self.sessions[refund["session"]]["currency"],
                "settled_at": refund["settled_at"].isoformat(),
            }
            for refund in self.refunds.values()
            if refund["settled_at"].date().isoformat() == day and refund["id"] not in omit
        ]
        return {"date": day, "lines": lines}

    # --- Notifications --------------------------------------------------------------------------------------

    def announce(self, session: dict, status: str, *, refund: dict | None = None, late: float = 0) -> None:
        kind = "refund.succeeded" if refund else "payment." + EVENT_NAMES.get(status, status)
        event = {
            "event_id": f"ev_{secrets.token_hex(8)}",
            "type": kind,
            "session": session["id"],
            "reference": session["reference"],
            "status": status,
            "error_code": session["error_code"] if not refund else "",
            "amount": str(refund["amount"] if refund else session["amount"]),
            "currency": session["currency"],
            "at": _now().isoformat(),
        }
        if refund:
            event["refund"] = {"id": refund["id"], "reference": refund["reference"]}
        if self.settings["drop_callbacks"]:
            return
        copies = 2 if self.settings["duplicate_callbacks"] else 1
        for copy in range(copies):
            threading.Timer(
                late + self.settings["callback_delay"] * (copy + 1),
                self.send,
                args=(session["callback_url"], event),
            ).start()

    def send(self, url: str, event: dict) -> None:
        callbacks.post_until_taken(
            url,
            json.dumps(event).encode(),
            self.secret,
            timestamp_header=TIMESTAMP_HEADER,
            signature_header=SIGNATURE_HEADER,
        )


class Handler(BaseHTTPRequestHandler):
    gateway: Gateway
    server_version = "ventanilla-sandbox-pay"
    protocol_version = "HTTP/1.1"  # keep-alive: a platform under load reuses its connections
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart on a kept connection

    def log_message(self, format, *args):  # quiet: the tests start it often
        pass

    def _answer(self, status: int, body, content_type: str = "application/json", headers: dict | None = None):
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json(self) -> dict | None:
        try:
            value = json.loads(self._body() or b"{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "").encode("utf-8", "replace")
        return hmac.compare_digest(given, f"Bearer {self.gateway.secret}".encode())

    def _api_refusal(self) -> bool:
        """401 without the secret; the failure modes the control endpoint set. True when it answered."""
        if not self._authorised():
            self._answer(401, {"error": "unauthorized"})
            return True
        mode = self.gateway.settings["mode"]
        if mode == "fail":
            self._answer(500, {"error": "internal_error"})
            return True
        if mode == "timeout":
            time.sleep(30)
            self._answer(504, {"error": "timeout"})
            return True
        return False

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

    def do_GET(self):
        address = urlsplit(self.path)
        gateway = self.gateway
        if address.path == "/":
            with gateway.lock:
                sessions = [gateway.public(session) for session in gateway.sessions.values()]
            return self._answer(200, list_page(sessions), "text/html")
        if address.path.startswith("/pay/"):
            with gateway.lock:
                session = gateway.sessions.get(address.path.removeprefix("/pay/"))
                if session is None:
                    return self._answer(
                        404, message_page("Unknown payment", "This payment does not exist."), "text/html"
                    )
                if not gateway.open_for_payment(session):
                    return self._answer(409, closed_page(gateway.public(session)), "text/html")
                return self._answer(200, pay_page(session), "text/html")
        if self._api_refusal():
            return None
        if address.path == "/v1/settlements":
            day = (parse_qs(address.query).get("date") or [""])[0]
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
                return self._answer(400, {"error": "invalid_request", "detail": "date=YYYY-MM-DD"})
            with gateway.lock:
                return self._answer(200, gateway.settlements(day))
        if address.path.startswith("/v1/sessions/"):
            with gateway.lock:
                session = gateway.sessions.get(address.path.removeprefix("/v1/sessions/"))
                if session is None:
                    return self._answer(404, {"error": "unknown_payment"})
                return self._answer(200, gateway.public(session))
        return self._answer(404, {"error": "not_found"})

    def do_DELETE(self):
        if self.path != "/v1/sessions":
            return self._answer(404, {"error": "not_found"})
        with self.gateway.lock:
            self.gateway.sessions.clear()
            self.gateway.refunds.clear()
        return self._answer(204, "", "text/plain")

    def do_POST(self):
        gateway = self.gateway
        path = urlsplit(self.path).path
        if path.startswith("/pay/"):
            return self._payer_form(path.removeprefix("/pay/"))
        body = self._json()
        if body is None:
            return self._answer(400, {"error": "invalid_json"})
        if path == "/v1/control":
            with gateway.lock:
                gateway.settings.update(
                    {key: value for key, value in body.items() if key in gateway.settings}
                )
                return self._answer(200, gateway.settings)
        if self._api_refusal():
            return None
        with gateway.lock:
            if path == "/v1/sessions":
                return self._answer(*gateway.create(body, self._base_url()))
            if path == "/v1/refunds":
                return self._answer(*gateway.refund(body))
            match = re.fullmatch(r"/v1/sessions/([^/]+)/(cancel|force)", path)
            session = gateway.sessions.get(match.group(1)) if match else None
            if session is None:
                return self._answer(404, {"error": "unknown_payment" if match else "not_found"})
            if match.group(2) == "cancel":
                gateway.cancel(session)
            elif body.get("status") not in ("success", "failed"):
                return self._answer(400, {"error": "invalid_request", "detail": "status: success or failed"})
            else:
                gateway.force(session, body["status"], str(body.get("error_code") or "provider_error"))
            return self._answer(200, gateway.public(session))

    def _payer_form(self, session_id: str):
        form = {key: values[0] for key, values in parse_qs(self._body().decode("utf-8", "replace")).items()}
        gateway = self.gateway
        with gateway.lock:
            session = gateway.sessions.get(session_id)
            if session is None:
                return self._answer(
                    404, message_page("Unknown payment", "This payment does not exist."), "text/html"
                )
            if not gateway.open_for_payment(session):
                return self._answer(409, closed_page(gateway.public(session)), "text/html")
            method = form.get("method", "card")
            card = re.sub(r"[\s-]", "", form.get("card_number", ""))
            if method == "card" and not re.fullmatch(r"\d{16}", card):
                return self._answer(
                    400, pay_page(session, error="Enter the 16 digits of the card number."), "text/html"
                )
            if method not in ("card", "bank", "cancel"):
                return self._answer(400, pay_page(session, error="Choose how to pay."), "text/html")
            gateway.pay(session, method, card)
            back = (
                session["return_url"]
                + ("&" if "?" in session["return_url"] else "?")
                + f"session={session['id']}"
            )
        return self._answer(
            303, message_page("Back to the platform", "Returning…"), "text/html", {"Location": back}
        )


# --- Pages ---------------------------------------------------------------------------------------------------

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:1rem auto;padding:0 1rem;color:#0b0c0c}"
    "label{display:block;font-weight:700;margin-top:1rem}input{font:inherit;padding:.4rem;width:100%;"
    "box-sizing:border-box;border:2px solid #0b0c0c}button{font:inherit;margin:1rem .5rem 0 0;padding:.5rem 1rem}"
    ".error{color:#d4351c;font-weight:700}.amount{font-size:2rem;font-weight:700}li{list-style:none;"
    "border-bottom:1px solid #ccc}ul{padding:0}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Sandbox gateway</title><style>{STYLE}</style></head>"
        f"<body><main><p>Sandbox payment gateway · nothing here moves real money</p>{body}</main></body></html>"
    )


def message_page(title: str, text: str) -> str:
    return _page(title, f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>")


def closed_page(session: dict) -> str:
    return _page(
        "Payment closed",
        f"<h1>This payment can no longer be paid</h1><p>Its status is {html.escape(session['status'])}.</p>",
    )


def pay_page(session: dict, error: str = "") -> str:
    problem = f'<p class="error" role="alert" id="error">{html.escape(error)}</p>' if error else ""
    described = ' aria-describedby="error"' if error else ""
    return _page(
        "Pay",
        "<h1>Payment</h1>"
        f'<p class="amount">{html.escape(session["currency"])} {session["amount"]}</p>'
        f"<p>{html.escape(session['description'])}</p>{problem}"
        f'<form method="post" action="/pay/{session["id"]}"><input type="hidden" name="method" value="card">'
        f'<label for="card_number">Card number</label><input id="card_number" name="card_number" '
        f'inputmode="numeric" autocomplete="cc-number"{described}>'
        '<label for="name">Name on the card</label><input id="name" name="name" autocomplete="cc-name">'
        '<label for="expiry">Expiry (MM/YY)</label><input id="expiry" name="expiry" autocomplete="cc-exp">'
        '<label for="cvc">Security code</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc">'
        "<button>Pay by card</button></form>"
        f'<form method="post" action="/pay/{session["id"]}"><input type="hidden" name="method" value="bank">'
        "<button>Pay by bank transfer</button></form>"
        f'<form method="post" action="/pay/{session["id"]}"><input type="hidden" name="method" value="cancel">'
        "<button>Cancel and go back</button></form>"
        "<h2>Test cards</h2><ul><li>4242 4242 4242 4242: paid</li><li>4000 0000 0000 0002: declined</li>"
        "<li>4000 0000 0000 9995: not enough funds</li><li>4000 0000 0000 0069: expired card</li>"
        "<li>4000 0000 0000 0119: processing error</li></ul>",
    )


def list_page(sessions: list[dict]) -> str:
    rows = "".join(
        f"<li><p><strong>{html.escape(s['currency'])} {html.escape(s['amount'])}</strong> · {html.escape(s['id'])}"
        f" · {html.escape(s['status'])}{' · refunded ' + html.escape(s['refunded']) if s['refunded'] != '0.00' else ''}"
        "</p></li>"
        for s in reversed(sessions)
    )
    return _page(
        "Sessions",
        "<h1>Sandbox payment gateway</h1><p>Payment sessions the platform opened, newest first.</p>"
        f"<ul>{rows or '<li><p>No payments yet.</p></li>'}</ul>",
    )


def serve(*, host: str, port: int, secret: str, callback_delay: float) -> None:
    handler = type("BoundHandler", (Handler,), {"gateway": Gateway(secret, callback_delay)})
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128, "daemon_threads": True})
    server = server_class((host, port), handler)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def arguments(parser: argparse.ArgumentParser, *, secret: str | None = None) -> argparse.ArgumentParser:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8027)
    parser.add_argument(
        "--secret",
        required=secret is None,
        default=secret,
        help="Shared with the platform (VENTANILLA_PAYMENTS_SANDBOX_SECRET).",
    )
    parser.add_argument("--callback-delay", type=float, default=0.5, help="Seconds before a notification.")
    return parser


if __name__ == "__main__":
    options = arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0])).parse_args()
    serve(host=options.host, port=options.port, secret=options.secret, callback_delay=options.callback_delay)
