"""The signed-in person's sessions (sign out one device or every other), sign-in history and consents. Nobody
sees or ends another person's."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ventanilla.core.models import AuditEntry
from ventanilla.identity.models import AccountSession, Consent, OAuthToken, RelyingParty, SignInRecord

from .helpers import session_of, sign_in

pytestmark = pytest.mark.usefixtures("fast_passwords")

FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def service(db):
    return RelyingParty.objects.create(
        client_id="mides-becas",
        name_es="Becas del MIDES",
        name_en="MIDES grants",
        sector="social",
        redirect_uris=["https://becas.example/callback"],
        scopes=["openid", "email"],
    )


def consent_for(user, service, claims=("email", "given_name")):
    return Consent.objects.create(
        user=user, service=service, claims=list(claims), scopes=["openid"], granted_at=timezone.now()
    )


# --- Sessions ----------------------------------------------------------------------------------------------


def test_the_sessions_page_lists_devices_and_marks_this_one(make_citizen):
    citizen = make_citizen()
    laptop = sign_in(citizen)
    sign_in(citizen, HTTP_USER_AGENT=FIREFOX_ANDROID)
    page = laptop.get("/en/cuenta/sesiones/")
    rows = page.context["rows"]
    assert len(rows) == 2
    assert [row["this_device"] for row in rows].count(True) == 1
    assert "Firefox on Android" in page.content.decode()
    assert "This device" in page.content.decode()


def test_signing_out_another_device_ends_that_session_only(make_citizen):
    citizen = make_citizen()
    laptop, phone = sign_in(citizen), sign_in(citizen)
    phone_session = session_of(phone)
    response = laptop.post(f"/cuenta/sesiones/{phone_session.id}/terminar/")
    assert response["Location"] == "/cuenta/sesiones/"
    assert phone.get("/cuenta/").status_code == 302, "the phone is signed out"
    assert laptop.get("/cuenta/").status_code == 200
    assert AuditEntry.objects.filter(action="identity.signed_out", object_id=str(phone_session.id)).exists()


def test_signing_out_every_other_device(make_citizen):
    citizen = make_citizen()
    laptop, phone, tablet = sign_in(citizen), sign_in(citizen), sign_in(citizen)
    laptop.post("/cuenta/sesiones/otras/terminar/")
    assert phone.get("/cuenta/").status_code == tablet.get("/cuenta/").status_code == 302
    assert laptop.get("/cuenta/").status_code == 200
    assert AccountSession.objects.filter(user=citizen, ended_at__isnull=True).count() == 1


def test_nobody_sees_or_ends_another_persons_session(make_citizen):
    mine, theirs = sign_in(make_citizen()), sign_in(make_citizen())
    their_session = session_of(theirs)
    assert str(their_session.id) not in mine.get("/cuenta/sesiones/").content.decode()
    assert mine.post(f"/cuenta/sesiones/{their_session.id}/terminar/").status_code == 404
    assert mine.post(f"/cuenta/sesiones/{uuid.uuid4()}/terminar/").status_code == 404
    their_session.refresh_from_db()
    assert their_session.ended_at is None
    assert mine.get(f"/cuenta/sesiones/{their_session.id}/terminar/").status_code == 405


# --- History -----------------------------------------------------------------------------------------------


def test_the_history_shows_each_sign_in_with_its_service_and_level(make_citizen, service):
    citizen = make_citizen()
    client = sign_in(citizen)
    SignInRecord.objects.create(user=citizen, service=service, level="substantial", method="pwd+otp")
    english = client.get("/en/cuenta/historial/").content.decode()
    assert "MIDES grants" in english and "This site" in english
    assert "Substantial: password + authenticator app" in english
    assert "Becas del MIDES" in client.get("/cuenta/historial/").content.decode()


def test_the_history_is_paginated_and_private(make_citizen):
    citizen, other = make_citizen(), make_citizen()
    SignInRecord.objects.bulk_create(
        [SignInRecord(user=citizen, level="low", method="pwd") for _ in range(30)]
        + [SignInRecord(user=other, level="low", method="pwd", ip_address="203.0.113.9")]
    )
    client = sign_in(citizen)
    first = client.get("/cuenta/historial/")
    assert len(first.context["records"]) == 25 and first.context["last_page"] == 2
    assert 'rel="next"' in first.content.decode()
    assert len(client.get("/cuenta/historial/?page=2").context["records"]) == 6  # 30 + this sign-in
    assert client.get("/cuenta/historial/?page=abc").status_code == 200


# --- Consents ----------------------------------------------------------------------------------------------


def test_consents_are_listed_and_withdrawing_one_ends_the_services_tokens(make_citizen, service):
    citizen = make_citizen()
    consent = consent_for(citizen, service)
    token = OAuthToken.objects.create(
        service=service,
        user=citizen,
        scope="openid email",
        level="low",
        access_token_hash="a" * 64,
        issued_at=timezone.now(),
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    client = sign_in(citizen)
    page = client.get("/en/cuenta/consentimientos/").content.decode()
    assert "MIDES grants" in page and "Email address" in page

    assert (
        client.post(f"/cuenta/consentimientos/{consent.id}/retirar/")["Location"]
        == "/cuenta/consentimientos/"
    )
    consent.refresh_from_db()
    token.refresh_from_db()
    assert consent.revoked_at is not None and token.revoked_at is not None
    assert "MIDES" not in client.get("/en/cuenta/consentimientos/").content.decode()
    assert AuditEntry.objects.filter(action="identity.consent_revoked", object_id=str(consent.id)).exists()
    assert client.post(f"/cuenta/consentimientos/{consent.id}/retirar/").status_code == 404, (
        "already withdrawn"
    )


def test_nobody_sees_or_withdraws_another_persons_consent(make_citizen, service):
    owner = make_citizen()
    consent = consent_for(owner, service)
    other = sign_in(make_citizen())
    assert "MIDES" not in other.get("/cuenta/consentimientos/").content.decode()
    assert other.post(f"/cuenta/consentimientos/{consent.id}/retirar/").status_code == 404
    consent.refresh_from_db()
    assert consent.revoked_at is None
    assert Client().post(f"/cuenta/consentimientos/{consent.id}/retirar/").status_code == 302, "to sign in"
