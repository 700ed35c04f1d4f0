"""The citizen's journey through an online service, over HTTP: start, answer page by page, check, send, follow
the case, answer a request for more information, write, withdraw. Pages in English (/en/) unless said."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.cases.fixtures import DEFINITION, PDF
from tests.identity.helpers import sign_in, sign_in_with_second_factor
from ventanilla.cases import services
from ventanilla.cases.models import Case, CaseEvent, Evidence
from ventanilla.core.identifiers import parse_ruc
from ventanilla.identity.selectors import actor_for

CODE = "MUN-PRUEBA-PERMISO"
START = f"/en/tramites/{CODE}/solicitar/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def html(response) -> str:
    return response.content.decode()


def start_key(page: str) -> str:
    return re.search(r'name="start_key" value="([^"]+)"', page).group(1)


def start_case(client: Client) -> str:
    """Open the start page, press "Start now"; the reference of the new draft."""
    response = client.post(START, {"start_key": start_key(html(client.get(START)))})
    assert response.status_code == 302
    return re.search(r"/solicitudes/([A-Z0-9-]+)/", response["Location"]).group(1)


def page_url(reference: str, page: str) -> str:
    return f"/en/solicitudes/{reference}/paginas/{page}/"


def answer_pages(client: Client, reference: str, *, owner_kind: str = "person") -> None:
    """Answer every page correctly (the company page only when it shows)."""
    client.post(
        page_url(reference, "applicant"),
        {"full_name": "María Pérez", "phone": "6123-4567", "owner_kind": owner_kind},
    )
    if owner_kind == "company":
        client.post(
            page_url(reference, "company"), {"company_ruc-ruc": "1234-567-89012", "company_ruc-dv": dv()}
        )
    client.post(
        page_url(reference, "works"),
        {"description": "One more floor", "cost": "15000", "floors-count": "1", "floors-0-area": "80"},
    )
    client.post(page_url(reference, "documents"), {"plans": pdf_upload()})


def dv() -> str:
    return parse_ruc("1234-567-89012").dv


def pdf_upload(name: str = "plans.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def submit(client: Client, reference: str):
    return client.post(f"/en/solicitudes/{reference}/revisar/", {"declaration": "yes"})


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """These tests sign in many times; how passwords are hashed is not what they check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def citizen(make_citizen):
    return make_citizen()


@pytest.fixture
def client(citizen, permit_service):
    return sign_in(citizen)


def test_start_page_says_what_the_service_needs_without_signing_in(paid_permit_service):
    page = html(Client().get(START))
    assert '<h1 class="heading-l">Building permit</h1>' in page
    assert "Plans of the works: you upload it" in page
    assert "Owner&#x27;s identity card: we fetch it for you from Test Municipality" in page
    assert "B/. 25.00" in page
    assert "within 15 working days" in page
    assert "at level low" in page
    assert "Start now" in page
    assert page.count("<script") == 1, "only the progressive-enhancement script of the layout"


def test_start_page_in_spanish(permit_service):
    page = html(Client().get(f"/tramites/{CODE}/solicitar/"))
    assert '<html lang="es">' in page
    assert "Permiso de construcción" in page and "Planos de la obra" in page
    assert "Cédula del propietario" in page and "Municipio de Prueba" in page


def test_no_online_service_is_not_found(db, small_catalogue):
    assert Client().get("/en/tramites/TE-CERTIFICADO-NACIMIENTO/solicitar/").status_code == 404


def test_starting_needs_signing_in(permit_service):
    response = Client().post(START, {"start_key": "k"})
    assert response.status_code == 302 and "/entrar/" in response["Location"]
    assert not Case.objects.exists()


