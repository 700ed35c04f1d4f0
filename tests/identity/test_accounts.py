"""Accounts: registration with a verified email, signing in and out (one door, also for the admin), throttling
and lockout, password reset, and the account page with its profile and email change. Nothing may reveal
whether an account exists."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD
from ventanilla.core.models import AuditEntry
from ventanilla.identity.models import AccountSession, DocumentType, FailedAttempt, User

from .helpers import link_in, session_of, sign_in, sign_in_with_second_factor

pytestmark = pytest.mark.usefixtures("run_tasks_immediately", "fast_passwords")

NEW_PASSWORD = "otra frase larga que nadie adivina"
REGISTRATION = {
    "document_type": "cedula",
    "cedula": "08-0123-000456",
    "first_name": "Ana",
    "last_name": "Batista",
    "birth_date_day": "27",
    "birth_date_month": "3",
    "birth_date_year": "1990",
    "email": "ana@example.org",
    "phone": "6123-4567",
    "preferred_language": "es",
    "password": PASSWORD,
}


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def register(client, **changes):
    return client.post("/registro/", {**REGISTRATION, **changes})


def error_text(response) -> str:
    return " ".join(str(error) for error in response.context["form"].non_field_errors())


# --- Registration ------------------------------------------------------------------------------------------


def test_a_person_registers_with_a_cedula_and_the_emailed_link_activates_the_account(client, db):
    response = register(client)
    assert response.status_code == 302 and response["Location"] == "/registro/revise-su-correo/"
    assert "ana@example.org" in client.get(response["Location"]).content.decode()

    user = User.objects.get()
    assert (user.username, user.document_type, user.document_number, user.nationality) == (
        "8-123-456",
        DocumentType.CEDULA,
        "8-123-456",
        "PAN",
    )
    assert user.phone == "+50761234567"
    assert not user.is_active and user.email_verified_at is None
    assert sign_in_page(client, "8-123-456").status_code == 200, "an unverified account cannot sign in"

    [verification, resent] = mail.outbox
    assert verification.to == ["ana@example.org"] and resent.to == ["ana@example.org"]
    page = client.get(link_in(verification, "/verificar-correo/"))
    assert page.status_code == 200 and page.context["verified"]
    user.refresh_from_db()
    assert user.is_active and user.email_verified_at is not None
    assert SESSION_KEY not in client.session, "the link confirms the address; the password signs in"
    assert sign_in_page(client, "8-123-456").status_code == 302
    assert AuditEntry.objects.filter(action="identity.registered", object_id=str(user.public_id)).exists()


def sign_in_page(client, identifier, password=PASSWORD):
    return client.post("/entrar/", {"identifier": identifier, "password": password})


def test_a_foreigner_registers_with_passport_and_nationality(client, db):
    register(
        client,
        document_type="passport",
        cedula="",
        passport_number="ab 123-4567",
        nationality="col",
        preferred_language="en",
    )
    user = User.objects.get()
    assert (user.username, user.document_type, user.document_number, user.nationality) == (
        "P-COL-AB1234567",
        DocumentType.PASSPORT,
        "AB1234567",
        "COL",
    )
    assert user.preferred_language == "en"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cedula": "8-0-0"}, "cedula"),
        ({"cedula": ""}, "cedula"),
        ({"document_type": "passport", "passport_number": "AB1234567", "nationality": "XXX"}, "nationality"),
        ({"password": "short"}, "password"),
        ({"password": "password12345"}, "password"),
        ({"phone": "12"}, "phone"),
        ({"email": "not an address"}, "email"),
        ({"birth_date_year": "2999"}, "birth_date"),
        ({"birth_date_month": "13"}, "birth_date"),
        ({"birth_date_day": ""}, "birth_date"),
        ({"birth_date_day": "", "birth_date_month": "", "birth_date_year": ""}, "birth_date"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_registration_answers_bad_input_with_a_message_and_creates_nothing(client, db, changes, field):
    response = register(client, **changes)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert "There is a problem" in response.content.decode() or "Hay un problema" in response.content.decode()
    assert not User.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    "changes", [{"email": "otra@example.org"}, {"cedula": "8-999-999"}], ids=["same cédula", "same email"]
)
def test_registering_details_already_registered_looks_the_same_and_tells_the_owner(
    client, make_citizen, changes
):
    owner = make_citizen(email="ana@example.org")
    if "cedula" not in changes:
        changes["cedula"] = owner.username
    response = register(client, **changes)
    assert response.status_code == 302 and response["Location"] == "/registro/revise-su-correo/"
    assert User.objects.count() == 1, "nothing is created"
    [notice] = mail.outbox
    assert notice.to == [owner.email]
    assert "/entrar/" in notice.body and "/recuperar-acceso/" in notice.body
    assert "/verificar-correo/" not in notice.body


def test_submitting_the_same_registration_twice_creates_one_account(client, db):
    first, second = register(client), register(client)
    assert first["Location"] == second["Location"]
    assert User.objects.count() == 1
    assert [message.to for message in mail.outbox] == [["ana@example.org"]] * 2
    assert all("/verificar-correo/" in message.body for message in mail.outbox), "a link again, not a warning"


def test_registrations_for_one_address_are_throttled_so_nobody_floods_an_inbox(client, db):
    for number in range(5):
        register(client, cedula=f"8-100-{number + 1}")
    response = register(client, cedula="8-100-9")
    assert response.status_code == 200 and "Espere" in error_text(response)
    assert len(mail.outbox) == 5


def test_a_verification_link_works_once(client, db):
    register(client)
    link = link_in(mail.outbox[0], "/verificar-correo/")
    assert client.get(link).context["verified"]
    again = client.get(link)
    assert not again.context["verified"]


def test_a_verification_link_expires_after_24_hours(client, db, monkeypatch):
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 25 * 3600)
    register(client)
    monkeypatch.setattr(signing.time, "time", real_time)
    assert not client.get(link_in(mail.outbox[0], "/verificar-correo/")).context["verified"]
    assert not User.objects.get().is_active


def test_a_tampered_verification_link_does_nothing(client, db):
    register(client)
    link = link_in(mail.outbox[0], "/verificar-correo/")
    assert not client.get(link.replace("/verificar-correo/", "/verificar-correo/x")).context["verified"]
    assert not User.objects.get().is_active


def test_an_abandoned_registration_does_not_hold_the_cedula(client, db):
    register(client, email="typo@example.org")
    User.objects.update(date_joined=timezone.now() - timedelta(days=2))
    mail.outbox.clear()
    register(client)
    user = User.objects.get()
    assert user.email == "ana@example.org"
    assert [message.to for message in mail.outbox] == [["ana@example.org"]]


def test_mail_is_written_in_the_persons_language(client, db):
    register(client, preferred_language="en")
    [message] = mail.outbox
    assert "/en/verificar-correo/" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and '<html lang="en">' in html and "/en/verificar-correo/" in html
    assert "Confirm your email address" in message.subject

    register(client, cedula="8-999-999", email="luis@example.org", preferred_language="es")
    spanish = mail.outbox[1]
    assert "/en/" not in spanish.body and '<html lang="es">' in spanish.alternatives[0][0]


# --- Signing in --------------------------------------------------------------------------------------------


def test_signing_in_with_cedula_or_email_starts_a_session_and_returns_to_next(client, make_citizen):
    citizen = make_citizen(email="maria@example.org")
    response = client.post(
        "/entrar/?next=/tramites/", {"identifier": "08-" + citizen.username[2:], "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/tramites/"
    session = session_of(client)
    assert (session.user, session.level, session.amr) == (citizen, "low", ["pwd"])

    other = Client()
    response = other.post("/en/entrar/", {"identifier": "MARIA@example.org", "password": PASSWORD})
    assert response["Location"] == "/en/cuenta/"


def test_next_must_be_a_local_address(client, make_citizen):
    citizen = make_citizen()
    response = client.post(
        "/entrar/", {"identifier": citizen.username, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/cuenta/"


def test_wrong_password_and_unknown_account_get_the_same_answer(client, make_citizen):
    citizen = make_citizen()
    wrong = sign_in_page(client, citizen.username, "not the password")
    unknown = sign_in_page(client, "8-888-8888")
    unknown_email = sign_in_page(client, "nadie@example.org")
    assert wrong.status_code == unknown.status_code == unknown_email.status_code == 200
    assert error_text(wrong) == error_text(unknown) == error_text(unknown_email)
    assert "no corresponden a ninguna cuenta" in error_text(wrong)
    assert SESSION_KEY not in client.session


def test_five_failures_lock_the_identifier_with_the_same_message_for_unknown_ones(client, make_citizen):
    citizen = make_citizen()
    for _ in range(4):
        sign_in_page(client, citizen.username, "wrong")
        sign_in_page(client, "8-888-8888", "wrong")
    locked = sign_in_page(client, citizen.username, "wrong")
    locked_unknown = sign_in_page(client, "8-888-8888", "wrong")
    assert "Espere 15 minutos" in error_text(locked)
    assert error_text(locked) == error_text(locked_unknown)

    right_password = sign_in_page(client, citizen.username)
    assert right_password.status_code == 200 and "Espere 15 minutos" in error_text(right_password)
    assert "Espere" not in error_text(sign_in_page(client, "8-777-7777", "wrong")), (
        "other identifiers are free"
    )

    FailedAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert sign_in_page(client, citizen.username).status_code == 302, "the lock ends with its window"


def test_a_lock_reads_the_same_cedula_however_it_is_typed(client, make_citizen):
    citizen = make_citizen()  # 8-701-1001
    for typed in ["8-701-1001", "08-0701-001001", "8 701 1001", "8-701-1001", "08-701-1001"]:
        sign_in_page(client, typed, "wrong")
    assert "Espere" in error_text(sign_in_page(client, citizen.username))


def test_an_unverified_account_gets_the_generic_answer_and_its_link_again(client, db):
    register(client)
    mail.outbox.clear()
    wrong = sign_in_page(client, "8-123-456", "wrong")
    assert not mail.outbox, "a wrong password sends nothing"
    right = sign_in_page(client, "8-123-456")
    assert error_text(right) == error_text(wrong)
    [message] = mail.outbox
    assert "/verificar-correo/" in message.body


def test_with_a_second_factor_signing_in_continues_to_the_step_up(client, make_citizen):
    citizen = make_citizen(level="substantial")
    response = client.post("/entrar/?next=/tramites/", {"identifier": citizen.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/verificacion-adicional/?next=%2Ftramites%2F&level=substantial"
    assert session_of(client).level == "low"


def test_the_sign_in_page_sends_a_signed_in_person_on_unless_forced(make_citizen):
    client = sign_in(make_citizen())
    assert client.get("/entrar/?next=/tramites/")["Location"] == "/tramites/"
    assert client.get("/entrar/?force=1").status_code == 200


def test_signing_out_needs_a_post_and_ends_the_session(make_citizen):
    client = sign_in(make_citizen())
    session = session_of(client)
    page = client.get("/salir/")
    assert page.status_code == 200 and SESSION_KEY in client.session
    assert client.post("/salir/")["Location"] == "/"
    session.refresh_from_db()
    assert session.ended_at is not None and SESSION_KEY not in client.session


def test_the_admin_signs_in_through_the_same_door(client, make_citizen, system_actor):
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/entrar/?next=%2Fadmin%2F"

    operator = make_citizen(level="substantial")
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    sign_in(operator, client=client)
    response = client.get("/admin/")
    assert client.get(response["Location"])["Location"].startswith("/verificacion-adicional/"), (
        "a password alone does not open the admin: a second factor is asked for"
    )
    sign_in_with_second_factor(operator, client=client)
    assert client.get("/admin/").status_code == 200

    citizen_client = sign_in(make_citizen())
    response = citizen_client.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/entrar/?next=%2Fadmin%2F&force=1", "a non-staff person is asked again"
    assert citizen_client.get(response["Location"]).context["staff_only"], "told the page is for staff"


# --- Password reset ----------------------------------------------------------------------------------------


def test_reset_sends_a_link_only_when_an_account_exists_and_answers_the_same(client, make_citizen):
    citizen = make_citizen()
    known = client.post("/recuperar-acceso/", {"identifier": citizen.username})
    unknown = client.post("/recuperar-acceso/", {"identifier": "nadie@example.org"})
    assert known["Location"] == unknown["Location"] == "/recuperar-acceso/enviado/"
    [message] = mail.outbox
    assert message.to == [citizen.email] and "/recuperar-acceso/" in message.body


def test_reset_sets_the_password_and_signs_out_every_other_session(make_citizen):
    citizen = make_citizen(level="substantial")
    laptop, phone = sign_in(citizen), sign_in(citizen)
    stranger = Client()
    stranger.post("/recuperar-acceso/", {"identifier": citizen.email})
    link = link_in(mail.outbox[0], "/recuperar-acceso/")

    page = stranger.get(link)
    assert page.status_code == 200
    assert "recovery codes" in page.content.decode() or "códigos de recuperación" in page.content.decode()
    weak = stranger.post(link, {"password": "short"})
    assert weak.status_code == 200 and weak.context["form"].errors["password"]

    assert stranger.post(link, {"password": NEW_PASSWORD})["Location"] == "/entrar/"
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD)
    assert not AccountSession.objects.filter(user=citizen, ended_at__isnull=True).exists()
    for device in (laptop, phone):
        assert device.get("/cuenta/").status_code == 302, "signed out"
    assert citizen.totp_devices.exists(), "second factors stay"
    assert "/recuperar-acceso/" in mail.outbox[-1].body, "the owner is told, with a way back"
    assert stranger.get(link).status_code == 410, "the link works once"
    assert AuditEntry.objects.filter(action="identity.password_reset").count() == 1


def test_reset_requests_are_throttled(client, make_citizen):
    citizen = make_citizen()
    for _ in range(5):
        client.post("/recuperar-acceso/", {"identifier": citizen.username})
    response = client.post("/recuperar-acceso/", {"identifier": citizen.username})
    assert response.status_code == 200 and "Espere" in error_text(response)
    assert len(mail.outbox) == 5


def test_a_reset_clears_the_lock_on_the_account(client, make_citizen):
    citizen = make_citizen()
    for _ in range(5):
        sign_in_page(client, citizen.username, "wrong")
    Client().post("/recuperar-acceso/", {"identifier": citizen.username})
    link = link_in(mail.outbox[0], "/recuperar-acceso/")
    Client().post(link, {"password": NEW_PASSWORD})
    assert sign_in_page(Client(), citizen.username, NEW_PASSWORD).status_code == 302


# --- The account page --------------------------------------------------------------------------------------


def test_the_account_page_needs_a_signed_in_session(client, make_citizen):
    for path in ["/cuenta/", "/cuenta/sesiones/", "/cuenta/delegaciones/", "/en/cuenta/empresas/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].split("?")[0] in ("/entrar/", "/en/entrar/")
        assert "next=" in response["Location"]
    client.force_login(
        make_citizen()
    )  # a Django session without an AccountSession (no sign-in) is not enough
    assert client.get("/cuenta/").status_code == 302


def test_the_account_page_shows_details_masked_and_the_level(make_citizen):
    citizen = make_citizen()  # 8-701-1001
    page = sign_in(citizen).get("/en/cuenta/").content.decode()
    assert "•-•••-•001" in page and "8-701-1001" not in page
    assert citizen.email in page
    assert "Low" in page and "Substantial" in page
    assert "/en/verificacion-adicional/?level=substantial" in page
    assert "Sign out" in page and "Your account" in page
    assert "Not given" in page


def test_a_panamanian_phone_is_shown_as_people_write_it(make_citizen):
    citizen = make_citizen()
    client = sign_in(citizen)
    client.post("/cuenta/datos/", {"preferred_language": "es", "phone": "6123 4567"})
    assert "+507 6123-4567" in client.get("/cuenta/").content.decode()


def test_the_profile_saves_phone_and_language(make_citizen):
    citizen = make_citizen()
    client = sign_in(citizen)
    bad = client.post("/cuenta/datos/", {"preferred_language": "en", "phone": "abc"})
    assert bad.status_code == 200 and bad.context["form"].errors["phone"]
    assert (
        client.post("/cuenta/datos/", {"preferred_language": "en", "phone": "+1 202 555 0143"}).status_code
        == 302
    )
    citizen.refresh_from_db()
    assert (citizen.preferred_language, citizen.phone) == ("en", "+12025550143")
    assert AuditEntry.objects.filter(action="identity.profile_updated").exists()


def test_a_new_email_replaces_the_old_only_once_verified_and_the_old_one_is_told(make_citizen):
    citizen = make_citizen(email="old@example.org")
    client = sign_in(citizen)
    wrong = client.post("/cuenta/correo/", {"email": "new@example.org", "password": "wrong"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["password"]
    assert (
        client.post("/cuenta/correo/", {"email": "new@example.org", "password": PASSWORD}).status_code == 302
    )
    [link_mail] = mail.outbox
    assert link_mail.to == ["new@example.org"]
    citizen.refresh_from_db()
    assert citizen.email == "old@example.org"

    done = Client().get(link_in(link_mail, "/cuenta/correo/"))
    assert done.status_code == 200
    citizen.refresh_from_db()
    assert citizen.email == "new@example.org" and citizen.email_verified_at is not None
    assert mail.outbox[-1].to == ["old@example.org"] and "ne•@example.org" in mail.outbox[-1].body
    assert Client().get(link_in(link_mail, "/cuenta/correo/")).status_code == 410


def test_an_email_in_use_is_not_revealed_and_its_owner_is_told(make_citizen):
    owner = make_citizen(email="taken@example.org")
    client = sign_in(make_citizen())
    response = client.post("/cuenta/correo/", {"email": "TAKEN@example.org", "password": PASSWORD})
    assert response["Location"] == "/cuenta/correo/enviado/"
    [message] = mail.outbox
    assert message.to == [owner.email] and "/cuenta/correo/" not in message.body
