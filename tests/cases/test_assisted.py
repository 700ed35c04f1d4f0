"""Assisted digital: an official at an office, an InfoPlaza or the 311 contact centre files an application for a
citizen through the citizen's own pages. The case is the citizen's, recorded as filed by the official through
that channel; the citizen then finds it in their account and can carry on a draft the official started."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from tests.cases.fixtures import PDF
from tests.identity.helpers import sign_in, sign_in_with_second_factor
from ventanilla.cases.models import Case
from ventanilla.core.models import AuditEntry
from ventanilla.identity import assurance
from ventanilla.identity.models import AssistedSession, StaffRole
from ventanilla.identity.selectors import actor_for

CODE = "MUN-PRUEBA-PERMISO"
PAGES = {
    "applicant": {"full_name": "María Pérez", "phone": "+50761234567", "owner_kind": "person"},
    "works": {
        "description": "Ampliación de una planta",
        "cost": "15000.00",
        "floors-count": "1",
        "floors-0-area": "80",
    },
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def published(permit_service):
    return permit_service


@pytest.fixture
def registrar(make_citizen):
    """An official at a counter (or a 311 agent: same role, the channel says where the citizen is)."""
    person = make_citizen(level="substantial")
    assurance.grant_staff_role(
        user=person, role=StaffRole.Role.REGISTRAR, place="InfoPlaza de Boquete", actor=actor_for(person)
    )
    return person


def url(name: str, *args) -> str:
    with translation.override("es"):
        return reverse(name, args=args)


def assist(browser, citizen, channel: str) -> None:
    response = browser.post(
        url("identity:assist"),
        {
            "document_type": "cedula",
            "document_number": citizen.document_number,
            "channel": channel,
            "agreed": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()


def start(browser) -> Case:
    response = browser.post(url("cases:start", CODE), {"start_key": "first-click"})
    assert response.status_code == 302, response.content.decode()
    return Case.objects.get()


def answer(browser, case: Case, page_key: str, data: dict) -> str:
    response = browser.post(url("cases:page", case.reference, page_key), data)
    assert response.status_code == 302, response.content.decode()
    return response["Location"]


def upload_plans(browser, case: Case) -> None:
    plans = SimpleUploadedFile("plans.pdf", PDF, content_type="application/pdf")
    answer(browser, case, "documents", {"plans": plans})


def send(browser, case: Case) -> None:
    response = browser.post(url("cases:check", case.reference), {"declaration": "yes"})
    assert response["Location"] == url("cases:confirmation", case.reference)


def test_a_311_agent_files_an_application_for_a_citizen_on_the_phone(registrar, make_citizen, official):
    citizen = make_citizen()
    agent = sign_in_with_second_factor(registrar)
    assist(agent, citizen, "phone311")
    assert AssistedSession.objects.get().channel == "phone311"

    case = start(agent)
    for page_key, data in PAGES.items():
        answer(agent, case, page_key, data)
    upload_plans(agent, case)
    send(agent, case)

    case.refresh_from_db()
    assert case.stage == "open" and case.subject == f"user:{citizen.public_id}"
    assert (case.applicant, case.filed_by, case.channel) == (citizen, registrar, "phone311")
    for action in ("cases.started", "cases.submitted"):
        entry = AuditEntry.objects.get(action=action, object_id=case.reference)
        assert entry.actor_id == f"user:{registrar.public_id}", "the official did it"
        assert entry.on_behalf_of == f"user:{citizen.public_id}", "for the citizen"
        assert entry.channel == "phone311"

    # The institution sees who filed it and how.
    with translation.override("en"):
        work = reverse("cases:work", args=[case.reference])
    html = sign_in_with_second_factor(official("clerk")).get(work).content.decode()
    assert "By phone (311)" in html and f"Filed by {registrar}" in html

    # The citizen, on their own, finds it among their applications.
    agent.post(url("identity:assist-end"))
    own = sign_in(citizen)
    assert case.reference in own.get(url("cases:mine")).content.decode()
    assert own.get(url("cases:detail", case.reference)).status_code == 200


def test_the_citizen_continues_at_home_a_draft_an_official_started_at_an_office(registrar, make_citizen):
    citizen = make_citizen()
    counter = sign_in_with_second_factor(registrar)
    assist(counter, citizen, "office")
    case = start(counter)
    answer(counter, case, "applicant", PAGES["applicant"])
    counter.post(url("identity:assist-end"))

    home = sign_in(citizen)
    mine = home.get(url("cases:mine")).content.decode()
    assert case.reference in mine and url("cases:page", case.reference, "works") in mine
    answer(home, case, "works", PAGES["works"])
    upload_plans(home, case)
    send(home, case)

    case.refresh_from_db()
    assert case.stage == "open" and case.answers["full_name"] == "María Pérez"
    assert (case.filed_by, case.channel) == (registrar, "office"), "filed at the office, whoever sent it"
    started = AuditEntry.objects.get(action="cases.started", object_id=case.reference)
    assert (started.actor_id, started.on_behalf_of, started.channel) == (
        f"user:{registrar.public_id}",
        f"user:{citizen.public_id}",
        "office",
    )
    submitted = AuditEntry.objects.get(action="cases.submitted", object_id=case.reference)
    assert (submitted.actor_id, submitted.on_behalf_of) == (f"user:{citizen.public_id}", "")


def test_once_the_assisted_session_ends_the_official_no_longer_reaches_the_citizens_case(
    registrar, make_citizen
):
    citizen = make_citizen()
    counter = sign_in_with_second_factor(registrar)
    assist(counter, citizen, "infoplaza")
    case = start(counter)
    counter.post(url("identity:assist-end"))
    assert counter.get(url("cases:page", case.reference, "applicant")).status_code == 404


def test_the_assisted_channel_must_be_one_the_platform_knows(registrar, make_citizen):
    citizen = make_citizen()
    counter = sign_in_with_second_factor(registrar)
    response = counter.post(
        url("identity:assist"),
        {
            "document_type": "cedula",
            "document_number": citizen.document_number,
            "channel": "fax",
            "agreed": "on",
        },
    )
    assert response.status_code == 200 and not AssistedSession.objects.exists()