def test_the_whole_journey(client, citizen):
    reference = start_case(client)
    case = Case.objects.get(reference=reference)
    assert case.stage == "draft" and case.subject == f"user:{citizen.public_id}" and case.filed_by == citizen

    # the name is filled in from the account; a wrong phone number is pointed out, what was typed kept
    page = html(client.get(page_url(reference, "applicant")))
    assert 'value="María Pérez 1"' in page and 'href="/en/tramites/MUN-PRUEBA-PERMISO/solicitar/"' in page
    response = client.post(
        page_url(reference, "applicant"), {"full_name": "María Pérez", "phone": "12", "owner_kind": "company"}
    )
    page = html(response)
    assert response.status_code == 200
    assert "<title>Error: About you" in page
    assert 'href="#f-phone"' in page and "Enter a phone number in Panama" in page
    assert 'value="12"' in page

    # a company owns the land: its page appears
    response = client.post(
        page_url(reference, "applicant"),
        {"full_name": "María Pérez", "phone": "6123-4567", "owner_kind": "company"},
    )
    assert response["Location"] == page_url(reference, "company")
    page = html(client.get(page_url(reference, "company")))
    assert "Company RUC" in page and f'href="{page_url(reference, "applicant")}"' in page
    response = client.post(
        page_url(reference, "company"), {"company_ruc-ruc": "1234-567-89012", "company_ruc-dv": dv()}
    )
    assert response["Location"] == page_url(reference, "works")

    # the works: a second floor added and filled in, without JavaScript
    works = {"description": "Two more floors", "cost": "15000", "floors-count": "1", "floors-0-area": "80"}
    response = client.post(page_url(reference, "works"), {**works, "action": "add:floors"})
    assert response.status_code == 200 and 'name="floors-1-area"' in html(response)
    response = client.post(
        page_url(reference, "works"), {**works, "floors-count": "2", "floors-1-area": "60"}
    )
    assert response["Location"] == page_url(reference, "documents")

    # the documents page takes a file
    page = html(client.get(page_url(reference, "documents")))
    assert 'enctype="multipart/form-data"' in page
    response = client.post(page_url(reference, "documents"), {"plans": pdf_upload("mis-planos.pdf")})
    assert response["Location"] == f"/en/solicitudes/{reference}/revisar/"

    page = html(client.get(f"/en/solicitudes/{reference}/revisar/"))
    for shown in (
        "María Pérez",
        "+507 6123-4567",
        "A company",
        "DV",
        "Two more floors",
        "$15,000.00",
        "Area (m²): 80",
        "Area (m²): 60",
        "mis-planos.pdf",
        "I declare that the information is true.",
        "Accept and send",
    ):
        assert shown in page, shown
    assert f'href="{page_url(reference, "works")}?return=check#' in page

    # sending needs the declaration
    response = client.post(f"/en/solicitudes/{reference}/revisar/")
    assert (
        response.status_code == 200
        and "<title>Error:" in html(response)
        and 'href="#declaration"' in html(response)
    )
    response = submit(client, reference)
    assert response["Location"] == f"/en/solicitudes/{reference}/enviada/"
    page = html(client.get(response["Location"]))
    assert "Application sent" in page and f"<strong>{reference}</strong>" in page
    assert "We check the application is complete." in page
    case.refresh_from_db()
    assert case.stage == "open" and case.state == "received"
    assert case.answers["company_ruc"]["dv"] == dv() and len(case.answers["floors"]) == 2

    # the sent case: its page, and no more editing
    page = html(client.get(f"/en/solicitudes/{reference}/"))
    assert "Received" in page and "mis-planos.pdf" in page and "Withdraw this application" in page
    assert client.get(page_url(reference, "works"))["Location"] == f"/en/solicitudes/{reference}/"
    mine = html(client.get("/en/cuenta/solicitudes/"))
    assert "In progress" in mine and reference in mine


def test_sending_with_answers_missing_links_to_the_pages_to_put_right(client):
    reference = start_case(client)
    response = submit(client, reference)
    page = html(response)
    assert response.status_code == 200 and "<title>Error:" in page
    assert f'href="{page_url(reference, "applicant")}?return=check#f-phone"' in page
    assert f'href="{page_url(reference, "documents")}?return=check#f-plans"' in page
    assert Case.objects.get().stage == "draft"
    # the start page offers to continue it rather than start again
    start_page = html(client.get(START))
    assert "You have an application you have not sent yet" in start_page
    assert f'href="{page_url(reference, "applicant")}"' in start_page


