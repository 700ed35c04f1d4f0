"""Officials (registrars): identity checks in person, which open level high, and assisted digital sessions,
recorded as "official X for citizen Y". Nobody else reaches these pages."""

from datetime import timedelta

import pyotp
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from ventanilla.core.models import AuditEntry
from ventanilla.identity import assurance
from ventanilla.identity.models import AccountSession, AssistedSession, IdentityCheck, StaffRole
from ventanilla.identity.selectors import actor_for

PLACE = "InfoPlaza de Boquete"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def registrar(make_citizen):
    official = make_citizen(level="substantial")
    assurance.grant_staff_role(
        user=official, role=StaffRole.Role.REGISTRAR, place=PLACE, actor=actor_for(official)
    )
    return official


def sign_in(client, user, *, second_factor=False):
    client.post(reverse("identity:sign-in"), {"identifier": user.username, "password": PASSWORD})
    if second_factor:
        response = client.post(
            reverse("identity:step-up") + "?next=/funcionarios/", {"code": pyotp.TOTP(user.totp_secret).now()}
        )
        assert response["Location"] == "/funcionarios/"


def session_of(client) -> AccountSession:
    return AccountSession.objects.get(session_key=client.session.session_key)


OFFICIAL_PAGES = ["identity:officials", "identity:identity-check", "identity:assist"]


@pytest.mark.parametrize("name", OFFICIAL_PAGES)
def test_official_pages_need_a_signed_in_person(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("identity:sign-in"))


@pytest.mark.parametrize("name", [*OFFICIAL_PAGES, "identity:assist-end"])
def test_official_pages_are_refused_to_everyone_but_registrars(client, make_citizen, name):
    citizen = make_citizen(level="substantial")
    StaffRole.objects.create(user=citizen, role=StaffRole.Role.INTEGRATOR)
    sign_in(client, citizen, second_factor=True)
    response = client.post(reverse(name)) if name == "identity:assist-end" else client.get(reverse(name))
    assert response.status_code == 403
    assert "registrar" in response.content.decode()


def test_a_registrar_sees_what_they_can_do_and_where(client, registrar):
    sign_in(client, registrar)
    html = client.get(reverse("identity:officials")).content.decode()
    assert PLACE in html
    assert reverse("identity:identity-check") in html and reverse("identity:assist") in html


def test_granting_a_role_is_audited(registrar):
    entry = AuditEntry.objects.filter(action="identity.staff_role_granted").get()
    assert entry.object_id == str(registrar.public_id)
    assert entry.data["place"] == PLACE


# --- Identity checks ---------------------------------------------------------------------------------------


def find(client, number):
    return client.post(
        reverse("identity:identity-check"), {"document_type": "cedula", "document_number": number}
    )


def record(client, person, **changes):
    data = {
        "document_number": person.document_number,
        "document_expiry": (timezone.localdate() + timedelta(days=900)).isoformat(),
        "place": PLACE,
        "notes": "",
        "photo_matches": "on",
        **changes,
    }
    return client.post(reverse("identity:identity-check-record", args=[person.public_id]), data)


def test_checking_identity_needs_the_registrar_to_have_used_a_second_factor(client, registrar):
    sign_in(client, registrar)
    response = client.get(reverse("identity:identity-check"))
    assert response["Location"].startswith(reverse("identity:step-up"))


def test_a_registrar_finds_the_person_by_document_and_records_the_check(client, registrar, make_citizen):
    person = make_citizen(level="substantial")
    sign_in(client, registrar, second_factor=True)

    found = find(client, f" {person.document_number} ")
    assert found["Location"] == reverse("identity:identity-check-record", args=[person.public_id])
    form = client.get(found["Location"])
    assert form.context["form"]["place"].value() == PLACE, "the place defaults to the official's"
    assert person.document_number not in form.content.decode(), "the number is read from the document"

    done = record(client, person, notes="Cédula en buen estado")
    check = IdentityCheck.objects.get(person=person)
    assert done["Location"] == reverse("identity:identity-check-done", args=[check.public_id])
    assert (
        check.official == registrar
        and check.place == PLACE
        and check.document_number == person.document_number
    )
    person.refresh_from_db()
    assert person.identity_verified_at is not None
    assert str(check.public_id) in client.get(done["Location"]).content.decode()

    entry = AuditEntry.objects.get(action="identity.identity_checked")
    assert entry.actor_id == f"user:{registrar.public_id}"
    assert entry.object_id == str(person.public_id)
    assert entry.data["place"] == PLACE and entry.data["person"] == f"user:{person.public_id}"


def test_a_document_that_is_not_the_accounts_is_refused(client, registrar, make_citizen):
    person, other = make_citizen(), make_citizen()
    sign_in(client, registrar, second_factor=True)
    response = record(client, person, document_number=other.document_number)
    assert response.status_code == 200
    assert "not the one this account was registered with" in response.content.decode()
    assert not IdentityCheck.objects.exists()
    person.refresh_from_db()
    assert person.identity_verified_at is None


def test_an_expired_document_is_refused(client, registrar, make_citizen):
    person = make_citizen()
    sign_in(client, registrar, second_factor=True)
    response = record(client, person, document_expiry="2020-01-31")
    assert "expired" in response.content.decode()
    assert not IdentityCheck.objects.exists()


def test_an_unknown_document_is_said_so_and_a_malformed_one_explained(client, registrar):
    sign_in(client, registrar, second_factor=True)
    assert "No account holds this document" in find(client, "8-999-9999").content.decode()
    assert "for example 8-123-456" in find(client, "hello").content.decode()


