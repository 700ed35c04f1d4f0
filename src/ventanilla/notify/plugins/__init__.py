"""Channel providers. A provider hands one message to the outside world and says what became of it:
`send` returns a Sent (delivered now, or accepted and waiting for a delivery receipt) or raises TemporaryFailure
(try again later) or PermanentFailure (the address does not exist). Providers that send delivery receipts
also read them (`receipts`). Which provider serves a channel is a setting:
VENTANILLA_EMAIL_PROVIDER (default "mail", Django's mail backend: SMTP) and VENTANILLA_SMS_PROVIDER
(default "sandbox", see sandbox_sms.py). A real SMS gateway is one more module registered here."""

from dataclasses import dataclass

from django.conf import settings

from ventanilla.core.plugins import Registry


class TemporaryFailure(Exception):
    """The provider could not take the message now (down, timing out, throttling): try again later."""


class PermanentFailure(Exception):
    """The provider refused the address for good (no such mailbox or number)."""


class InvalidReceipt(Exception):
    """A delivery receipt whose signature, age or shape is wrong."""


@dataclass(frozen=True)
class Sent:
    reference: str
    delivered: bool  # True when handing over is delivery (SMTP); False when a receipt will tell


@dataclass(frozen=True)
class Receipt:
    message_id: str
    provider_reference: str
    status: str  # delivered | temporary-failure | permanent-failure


class Provider:
    name: str
    channel: str

    def send(self, *, message_id: str, to: str, subject: str, text: str, html: str, sender: str) -> Sent:
        raise NotImplementedError

    def receipts(self, *, body: bytes, headers) -> list[Receipt]:
        raise InvalidReceipt(f"{self.name} sends no delivery receipts.")


providers: Registry[Provider] = Registry("notification provider")


def provider_for(channel: str) -> Provider:
    name = {"email": settings.VENTANILLA_EMAIL_PROVIDER, "sms": settings.VENTANILLA_SMS_PROVIDER}[channel]
    return providers.get(name)


def load() -> None:
    from . import mail, sandbox  # noqa: F401  (each module registers its provider)
