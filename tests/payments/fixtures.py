"""A payment provider that lives in the test process (the sandbox gateway, its own process, is tested over HTTP in
test_sandbox_gateway.py and test_payments_http.py), obligations to pay, and payments started with it."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from ventanilla.core.actor import Actor
from ventanilla.payments import plugins, services
from ventanilla.payments.plugins import (
    InvalidNotification,
    Notification,
    ProviderRefused,
    ProviderStatus,
    ProviderUnavailable,
    RefundResult,
    SettlementLine,
    Started,
)

FAKE_SIGNATURE = "X-Fake-Signature"


@plugins.providers.register("fake")
class FakeProvider(plugins.Provider):
    """Keeps its sessions in a class attribute; tests decide what the payer did with `FakeProvider.payer(...)`."""

    channel = "online"
    sessions: dict = {}
    refunds: dict = {}
    down = False

    @classmethod
    def reset(cls):
        cls.sessions, cls.refunds, cls.down = {}, {}, False

    @classmethod
    def payer(cls, payment, status: str, error: str = "", at: datetime | None = None) -> str:
        """What the payer did on the provider's page: the session's new status (no notification is sent)."""
        session = cls.sessions[payment.provider_reference]
        session.update(status=status, error=error, at=at or timezone.now())
        return payment.provider_reference

    @classmethod
    def notice(
        cls, payment, status: str, *, event_id: str | None = None, error: str = ""
    ) -> tuple[bytes, dict]:
        """A notification body and headers, as the provider would POST them."""
        body = json.dumps(
            {
                "event_id": event_id or uuid.uuid4().hex,
                "session": payment.provider_reference,
                "payment": str(payment.id),
                "status": status,
                "error": error,
            }
        ).encode()
        return body, {FAKE_SIGNATURE: "good"}

    def _check(self):
        if type(self).down:
            raise ProviderUnavailable("the fake provider is down")

    def start(
        self, *, payment_id, amount, currency, description, return_url, callback_url, expires_in_seconds
    ):
        self._check()
        reference = f"fk_{uuid.uuid4().hex[:12]}"
        self.sessions[reference] = {
            "payment_id": payment_id,
            "amount": amount,
            "currency": currency,
            "status": "started",
            "error": "",
            "at": None,
            "refunded": Decimal("0.00"),
        }
        return Started(reference=reference, redirect_url=f"https://pay.example/{reference}")

    def status(self, *, reference):
        self._check()
        session = self.sessions.get(reference)
        if session is None:
            raise ProviderRefused("unknown_payment")
        return ProviderStatus(
            reference=reference,
            status=session["status"],
            error_code=session["error"],
            amount=session["amount"],
            currency=session["currency"],
        )

    def cancel(self, *, reference):
        session = self.sessions[reference]
        if session["status"] in ("started", "submitted"):
            session.update(status="cancelled", error="cancelled_by_payer", at=timezone.now())

    def refund(self, *, reference, refund_id, amount, currency):
        self._check()
        session = self.sessions[reference]
        if amount > session["amount"] - session["refunded"]:
            raise ProviderRefused("amount_exceeds_refundable")
        session["refunded"] += amount
        self.refunds[refund_id] = {"session": reference, "amount": amount, "at": timezone.now()}
        return RefundResult(reference=f"fr_{refund_id[:8]}", status="succeeded")

    def notifications(self, *, body, headers):
        if headers.get(FAKE_SIGNATURE) != "good":
            raise InvalidNotification("bad signature")
        data = json.loads(body)
        return [
            Notification(
                event_id=data["event_id"],
                kind="payment",
                reference=data["session"],
                payment_id=data["payment"],
                status=data["status"],
                error_code=data["error"],
            )
        ]

    def settlement_report(self, *, day):
        self._check()
        lines = [
            SettlementLine(
                kind="payment",
                reference=reference,
                payment_id=session["payment_id"],
                refund_id="",
                amount=session["amount"],
                currency=session["currency"],
                settled_at=session["at"],
            )
            for reference, session in self.sessions.items()
            if session["status"] == "success" and session["at"].astimezone(UTC).date() == day
        ]
        lines += [
            SettlementLine(
                kind="refund",
                reference=f"fr_{refund_id[:8]}",
                payment_id=self.sessions[refund["session"]]["payment_id"],
                refund_id=refund_id,
                amount=refund["amount"],
                currency=self.sessions[refund["session"]]["currency"],
                settled_at=refund["at"],
            )
            for refund_id, refund in self.refunds.items()
            if refund["at"].astimezone(UTC).date() == day
        ]
        return lines


@pytest.fixture
def fake_provider(settings):
    settings.VENTANILLA_PAYMENT_PROVIDERS = ["fake", "counter"]
    FakeProvider.reset()
    yield FakeProvider
    FakeProvider.reset()


@pytest.fixture
def owe(small_catalogue, system_actor):
    """owe(person_or_debtor, amount="10.00", institution="mupa", **fields) → an open obligation."""
    counter = {"n": 0}

    def make(debtor, amount="10.00", institution="mupa", **fields):
        counter["n"] += 1
        if not isinstance(debtor, str):
            debtor = f"user:{debtor.public_id}"
        obligation, _created = services.post_obligation(
            institution=small_catalogue[institution],
            data=services.ObligationIn(
                reference=fields.pop("reference", f"INV-{counter['n']:05d}"),
                debtor=debtor,
                debtor_label=fields.pop("debtor_label", "María Pérez"),
                concept_es=fields.pop("concept_es", f"Tasa {counter['n']}"),
                concept_en=fields.pop("concept_en", f"Fee {counter['n']}"),
                amount=amount,
                **fields,
            ),
            actor=system_actor,
        )
        return obligation

    return make


@pytest.fixture
def pay_for(fake_provider):
    """pay_for(citizen, *obligations) → a payment of the citizen's obligations, started with the fake provider."""

    def make(citizen, *obligations, provider="fake"):
        payment = services.create_payment(
            obligation_ids=[obligation.id for obligation in obligations],
            debtor_keys={f"user:{citizen.public_id}"},
            subject=f"user:{citizen.public_id}",
            subject_label=str(citizen),
            payer=citizen,
            provider=provider,
            channel="web",
            actor=Actor(id=str(citizen.public_id), label=str(citizen)),
        )
        return services.start_payment(payment=payment)

    return make