def test_only_the_official_who_made_a_check_sees_its_confirmation(client, registrar, make_citizen):
    person = make_citizen()
    check = assurance.record_identity_check(
        person=person,
        official=registrar,
        document_type=person.document_type,
        document_number=person.document_number,
        document_expiry=None,
        place=PLACE,
        actor=actor_for(registrar),
    )
    other = make_citizen(level="substantial")
    assurance.grant_staff_role(
        user=other, role=StaffRole.Role.REGISTRAR, place="Otra", actor=actor_for(other)
    )
    sign_in(client, other)
    assert client.get(reverse("identity:identity-check-done", args=[check.public_id])).status_code == 404


def test_only_registrars_record_checks_and_never_their_own(make_citizen, registrar):
    person = make_citizen()
    arguments = {
        "document_type": person.document_type,
        "document_number": person.document_number,
        "document_expiry": None,
        "place": PLACE,
    }
    with pytest.raises(PermissionError):
        assurance.record_identity_check(person=person, official=person, actor=actor_for(person), **arguments)
    with pytest.raises(ValidationError):
        assurance.record_identity_check(
            person=registrar,
            official=registrar,
            actor=actor_for(registrar),
            **{**arguments, "document_number": registrar.document_number},
        )


def test_after_the_check_the_persons_next_step_up_reaches_high(client, registrar, make_citizen):
    person = make_citizen(level="substantial")
    assurance.record_identity_check(
        person=person,
        official=registrar,
        document_type=person.document_type,
        document_number=person.document_number,
        document_expiry=None,
        place=PLACE,
        actor=actor_for(registrar),
    )
    sign_in(client, person, second_factor=True)
    assert session_of(client).level == "high"


# --- Assisted digital --------------------------------------------------------------------------------------


def start(client, citizen, **changes):
    data = {"document_type": "cedula", "document_number": citizen.document_number, "channel": "infoplaza"}
    data |= {"agreed": "on"} | changes
    return client.post(reverse("identity:assist"), {k: v for k, v in data.items() if v is not None})


def test_assisting_needs_the_official_at_level_substantial(client, registrar):
    sign_in(client, registrar)
    response = client.get(reverse("identity:assist"))
    assert response["Location"].startswith(reverse("identity:step-up"))


def test_an_official_acts_for_a_present_citizen_who_agreed_and_the_log_says_so(
    client, registrar, make_citizen
):
    citizen = make_citizen()
    sign_in(client, registrar, second_factor=True)
    form = client.get(reverse("identity:assist"))
    agreement = form.context["agreement"]
    assert registrar.get_full_name() in agreement

    response = start(client, citizen)
    assert response["Location"] == reverse("identity:assist")
    assisted = AssistedSession.objects.get()
    assert (assisted.official, assisted.citizen, assisted.channel) == (registrar, citizen, "infoplaza")
    assert assisted.place == PLACE and agreement in assisted.agreement
    assert session_of(client).acting_for == {"kind": "assisted", "id": str(assisted.public_id)}
    assert str(citizen) in client.get(reverse("identity:assist")).content.decode()

    started = AuditEntry.objects.get(action="identity.assisted_session_started")
    assert started.actor_id == f"user:{registrar.public_id}"
    assert started.on_behalf_of == f"user:{citizen.public_id}"
    assert started.channel == "infoplaza"

    ended = client.post(reverse("identity:assist-end"))
    assert ended["Location"] == reverse("identity:officials")
    assisted.refresh_from_db()
    assert assisted.ended_at is not None
    assert session_of(client).acting_for == {}
    entry = AuditEntry.objects.get(action="identity.assisted_session_ended")
    assert (entry.actor_id, entry.on_behalf_of) == (
        f"user:{registrar.public_id}",
        f"user:{citizen.public_id}",
    )

    assert client.post(reverse("identity:assist-end")).status_code == 302, "a second click is harmless"
    assert AuditEntry.objects.filter(action="identity.assisted_session_ended").count() == 1


def test_what_the_official_does_while_assisting_is_recorded_for_the_citizen(
    client, registrar, make_citizen, rf
):
    from ventanilla.identity.selectors import actor_for_request

    citizen = make_citizen()
    sign_in(client, registrar, second_factor=True)
    start(client, citizen, channel="office")
    response = client.get(reverse("identity:officials"))
    actor = actor_for_request(response.wsgi_request)
    assert actor.id == f"user:{registrar.public_id}"
    assert actor.on_behalf_of == f"user:{citizen.public_id}"
    assert actor.channel == "office"


def test_without_the_citizens_agreement_nothing_starts(client, registrar, make_citizen):
    citizen = make_citizen()
    sign_in(client, registrar, second_factor=True)
    response = start(client, citizen, agreed=None)
    assert response.status_code == 200
    assert "only act for the citizen if they agreed" in response.content.decode()
    assert not AssistedSession.objects.exists()


def test_a_citizen_without_an_account_cannot_be_assisted_yet(client, registrar):
    sign_in(client, registrar, second_factor=True)
    response = client.post(
        reverse("identity:assist"),
        {"document_type": "cedula", "document_number": "8-999-9999", "channel": "office", "agreed": "on"},
    )
    assert "help the citizen register first" in response.content.decode()
    assert reverse("identity:register") in response.content.decode()


def test_starting_again_ends_the_assisted_session_left_open(registrar, make_citizen, client):
    first, second = make_citizen(), make_citizen()
    sign_in(client, registrar, second_factor=True)
    start(client, first)
    session = session_of(client)
    session.acting_for = {}  # as if the browser had been closed and a new session opened
    session.save()
    start(client, second)
    assert AssistedSession.objects.get(citizen=first).ended_at is not None
    assert AssistedSession.objects.get(citizen=second).ended_at is None