def test_changing_an_answer_from_check_your_answers(client):
    reference = start_case(client)
    answer_pages(client, reference, owner_kind="person")
    check = f"/en/solicitudes/{reference}/revisar/"
    change = page_url(reference, "applicant") + "?return=check"
    assert f'href="{change}#f-owner_kind-0"' in html(client.get(check))
    # now a company owns the land: its page is asked before coming back
    response = client.post(
        change, {"full_name": "María Pérez", "phone": "6123-4567", "owner_kind": "company"}
    )
    assert response["Location"] == page_url(reference, "company") + "?return=check"
    assert f'href="{check}"' in html(client.get(response["Location"]))
    response = client.post(
        response["Location"], {"company_ruc-ruc": "1234-567-89012", "company_ruc-dv": dv()}
    )
    assert response["Location"] == check
    assert "1234-567-89012" in html(client.get(check))


def test_no_page_needs_javascript(client):
    """Every step is a plain link or form post (the test client runs no scripts); the only script is the
    layout's optional enhancement."""
    reference = start_case(client)
    answer_pages(client, reference)
    paths = [
        START,
        page_url(reference, "applicant"),
        page_url(reference, "works"),
        page_url(reference, "documents"),
    ]
    paths += [
        f"/en/solicitudes/{reference}/revisar/",
        "/en/cuenta/solicitudes/",
        f"/en/solicitudes/{reference}/",
    ]
    pages = [client.get(path) for path in paths]
    submit(client, reference)
    sent = [f"/en/solicitudes/{reference}/enviada/", f"/en/solicitudes/{reference}/retirar/"]
    for response in pages + [client.get(path) for path in sent]:
        assert response.status_code == 200
        assert html(response).count("<script") == 1 and "onclick" not in html(response)


def test_choosing_a_person_skips_the_company_page(client):
    reference = start_case(client)
    response = client.post(
        page_url(reference, "applicant"),
        {"full_name": "María Pérez", "phone": "6123-4567", "owner_kind": "person"},
    )
    assert response["Location"] == page_url(reference, "works")
    # and asking for the company page goes on to the next one
    assert client.get(page_url(reference, "company"))["Location"] == page_url(reference, "works")
    assert f'href="{page_url(reference, "applicant")}"' in html(client.get(page_url(reference, "works")))


def test_a_file_that_is_not_a_pdf_is_refused_whatever_its_name(client):
    reference = start_case(client)
    response = client.post(
        page_url(reference, "documents"),
        {
            "plans": SimpleUploadedFile(
                "plans.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf"
            )
        },
    )
    assert response.status_code == 200
    assert "<title>Error:" in html(response) and "The selected file plans.pdf must be a PDF" in html(response)
    assert not Evidence.objects.exists()


def test_sending_twice_makes_one_case_and_the_same_confirmation(client):
    reference = start_case(client)
    answer_pages(client, reference)
    first, second = submit(client, reference), submit(client, reference)
    assert first["Location"] == second["Location"] == f"/en/solicitudes/{reference}/enviada/"
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(kind="submitted").count() == 1


def test_pressing_start_twice_makes_one_case(client):
    key = start_key(html(client.get(START)))
    first, second = client.post(START, {"start_key": key}), client.post(START, {"start_key": key})
    assert first["Location"] == second["Location"]
    assert Case.objects.count() == 1


def test_save_and_continue_on_another_device(client, citizen):
    reference = start_case(client)
    response = client.post(
        page_url(reference, "applicant"),
        {"full_name": "María Pérez", "phone": "not a phone", "owner_kind": "person", "save_later": "yes"},
    )
    assert response["Location"] == "/en/cuenta/solicitudes/"
    mine = html(client.get("/en/cuenta/solicitudes/"))
    assert "is saved. You can continue it from any device" in mine
    case = Case.objects.get(reference=reference)
    assert case.answers["owner_kind"] == "person" and "phone" not in case.answers

    phone = sign_in(citizen)
    mine = html(phone.get("/en/cuenta/solicitudes/"))
    assert "Not sent yet" in mine and f'href="{page_url(reference, "applicant")}"' in mine
    page = html(phone.get(page_url(reference, "applicant")))
    assert 'value="person" checked' in page
    answer_pages(phone, reference)
    assert submit(phone, reference)["Location"] == f"/en/solicitudes/{reference}/enviada/"


