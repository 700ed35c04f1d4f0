"""Paying over real HTTP: `ventanilla serve` with its worker, the sandbox gateway as its own process, and the payer
at the gateway's page. However the gateway's notifications arrive (twice, out of order, late or never) and whether
or not the payer comes back, each payment ends with one final status, the obligation is paid once and the case
moves on once."""

import hashlib
import hmac
import json
import time

import pytest

from tests.cases.live import ANSWERS
from tests.notify.live import wait_for
from tests.payments.live import CallbackSink, Platform, SandboxGateway

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gateway():
    gateway = SandboxGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def platform(gateway):
    platform = Platform(gateway).start(worker=True)
    yield platform
    platform.close()


@pytest.fixture(autouse=True)
def gateway_behaves(gateway):
    gateway.control(
        mode="normal",
        duplicate_callbacks=False,
        reverse_callbacks=False,
        drop_callbacks=False,
        decline_all=False,
    )
    yield


def apply_with_fee(platform) -> tuple[str, dict]:
    """A case sent through the API, which waits for its fee; returns its reference and the fee owed."""
    status, _, case = platform.call(
        "POST", "/api/v1/applications", {"service": "MUN-PRUEBA-PERMISO", "answers": ANSWERS, "submit": True}
    )
    assert status == 201, case
    assert case["stage"] == "awaiting_payment"
    status, _, owed = platform.call("GET", "/api/v1/owed")
    [fee] = [obligation for obligation in owed if obligation["source"] == f"case:{case['reference']}"]
    assert (fee["amount"], fee["currency"], fee["kind"]) == ("25.00", "USD", "fee")
    return case["reference"], fee


def create_payment(platform, fee: dict, key: str) -> dict:
    status, _headers, payment = platform.call(
        "POST",
        "/api/v1/payments",
        {"obligations": [fee["id"]], "provider": "sandbox"},
        **{"Idempotency-Key": key},
    )
    assert status == 201, payment
    return payment


def case_stage(platform, reference: str) -> str:
    return platform.call("GET", f"/api/v1/applications/{reference}")[2]["stage"]


def settled(platform, payment: dict, *, poll: bool = True) -> dict:
    """Waits for a final status, asking as the payer's page does (poll) or only reading the database."""

    def final():
        if poll:
            answer = platform.call("GET", f"/api/v1/payments/{payment['reference']}")[2]
            return answer if answer["status"] in ("success", "failed", "cancelled", "expired") else None
        rows = platform.query(
            "SELECT status FROM payments_payment WHERE reference = %s", payment["reference"]
        )
        return {"status": rows[0][0]} if rows[0][0] in ("success", "failed", "cancelled", "expired") else None

    return wait_for(final, timeout=20, what=f"payment {payment['reference']} to settle")


def events_of(platform, payment: dict) -> int:
    return platform.query(
        "SELECT COUNT(*) FROM payments_providerevent e JOIN payments_payment p ON p.id = e.payment_id "
        "WHERE p.reference = %s",
        payment["reference"],
    )[0][0]


def times_moved_on(platform, reference: str) -> int:
    return platform.query(
        "SELECT COUNT(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id "
        "WHERE c.reference = %s AND e.kind = 'paid'",
        reference,
    )[0][0]


def test_notifications_twice_and_out_of_order_end_in_one_success_and_the_case_moves_on_once(
    platform, gateway
):
    reference, fee = apply_with_fee(platform)
    gateway.control(duplicate_callbacks=True, reverse_callbacks=True)
    payment = create_payment(platform, fee, "pay-twice-1")
    assert payment["status"] == "started" and payment["next_url"].startswith(gateway.url)
    # A retry of the request (the client timed out) answers the same payment, never a second one.
    status, headers, again = platform.call(
        "POST",
        "/api/v1/payments",
        {"obligations": [fee["id"]], "provider": "sandbox"},
        **{"Idempotency-Key": "pay-twice-1"},
    )
    assert (status, again["id"], headers["Idempotent-Replayed"]) == (201, payment["id"], "true")
    page_status, page = gateway.page(payment["next_url"])
    assert page_status == 200 and "25.00" in page

    status, location = gateway.pay(payment["next_url"])
    assert status == 303 and "session=" in location
    wait_for(lambda: case_stage(platform, reference) == "open", timeout=20, what="the case to move on")
    # Four notifications arrive (the success before "submitted", each twice): two events, each recorded once.
    wait_for(lambda: events_of(platform, payment) == 2, what="both events")
    time.sleep(1)  # give a third (there is none) the time to show up
    assert events_of(platform, payment) == 2
    answer = platform.call("GET", f"/api/v1/payments/{payment['reference']}")[2]
    assert answer["status"] == "success" and answer["receipt"].startswith("REC-")
    assert times_moved_on(platform, reference) == 1
    paid = platform.query(
        "SELECT COUNT(*) FROM payments_payment WHERE status = 'success' AND reference = %s",
        payment["reference"],
    )
    assert paid[0][0] == 1
    assert (
        platform.call("GET", f"/api/v1/payments/{payment['reference']}")[2]["items"][0]["duplicate"] is False
    )


