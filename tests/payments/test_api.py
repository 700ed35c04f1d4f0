"""The payments API: institutions post and follow obligations, refund and read their collections; payers pay;
each sees only what is theirs, and every refusal says what to do in the caller's language."""

import pytest

from ventanilla.identity.models import StaffRole
from ventanilla.payments import services
from ventanilla.payments.models import Obligation, Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen(make_citizen):
    return make_citizen()


@pytest.fixture
def payer(citizen, api_client_for):
    return api_client_for(citizen)


@pytest.fixture
def integrator(make_user, small_catalogue, api_client_for):
    """A system of the municipality: its integrator's token."""
    user = make_user()
    StaffRole.objects.create(user=user, role=StaffRole.Role.INTEGRATOR, institution=small_catalogue["mupa"])
    return api_client_for(user)


def post(client, path, body, **headers):
    return client.post(path, body, content_type="application/json", **headers)


def obligation_body(citizen, **changes):
    return {
        "institution": "MUN-PANAMA",
        "reference": "PLACA-2027-001",
        "debtor": citizen.document_number,
        "debtor_name": "María Pérez",
        "kind": "municipal",
        "concept_es": "Impuesto de circulación 2027",
        "concept_en": "Vehicle tax 2027",
        "amount": "26.00",
        "currency": "USD",
        "due_date": "2027-03-31",
        **changes,
    }