def test_another_citizen_finds_nothing(client, make_citizen, citizen):
    reference = start_case(client)
    answer_pages(client, reference)
    evidence = Evidence.objects.get()
    stranger = sign_in(make_citizen())
    paths = [
        f"/en/solicitudes/{reference}/",
        page_url(reference, "applicant"),
        f"/en/solicitudes/{reference}/revisar/",
        f"/en/solicitudes/{reference}/enviada/",
        f"/en/solicitudes/{reference}/responder/",
        f"/en/solicitudes/{reference}/retirar/",
        f"/en/solicitudes/{reference}/documentos/{evidence.id}/",
    ]
    for path in paths:
        assert stranger.get(path).status_code == 404, path
    assert stranger.post(f"/en/solicitudes/{reference}/revisar/", {"declaration": "yes"}).status_code == 404
    assert stranger.post(f"/en/solicitudes/{reference}/mensajes/", {"message": "hi"}).status_code == 404
    assert stranger.post(f"/en/solicitudes/{reference}/retirar/").status_code == 404
    assert stranger.get("/en/solicitudes/SOL-NOPE/").status_code == 404
    assert reference not in html(stranger.get("/en/cuenta/solicitudes/"))
    assert Case.objects.get().stage == "draft"


def test_documents_download_for_the_applicant_and_the_institution_only(
    client, citizen, official, permit_procedure
):
    reference = start_case(client)
    answer_pages(client, reference)
    evidence = Evidence.objects.get()
    path = f"/en/solicitudes/{reference}/documentos/{evidence.id}/"
    response = client.get(path)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert (
        response["Content-Disposition"].startswith("attachment")
        and "plans.pdf" in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]

    clerk = official("clerk")
    assert sign_in_with_second_factor(clerk).get(path).status_code == 200
    elsewhere = official("clerk", institution=permit_procedure["other"])
    assert sign_in_with_second_factor(elsewhere).get(path).status_code == 404


def test_sent_back_then_answered_with_a_file(client, citizen, official):
    reference = start_case(client)
    answer_pages(client, reference)
    submit(client, reference)
    clerk = official("clerk")
    services.act(
        case=Case.objects.get(reference=reference),
        action_key="ask_for_information",
        inputs={"reason": "The plans are not signed."},
        official=clerk,
        actor=actor_for(clerk),
    )
    mine = html(client.get("/en/cuenta/solicitudes/"))
    assert "Waiting for you" in mine and "The plans are not signed." in mine
    detail = html(client.get(f"/en/solicitudes/{reference}/"))
    assert (
        "The plans are not signed." in detail and f'href="/en/solicitudes/{reference}/responder/"' in detail
    )

    page = html(client.get(f"/en/solicitudes/{reference}/responder/"))
    assert "Plans of the works" in page and 'name="file-planos-de-la-obra"' in page
    response = client.post(f"/en/solicitudes/{reference}/responder/", {"message": ""})
    assert response.status_code == 200 and "Write your answer." in html(response)
    response = client.post(
        f"/en/solicitudes/{reference}/responder/",
        {"message": "Signed now.", "file-planos-de-la-obra": pdf_upload("signed.pdf")},
    )
    assert response["Location"] == f"/en/solicitudes/{reference}/"
    case = Case.objects.get(reference=reference)
    assert case.stage == "open" and case.state == "received"
    assert case.evidence.filter(name="signed.pdf", in_response=True).exists()
    detail = html(client.get(response["Location"]))
    assert "Your answer has been sent" in detail and "signed.pdf" in detail and "Signed now." in detail


