"""The sandbox gateway as its own process, spoken to through its plugin as a real gateway would be: sessions,
the payer's page, signed notifications (retried until taken), refunds within what was paid, settlement reports,
and the failures it can be told to show."""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.notify.live import wait_for
from tests.payments.live import SECRET, CallbackSink, SandboxGateway
from ventanilla.core import callbacks
from ventanilla.payments import plugins

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gateway():
    gateway = SandboxGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture
def provider(gateway, settings):
    gateway.control(
        mode="normal",
        duplicate_callbacks=False,
        drop_callbacks=False,
        reverse_callbacks=False,
        decline_all=False,
        settlement_omit=[],
        processing_delay=0.05,
        bank_delay=0.3,
        callback_delay=0.05,
    )
    settings.VENTANILLA_PAYMENTS_SANDBOX_URL = gateway.url
    settings.VENTANILLA_PAYMENTS_SANDBOX_SECRET = SECRET
    settings.VENTANILLA_PAYMENTS_TIMEOUT = 2
    return plugins.providers.get("sandbox")


@pytest.fixture
def sink():
    sink = CallbackSink()
    yield sink
    sink.close()


def start(provider, sink, reference: str, amount: str = "25.00", expires: int = 600):
    return provider.start(
        payment_id=reference,
        amount=Decimal(amount),
        currency="USD",
        description="Permiso de construcción",
        return_url="http://127.0.0.1:9/volver/?x=1",
        callback_url=sink.url,
        expires_in_seconds=expires,
    )


def notices(provider, sink) -> list:
    return [
        notice
        for headers, body in sink.received
        for notice in provider.notifications(body=body, headers=headers)
    ]


def test_a_card_payment_goes_submitted_then_success_with_signed_notifications(provider, gateway, sink):
    session = start(provider, sink, "pay-1")
    assert start(provider, sink, "pay-1").reference == session.reference, (
        "the same payment is the same session"
    )
    status, page = gateway.page(session.redirect_url)
    assert status == 200 and "USD 25.00" in page and 'for="card_number"' in page
    status, location = gateway.pay(session.redirect_url)
    assert status == 303 and location == f"http://127.0.0.1:9/volver/?x=1&session={session.reference}"
    wait_for(lambda: len(sink.received) == 2, what="two notifications")
    assert [(n.status, n.payment_id, n.amount) for n in notices(provider, sink)] == [
        ("submitted", "pay-1", Decimal("25.00")),
        ("success", "pay-1", Decimal("25.00")),
    ]
    assert provider.status(reference=session.reference).status == "success"
    assert gateway.pay(session.redirect_url)[0] == 409, "a paid session cannot be paid again"


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000 0000 0000 0002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "card_expired"),
    ],
)
def test_test_cards_fail_with_their_reason(provider, gateway, sink, card, code):
    session = start(provider, sink, f"pay-{code}")
    gateway.pay(session.redirect_url, card=card)
    wait_for(lambda: provider.status(reference=session.reference).status == "failed", what="the failure")
    assert provider.status(reference=session.reference).error_code == code


def test_a_malformed_card_number_shows_the_page_again(provider, gateway, sink):
    session = start(provider, sink, "pay-typo")
    status, _location = gateway.pay(session.redirect_url, card="4242")
    assert status == 400 and provider.status(reference=session.reference).status == "started"


def test_an_unpaid_session_expires_and_a_cancelled_one_stays_cancelled(provider, gateway, sink):
    session = start(provider, sink, "pay-late", expires=1)
    time.sleep(1.2)
    assert provider.status(reference=session.reference).status == "expired"
    assert gateway.pay(session.redirect_url)[0] == 409
    other = start(provider, sink, "pay-cancel")
    provider.cancel(reference=other.reference)
    assert provider.status(reference=other.reference).status == "cancelled"


def test_a_notification_not_taken_is_sent_again_with_the_same_event_id(provider, gateway):
    sink = CallbackSink(fail_first=1)
    try:
        gateway.control(processing_delay=5)  # only "submitted" in this test
        session = start(provider, sink, "pay-retry")
        gateway.pay(session.redirect_url)
        wait_for(lambda: len(sink.received) == 2, timeout=5, what="the retry")
        first, second = (json.loads(body)["event_id"] for _headers, body in sink.received)
        assert first == second
    finally:
        sink.close()


def test_duplicated_reversed_and_dropped_notifications(provider, gateway, sink):
    gateway.control(duplicate_callbacks=True, reverse_callbacks=True)
    session = start(provider, sink, "pay-chaos")
    gateway.pay(session.redirect_url)
    wait_for(lambda: len(sink.received) == 4, what="four notifications")
    received = notices(provider, sink)
    assert [n.status for n in received][:2] == ["success", "success"], "the final word first"
    assert len({n.event_id for n in received}) == 2
    gateway.control(duplicate_callbacks=False, reverse_callbacks=False, drop_callbacks=True)
    quiet = start(provider, sink, "pay-quiet")
    gateway.pay(quiet.redirect_url)
    time.sleep(0.5)
    assert len(sink.received) == 4 and provider.status(reference=quiet.reference).status == "success"


