"""Passkeys in a real browser: headless Chromium with a virtual authenticator (Chrome DevTools Protocol) that
verifies the user, as a phone's fingerprint reader would. A person registers a passkey on the security pages,
then signs in again and steps up with it."""

import pytest
from django.utils import timezone

from ventanilla.identity.models import AccountSession, DocumentType, User

pytestmark = pytest.mark.e2e

PASSWORD = "a long passphrase nobody guesses"


@pytest.fixture
def citizen(transactional_db, fast_passwords):
    return User.objects.create_user(
        username="8-123-456",
        email="maria@example.org",
        password=PASSWORD,
        first_name="María",
        last_name="Pérez",
        document_type=DocumentType.CEDULA,
        document_number="8-123-456",
        nationality="PAN",
        email_verified_at=timezone.now(),
    )


def add_virtual_authenticator(page):
    """A platform authenticator (like a phone's) that holds passkeys and verifies the user without asking."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def sign_in(page, base_url, next_path):
    page.goto(f"{base_url}/entrar/?next={next_path}")
    page.locator("#id_identifier").fill("8-123-456")
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def current_session(page) -> AccountSession:
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    return AccountSession.objects.get(session_key=cookie["value"], ended_at__isnull=True)


def test_a_person_registers_a_passkey_and_steps_up_with_it(context, live_server, citizen):
    assert live_server.url.startswith("http://localhost:"), "WebAuthn needs a domain name: localhost"
    page = context.new_page()
    cdp, authenticator_id = add_virtual_authenticator(page)

    # Register: the form appears only because JavaScript and WebAuthn are there
    sign_in(page, live_server.url, "/cuenta/seguridad/llaves/")
    assert page.url.endswith("/cuenta/seguridad/llaves/")
    assert page.locator("[data-webauthn-fallback]").is_hidden()
    page.locator("#id_name").fill("Portátil")
    with page.expect_navigation(url="**/cuenta/seguridad/codigos/**"):
        page.locator("form[data-webauthn] button[type=submit]").click()
    assert page.locator("main ol li code").count() == 10, "the first factor comes with recovery codes"
    credential = citizen.webauthn_credentials.get()
    assert credential.name == "Portátil"
    assert current_session(page).level == "substantial", "registering with user verification is a factor"
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]

    # Sign in again: the password, then the passkey
    context.clear_cookies()
    sign_in(page, live_server.url, "/cuenta/sesiones/")
    assert "/verificacion-adicional/" in page.url
    assert current_session(page).level == "low"
    with page.expect_navigation(url="**/cuenta/sesiones/"):
        page.locator("form[data-webauthn] button[type=submit]").click()
    session = current_session(page)
    assert session.level == "substantial"
    assert "hwk" in session.amr
    credential.refresh_from_db()
    assert credential.last_used_at is not None


def test_without_javascript_the_passkey_page_offers_the_authenticator_app(
    context_no_js, live_server, citizen
):
    page = context_no_js.new_page()
    sign_in(page, live_server.url, "/cuenta/seguridad/llaves/")
    assert page.locator("[data-webauthn-fallback]").is_visible()
    assert page.locator("form[data-webauthn]").is_hidden()
    assert page.locator("[data-webauthn-fallback] a[href*='/cuenta/seguridad/aplicacion/']").is_visible()
