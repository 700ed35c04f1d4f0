"""Issuing through the API (idempotent, every problem at once, in the caller's language), who may see what (a
holder only theirs, an institution only what it issued), the holder's pages (download in either language, share
links that expire and can be withdrawn, the credential), the institution's revocation page, and a case approved
issuing its permit and telling the applicant."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.identity.helpers import sign_in, sign_in_with_second_factor
from ventanilla.cases import services as cases
from ventanilla.catalogue.models import Institution
from ventanilla.documents import verification
from ventanilla.documents.models import Document, DocumentFile, ShareLink
from ventanilla.identity.models import StaffRole

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def integrator(make_user, attt, api_client_for):
    user = make_user()
    StaffRole.objects.create(user=user, role=StaffRole.Role.INTEGRATOR, institution=attt)
    return api_client_for(user)


def body(citizen, **changes):
    return {
        "institution": "ATTT",
        "kind": "licence",
        "reference": "LIC-2026-0001",
        "holder": citizen.document_number,
        "holder_name": citizen.get_full_name(),
        "title_es": "Licencia de conducir",
        "title_en": "Driving licence",
        "fields": [
            {"key": "vehicle_categories", "label_es": "Categorías", "label_en": "Categories", "value": ["B"]}
        ],
        "expires_at": (timezone.now() + timedelta(days=1000)).isoformat(),
        **changes,
    }


def post(client, path, data):
    return client.post(path, data, content_type="application/json")


def test_an_institution_issues_once_per_reference_and_the_holder_finds_it(
    integrator, make_citizen, api_client_for
):
    citizen = make_citizen()
    sent = body(citizen)
    first = post(integrator, "/api/v1/documents", sent)
    assert first.status_code == 201, first.content
    issued = first.json()
    assert issued["status"] == "valid"
    assert issued["holder"] == f"cedula:{citizen.document_number}"  # as the institution knows the person
    assert issued["holder_identifier"] == citizen.document_number  # printed under the name
    assert issued["verification_url"].endswith(f"/verificar/{issued['code']}/")
    again = post(integrator, "/api/v1/documents", sent)
    assert (again.status_code, again.json()["code"]) == (200, issued["code"])
    other = post(integrator, "/api/v1/documents", {**sent, "title_es": "Otra cosa"})
    assert other.status_code == 409
    assert Document.objects.count() == 1

    holder = api_client_for(citizen)
    assert [row["code"] for row in holder.get("/api/v1/documents").json()["items"]] == [issued["code"]]
    pdf = holder.get(f"/api/v1/documents/{issued['code']}/pdf?language=en")
    assert pdf["Content-Type"] == "application/pdf"
    assert verification.verify_pdf(pdf.content).status == "valid"
    assert (
        DocumentFile.objects.filter(document__code=issued["code"]).count() == 2
    )  # es at issue, en on request


@pytest.mark.parametrize(
    "language,expected", [("es", "Indique el nombre del titular"), ("en", "Give the holder's name")]
)
def test_every_problem_comes_back_at_once_in_the_callers_language(
    integrator, make_citizen, api_client_for, make_user, attt, language, expected
):
    integrator.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    bad = body(
        make_citizen(),
        holder="12345",
        holder_name=" ",
        title_es="T" * 301,
        expires_at=(timezone.now() - timedelta(days=1)).isoformat(),
        fields=[{"key": "Bad Key", "label_es": "", "label_en": "x", "value": ""}],
    )
    answer = post(integrator, "/api/v1/documents", bad)
    assert answer.status_code == 422
    problems = {row["field"]: row["message"] for row in answer.json()["errors"]}
    assert set(problems) >= {
        "holder",
        "holder_name",
        "title_es",
        "expires_at",
        "fields[1].key",
        "fields[1].value",
        "fields[1].label",
    }
    assert expected in problems["holder_name"]
    assert Document.objects.count() == 0


def test_nobody_sees_anothers_document(integrator, make_citizen, api_client_for, make_user, issue):
    mine, theirs = make_citizen(), make_citizen()
    document = issue(mine)
    stranger = api_client_for(theirs)
    assert stranger.get(f"/api/v1/documents/{document.code}").status_code == 404
    assert stranger.get(f"/api/v1/documents/{document.code}/pdf").status_code == 404
    assert post(stranger, f"/api/v1/documents/{document.code}/share", {"days": 7}).status_code == 404
    assert post(stranger, f"/api/v1/documents/{document.code}/credentials", {}).status_code == 404
    assert stranger.get("/api/v1/documents").json()["items"] == []
    # The holder cannot revoke; another institution's integrator cannot even see it.
    holder = api_client_for(mine)
    assert post(holder, f"/api/v1/documents/{document.code}/revoke", {"reason": "x"}).status_code == 403
    other = Institution.objects.create(code="OTRA", kind="other", name_es="Otra", name_en="Other")
    outsider = make_user()
    StaffRole.objects.create(user=outsider, role=StaffRole.Role.INTEGRATOR, institution=other)
    outsider_client = api_client_for(outsider)
    assert outsider_client.get(f"/api/v1/documents/{document.code}").status_code == 404
    assert (
        post(outsider_client, f"/api/v1/documents/{document.code}/revoke", {"reason": "x"}).status_code == 404
    )
    assert outsider_client.get("/api/v1/documents?institution=ATTT").status_code == 403
    assert post(outsider_client, "/api/v1/documents", body(mine)).status_code == 403
    # Its own integrator revokes it; revoking again changes nothing.
    revoked = post(integrator, f"/api/v1/documents/{document.code}/revoke", {"reason": "Emitida por error"})
    assert revoked.json()["status"] == "revoked"
    assert (
        post(integrator, f"/api/v1/documents/{document.code}/revoke", {"reason": "Otra"}).json()[
            "revocation_reason"
        ]
        == "Emitida por error"
    )


def test_public_verification_api_shows_only_what_the_document_shows(issue, make_citizen):
    document = issue(make_citizen())
    anyone = Client()
    by_code = anyone.get(f"/api/v1/verify/{document.code.lower().replace('-', ' ')}").json()
    assert by_code["status"] == "valid"
    assert by_code["document"]["holder_name"] == document.holder_name
    assert (
        "holder" not in by_code["document"] and "reference" not in by_code["document"]
    )  # no account id, no source
    pdf = bytes(DocumentFile.objects.get(document=document).pdf)
    by_file = anyone.post("/api/v1/verify", {"file": io.BytesIO(pdf)}).json()
    assert (by_file["status"], by_file["document"]["code"]) == ("valid", document.code)
    assert anyone.get("/api/v1/verify/ZZZZ-ZZZZ-ZZZZ").json()["status"] == "not_found"
    trust = anyone.get("/api/v1/trust-list").json()
    assert [issuer["institution"] for issuer in trust["issuers"]] == ["ATTT"]
    assert trust["authorities"] and "BEGIN CERTIFICATE" in trust["authorities"][0]
    metadata = anyone.get("/.well-known/jwt-vc-issuer/issuers/ATTT").json()
    assert metadata["issuer"].endswith("/issuers/ATTT") and metadata["jwks"]["keys"][0]["crv"] == "P-256"


# --- Pages ----------------------------------------------------------------------------------------------------


def test_the_holder_downloads_shares_and_withdraws(issue, make_citizen):
    citizen = make_citizen()
    document = issue(citizen)
    browser = sign_in(citizen)
    listed = browser.get("/cuenta/documentos/").content.decode()
    assert document.code in browser.get(f"/cuenta/documentos/{document.code}/").content.decode()
    assert "Licencia de conducir" in listed
    english = browser.get(f"/en/cuenta/documentos/{document.code}/pdf/en/")
    assert english["Content-Type"] == "application/pdf"
    assert verification.verify_pdf(english.content).document == document

    shared = browser.post(f"/cuenta/documentos/{document.code}/compartir/", {"days": "7"})
    link = ShareLink.objects.get()
    assert f"/compartido/{link.token}/" in shared.content.decode()
    anyone = Client()
    page = anyone.get(f"/en/compartido/{link.token}/")
    assert page.status_code == 200 and document.holder_name in page.content.decode()
    assert verification.verify_pdf(anyone.get(f"/compartido/{link.token}/pdf/").content).status == "valid"
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save()
    assert anyone.get(f"/compartido/{link.token}/").status_code == 410
    assert anyone.get(f"/compartido/{link.token}/pdf/").status_code == 410

    second = browser.post(f"/cuenta/documentos/{document.code}/compartir/", {"days": "1"})
    assert second.status_code == 200
    fresh = ShareLink.objects.filter(withdrawn_at=None, expires_at__gt=timezone.now()).get()
    browser.post(f"/cuenta/documentos/{document.code}/compartir/{fresh.id}/retirar/")
    assert anyone.get(f"/compartido/{fresh.token}/").status_code == 410
    assert browser.post(f"/cuenta/documentos/{document.code}/compartir/", {"days": "999"}).status_code == 400

    credential = browser.post(f"/cuenta/documentos/{document.code}/credencial/")
    assert credential["Content-Type"] == "application/dc+sd-jwt"
    assert credential.content.decode().count("~") >= 4
    history = browser.get(f"/en/cuenta/documentos/{document.code}/").content.decode()
    for kind in ("Issued", "Share link created", "Share link withdrawn", "Credential issued"):
        assert kind in history


def test_a_holder_never_sees_anothers_documents(issue, make_citizen):
    document = issue(make_citizen())
    stranger = sign_in(make_citizen())
    assert document.code not in stranger.get("/cuenta/documentos/").content.decode()
    assert stranger.get(f"/cuenta/documentos/{document.code}/").status_code == 404
    assert stranger.get(f"/cuenta/documentos/{document.code}/pdf/es/").status_code == 404
    assert stranger.post(f"/cuenta/documentos/{document.code}/compartir/", {"days": "7"}).status_code == 404
    assert Client().get("/cuenta/documentos/").status_code == 302  # signing in first


def test_a_supervisor_revokes_with_a_reason_and_others_cannot(
    issue, make_citizen, make_user, attt, system_actor
):
    document = issue(make_citizen())
    supervisor, clerk, outsider = make_user(), make_user(), make_user()
    cases.grant_role(user=supervisor, institution=attt, role="supervisor", actor=system_actor)
    cases.grant_role(user=clerk, institution=attt, role="clerk", actor=system_actor)
    page = f"/gestion/documentos/ATTT/{document.code}/"
    boss = sign_in_with_second_factor(supervisor)
    assert document.code in boss.get("/gestion/documentos/ATTT/").content.decode()
    empty = boss.post(page, {"reason": ""})
    assert empty.status_code == 400 and "error-summary" in empty.content.decode()
    done = boss.post(page, {"reason": "Suspendida por resolución"}, follow=True)
    assert "Suspendida por resolución" in done.content.decode()
    assert verification.verify_code(document.code).status == "revoked"
    assert sign_in_with_second_factor(clerk).post(page, {"reason": "x"}).status_code == 404
    assert sign_in_with_second_factor(outsider).get(page).status_code == 404


def test_an_approved_case_issues_its_permit_and_tells_the_applicant(
    run_tasks_immediately, submitted_case, official, system_actor
):
    case = submitted_case()
    clerk, reviewer = official("clerk"), official("reviewer")
    case = cases.act(case=case, action_key="accept", inputs={}, official=clerk, actor=system_actor)
    cases.act(
        case=case, action_key="approve", inputs={"reason": "Cumple"}, official=reviewer, actor=system_actor
    )
    document = Document.objects.get()
    assert (document.kind, document.holder, document.source) == (
        "permit",
        case.subject,
        f"case:{case.reference}/1",
    )
    assert {
        "key": "case",
        "label_es": "Solicitud",
        "label_en": "Application",
        "value": case.reference,
    } in document.fields
    assert verification.verify_code(document.code).status == "valid"
    told = [message for message in mail.outbox if document.code in message.body]
    assert len(told) == 1 and "Permiso de construcción" in told[0].subject
    page = sign_in(case.applicant).get(f"/en/solicitudes/{case.reference}/").content.decode()
    assert (
        "Issued to you, signed electronically: Building permit" in page
        and 'href="/en/cuenta/documentos/"' in page
    )


def test_a_share_sent_twice_makes_one_link(issue, make_citizen, api_client_for):
    citizen = make_citizen()
    document = issue(citizen)
    browser = sign_in(citizen)
    form = {"days": "7", "token": "one-form"}
    browser.post(f"/cuenta/documentos/{document.code}/compartir/", form)
    browser.post(f"/cuenta/documentos/{document.code}/compartir/", form)
    assert ShareLink.objects.count() == 1
    api = api_client_for(citizen)
    path = f"/api/v1/documents/{document.code}/share"
    first = api.post(path, {"days": 2}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(path, {"days": 2}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["url"] == again.json()["url"] and again["Idempotent-Replayed"] == "true"
    assert ShareLink.objects.count() == 2


def test_a_payment_gets_a_signed_receipt_from_each_institution_it_paid(
    run_tasks_immediately, make_citizen, owe, pay_for, fake_provider
):
    from ventanilla.notify.models import Message
    from ventanilla.payments import services as payments

    citizen = make_citizen()
    payment = pay_for(
        citizen, owe(citizen, "10.00"), owe(citizen, "5.50"), owe(citizen, "2.25", institution="te")
    )
    fake_provider.payer(payment, "success")
    payment = payments.apply_status(payment_id=payment.id, status="success")
    receipts = {document.institution.code: document for document in Document.objects.filter(kind="receipt")}
    assert set(receipts) == {"MUN-PANAMA", "TE"}
    municipality = receipts["MUN-PANAMA"]
    assert municipality.source == f"payment:{payment.reference}"
    assert {
        "key": "amount",
        "label_es": "Importe",
        "label_en": "Amount",
        "value": "USD 15.50",
    } in municipality.fields
    assert verification.verify_code(municipality.code).status == "valid"
    browser = sign_in(citizen)
    assert municipality.code in browser.get("/cuenta/documentos/").content.decode()
    # The payment's own message announced the receipt: no second message about the documents.
    sent = set(Message.objects.values_list("template_version__template__slug", flat=True))
    assert "payment-succeeded-email" in sent
    assert not any(slug.startswith("document-issued") for slug in sent)
