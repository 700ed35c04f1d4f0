"""Second factors: setting up an authenticator app, replay protection and throttling of codes, recovery codes,
removing a factor, and the passkey pages and endpoints (the browser ceremony itself is in tests/e2e)."""

import json
import re
import threading
import time

import pyotp
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from ventanilla.identity import factors
from ventanilla.identity.models import AccountSession, RecoveryCode, TotpDevice
from ventanilla.identity.selectors import actor_for


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, user):
    response = client.post(reverse("identity:sign-in"), {"identifier": user.username, "password": PASSWORD})
    assert response.status_code == 302, "signing in with the right password moves on"


def session_of(client) -> AccountSession:
    return AccountSession.objects.get(session_key=client.session.session_key)


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_steps * 30)


def step_up(client, user, code=None):
    return client.post(
        reverse("identity:step-up") + "?level=substantial&next=/cuenta/seguridad/",
        {"code": code or code_at(user.totp_secret)},
    )


def enrol_app(client, name="mi teléfono"):
    """Set up an app on the page; returns the secret it showed and the response to the confirmation."""
    page = client.get(reverse("identity:totp-add"))
    assert page.status_code == 200
    secret = page.context["secret"].replace(" ", "")
    device = TotpDevice.objects.get(confirmed_at__isnull=True)
    response = client.post(
        reverse("identity:totp-add"), {"device": device.id, "name": name, "code": code_at(secret)}
    )
    return secret, response


# --- The security page ---------------------------------------------------------------------------------------


