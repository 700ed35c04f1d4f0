"""The client side of the sandbox SMS provider (the provider itself is ventanilla.notify.sandbox_sms, its own
process). Written as a real gateway plugin would be: an HTTP call out, signed delivery receipts in."""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse

from ventanilla.core import callbacks
from ventanilla.notify import sandbox_sms

from . import InvalidReceipt, PermanentFailure, Provider, Receipt, Sent, TemporaryFailure, providers

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
        try:
            callbacks.check(
                settings.VENTANILLA_SMS_SANDBOX_SECRET,
                body,
                headers,
                timestamp_header=sandbox_sms.TIMESTAMP_HEADER,
                signature_header=sandbox_sms.SIGNATURE_HEADER,
            )
        except callbacks.BadSignature as error:
            raise InvalidReceipt(str(error)) from error
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
