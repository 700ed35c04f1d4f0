"""The payments pages: the payer's (what I owe, pay, status, history, receipt) and the institution's (collections,
obligations, refunds, the counter, reconciliation). Each person sees only what is theirs."""

import re
from decimal import Decimal

import pytest

from tests.identity.helpers import sign_in, sign_in_with_second_factor
from ventanilla.cases import services as cases
from ventanilla.payments import services
from ventanilla.payments.models import Obligation, Payment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def citizen(make_citizen):
    return make_citizen()


@pytest.fixture
def browser(citizen):
    return sign_in(citizen)


def html(response) -> str:
    return response.content.decode()


def token_of(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


@pytest.fixture
def official(make_user, small_catalogue, system_actor):
    """official(*roles, institution="mupa") → signed in with a second factor, holding payments roles."""

    def make(*roles, institution="mupa"):
        user = make_user()
        for role in roles:
            cases.grant_role(
                user=user, institution=small_catalogue[institution], role=role, actor=system_actor
            )
        return sign_in_with_second_factor(user), user

    return make


# --- The payer ----------------------------------------------------------------------------------------------


def test_what_i_owe_lists_mine_across_institutions_and_not_anothers(
    browser, citizen, make_citizen, owe, fake_provider
):
    owe(citizen, "12.00", institution="mupa", concept_es="Impuesto de placa")
    owe(f"cedula:{citizen.document_number}", "5.50", institution="te", concept_es="Multa")
    theirs = owe(make_citizen(), "99.00", concept_es="Deuda de otra persona")
    page = html(browser.get("/cuenta/pagos/"))
    assert "Impuesto de placa" in page and "Multa" in page
    assert "Deuda de otra persona" not in page and str(theirs.id) not in page
    assert "USD 17.50" in page


def test_paying_sends_the_payer_to_the_provider_once_however_often_the_form_is_sent(
    browser, citizen, owe, fake_provider
):
    obligation = owe(citizen, "12.00")
    page = html(browser.get("/cuenta/pagos/"))
    form = {"token": token_of(page), "obligation": [str(obligation.id)], "provider": "fake"}
    first = browser.post("/cuenta/pagos/pagar/", form)
    second = browser.post("/cuenta/pagos/pagar/", form)
    # A page that moves on by itself: our form-action policy would stop a redirect to another site.
    assert first.status_code == 200 and first["Refresh"].startswith("0;url=https://pay.example/")
    assert second["Refresh"] == first["Refresh"]
    assert Payment.objects.count() == 1


def test_paying_nothing_or_anothers_obligation_is_refused_with_an_error_summary(
    browser, make_citizen, owe, fake_provider
):
    page = html(browser.post("/en/cuenta/pagos/pagar/", {"provider": "fake"}))
    assert 'class="error-summary"' in page and "Choose at least one" in page
    theirs = owe(make_citizen(), "99.00")
    refused = browser.post(
        "/cuenta/pagos/pagar/", {"token": "t1", "obligation": [str(theirs.id)], "provider": "fake"}
    )
    assert refused.status_code == 409 and 'class="error-summary"' in html(refused)
    assert not Payment.objects.exists()


def test_the_status_page_shows_the_receipt_once_paid_and_in_english(
    browser, citizen, owe, pay_for, fake_provider
):
    payment = pay_for(citizen, owe(citizen, "12.00"))
    waiting = html(browser.get(f"/en/cuenta/pagos/{payment.reference}/"))
    assert "We are confirming your payment" in waiting and 'http-equiv="refresh"' in waiting
    services.apply_status(payment_id=payment.id, status="success")
    done = html(browser.get(f"/en/cuenta/pagos/{payment.reference}/"))
    receipt_number = Payment.objects.get().receipt_number
    assert "Payment received" in done and receipt_number in done and 'http-equiv="refresh"' not in done
    receipt = html(browser.get(f"/en/cuenta/pagos/{payment.reference}/recibo/"))
    assert receipt_number in receipt and "USD 12.00" in receipt and "Keep this receipt" in receipt


def test_a_declined_payment_says_why_and_offers_to_try_again(browser, citizen, owe, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    services.apply_status(payment_id=payment.id, status="failed", error_code="insufficient_funds")
    page = html(browser.get(f"/en/cuenta/pagos/{payment.reference}/"))
    assert "not enough funds" in page and "Try again" in page


def test_the_payer_cancels_a_started_payment(browser, citizen, owe, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    browser.post(f"/cuenta/pagos/{payment.reference}/cancelar/")
    assert Payment.objects.get().status == "cancelled"


def test_nobody_sees_anothers_payment_or_receipt(citizen, make_citizen, owe, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    services.apply_status(payment_id=payment.id, status="success")
    stranger = sign_in(make_citizen())
    for path in ("", "recibo/"):
        assert stranger.get(f"/cuenta/pagos/{payment.reference}/{path}").status_code == 404
    assert stranger.post(f"/cuenta/pagos/{payment.reference}/cancelar/").status_code == 404
    assert payment.reference not in html(stranger.get("/cuenta/pagos/historial/"))


def test_the_history_lists_my_payments_with_their_status(browser, citizen, owe, pay_for, fake_provider):
    payment = pay_for(citizen, owe(citizen))
    services.apply_status(payment_id=payment.id, status="success")
    page = html(browser.get("/en/cuenta/pagos/historial/"))
    assert payment.reference in page and "Paid" in page


def test_pages_need_signing_in(client):
    assert client.get("/cuenta/pagos/")["Location"].startswith("/entrar/")


# --- The institution ----------------------------------------------------------------------------------------


def test_a_treasurer_records_an_obligation_with_clear_errors_first(official):
    browser, _user = official("treasurer")
    bad = browser.post(
        "/en/gestion/pagos/MUN-PANAMA/deudas/nueva/",
        {
            "reference": "X-1",
            "debtor": "no es cédula",
            "debtor_name": "Ana",
            "kind": "fine",
            "concept_es": "Multa",
            "concept_en": "Fine",
            "amount": "12.345",
            "currency": "USD",
        },
    )
    page = html(bad)
    assert bad.status_code == 400 and 'class="error-summary"' in page and "cédula" in page
    good = browser.post(
        "/en/gestion/pagos/MUN-PANAMA/deudas/nueva/",
        {
            "reference": "X-1",
            "debtor": "8-100-101",
            "debtor_name": "Ana",
            "kind": "fine",
            "concept_es": "Multa",
            "concept_en": "Fine",
            "amount": "12.50",
            "currency": "USD",
        },
    )
    assert good.status_code == 302
    obligation = Obligation.objects.get()
    assert (obligation.debtor, obligation.amount) == ("cedula:8-100-101", Decimal("12.50"))
    assert "X-1" in html(browser.get("/en/gestion/pagos/MUN-PANAMA/deudas/"))


def test_a_treasurer_of_one_institution_sees_nothing_of_another(official, owe, citizen):
    browser, _user = official("treasurer", institution="mupa")
    other = owe(citizen, institution="te")
    for path in ("", "deudas/", f"deudas/{other.id}/", "caja/"):
        assert browser.get(f"/gestion/pagos/TE/{path}").status_code == 404, path
    assert browser.get(f"/gestion/pagos/MUN-PANAMA/deudas/{other.id}/").status_code == 404


def test_a_cashier_has_the_counter_only(official):
    browser, _user = official("cashier")
    assert browser.get("/gestion/pagos/MUN-PANAMA/caja/").status_code == 200
    assert browser.get("/gestion/pagos/MUN-PANAMA/").status_code == 404
    assert browser.get("/gestion/pagos/MUN-PANAMA/deudas/").status_code == 404


def test_a_cashier_records_cash_once_and_prints_the_receipt(official, citizen, owe, fake_provider):
    browser, _user = official("cashier")
    mine = owe(f"cedula:{citizen.document_number}", "7.00", institution="mupa")
    owe(citizen, "3.00", institution="te")  # owed to another institution: not this counter's
    path = f"/en/gestion/pagos/MUN-PANAMA/caja/?debtor={citizen.document_number}"
    page = html(browser.get(path))
    assert mine.reference in page and "3.00" not in page
    form = {"token": token_of(page), "obligation": [str(mine.id)]}
    first = browser.post(path, form)
    second = browser.post(path, form)
    assert first.status_code == 302 and second["Location"] == first["Location"]
    payment = Payment.objects.get()
    assert (payment.status, payment.channel) == ("success", "counter")
    receipt = html(browser.get(first["Location"]))
    assert payment.receipt_number in receipt and "In cash at a counter" in receipt
    # A page left open after the payment, or a form altered to take another institution's debt, is refused.
    theirs = owe(citizen, "3.00", institution="te")
    for stale in ([str(mine.id)], [str(theirs.id)]):
        refused = browser.post(path, {"token": "another-form", "obligation": stale})
        assert refused.status_code == 400 and 'class="error-summary"' in html(refused)
    assert Payment.objects.count() == 1
    # The person finds it in their account too.
    assert payment.reference in html(sign_in(citizen).get("/cuenta/pagos/historial/"))


def test_an_import_with_a_bad_line_imports_nothing_and_names_the_line(official):
    from django.core.files.uploadedfile import SimpleUploadedFile

    browser, _user = official("treasurer")
    text = "reference,debtor,concept_es,concept_en,amount\nA-1,8-100-101,Tasa,Fee,5.00\nA-2,8-100-102,Tasa,Fee,cinco\n"
    response = browser.post(
        "/en/gestion/pagos/MUN-PANAMA/deudas/importar/",
        {"file": SimpleUploadedFile("d.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 400 and "Line 3" in html(response)
    assert not Obligation.objects.exists()


def test_adjusting_without_a_reason_and_refunding_too_much_are_refused(
    official, citizen, owe, pay_for, fake_provider
):
    browser, _user = official("treasurer")
    open_one = owe(citizen, "10.00")
    refused = browser.post(
        f"/en/gestion/pagos/MUN-PANAMA/deudas/{open_one.id}/ajustar/", {"amount": "8.00", "reason": ""}
    )
    assert refused.status_code == 400 and 'class="error-summary"' in html(refused)
    paid = owe(citizen, "20.00")
    payment = pay_for(citizen, paid)
    services.apply_status(payment_id=payment.id, status="success")
    item = payment.items.get()
    too_much = browser.post(
        f"/en/gestion/pagos/MUN-PANAMA/devoluciones/{item.id}/", {"amount": "20.01", "reason": "x"}
    )
    assert too_much.status_code == 400 and "20.00" in html(too_much)
    done = browser.post(
        f"/en/gestion/pagos/MUN-PANAMA/devoluciones/{item.id}/", {"amount": "5.00", "reason": "Cobro de más"}
    )
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.refunded == Decimal("5.00")


def test_collections_and_reconciliation_pages(official, citizen, owe, pay_for, fake_provider):
    browser, _user = official("treasurer")
    payment = pay_for(citizen, owe(citizen, "10.00"))
    fake_provider.payer(payment, "success")
    services.apply_status(payment_id=payment.id, status="success")
    page = html(browser.get("/en/gestion/pagos/MUN-PANAMA/"))
    assert "USD 10.00" in page and payment.reference in page
    from django.utils import timezone

    done = browser.post("/en/gestion/pagos/conciliacion/", {"day": timezone.now().date().isoformat()})
    assert done.status_code == 302
    listing = html(browser.get("/en/gestion/pagos/conciliacion/"))
    assert "Everything matches" in listing


def test_a_case_waiting_for_its_fee_says_so_and_leads_to_paying_it(
    submitted_case, paid_permit_service, citizen, browser, fake_provider
):
    case = submitted_case(citizen, version=paid_permit_service)
    page = html(browser.get(f"/en/solicitudes/{case.reference}/"))
    assert "Waiting for payment" in page and "The fee for this procedure is USD 25.00" in page
    assert 'href="/en/cuenta/pagos/"' in page
    mine = html(browser.get("/en/cuenta/solicitudes/"))
    assert "Waiting for your payment" in mine and case.reference in mine
    owed = html(browser.get("/en/cuenta/pagos/"))
    assert case.reference in owed and "Building permit" in owed
