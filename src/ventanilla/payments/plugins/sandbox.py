"""The client side of the sandbox payment gateway (the gateway itself is ventanilla.payments.sandbox_gateway, its
own process). Written as a real gateway plugin would be: HTTP calls out, signed notifications in."""

import json
import urllib.error
import urllib.request
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings

from ventanilla.core import callbacks

from .. import sandbox_gateway
from . import (
    InvalidNotification,
    Notification,
    Provider,
    ProviderRefused,
    ProviderStatus,
    ProviderUnavailable,
    RefundResult,
    SettlementLine,
    Started,
    providers,
)


@providers.register("sandbox")
class SandboxGateway(Provider):
    channel = "online"

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(  # noqa: S310 (a configured http URL)
            settings.VENTANILLA_PAYMENTS_SANDBOX_URL + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.VENTANILLA_PAYMENTS_SANDBOX_SECRET}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.VENTANILLA_PAYMENTS_TIMEOUT) as answer:  # noqa: S310
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise ProviderUnavailable(f"The payment gateway answered {error.code}") from error
            try:
                code = json.loads(error.read()).get("error", "provider_error")
            except ValueError:
                code = "provider_error"
            raise ProviderRefused(code, f"HTTP {error.code}") from error
        except (OSError, ValueError) as error:
            raise ProviderUnavailable(f"The payment gateway could not be reached: {error!r}") from error

    def start(
        self, *, payment_id, amount, currency, description, return_url, callback_url, expires_in_seconds
    ):
        answer = self._call(
            "POST",
            "/v1/sessions",
            {
                "amount": str(amount),
                "currency": currency,
                "reference": payment_id,
                "description": description,
                "return_url": return_url,
                "callback_url": callback_url,
                "expires_in": expires_in_seconds,
            },
        )
        return Started(reference=answer["id"], redirect_url=answer["redirect_url"])

    def status(self, *, reference):
        answer = self._call("GET", f"/v1/sessions/{reference}")
        return ProviderStatus(
            reference=reference,
            status=answer["status"],
            error_code=answer.get("error_code", ""),
            amount=Decimal(answer["amount"]),
            currency=answer["currency"],
        )

    def cancel(self, *, reference):
        self._call("POST", f"/v1/sessions/{reference}/cancel", {})

    def refund(self, *, reference, refund_id, amount, currency):
        answer = self._call(
            "POST", "/v1/refunds", {"session": reference, "amount": str(amount), "reference": refund_id}
        )
        return RefundResult(reference=answer["id"], status=answer["status"])

    def notifications(self, *, body, headers):
        try:
            callbacks.check(
                settings.VENTANILLA_PAYMENTS_SANDBOX_SECRET,
                body,
                headers,
                timestamp_header=sandbox_gateway.TIMESTAMP_HEADER,
                signature_header=sandbox_gateway.SIGNATURE_HEADER,
            )
        except callbacks.BadSignature as error:
            raise InvalidNotification(str(error)) from error
        try:
            event = json.loads(body)
            refund = event.get("refund") or {}
            return [
                Notification(
                    event_id=event["event_id"],
                    kind="refund" if event["type"].startswith("refund.") else "payment",
                    reference=event["session"],
                    payment_id=event["reference"],
                    status=event["status"],
                    error_code=event.get("error_code", ""),
                    amount=Decimal(event["amount"]),
                    currency=event["currency"],
                    refund_id=refund.get("reference", ""),
                    occurred_at=datetime.fromisoformat(event["at"]),
                )
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidNotification(f"A notification of an unexpected shape: {error!r}") from error

    def settlement_report(self, *, day: date):
        answer = self._call("GET", f"/v1/settlements?date={day.isoformat()}")
        return [
            SettlementLine(
                kind=line["type"],
                reference=line["id"],
                payment_id=line["reference"],
                refund_id=line["refund_reference"],
                amount=Decimal(line["amount"]),
                currency=line["currency"],
                settled_at=datetime.fromisoformat(line["settled_at"]),
            )
            for line in answer["lines"]
        ]