def test_a_bank_transfer_is_submitted_then_paid_and_a_refund_is_announced(provider, gateway, sink):
    session = start(provider, sink, "pay-bank", "12.50")
    assert gateway.pay(session.redirect_url, method="bank")[0] == 303
    assert provider.status(reference=session.reference).status == "submitted"
    wait_for(lambda: len(sink.received) == 2, what="submitted and succeeded")
    provider.refund(reference=session.reference, refund_id="rf-bank", amount=Decimal("12.50"), currency="USD")
    wait_for(lambda: len(sink.received) == 3, what="the refund notification")
    refund = notices(provider, sink)[-1]
    assert (refund.kind, refund.status, refund.refund_id, refund.amount) == (
        "refund",
        "succeeded",
        "rf-bank",
        Decimal("12.50"),
    )
    assert provider.status(reference=session.reference).status == "success"
    assert "pay-bank" not in gateway.sessions() and session.reference in gateway.sessions()


def test_a_session_can_be_settled_without_the_payer_and_only_a_paid_one_refunded(provider, gateway, sink):
    unpaid = start(provider, sink, "pay-unpaid")
    with pytest.raises(plugins.ProviderRefused) as refused:
        provider.refund(reference=unpaid.reference, refund_id="rf-x", amount=Decimal("1.00"), currency="USD")
    assert refused.value.code == "not_paid"
    assert gateway.force(unpaid.reference, "failed", "card_declined")["error_code"] == "card_declined"
    assert gateway.force(unpaid.reference, "success")["status"] == "failed", "a final session stays final"
    with pytest.raises(plugins.ProviderRefused) as unknown:
        provider.status(reference="ps_nothing")
    assert unknown.value.code == "unknown_payment"


def test_refunds_are_limited_to_what_was_paid_and_repeat_by_reference(provider, gateway, sink):
    session = start(provider, sink, "pay-refund", "30.00")
    gateway.pay(session.redirect_url)
    wait_for(lambda: provider.status(reference=session.reference).status == "success", what="the payment")
    first = provider.refund(
        reference=session.reference, refund_id="rf-1", amount=Decimal("10.00"), currency="USD"
    )
    again = provider.refund(
        reference=session.reference, refund_id="rf-1", amount=Decimal("10.00"), currency="USD"
    )
    assert first.status == "succeeded" and again.reference == first.reference
    with pytest.raises(plugins.ProviderRefused) as refused:
        provider.refund(
            reference=session.reference, refund_id="rf-2", amount=Decimal("20.01"), currency="USD"
        )
    assert refused.value.code == "amount_exceeds_refundable"
    lines = provider.settlement_report(day=datetime.now(UTC).date())
    mine = [(line.kind, line.amount) for line in lines if line.payment_id == "pay-refund"]
    assert mine == [("payment", Decimal("30.00")), ("refund", Decimal("10.00"))]
    gateway.control(settlement_omit=[session.reference])
    assert "pay-refund" not in [
        line.payment_id
        for line in provider.settlement_report(day=datetime.now(UTC).date())
        if line.kind == "payment"
    ]


def test_failures_it_is_told_to_show(provider, gateway, sink, settings):
    gateway.control(mode="fail")
    with pytest.raises(plugins.ProviderUnavailable):
        start(provider, sink, "pay-down")
    gateway.control(mode="normal")
    settings.VENTANILLA_PAYMENTS_SANDBOX_SECRET = "wrong"
    with pytest.raises(plugins.ProviderRefused):
        start(provider, sink, "pay-unauthorised")


def test_forged_and_stale_notifications_are_refused(provider):
    body = json.dumps(
        {
            "event_id": "ev",
            "type": "payment.succeeded",
            "session": "ps",
            "reference": "p",
            "status": "success",
            "amount": "1.00",
            "currency": "USD",
            "at": "2026-12-05T00:00:00+00:00",
        }
    ).encode()
    now = str(int(time.time()))
    with pytest.raises(plugins.InvalidNotification):
        provider.notifications(
            body=body, headers={"X-Sandbox-Timestamp": now, "X-Sandbox-Signature": "sha256=00"}
        )
    stale = str(int(time.time()) - 3600)
    signed = callbacks.signature(SECRET, stale, body)
    with pytest.raises(plugins.InvalidNotification):
        provider.notifications(
            body=body, headers={"X-Sandbox-Timestamp": stale, "X-Sandbox-Signature": signed}
        )
    good = callbacks.signature(SECRET, now, body)
    [notice] = provider.notifications(
        body=body, headers={"X-Sandbox-Timestamp": now, "X-Sandbox-Signature": good}
    )
    assert (notice.status, notice.kind) == ("success", "payment")
