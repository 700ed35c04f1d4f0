"""Payments from the services' side: obligations, the one-way status of a payment, paying an obligation once,
refunds within what is refundable, the counter, expiry of abandoned payments, and a case's fee."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from ventanilla.cases.models import Case
from ventanilla.core.actor import Actor
from ventanilla.core.models import Event
from ventanilla.identity.selectors import keys_for_subject, keys_of_person
from ventanilla.payments import plugins, selectors, services
from ventanilla.payments.models import Obligation, Payment, ProviderEvent, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    """The refusals' words are checked in English (the source language)."""
    with translation.override("en"):
        yield


@pytest.fixture
def citizen(make_citizen):
    return make_citizen()


# --- Obligations ---------------------------------------------------------------------------------------------


def test_posting_the_same_obligation_again_returns_the_first_and_other_values_are_refused(owe, citizen):
    first = owe(citizen, "12.50", reference="MULTA-1")
    assert first.amount == Decimal("12.50") and first.status == Obligation.Status.OPEN
    assert owe(citizen, "12.50", reference="MULTA-1", concept_es="Tasa 1", concept_en="Fee 1") == first
    with pytest.raises(services.PaymentError) as refused:
        owe(citizen, "99.00", reference="MULTA-1", concept_es="Tasa 1", concept_en="Fee 1")
    assert refused.value.code == "conflict"
    assert Obligation.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (12.5, "as text"),
        ("-3", "greater than zero"),
        ("0", "greater than zero"),
        ("1.005", "two decimals"),
        ("abc", "greater than zero"),
    ],
)
def test_an_amount_that_is_not_exact_money_is_refused_with_what_to_write(owe, citizen, amount, message):
    with pytest.raises(services.PaymentError) as refused:
        owe(citizen, amount)
    assert message in str(refused.value.fields["amount"])


def test_an_unknown_currency_is_refused(owe, citizen):
    with pytest.raises(services.PaymentError) as refused:
        owe(citizen, "5.00", currency="EUR")
    assert "USD" in str(refused.value.fields["currency"])


def test_adjusting_and_cancelling_need_a_reason_and_are_kept_in_the_history(owe, citizen, system_actor):
    obligation = owe(citizen, "10.00")
    with pytest.raises(services.PaymentError) as refused:
        services.adjust_obligation(obligation=obligation, amount="8.00", reason=" ", actor=system_actor)
    assert "reason" in refused.value.fields
    services.adjust_obligation(
        obligation=obligation, amount="8.00", reason="Descuento por pronto pago", actor=system_actor
    )
    services.cancel_obligation(obligation=obligation, reason="Pagado en otra oficina", actor=system_actor)
    history = [
        (change.kind, change.amount_before, change.amount_after)
        for change in selectors.history_of(obligation)
    ]
    assert history == [
        ("created", None, Decimal("10.00")),
        ("adjusted", Decimal("10.00"), Decimal("8.00")),
        ("cancelled", Decimal("8.00"), None),
    ]
    with pytest.raises(services.PaymentError):
        services.adjust_obligation(
            obligation=obligation, amount="1.00", reason="otra vez", actor=system_actor
        )


def test_an_obligation_being_paid_cannot_be_changed(owe, citizen, pay_for, system_actor):
    obligation = owe(citizen)
    pay_for(citizen, obligation)
    with pytest.raises(services.PaymentError) as refused:
        services.cancel_obligation(obligation=obligation, reason="error", actor=system_actor)
    assert "paying" in str(refused.value)


def test_a_csv_with_one_wrong_line_imports_nothing_and_names_the_line(small_catalogue, system_actor):
    good = "reference,debtor,concept_es,concept_en,amount\nA-1,8-100-101,Tasa,Fee,5.00\n"
    bad = good + "A-2,8-100-102,Tasa,Fee,cinco\n"
    result = services.import_obligations(institution=small_catalogue["te"], text=bad, actor=system_actor)
    assert [line for line, _problems in result.errors] == [3]
    assert "amount" in result.errors[0][1]
    assert Obligation.objects.count() == 0
    result = services.import_obligations(institution=small_catalogue["te"], text=good, actor=system_actor)
    assert (result.created, result.unchanged, result.errors) == (1, 0, [])
    again = services.import_obligations(institution=small_catalogue["te"], text=good, actor=system_actor)
    assert (again.created, again.unchanged) == (0, 1)
    assert Obligation.objects.get().debtor == "cedula:8-100-101"


# --- Creating and starting a payment -------------------------------------------------------------------------


