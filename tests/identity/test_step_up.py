"""Step-up: a signed-in person whose session is below the level a page needs proves a second factor and goes on
to where they were; level high also needs an identity check in person."""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from ventanilla.identity import factors
from ventanilla.identity.models import AccountSession
from ventanilla.identity.selectors import actor_for

NEXT = "/cuenta/sesiones/"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, user):
    return client.post(reverse("identity:sign-in"), {"identifier": user.username, "password": PASSWORD})


def session_of(client) -> AccountSession:
    return AccountSession.objects.get(session_key=client.session.session_key)


def step_up_url(next_url=NEXT, level="substantial"):
    return reverse("identity:step-up") + "?" + urlencode({"next": next_url, "level": level})


def current_code(user) -> str:
    return pyotp.TOTP(user.totp_secret).now()


def test_signing_in_with_a_second_factor_asks_for_it(client, make_citizen):
    response = sign_in(client, make_citizen(level="substantial"))
    assert response["Location"].startswith(reverse("identity:step-up"))
    assert session_of(client).level == "low"


def test_step_up_needs_a_signed_in_person(client):
    response = client.get(step_up_url())
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == reverse("identity:sign-in")
    assert parse_qs(target.query)["next"] == [step_up_url()]


def test_a_code_from_the_app_raises_the_session_and_goes_on_to_next(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    page = client.get(step_up_url())
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()

    response = client.post(step_up_url(), {"code": current_code(citizen)})

    assert response.status_code == 302 and response["Location"] == NEXT
    session = session_of(client)
    assert session.level == "substantial"
    assert session.amr == ["otp", "pwd"]


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_outside_the_site_is_not_followed(client, make_citizen, unsafe):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    response = client.post(
        reverse("identity:step-up"), {"code": current_code(citizen)}, QUERY_STRING=f"next={unsafe}"
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:account")


def test_a_session_already_at_the_level_goes_straight_on(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    client.post(step_up_url(), {"code": current_code(citizen)})
    response = client.get(step_up_url())
    assert response.status_code == 302 and response["Location"] == NEXT


def test_a_wrong_code_is_refused_and_the_level_stays(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    response = client.post(step_up_url(), {"code": "12345"})
    assert response.status_code == 200
    assert "The code is 6 digits" in response.content.decode()
    assert session_of(client).level == "low"


def test_a_recovery_code_is_a_second_factor_once(client, make_citizen):
    citizen = make_citizen(level="substantial")
    codes = factors.regenerate_recovery_codes(user=citizen, actor=actor_for(citizen))
    sign_in(client, citizen)
    recovery_url = (
        reverse("identity:step-up-recovery") + "?" + urlencode({"next": NEXT, "level": "substantial"})
    )
    assert recovery_url.replace("&", "&amp;") in client.get(step_up_url()).content.decode()

    response = client.post(recovery_url, {"code": codes[0]})
    assert response.status_code == 302 and response["Location"] == NEXT
    assert "rc" in session_of(client).amr

    client.post(reverse("identity:sign-out"))
    sign_in(client, citizen)
    again = client.post(recovery_url, {"code": codes[0]})
    assert again.status_code == 200 and "already used" in again.content.decode()
    assert session_of(client).level == "low"


def test_without_a_factor_the_person_sets_one_up_and_continues(client, make_citizen):
    citizen = make_citizen()
    sign_in(client, citizen)
    page = client.get(step_up_url())
    assert page.status_code == 200
    totp_url = page.context["totp_url"]
    assert parse_qs(urlsplit(totp_url).query)["next"] == [step_up_url()], "next survives the enrolment"

    client.get(totp_url)
    device = citizen.totp_devices.get()
    secret = factors.decrypt_secret(device.encrypted_secret)
    enrolled = client.post(
        totp_url, {"device": device.id, "name": "teléfono", "code": pyotp.TOTP(secret).now()}
    )
    codes_page = client.get(enrolled["Location"])
    assert codes_page.context["next_url"] == step_up_url()
    assert client.get(codes_page.context["next_url"])["Location"] == NEXT
    assert session_of(client).level == "substantial"


def test_level_high_without_an_identity_check_is_explained_after_the_second_factor(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    high = step_up_url(level="high")
    response = client.post(high, {"code": current_code(citizen)})
    assert response.status_code == 302 and response["Location"] == high
    page = client.get(high)
    assert page.status_code == 200
    assert "InfoPlaza" in page.content.decode()
    assert reverse("identity:levels") + "#high" in page.content.decode()
    assert session_of(client).level == "substantial"


def test_level_high_with_an_identity_check_is_reached_with_the_second_factor(client, make_citizen):
    citizen = make_citizen(level="high")
    sign_in(client, citizen)
    response = client.post(step_up_url(level="high"), {"code": current_code(citizen)})
    assert response["Location"] == NEXT
    assert session_of(client).level == "high"


def test_a_check_made_after_sign_in_counts_at_the_next_step_up(client, make_citizen):
    citizen = make_citizen(level="substantial")
    sign_in(client, citizen)
    client.post(step_up_url(), {"code": current_code(citizen)})
    citizen.identity_verified_at = citizen.date_joined
    citizen.save()
    assert session_of(client).level == "substantial", "open sessions keep the level they were given"
    code = pyotp.TOTP(citizen.totp_secret).at(time.time() + 30)  # the current code is spent
    response = client.post(step_up_url(level="high"), {"code": code})
    assert response["Location"] == NEXT
    assert session_of(client).level == "high"


def test_the_levels_page_explains_each_level_with_its_acr(client):
    html = client.get(reverse("identity:levels")).content.decode()
    for level in ("low", "substantial", "high"):
        assert f'id="{level}"' in html
        assert f"urn:ventanilla:loa:{level}" in html
    english = client.get(reverse("identity:levels")).content.decode()  # /en/… under the English override
    assert "Levels of assurance" in english
