"""Payments pages in a real browser: axe-core finds nothing on the payer's and the institution's pages, in both
languages, and the payer's journey to the provider and back works without JavaScript."""

import pytest

from ventanilla.cases import services as cases
from ventanilla.core.actor import Actor
from ventanilla.payments import services

pytestmark = pytest.mark.e2e


@pytest.fixture
def paid(transactional_db, small_catalogue, make_citizen, make_user, fast_passwords, fake_provider):
    """A citizen who owes two things and paid a third (partly refunded), and a treasurer of the municipality."""
    actor = Actor.system("tests")
    citizen = make_citizen()

    def owe(reference, amount, institution="mupa"):
        return services.post_obligation(
            institution=small_catalogue[institution],
            data=services.ObligationIn(
                reference=reference,
                debtor=f"user:{citizen.public_id}",
                debtor_label="María Pérez",
                concept_es=f"Tasa {reference}",
                concept_en=f"Fee {reference}",
                amount=amount,
            ),
            actor=actor,
        )[0]

    owe("PLACA-1", "26.00")
    owe("MULTA-1", "25.00", institution="te")
    obligation = owe("TASA-1", "10.00")
    payment = services.start_payment(
        payment=services.create_payment(
            obligation_ids=[obligation.id],
            debtor_keys={f"user:{citizen.public_id}"},
            subject=f"user:{citizen.public_id}",
            subject_label=str(citizen),
            payer=citizen,
            provider="fake",
            channel="web",
            actor=actor,
        )
    )
    fake_provider.payer(payment, "success")
    payment = services.apply_status(payment_id=payment.id, status="success")
    services.request_refund(item=payment.items.get(), amount="2.00", reason="Cobro de más", actor=actor)
    treasurer = make_user()
    cases.grant_role(user=treasurer, institution=small_catalogue["mupa"], role="treasurer", actor=actor)
    services.reconcile(provider_name="fake", day=payment.finished_at.date())
    return {"citizen": citizen, "payment": payment, "obligation": obligation, "treasurer": treasurer}


@pytest.mark.parametrize("prefix", ["", "/en"], ids=["es", "en"])
def test_the_payers_pages_have_no_accessibility_violations(paid, context, page_for, sign_in, scan, prefix):
    sign_in(context, paid["citizen"])
    reference = paid["payment"].reference
    for path in (
        "/cuenta/pagos/",
        f"/cuenta/pagos/{reference}/",
        f"/cuenta/pagos/{reference}/recibo/",
        "/cuenta/pagos/historial/",
    ):
        page = page_for(context, prefix + path)
        scan(page, label=prefix + path)
        page.close()
    page = page_for(context, prefix + "/cuenta/pagos/")
    page.uncheck("input[name=obligation] >> nth=0")
    page.uncheck("input[name=obligation] >> nth=1")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    scan(page, label="nothing chosen")


@pytest.mark.parametrize("prefix", ["", "/en"], ids=["es", "en"])
def test_the_institutions_pages_have_no_accessibility_violations(
    paid, context, page_for, sign_in, scan, prefix
):
    sign_in(context, paid["treasurer"])
    base = "/gestion/pagos/MUN-PANAMA"
    paths = (
        "/gestion/pagos/",
        f"{base}/",
        f"{base}/deudas/",
        f"{base}/deudas/nueva/",
        f"{base}/deudas/importar/",
        f"{base}/deudas/{paid['obligation'].id}/",
        f"{base}/caja/?debtor={paid['citizen'].document_number}",
        "/gestion/pagos/conciliacion/",
    )
    for path in paths:
        page = page_for(context, prefix + path)
        scan(page, label=prefix + path)
        page.close()
    page = page_for(context, f"{prefix}{base}/deudas/nueva/")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    scan(page, label="obligation errors")


def test_paying_takes_the_payer_to_the_provider_without_javascript(paid, context_no_js, page_for, sign_in):
    sign_in(context_no_js, paid["citizen"])
    page = page_for(context_no_js, "/en/cuenta/pagos/")
    page.route("https://pay.example/**", lambda route: route.fulfill(body="The provider's page"))
    page.click("main button[type=submit]")
    page.wait_for_url("https://pay.example/**")
    assert "The provider's page" in page.content()
