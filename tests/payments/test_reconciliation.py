"""Reconciliation: the provider's settlement report against the platform's payments and refunds, to the cent, and
what each institution is told it collected."""

import random
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ventanilla.catalogue.models import Institution
from ventanilla.core.actor import Actor
from ventanilla.payments import selectors, services
from ventanilla.payments.models import Mismatch, Obligation, Payment, PaymentItem, Reconciliation, Refund

pytestmark = pytest.mark.django_db

PAYMENTS = int(__import__("os").environ.get("VT_PAYMENTS", "10000"))


def _today():
    return timezone.now().astimezone(UTC).date()


def test_ten_thousand_random_payments_and_refunds_reconcile_to_the_cent(
    small_catalogue, fake_provider, make_citizen
):
    """Random obligations of three institutions, paid one to three at a time, some refunded in part or in full,
    some payments failed or abandoned: the report matches line by line, the totals agree to the cent, and the
    institutions' collections add up to what the provider settled."""
    rng = random.Random(20261205)
    institutions = [small_catalogue["te"], small_catalogue["mupa"]]
    institutions.append(Institution.objects.create(code="ATTT", kind="other", name_es="ATTT", name_en="ATTT"))
    citizen = make_citizen()
    debtor = f"user:{citizen.public_id}"
    sizes = [rng.randint(1, 3) for _ in range(PAYMENTS)]
    obligations = Obligation.objects.bulk_create(
        [
            Obligation(
                institution=rng.choice(institutions),
                reference=f"R-{n:06d}",
                debtor=debtor,
                debtor_label="María",
                concept_es="Tasa",
                concept_en="Fee",
                # Amounts whose sums a float would get wrong: cents from 0.01 to 999.99.
                amount=Decimal(rng.randint(1, 99_999)) / 100,
            )
            for n in range(sum(sizes))
        ]
    )
    actor = Actor.system("tests")
    keys = {debtor}
    cursor = 0
    expected_net = {institution.id: Decimal("0.00") for institution in institutions}
    for size in sizes:
        chosen = obligations[cursor : cursor + size]
        cursor += size
        payment = services.start_payment(
            payment=services.create_payment(
                obligation_ids=[obligation.id for obligation in chosen],
                debtor_keys=keys,
                subject=debtor,
                subject_label="María",
                payer=citizen,
                provider="fake",
                channel="web",
                actor=actor,
            )
        )
        outcome = rng.random()
        if outcome < 0.05:
            fake_provider.payer(payment, "failed", "card_declined")
            services.apply_status(payment_id=payment.id, status="failed", error_code="card_declined")
            continue
        if outcome < 0.08:
            continue  # abandoned: still started, never settled
        fake_provider.payer(payment, "success")
        services.apply_status(payment_id=payment.id, status="success")
        for item in PaymentItem.objects.filter(payment=payment):
            expected_net[item.institution_id] += item.amount
            if rng.random() < 0.1:
                amount = (
                    item.amount
                    if rng.random() < 0.5
                    else (item.amount * Decimal(rng.randint(1, 99)) / 100).quantize(Decimal("0.01"))
                )
                if amount > 0:
                    services.request_refund(item=item, amount=amount, reason="Devolución", actor=actor)
                    expected_net[item.institution_id] -= amount

    reconciliation = services.reconcile(provider_name="fake", day=_today())
    paid = Payment.objects.filter(status="success")
    refunds = Refund.objects.filter(status="succeeded")
    assert reconciliation.status == Reconciliation.Status.MATCHED, list(
        Mismatch.objects.values("kind", "provider_reference")[:5]
    )
    assert reconciliation.lines == reconciliation.matched == paid.count() + refunds.count()
    settled = sum(
        (
            line.amount if line.kind == "payment" else -line.amount
            for line in fake_provider().settlement_report(day=_today())
        ),
        Decimal("0.00"),
    )
    assert reconciliation.platform_total == reconciliation.provider_total == settled
    # Each institution's collections: its part of every payment, less its refunds, to the cent.
    collected = {
        institution.id: sum(
            (row.net for row in selectors.collections(institution, start=_today(), end=_today())),
            Decimal("0.00"),
        )
        for institution in institutions
    }
    assert collected == expected_net
    assert sum(collected.values()) == settled
    # Nothing was paid twice, and every paid obligation points at one successful payment.
    assert (
        Obligation.objects.filter(status="paid").count()
        == PaymentItem.objects.filter(payment__status="success").count()
    )
    assert not PaymentItem.objects.filter(duplicate=True).exists()


