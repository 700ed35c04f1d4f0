"""The client side of the sandbox SMS provider (the provider itself is ventanilla.notify.sandbox_sms, its own
process). Written as a real gateway plugin would be: an HTTP call out, signed delivery receipts in."""

import hmac
import json
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse

from ventanilla.notify import sandbox_sms

from . import InvalidReceipt, PermanentFailure, Provider, Receipt, Sent, TemporaryFailure, providers

RECEIPT_MAX_AGE_SECONDS = 300
STATUSES = {"delivered", "temporary-failure", "permanent-failure"}


@providers.register("sandbox")
class SandboxSms(Provider):
    channel = "sms"

    def send(self, *, message_id: str, to: str, subject: str, text: str, html: str, sender: str) -> Sent:
        callback = settings.VENTANILLA_PUBLIC_URL + reverse("api-v1:notify_receipts", args=[self.name])
        request = urllib.request.Request(  # noqa: S310 (a configured http URL)
            settings.VENTANILLA_SMS_SANDBOX_URL + "/v1/messages",
            data=json.dumps(
                {"to": to, "body": text, "sender": sender, "reference": message_id, "callback_url": callback}
            ).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.VENTANILLA_SMS_SANDBOX_SECRET}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.VENTANILLA_NOTIFY_TIMEOUT) as answer:  # noqa: S310
                return Sent(reference=json.loads(answer.read())["id"], delivered=False)
        except urllib.error.HTTPError as error:
            if error.code == 400:
                raise PermanentFailure(f"The SMS gateway refused {to}: {error.read()[:200]!r}") from error
            raise TemporaryFailure(f"The SMS gateway answered {error.code}") from error
        except (OSError, ValueError, KeyError) as error:
            raise TemporaryFailure(f"The SMS gateway could not be reached: {error!r}") from error

    def receipts(self, *, body: bytes, headers) -> list[Receipt]:
        timestamp = headers.get(sandbox_sms.TIMESTAMP_HEADER, "")
        given = headers.get(sandbox_sms.SIGNATURE_HEADER, "")
        expected = sandbox_sms.signature(settings.VENTANILLA_SMS_SANDBOX_SECRET, timestamp, body)
        if not hmac.compare_digest(given, expected):
            raise InvalidReceipt("The signature does not match.")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > RECEIPT_MAX_AGE_SECONDS:
            raise InvalidReceipt("The receipt is too old or from the future.")
        try:
            receipt = json.loads(body)
            if receipt["status"] not in STATUSES:
                raise ValueError(receipt["status"])
            return [
                Receipt(
                    message_id=receipt["reference"],
                    provider_reference=receipt["id"],
                    status=receipt["status"],
                )
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidReceipt(f"The receipt is not one the sandbox sends: {error!r}") from error