def test_an_institution_posts_an_obligation_the_person_then_sees_and_pays(
    integrator, payer, citizen, fake_provider
):
    created = post(integrator, "/api/v1/obligations", obligation_body(citizen))
    assert created.status_code == 201, created.content
    assert created.json()["debtor"] == f"cedula:{citizen.document_number}"
    again = post(integrator, "/api/v1/obligations", obligation_body(citizen))
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    conflict = post(integrator, "/api/v1/obligations", obligation_body(citizen, amount="30.00"))
    assert conflict.status_code == 409

    owed = payer.get("/api/v1/owed").json()
    assert [o["reference"] for o in owed] == ["PLACA-2027-001"]
    payment = post(
        payer,
        "/api/v1/payments",
        {"obligations": [owed[0]["id"]], "provider": "fake"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert payment.status_code == 201, payment.content
    assert payment.json()["next_url"].startswith("https://pay.example/")
    replay = post(
        payer,
        "/api/v1/payments",
        {"obligations": [owed[0]["id"]], "provider": "fake"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert replay.json()["id"] == payment.json()["id"] and replay["Idempotent-Replayed"] == "true"
    changed = post(
        payer,
        "/api/v1/payments",
        {"obligations": [owed[0]["id"]], "provider": "counter"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert changed.status_code == 422
    assert Payment.objects.count() == 1


def test_a_person_sees_only_their_obligations_and_payments(
    payer, citizen, make_citizen, owe, pay_for, api_client_for
):
    mine = owe(citizen, "5.00")
    other = make_citizen()
    theirs = owe(other, "9.00")
    their_payment = pay_for(other, theirs)
    assert [o["id"] for o in payer.get("/api/v1/owed").json()] == [str(mine.id)]
    assert payer.get(f"/api/v1/payments/{their_payment.reference}").status_code == 404
    refused = post(payer, "/api/v1/payments", {"obligations": [str(theirs.id)], "provider": "fake"})
    assert refused.status_code == 404
    assert payer.get("/api/v1/payments").json()["items"] == []


def test_an_institution_reads_only_its_own_obligations(
    integrator, citizen, owe, make_user, small_catalogue, api_client_for
):
    ours, theirs = owe(citizen, institution="mupa"), owe(citizen, institution="te")
    assert integrator.get(f"/api/v1/obligations/{ours.id}").status_code == 200
    assert integrator.get(f"/api/v1/obligations/{theirs.id}").status_code == 404
    assert integrator.get("/api/v1/obligations?institution=TE").status_code == 403
    listed = integrator.get("/api/v1/obligations?institution=MUN-PANAMA").json()
    assert [o["id"] for o in listed["items"]] == [str(ours.id)]
    assert post(integrator, f"/api/v1/obligations/{theirs.id}/cancel", {"reason": "x"}).status_code == 404
    # A citizen's token is no institution's system.
    assert api_client_for(citizen).get("/api/v1/obligations?institution=MUN-PANAMA").status_code == 403


def test_refusals_say_what_to_fix_in_the_callers_language(
    integrator, citizen, make_user, small_catalogue, api_client_for
):
    bad = obligation_body(citizen, amount="12,5", currency="EUR", debtor="nadie")
    english = post(integrator, "/api/v1/obligations", bad).json()
    fields = {error["field"]: error["message"] for error in english["errors"]}
    assert set(fields) == {"debtor", "amount", "currency"}, "every problem at once"
    assert "cédula" in fields["debtor"] and "USD" in fields["currency"]
    user = make_user()
    StaffRole.objects.create(user=user, role=StaffRole.Role.INTEGRATOR, institution=small_catalogue["mupa"])
    spanish = post(
        api_client_for(user, language="es"), "/api/v1/obligations", obligation_body(citizen, amount="0")
    )
    assert spanish.status_code == 422
    assert "mayor que cero" in {e["field"]: e["message"] for e in spanish.json()["errors"]}["amount"]
    as_float = post(integrator, "/api/v1/obligations", {**obligation_body(citizen), "amount": 12.5})
    assert as_float.status_code == 422


def test_adjust_cancel_and_history_through_the_api(integrator, citizen):
    created = post(integrator, "/api/v1/obligations", obligation_body(citizen)).json()
    adjusted = post(
        integrator, f"/api/v1/obligations/{created['id']}/adjust", {"amount": "20.00", "reason": "Descuento"}
    )
    assert adjusted.json()["amount"] == "20.00"
    assert post(integrator, f"/api/v1/obligations/{created['id']}/cancel", {"reason": ""}).status_code == 422
    cancelled = post(
        integrator, f"/api/v1/obligations/{created['id']}/cancel", {"reason": "Pagado en ventanilla"}
    )
    assert cancelled.json()["status"] == "cancelled"
    history = integrator.get(f"/api/v1/obligations/{created['id']}").json()["history"]
    assert [(h["kind"], h["amount_after"]) for h in history] == [
        ("created", "26.00"),
        ("adjusted", "20.00"),
        ("cancelled", None),
    ]
    assert (
        post(integrator, f"/api/v1/obligations/{created['id']}/cancel", {"reason": "otra vez"}).status_code
        == 409
    )


def test_a_csv_import_through_the_api_lists_each_wrong_line(integrator):
    good = "reference,debtor,concept_es,concept_en,amount,due_date\nB-1,8-100-101,Tasa,Fee,5.00,2027-01-31\n"
    bad = good + "B-2,8-100-102,Tasa,Fee,5.00,31/01/2027\n"
    refused = integrator.post(
        "/api/v1/obligations/import?institution=MUN-PANAMA", bad, content_type="text/csv"
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"line": 3, "field": "due_date", "message": "Write the date as YYYY-MM-DD."}
    ]
    assert not Obligation.objects.exists()
    done = integrator.post("/api/v1/obligations/import?institution=MUN-PANAMA", good, content_type="text/csv")
    assert done.json() == {"created": 1, "unchanged": 0}


def test_an_institution_refunds_its_part_once_per_key_and_reads_its_collections(
    integrator, citizen, owe, pay_for, fake_provider
):
    ours, theirs = owe(citizen, "10.00", institution="mupa"), owe(citizen, "4.00", institution="te")
    payment = pay_for(citizen, ours, theirs)
    services.apply_status(payment_id=payment.id, status="success")
    body = {"obligation": str(ours.id), "amount": "3.00", "reason": "Cobro de más"}
    first = post(integrator, f"/api/v1/payments/{payment.reference}/refunds", body, HTTP_IDEMPOTENCY_KEY="r1")
    again = post(integrator, f"/api/v1/payments/{payment.reference}/refunds", body, HTTP_IDEMPOTENCY_KEY="r1")
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    too_much = post(integrator, f"/api/v1/payments/{payment.reference}/refunds", {**body, "amount": "7.01"})
    assert too_much.status_code == 422 and too_much.json()["code"] == "amount_exceeds_refundable"
    # The other institution's part is not ours to refund.
    other = post(
        integrator, f"/api/v1/payments/{payment.reference}/refunds", {**body, "obligation": str(theirs.id)}
    )
    assert other.status_code == 404
    [today] = integrator.get("/api/v1/collections?institution=MUN-PANAMA").json()
    assert (today["collected"], today["refunded"], today["net"]) == ("10.00", "3.00", "7.00")
