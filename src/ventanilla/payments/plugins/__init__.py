"""Payment providers. A provider takes the payer through paying (a card or bank page of its own, or a cashier at a
counter) and tells the platform what became of each payment: by signed notifications (`notifications`) and when
asked (`status`). It also refunds and publishes a settlement report, which reconciliation matches against the
payments. Which providers the platform offers is a setting (VENTANILLA_PAYMENT_PROVIDERS); a real gateway is one
more module registered here.

Every amount crosses this boundary as a Decimal with its ISO 4217 currency; never a float."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings

from ventanilla.core.plugins import Registry

# What a provider may say of a payment, in the order a payment goes through them. The last three are final.
STARTED, SUBMITTED, SUCCESS, FAILED, CANCELLED, EXPIRED = (
    "started",
    "submitted",
    "success",
    "failed",
    "cancelled",
    "expired",
)
PROVIDER_STATUSES = (STARTED, SUBMITTED, SUCCESS, FAILED, CANCELLED, EXPIRED)


class ProviderUnavailable(Exception):
    """The provider did not answer, timed out or answered 5xx: nothing is known; ask again later."""


class ProviderRefused(Exception):
    """The provider refused the request for good (4xx): `code` is one of errors.CODES."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class InvalidNotification(Exception):
    """A notification whose signature, age or shape is wrong: refused with 400, changes nothing."""


@dataclass(frozen=True)
class Started:
    reference: str  # the provider's id of the payment session
    redirect_url: str  # where to send the payer ("" for a channel that needs no redirect)


@dataclass(frozen=True)
class ProviderStatus:
    reference: str
    status: str  # one of PROVIDER_STATUSES
    error_code: str = ""  # errors.CODES, when failed
    amount: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class Notification:
    """One event the provider told us about. `event_id` is unique per event at the provider: the same event sent
    twice has the same id."""

    event_id: str
    kind: str  # "payment" | "refund"
    reference: str  # the provider's session id
    payment_id: str  # our Payment.id, as we gave it when starting
    status: str  # payment: PROVIDER_STATUSES; refund: "succeeded" | "failed"
    error_code: str = ""
    amount: Decimal | None = None
    currency: str = ""
    refund_id: str = ""  # our Refund.id, for refund events
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    reference: str  # the provider's refund id
    status: str  # "succeeded" | "pending" | "failed"
    error_code: str = ""


@dataclass(frozen=True)
class SettlementLine:
    """A movement of money the provider settled on a day: a payment taken or a refund given back."""

    kind: str  # "payment" | "refund"
    reference: str  # the provider's id of the session (payment) or of the refund
    payment_id: str  # our Payment.id
    refund_id: str  # our Refund.id, for refunds
    amount: Decimal  # always positive
    currency: str
    settled_at: datetime


class Provider:
    name: str
    # "online": the payer is sent to the provider's page and back; "counter": a cashier records the payment.
    channel: str = "online"

    def start(
        self,
        *,
        payment_id: str,
        amount: Decimal,
        currency: str,
        description: str,
        return_url: str,
        callback_url: str,
        expires_in_seconds: int,
    ) -> Started:
        raise NotImplementedError

    def status(self, *, reference: str) -> ProviderStatus:
        raise NotImplementedError

    def cancel(self, *, reference: str) -> None:
        """Close a session the payer abandoned, so that it can no longer be paid (best effort)."""

    def refund(self, *, reference: str, refund_id: str, amount: Decimal, currency: str) -> RefundResult:
        raise NotImplementedError

    def notifications(self, *, body: bytes, headers) -> list[Notification]:
        raise InvalidNotification(f"{self.name} sends no notifications.")

    def settlement_report(self, *, day: date) -> list[SettlementLine]:
        raise NotImplementedError


providers: Registry[Provider] = Registry("payment provider")


def offered() -> list[str]:
    """The providers a payer may choose, in the order the pages show them."""
    return list(settings.VENTANILLA_PAYMENT_PROVIDERS)


def online() -> list[str]:
    """The offered providers a payer is sent to (the counter is the cashiers' own channel)."""
    return [name for name in offered() if providers.get(name).channel == "online"]


def load() -> None:
    from . import counter, sandbox  # noqa: F401  (each module registers its provider)