def test_a_payment_of_several_obligations_of_several_institutions_adds_them_up(owe, citizen, pay_for):
    a, b = owe(citizen, "10.25", institution="mupa"), owe(citizen, "4.75", institution="te")
    payment = pay_for(citizen, a, b)
    assert payment.status == Payment.Status.STARTED
    assert payment.amount == Decimal("15.00") and payment.currency == "USD"
    assert payment.redirect_url.startswith("https://pay.example/")
    assert {item.institution.code: item.amount for item in selectors.items_of(payment)} == {
        "MUN-PANAMA": Decimal("10.25"),
        "TE": Decimal("4.75"),
    }


def test_nobody_pays_an_obligation_that_is_not_theirs(owe, citizen, make_citizen, pay_for):
    other = make_citizen()
    theirs = owe(other)
    with pytest.raises(services.PaymentError) as refused:
        pay_for(citizen, theirs)
    assert refused.value.code == "not_found"


def test_a_second_payment_waits_for_the_first_with_the_provider(owe, citizen, pay_for):
    obligation = owe(citizen)
    first = pay_for(citizen, obligation)
    with pytest.raises(services.PaymentError) as refused:
        pay_for(citizen, obligation)
    assert refused.value.code == "in_progress" and first.reference in str(refused.value)


def test_when_the_provider_is_down_the_payment_stays_created_and_can_be_started_later(
    owe, citizen, pay_for, fake_provider
):
    fake_provider.down = True
    with pytest.raises(services.PaymentError) as refused:
        pay_for(citizen, owe(citizen))
    assert refused.value.code == "provider_unavailable"
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.CREATED
    fake_provider.down = False
    assert services.start_payment(payment=payment).status == Payment.Status.STARTED


# --- What the provider says ----------------------------------------------------------------------------------


def test_statuses_only_move_forward_and_the_first_final_one_wins(owe, citizen, pay_for):
    payment = pay_for(citizen, owe(citizen))
    assert services.apply_status(payment_id=payment.id, status="success").status == "success"
    receipt = Payment.objects.get().receipt_number
    for late in ("submitted", "failed", "success", "started"):
        assert services.apply_status(payment_id=payment.id, status=late).status == "success"
    assert Payment.objects.get().receipt_number == receipt and receipt.startswith("REC-")
    assert Event.objects.filter(name=services.PAYMENT_SUCCEEDED).count() == 1
    assert Event.objects.filter(name=services.OBLIGATION_PAID).count() == 1


def test_a_notification_sent_twice_is_applied_once_and_a_forged_one_is_refused(
    owe, citizen, pay_for, fake_provider
):
    payment = pay_for(citizen, owe(citizen))
    body, headers = fake_provider.notice(payment, "success", event_id="ev-1")
    assert services.receive_notifications(provider_name="fake", body=body, headers=headers) == 1
    assert services.receive_notifications(provider_name="fake", body=body, headers=headers) == 0
    assert ProviderEvent.objects.count() == 1
    with pytest.raises(plugins.InvalidNotification):
        services.receive_notifications(provider_name="fake", body=body, headers={})