def test_a_payment_missing_from_the_report_and_one_unknown_here_are_listed(
    owe, make_citizen, pay_for, fake_provider
):
    citizen = make_citizen()
    kept, dropped, changed = (pay_for(citizen, owe(citizen, "10.00")) for _ in range(3))
    for payment in (kept, dropped, changed):
        fake_provider.payer(payment, "success")
        services.apply_status(payment_id=payment.id, status="success")
    del fake_provider.sessions[dropped.provider_reference]
    fake_provider.sessions[changed.provider_reference]["amount"] = Decimal("9.99")
    fake_provider.sessions["fk_stranger"] = {
        "payment_id": "6f1c7a8e-0000-4000-8000-000000000000",
        "amount": Decimal("5.00"),
        "currency": "USD",
        "status": "success",
        "error": "",
        "at": timezone.now(),
        "refunded": Decimal("0.00"),
    }
    reconciliation = services.reconcile(provider_name="fake", day=_today())
    assert reconciliation.status == Reconciliation.Status.MISMATCHES
    found = {(mismatch.kind, mismatch.payment_id) for mismatch in reconciliation.mismatches.all()}
    assert found == {
        (Mismatch.Kind.MISSING_AT_PROVIDER, dropped.id),
        (Mismatch.Kind.AMOUNT, changed.id),
        (Mismatch.Kind.MISSING_HERE, None),
    }
    assert reconciliation.matched == 1
    # Run again once the provider corrects its report: the day is replaced, not added to.
    fake_provider.sessions[changed.provider_reference]["amount"] = Decimal("10.00")
    assert services.reconcile(provider_name="fake", day=_today()).mismatches.count() == 2
    assert Reconciliation.objects.count() == 1


def test_a_payment_settled_just_before_midnight_may_be_in_the_next_days_report(
    owe, make_citizen, pay_for, fake_provider
):
    citizen = make_citizen()
    payment = pay_for(citizen, owe(citizen, "10.00"))
    services.apply_status(payment_id=payment.id, status="success")
    yesterday = _today() - timedelta(days=1)
    late_evening = timezone.datetime.combine(yesterday, timezone.datetime.max.time(), tzinfo=UTC) - timedelta(
        minutes=2
    )
    Payment.objects.filter(id=payment.id).update(finished_at=late_evening)
    fake_provider.payer(payment, "success")  # the provider settled it after midnight: today's report
    assert services.reconcile(provider_name="fake", day=yesterday).status == Reconciliation.Status.MATCHED
    assert services.reconcile(provider_name="fake", day=_today()).status == Reconciliation.Status.MATCHED


def test_a_report_the_provider_cannot_give_is_recorded_as_failed(fake_provider):
    fake_provider.down = True
    reconciliation = services.reconcile(provider_name="fake", day=_today())
    assert reconciliation.status == Reconciliation.Status.FAILED and "down" in reconciliation.error


def test_a_payment_for_two_institutions_is_split_in_their_collections(
    owe, make_citizen, pay_for, small_catalogue
):
    citizen = make_citizen()
    payment = pay_for(
        citizen, owe(citizen, "10.00", institution="mupa"), owe(citizen, "2.50", institution="te")
    )
    services.apply_status(payment_id=payment.id, status="success")
    mupa_item = payment.items.get(institution=small_catalogue["mupa"])
    services.request_refund(item=mupa_item, amount="1.00", reason="x", actor=Actor.system())
    [mupa] = selectors.collections(small_catalogue["mupa"], start=_today(), end=_today())
    [te] = selectors.collections(small_catalogue["te"], start=_today(), end=_today())
    assert (mupa.collected, mupa.refunded, mupa.net, mupa.payments) == (
        Decimal("10.00"),
        Decimal("1.00"),
        Decimal("9.00"),
        1,
    )
    assert (te.collected, te.refunded, te.net) == (Decimal("2.50"), Decimal("0.00"), Decimal("2.50"))