def test_the_security_page_needs_a_signed_in_person(client):
    response = client.get(reverse("identity:security"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:sign-in"))
    assert "next=/en/cuenta/seguridad/" in response["Location"]


def test_the_security_page_lists_apps_keys_and_remaining_recovery_codes(client, make_citizen):
    citizen = make_citizen(level="substantial")
    factors.regenerate_recovery_codes(user=citizen, actor=actor_for(citizen))
    sign_in(client, citizen)
    step_up(client, citizen)
    page = client.get(reverse("identity:security")).content.decode()
    assert "phone" in page
    assert reverse("identity:totp-remove", args=[citizen.totp_devices.get().id]) in page
    assert "10" in page
    assert reverse("identity:passkeys") in page


# --- Setting up an authenticator app ---------------------------------------------------------------------


def test_setting_up_an_app_shows_a_qr_code_and_the_key_in_groups(client, make_citizen):
    sign_in(client, make_citizen())
    page = client.get(reverse("identity:totp-add"))
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html, "the QR code is an image the CSP allows"
    assert 'style="' not in html
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", page.context["secret"])
    assert page.context["otpauth_uri"].startswith("otpauth://totp/")
    again = client.get(reverse("identity:totp-add"))
    assert again.context["secret"] == page.context["secret"], "reloading keeps the key already scanned"


def test_an_app_is_set_up_with_a_current_code_and_the_first_factor_brings_recovery_codes(
    client, make_citizen
):
    citizen = make_citizen()
    sign_in(client, citizen)
    assert session_of(client).level == "low"

    _secret, response = enrol_app(client)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:recovery-codes"))
    device = citizen.totp_devices.get()
    assert device.confirmed_at is not None and device.name == "mi teléfono"
    session = session_of(client)
    assert session.level == "substantial" and "otp" in session.amr, "the code just typed is a second factor"

    codes_page = client.get(response["Location"])
    codes = codes_page.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in codes_page.content.decode() for code in codes)
    assert codes_page["Cache-Control"].startswith("max-age=0")
    assert client.get(response["Location"]).context["codes"] is None, "the codes are shown once"


def test_a_wrong_code_does_not_set_up_the_app(client, make_citizen):
    citizen = make_citizen()
    sign_in(client, citizen)
    client.get(reverse("identity:totp-add"))
    device = TotpDevice.objects.get(user=citizen)
    response = client.post(reverse("identity:totp-add"), {"device": device.id, "name": "x", "code": "000000"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not citizen.totp_devices.filter(confirmed_at__isnull=False).exists()
    assert session_of(client).level == "low"


def test_the_code_used_to_set_up_the_app_cannot_be_used_again(client, make_citizen):
    citizen = make_citizen()
    sign_in(client, citizen)
    secret, _response = enrol_app(client)
    used_step = TotpDevice.objects.get(user=citizen).last_used_step  # not "now": a new step may have begun
    with pytest.raises(factors.WrongCode):
        factors.verify_totp(user=citizen, code=pyotp.TOTP(secret).generate_otp(used_step))


def test_adding_an_app_when_the_person_has_a_factor_needs_it_first(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    response = client.get(reverse("identity:totp-add"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:step-up"))
    assert TotpDevice.objects.filter(user=citizen).count() == 1, "no new secret was made"


def test_a_pending_app_is_not_a_factor(make_citizen):
    citizen = make_citizen()
    factors.start_totp_enrolment(user=citizen)
    assert not factors.has_second_factor(citizen)


# --- Verifying codes: replay and throttling ---------------------------------------------------------------


def test_a_code_is_accepted_once(make_citizen):
    citizen = make_citizen(level="substantial")
    code = code_at(citizen.totp_secret)
    assert factors.verify_totp(user=citizen, code=code)
    with pytest.raises(factors.WrongCode):
        factors.verify_totp(user=citizen, code=code)


def test_an_older_code_is_refused_once_a_newer_one_was_used(make_citizen):
    citizen = make_citizen(level="substantial")
    factors.verify_totp(user=citizen, code=code_at(citizen.totp_secret, +1))
    with pytest.raises(factors.WrongCode):
        factors.verify_totp(user=citizen, code=code_at(citizen.totp_secret))


def test_codes_one_step_either_side_are_accepted_and_further_ones_not(make_citizen):
    citizen = make_citizen(level="substantial")
    with pytest.raises(factors.WrongCode):
        factors.verify_totp(user=citizen, code=code_at(citizen.totp_secret, -3))
    assert factors.verify_totp(user=citizen, code=code_at(citizen.totp_secret, -1))
    assert factors.verify_totp(user=citizen, code=code_at(citizen.totp_secret, +1))


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's shared in-memory test database locks whole tables between threads (and runs one writer)",
)
@pytest.mark.django_db(transaction=True)
def test_the_same_code_sent_twice_at_once_passes_only_once(make_citizen):
    citizen = make_citizen(level="substantial")
    code = code_at(citizen.totp_secret)
    outcomes, barrier = [], threading.Barrier(4)

    def attempt():
        barrier.wait()
        try:
            factors.verify_totp(user=citizen, code=code)
            outcomes.append("passed")
        except factors.WrongCode:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["passed", "refused", "refused", "refused"]


def test_wrong_codes_lock_the_account_with_a_clear_message(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    for _ in range(5):
        response = step_up(client, citizen, code="000000")
        assert "That code is not right" in response.content.decode()
    locked = step_up(client, citizen)  # even the right code waits
    assert locked.status_code == 200
    assert "too many attempts" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    assert session_of(client).level == "low"


# --- Recovery codes ----------------------------------------------------------------------------------------


def test_recovery_codes_are_stored_hashed_and_work_once(make_citizen):
    citizen = make_citizen(level="substantial")
    codes = factors.regenerate_recovery_codes(user=citizen, actor=actor_for(citizen))
    hashes = list(RecoveryCode.objects.filter(user=citizen).values_list("code_hash", flat=True))
    assert not any(code.replace("-", "") in stored for code in codes for stored in hashes)

    factors.use_recovery_code(user=citizen, code=codes[0].upper().replace("-", " "))
    with pytest.raises(factors.WrongCode):
        factors.use_recovery_code(user=citizen, code=codes[0])
    assert factors.remaining_recovery_codes(citizen) == 9


def test_the_same_recovery_code_does_not_work_for_another_person(make_citizen):
    first, second = make_citizen(level="substantial"), make_citizen(level="substantial")
    codes = factors.regenerate_recovery_codes(user=first, actor=actor_for(first))
    with pytest.raises(factors.WrongCode):
        factors.use_recovery_code(user=second, code=codes[0])


def test_new_recovery_codes_replace_the_old_ones(client, make_citizen):
    citizen = make_citizen(level="substantial")
    old = factors.regenerate_recovery_codes(user=citizen, actor=actor_for(citizen))
    sign_in(client, citizen)
    step_up(client, citizen)
    response = client.post(reverse("identity:recovery-codes"))
    assert response.status_code == 302
    new = client.get(response["Location"]).context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(factors.WrongCode):
        factors.use_recovery_code(user=citizen, code=old[1])


# --- Removing a factor ------------------------------------------------------------------------------------


def test_removing_an_app_needs_the_password(client, make_citizen):
    citizen = make_citizen(level="substantial")
    factors.regenerate_recovery_codes(user=citizen, actor=actor_for(citizen))
    sign_in(client, citizen)
    step_up(client, citizen)
    url = reverse("identity:totp-remove", args=[citizen.totp_devices.get().id])
    assert "last second factor" in client.get(url).content.decode()

    wrong = client.post(url, {"password": "not my password at all"})
    assert wrong.status_code == 200 and "That is not your password" in wrong.content.decode()
    assert citizen.totp_devices.exists()

    removed = client.post(url, {"password": PASSWORD})
    assert removed.status_code == 302
    assert not citizen.totp_devices.exists()
    assert not RecoveryCode.objects.filter(user=citizen).exists(), "recovery codes go with the last factor"
    assert client.post(url, {"password": PASSWORD}).status_code == 302, "a second click is harmless"


def test_nobody_removes_another_persons_app(client, make_citizen):
    owner, other = make_citizen(level="substantial"), make_citizen()
    sign_in(client, other)
    url = reverse("identity:totp-remove", args=[owner.totp_devices.get().id])
    assert client.get(url).status_code == 404
    client.post(url, {"password": PASSWORD})
    assert owner.totp_devices.exists()


# --- Passkeys: pages and endpoints ----------------------------------------------------------------------------


def test_the_passkey_page_says_it_needs_javascript_and_offers_the_app(client, make_citizen):
    sign_in(client, make_citizen())
    html = client.get(reverse("identity:passkeys"), HTTP_HOST="localhost").content.decode()
    assert "needs JavaScript" in html
    assert reverse("identity:totp-add") in html
    assert 'data-webauthn="register"' in html and "identity/webauthn.js" in html
    assert "<script>" not in html, "no inline script (CSP)"


def test_passkeys_opened_by_ip_address_point_to_localhost(client, make_citizen):
    sign_in(client, make_citizen())
    html = client.get(reverse("identity:passkeys"), HTTP_HOST="127.0.0.1:8000").content.decode()
    assert "http://localhost:8000/en/cuenta/seguridad/llaves/" in html
    assert 'data-webauthn="register"' not in html


def test_relying_party_is_the_host_name_and_the_origin_the_page_was_opened_with(rf):
    request = rf.get("/", HTTP_HOST="localhost:8123")
    assert factors.relying_party_for(request) == factors.RelyingParty(
        rp_id="localhost", origin="http://localhost:8123"
    )
    assert factors.relying_party_for(rf.get("/", HTTP_HOST="127.0.0.1:8000")) is None


def test_registration_options_require_user_verification_and_keep_the_challenge(make_citizen):
    client = Client(HTTP_HOST="localhost")
    citizen = make_citizen()
    sign_in(client, citizen)
    response = client.post(
        reverse("identity:passkey-register-options"), {"name": "portátil"}, content_type="application/json"
    )
    options = response.json()
    assert options["rp"]["id"] == "localhost"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == citizen.username
    assert client.session["identity_webauthn_registration"] == options["challenge"]


def test_a_passkey_needs_a_name_before_the_browser_is_asked(make_citizen):
    client = Client(HTTP_HOST="localhost")
    sign_in(client, make_citizen())
    response = client.post(
        reverse("identity:passkey-register-options"), {"name": " "}, content_type="application/json"
    )
    assert response.status_code == 400 and "name" in response.json()["error"]


def test_a_made_up_passkey_answer_is_refused_and_the_challenge_is_spent(make_citizen):
    client = Client(HTTP_HOST="localhost")
    citizen = make_citizen()
    sign_in(client, citizen)
    client.post(reverse("identity:passkey-register-options"), {"name": "k"}, content_type="application/json")
    body = {"name": "k", "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}}
    refused = client.post(reverse("identity:passkey-register"), body, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"]
    again = client.post(reverse("identity:passkey-register"), body, content_type="application/json")
    assert "expired" in again.json()["error"]
    assert not citizen.webauthn_credentials.exists()


def test_passkey_endpoints_need_the_csrf_token(make_citizen):
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    citizen = make_citizen()
    client.get(reverse("identity:sign-in"))
    client.post(
        reverse("identity:sign-in"),
        {
            "identifier": citizen.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    without = client.post(
        reverse("identity:passkey-register-options"),
        json.dumps({"name": "k"}),
        content_type="application/json",
    )
    assert without.status_code == 403
    with_token = client.post(
        reverse("identity:passkey-register-options"),
        json.dumps({"name": "k"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert with_token.status_code == 200


def test_passkey_endpoints_answer_json_when_nobody_is_signed_in():
    client = Client(HTTP_HOST="localhost")
    response = client.post(reverse("identity:step-up-passkey-options"), {}, content_type="application/json")
    assert response.status_code == 403 and "sign in" in response.json()["error"]