def test_notifications_out_of_order_end_paid(owe, citizen, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    for status in ("success", "submitted", "started"):
        body, headers = fake_provider.notice(payment, status)
        services.receive_notifications(provider_name="fake", body=body, headers=headers)
    payment.refresh_from_db()
    assert payment.status == "success" and payment.submitted_at is not None
    assert Obligation.objects.get().status == Obligation.Status.PAID


def test_a_failed_payment_leaves_the_obligation_to_pay_and_says_why(owe, citizen, pay_for, fake_provider):
    obligation = owe(citizen)
    payment = pay_for(citizen, obligation)
    body, headers = fake_provider.notice(payment, "failed", error="insufficient_funds")
    services.receive_notifications(provider_name="fake", body=body, headers=headers)
    payment.refresh_from_db()
    assert (payment.status, payment.error_code) == ("failed", "insufficient_funds")
    assert list(selectors.owed({f"user:{citizen.public_id}"})) == [obligation]
    assert pay_for(citizen, obligation).status == "started"  # paying again is possible


def test_two_payments_of_one_obligation_pay_it_once_and_the_second_is_given_back(
    owe, citizen, pay_for, fake_provider, run_tasks_immediately, system_actor
):
    obligation = owe(citizen, "30.00")
    first = pay_for(citizen, obligation)
    # The payer abandoned the first page (it expired here) but paid it at the very last moment anyway.
    services.apply_status(payment_id=first.id, status="expired")
    second = pay_for(citizen, obligation)
    services.apply_status(payment_id=second.id, status="success")
    assert Obligation.objects.get().paid_by_id == second.id
    Payment.objects.filter(id=first.id).update(
        status="started", finished_at=None
    )  # the provider says it was paid
    services.apply_status(payment_id=first.id, status="success")
    first.refresh_from_db()
    item = first.items.get()
    assert item.duplicate and item.refunded == Decimal("30.00") and first.refunded == Decimal("30.00")
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    assert Obligation.objects.get().paid_by_id == second.id


# --- Nobody told us: the sweeper and the payer's return ----------------------------------------------------


def test_the_sweeper_settles_a_payment_whose_notification_never_came(owe, citizen, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    fake_provider.payer(payment, "success")
    Payment.objects.filter(id=payment.id).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert services.sweep_pending()["checked"] == 1
    assert Payment.objects.get().status == "success"


def test_an_abandoned_payment_expires_and_its_session_is_closed(owe, citizen, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    later = timezone.now() + timedelta(minutes=31)
    Payment.objects.filter(id=payment.id).update(updated_at=later - timedelta(minutes=5))
    services.sweep_pending(now=later)
    payment.refresh_from_db()
    # The provider's session said "started": it is closed there first, so it cannot be paid after expiring here.
    assert fake_provider.sessions[payment.provider_reference]["status"] == "cancelled"
    assert (payment.status, payment.error_code) == ("expired", "session_expired")


def test_an_unstarted_payment_expires(owe, citizen, fake_provider):
    obligation = owe(citizen)
    payment = services.create_payment(
        obligation_ids=[obligation.id],
        debtor_keys={f"user:{citizen.public_id}"},
        subject=f"user:{citizen.public_id}",
        subject_label="x",
        payer=citizen,
        provider="fake",
        channel="web",
        actor=Actor.system(),
    )
    services.sweep_pending(now=timezone.now() + timedelta(minutes=31))
    assert Payment.objects.get(id=payment.id).status == "expired"


def test_cancelling_after_the_money_was_taken_ends_paid(owe, citizen, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    fake_provider.payer(payment, "success")
    assert services.cancel_payment(payment=payment, actor=Actor.system()).status == "success"


def test_cancelling_a_started_payment_closes_it_at_the_provider(owe, citizen, pay_for, fake_provider):
    obligation = owe(citizen)
    payment = pay_for(citizen, obligation)
    assert services.cancel_payment(payment=payment, actor=Actor.system()).status == "cancelled"
    assert fake_provider.sessions[payment.provider_reference]["status"] == "cancelled"
    assert Obligation.objects.get().status == "open"


# --- Refunds ------------------------------------------------------------------------------------------------


def test_refunds_are_guarded_by_what_is_still_refundable(owe, citizen, pay_for, system_actor):
    payment = pay_for(citizen, owe(citizen, "20.00"), owe(citizen, "5.00", institution="te"))
    services.apply_status(payment_id=payment.id, status="success")
    item = payment.items.get(amount=Decimal("20.00"))
    services.request_refund(item=item, amount="7.50", reason="Cobro de más", actor=system_actor)
    with pytest.raises(services.PaymentError) as refused:
        services.request_refund(item=item, amount="12.51", reason="Otra vez", actor=system_actor)
    assert refused.value.code == "amount_exceeds_refundable" and "12.50" in str(
        refused.value.fields["amount"]
    )
    services.request_refund(item=item, amount="12.50", reason="El resto", actor=system_actor)
    payment.refresh_from_db()
    item.refresh_from_db()
    assert (item.refunded, payment.refunded) == (Decimal("20.00"), Decimal("20.00"))
    assert Event.objects.filter(name=services.REFUNDED).count() == 2


def test_an_unfinished_payment_cannot_be_refunded(owe, citizen, pay_for, system_actor):
    payment = pay_for(citizen, owe(citizen))
    with pytest.raises(services.PaymentError):
        services.request_refund(item=payment.items.get(), amount="1.00", reason="x", actor=system_actor)


def test_a_refund_the_provider_cannot_take_now_is_retried(owe, citizen, pay_for, fake_provider, system_actor):
    payment = pay_for(citizen, owe(citizen))
    services.apply_status(payment_id=payment.id, status="success")
    fake_provider.down = True
    refund = services.request_refund(item=payment.items.get(), amount="2.00", reason="x", actor=system_actor)
    assert refund.status == Refund.Status.PENDING
    fake_provider.down = False
    assert services.send_refund(refund_id=refund.id).status == Refund.Status.SUCCEEDED
    assert services.send_refund(refund_id=refund.id).status == Refund.Status.SUCCEEDED
    assert Payment.objects.get().refunded == Decimal("2.00")


# --- The counter --------------------------------------------------------------------------------------------


def test_a_cashier_records_cash_once(owe, citizen, make_user, fake_provider):
    obligation = owe(f"cedula:{citizen.document_number}", "7.00")
    cashier = make_user()
    keys = keys_for_subject(f"cedula:{citizen.document_number}")
    assert f"user:{citizen.public_id}" in keys
    payment = services.record_counter_payment(
        obligation_ids=[obligation.id],
        debtor_keys=keys,
        subject=obligation.debtor,
        subject_label="María",
        cashier=cashier,
        actor=Actor.system(),
    )
    assert (payment.status, payment.channel, payment.recorded_by_id) == ("success", "counter", cashier.id)
    assert payment.receipt_number
    with pytest.raises(services.PaymentError) as refused:
        services.record_counter_payment(
            obligation_ids=[obligation.id],
            debtor_keys=keys,
            subject=obligation.debtor,
            subject_label="María",
            cashier=cashier,
            actor=Actor.system(),
        )
    assert refused.value.code == "conflict"
    # The person sees the cash payment in their account too (the obligation was posted by cédula).
    assert list(selectors.payments_of(keys_of_person(citizen))) == [payment]


# --- A case's fee -------------------------------------------------------------------------------------------


def test_a_case_with_a_fee_waits_for_payment_and_moves_on_once_when_paid(
    submitted_case, paid_permit_service, make_citizen, pay_for, fake_provider, run_tasks_immediately
):
    citizen = make_citizen()
    case = submitted_case(citizen, version=paid_permit_service)
    assert case.stage == Case.Stage.AWAITING_PAYMENT and case.state_due_at is None
    obligation = selectors.obligation_for_source(f"case:{case.reference}")
    assert (obligation.amount, obligation.kind, obligation.debtor) == (Decimal("25.00"), "fee", case.subject)
    payment = pay_for(citizen, obligation)
    services.apply_status(payment_id=payment.id, status="success")
    case.refresh_from_db()
    assert case.stage == Case.Stage.OPEN and case.state == "received" and case.state_due_at is not None
    # The same news again (a redelivered event) moves nothing.
    from ventanilla.cases import services as cases

    cases.fee_paid(reference=case.reference, receipt="again", actor=Actor.system())
    assert case.events.filter(kind="paid").count() == 1


def test_withdrawing_a_case_before_paying_cancels_its_fee(
    submitted_case, paid_permit_service, make_citizen, run_tasks_immediately
):
    from ventanilla.cases import services as cases
    from ventanilla.identity.selectors import actor_for

    citizen = make_citizen()
    case = submitted_case(citizen, version=paid_permit_service)
    cases.withdraw(case=case, reason="Ya no lo necesito", actor=actor_for(citizen), user=citizen)
    assert selectors.obligation_for_source(f"case:{case.reference}").status == Obligation.Status.CANCELLED


def test_the_payer_is_told_of_the_payment_and_the_refund_in_their_language(
    owe, make_citizen, pay_for, run_tasks_immediately, mailoutbox, system_actor
):
    from ventanilla.notify.models import Message

    citizen = make_citizen(language="en")
    payment = pay_for(citizen, owe(citizen, "12.00"))
    services.apply_status(payment_id=payment.id, status="success")
    services.request_refund(
        item=payment.items.get(), amount="2.00", reason="Cobro de más", actor=system_actor
    )
    receipt = Payment.objects.get().receipt_number
    subjects = [email.subject for email in mailoutbox]
    assert f"We received your payment {payment.reference}" in subjects
    assert f"We are returning USD 2.00 of your payment {payment.reference}" in subjects
    inbox = Message.objects.filter(recipient=f"user:{citizen.public_id}", channel="inbox")
    assert any(receipt in message.body for message in inbox)


def test_a_csv_line_whose_reference_is_taken_by_other_values_imports_nothing(
    owe, citizen, small_catalogue, system_actor
):
    owe(citizen, "9.00", institution="te", reference="A-1")
    text = "reference,debtor,concept_es,concept_en,amount\nA-2,8-100-101,Tasa,Fee,5.00\nA-1,8-100-101,Tasa,Fee,5.00\n"
    result = services.import_obligations(institution=small_catalogue["te"], text=text, actor=system_actor)
    assert [line for line, _problems in result.errors] == [3] and result.created == 0
    assert not Obligation.objects.filter(reference="A-2").exists()