def test_a_payer_who_closes_the_browser_and_a_notification_that_never_comes_still_end_settled(
    platform, gateway
):
    reference, fee = apply_with_fee(platform)
    gateway.control(drop_callbacks=True)
    payment = create_payment(platform, fee, "pay-never-1")
    gateway.pay(payment["next_url"])  # and the browser is closed: the way back is never followed
    time.sleep(1)
    assert case_stage(platform, reference) == "awaiting_payment", "nobody has told the platform yet"
    # The sweeper (a periodic task; here run at once) asks the gateway about the quiet payment.
    platform.run_python("from ventanilla.payments import services; print(services.sweep_pending())")
    assert settled(platform, payment, poll=False)["status"] == "success"
    wait_for(lambda: case_stage(platform, reference) == "open", timeout=20, what="the case to move on")
    assert times_moved_on(platform, reference) == 1


def test_a_status_poll_settles_a_payment_whose_notification_never_came(platform, gateway):
    reference, fee = apply_with_fee(platform)
    gateway.control(drop_callbacks=True)
    payment = create_payment(platform, fee, "pay-poll-1")
    gateway.pay(payment["next_url"], method="bank")  # a bank transfer: submitted, paid seconds later
    answer = settled(platform, payment)
    assert answer["status"] == "success"
    wait_for(lambda: case_stage(platform, reference) == "open", timeout=20, what="the case to move on")


def test_a_declined_card_says_why_and_paying_again_works(platform, gateway):
    reference, fee = apply_with_fee(platform)
    first = create_payment(platform, fee, "pay-declined-1")
    gateway.pay(first["next_url"], card="4000 0000 0000 0002")
    declined = settled(platform, first)
    assert (declined["status"], declined["error_code"], declined["retry"]) == (
        "failed",
        "card_declined",
        True,
    )
    assert "declin" in declined["error_message"] or "rechaz" in declined["error_message"]
    assert case_stage(platform, reference) == "awaiting_payment"
    second = create_payment(platform, fee, "pay-declined-2")
    gateway.pay(second["next_url"])
    assert settled(platform, second)["status"] == "success"
    wait_for(lambda: case_stage(platform, reference) == "open", timeout=20, what="the case to move on")


def test_the_institution_hears_of_the_payment_by_a_signed_callback_sent_again_until_taken(platform, gateway):
    sink = CallbackSink(fail_first=1)
    try:
        status, _, hook = platform.call(
            "PUT",
            "/api/v1/payment-callbacks",
            {"institution": "MUN-PRUEBA", "url": sink.url},
            token=platform.treasurer,
        )
        assert status == 200, hook
        # The citizen may not set the institution's callback.
        assert (
            platform.call("PUT", "/api/v1/payment-callbacks", {"institution": "MUN-PRUEBA", "url": sink.url})[
                0
            ]
            == 403
        )
        reference, fee = apply_with_fee(platform)
        payment = create_payment(platform, fee, "pay-hook-1")
        gateway.pay(payment["next_url"])
        settled(platform, payment)
        # The first attempt got 500; the worker sends it again a minute later: run that retry now.
        wait_for(lambda: sink.received, timeout=20, what="the first callback")
        platform.run_python(
            "from ventanilla.payments import services; from ventanilla.payments.models import WebhookDelivery; "
            "[services.deliver_webhook(delivery_id=d.id) for d in WebhookDelivery.objects.filter(status='pending')]"
        )
        assert len(sink.received) == 2
        headers, body = sink.received[-1]
        expected = (
            "sha256="
            + hmac.new(
                hook["secret"].encode(),
                headers["X-Ventanilla-Timestamp"].encode() + b"." + body,
                hashlib.sha256,
            ).hexdigest()
        )
        assert headers["X-Ventanilla-Signature"] == expected
        event = json.loads(body)
        assert event["type"] == "obligation.paid" and event["obligation"]["reference"] == reference
        assert event["id"] == json.loads(sink.received[0][1])["id"], "a repeat keeps its id"
    finally:
        sink.close()


def test_a_forged_notification_is_refused_and_changes_nothing(platform, gateway):
    _reference, fee = apply_with_fee(platform)
    payment = create_payment(platform, fee, "pay-forged-1")
    body = json.dumps(
        {
            "event_id": "ev_forged",
            "type": "payment.succeeded",
            "session": "ps_x",
            "reference": payment["id"],
            "status": "success",
            "amount": "25.00",
            "currency": "USD",
            "at": "2026-12-05T00:00:00+00:00",
        }
    )
    status, _, _ = platform.request(
        "POST",
        "/api/v1/payment-providers/sandbox/notifications",
        body,
        {
            "Content-Type": "application/json",
            "X-Sandbox-Timestamp": str(int(time.time())),
            "X-Sandbox-Signature": "sha256=00",
        },
    )
    assert status == 400
    assert platform.call("GET", f"/api/v1/payments/{payment['reference']}")[2]["status"] == "started"