def test_a_response_with_a_disguised_file_is_refused(client, submitted_case, citizen, official):
    case = submitted_case(citizen=citizen)
    clerk = official("clerk")
    services.act(
        case=case,
        action_key="ask_for_information",
        inputs={"reason": "Plans."},
        official=clerk,
        actor=actor_for(clerk),
    )
    response = client.post(
        f"/en/solicitudes/{case.reference}/responder/",
        {"message": "Here", "file-planos-de-la-obra": SimpleUploadedFile("x.pdf", b"<html>no</html>")},
    )
    assert response.status_code == 200 and "The selected file x.pdf must be a" in html(response)
    case.refresh_from_db()
    assert case.stage == "with_applicant"


def test_withdrawing(client, submitted_case, citizen):
    case = submitted_case(citizen=citizen)
    page = html(client.get(f"/en/solicitudes/{case.reference}/retirar/"))
    assert "Are you sure you want to withdraw your application?" in page
    response = client.post(f"/en/solicitudes/{case.reference}/retirar/", {"reason": "Changed my mind"})
    assert response["Location"] == f"/en/solicitudes/{case.reference}/"
    case.refresh_from_db()
    assert case.stage == "closed" and case.outcome == "withdrawn"
    detail = html(client.get(response["Location"]))
    assert "Withdrawn by the applicant" in detail and "Withdraw this application" not in detail
    assert "Finished" in html(client.get("/en/cuenta/solicitudes/"))


def test_messages_with_the_institution(client, submitted_case, citizen, official):
    case = submitted_case(citizen=citizen)
    response = client.post(f"/en/solicitudes/{case.reference}/mensajes/", {"message": "  "})
    assert (
        response.status_code == 200
        and "<title>Error:" in html(response)
        and "Write a message first." in html(response)
    )
    response = client.post(f"/en/solicitudes/{case.reference}/mensajes/", {"message": "When will you visit?"})
    assert response["Location"] == f"/en/solicitudes/{case.reference}/"
    clerk = official("clerk")
    services.post_message(
        case=case, text="Next Tuesday.", by_applicant=False, actor=actor_for(clerk), user=clerk
    )
    detail = html(client.get(response["Location"]))
    assert "When will you visit?" in detail
    assert "Message from Test Municipality" in detail and "Next Tuesday." in detail


def test_filed_by_an_official_shows_the_channel(client, permit_service, citizen, make_user):
    official_user = make_user()
    case, _created = services.start_case(
        version=permit_service,
        subject=f"user:{citizen.public_id}",
        subject_label=str(citizen),
        applicant=citizen,
        filed_by=official_user,
        start_key="",
        actor=actor_for(official_user, channel="infoplaza", on_behalf_of=f"user:{citizen.public_id}"),
    )
    assert "Filed for you by an official at an InfoPlaza on" in html(
        client.get(f"/en/solicitudes/{case.reference}/")
    )


def test_a_business_only_service_explains_how_to_act_for_a_business(client, system_actor):
    services.import_definition(
        source=DEFINITION.read_text().replace("applicant: any", "applicant: business"), actor=system_actor
    )
    page = html(client.get(START))
    assert "Only a business can apply" in page and 'href="/en/cuenta/actuar-como/?next=' in page
    response = client.post(START, {"start_key": "k"})
    assert response.status_code == 403 and not Case.objects.exists()


def test_the_account_page_links_to_the_applications(client):
    assert 'href="/en/cuenta/solicitudes/"' in html(client.get("/en/cuenta/"))
    assert "You have no applications yet" in html(client.get("/en/cuenta/solicitudes/"))


def test_a_service_at_level_substantial_asks_for_a_second_factor(
    permit_procedure, system_actor, make_citizen
):
    permit_procedure["procedure"].sign_in_level = "substantial"
    permit_procedure["procedure"].save()
    services.import_definition(source=DEFINITION.read_text(), actor=system_actor)
    assert "at level substantial" in html(Client().get(START))
    citizen = make_citizen(level="substantial")
    browser = sign_in(citizen)
    response = browser.post(START, {"start_key": "k"})
    assert response.status_code == 302 and "/verificacion-adicional/" in response["Location"]
    assert not Case.objects.exists()
    sign_in_with_second_factor(citizen, client=browser)
    assert start_case(browser)
