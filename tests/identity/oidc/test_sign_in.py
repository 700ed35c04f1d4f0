"""A service built with another library (Node.js openid-client) signs people in over HTTP, at each level of
assurance, and receives only what they agreed to share."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ventanilla.identity.models import AccountSession, Consent, SignInRecord

from .conftest import REDIRECT_URI, query_of, sign_in_to_service

pytestmark = pytest.mark.django_db(transaction=True)

LOW, SUBSTANTIAL, HIGH = (f"urn:ventanilla:loa:{level}" for level in ("low", "substantial", "high"))


def test_level_low_the_service_receives_only_the_claims_the_person_left_ticked(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen(level="low")
    rp = relying_party(register_service())
    started = rp.start(scope="openid profile email document", acr_values=LOW)

    callback = sign_in_to_service(
        browser, started["url"], citizen, consent={"decision": "allow", "claims": ["email"]}
    )
    assert query_of(callback)["state"] == started["state"]
    result = rp.finish(started, callback)

    assert "error" not in result, result
    token = result["id_token_claims"]
    assert token["acr"] == LOW and token["amr"] == ["pwd"] and token["nonce"] == started["nonce"]
    assert {"sid", "auth_time", "sub"} <= token.keys()
    assert token["exp"] - token["iat"] == 3600  # the service refuses it after an hour
    # Registered and requested, but unticked (email_verified, the document number) or not registered
    # (birthdate) claims are not there.
    assert result["userinfo"] == {
        "sub": token["sub"],
        "given_name": "María",
        "family_name": citizen.last_name,
        "email": citizen.email,
    }
    consent = Consent.objects.get(user=citizen, revoked_at__isnull=True)
    assert consent.claims == ["email", "family_name", "given_name"]
    record = SignInRecord.objects.get(user=citizen, service__client_id="tramites")
    assert record.level == "low"


@pytest.mark.parametrize("level", ["substantial", "high"])
def test_levels_substantial_and_high_with_the_authenticator_app(
    level, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen(level=level)
    rp = relying_party(register_service(minimum_level=level))
    claims = {
        "id_token": {"acr": {"essential": True, "values": [f"urn:ventanilla:loa:{level}"]}, "email": None}
    }
    started = rp.start(scope="openid profile", claims=json.dumps(claims))

    callback = sign_in_to_service(browser, started["url"], citizen)
    result = rp.finish(started, callback)

    assert "error" not in result, result
    token = result["id_token_claims"]
    assert token["acr"] == f"urn:ventanilla:loa:{level}"
    assert sorted(token["amr"]) == ["otp", "pwd"]
    assert token["email"] == citizen.email  # asked for in the ID token with the claims parameter
    assert "email" not in result["userinfo"]  # and only there
    assert result["userinfo"]["given_name"] == "María"


def test_a_session_below_the_level_asked_for_is_stepped_up_not_refused(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen(level="substantial")
    rp = relying_party(register_service())
    # Signed in with the password only (the second-factor page left unanswered): the session is at low.
    sign_in_page = browser.get(f"{provider}/entrar/")
    browser.submit(
        sign_in_page, {"identifier": citizen.username, "password": "a long passphrase nobody guesses"}
    )
    assert AccountSession.objects.get(user=citizen).level == "low"

    started = rp.start(acr_values=SUBSTANTIAL)
    step_up = browser.get(started["url"])
    assert step_up.status == 302 and "/verificacion-adicional/?" in step_up.location
    assert query_of(step_up.location)["level"] == "substantial"

    callback = sign_in_to_service(browser, step_up.location, citizen)
    result = rp.finish(started, callback)
    assert result["id_token_claims"]["acr"] == SUBSTANTIAL


def test_the_acr_is_the_highest_level_asked_for_that_the_session_satisfies(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen(level="high")
    rp = relying_party(register_service())
    started = rp.start(acr_values=f"{SUBSTANTIAL} urn:other:unknown {LOW}")
    result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen))
    assert result["id_token_claims"]["acr"] == SUBSTANTIAL


def test_pairwise_subjects_are_stable_within_a_sector_and_differ_across_sectors(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    services = {
        "health-a": register_service("health-a", sector="health"),
        "health-b": register_service("health-b", sector="health"),
        "tax": register_service("tax", sector="tax"),
        "public": register_service("public-one", sector="x", subject_type="public"),
    }
    subjects = {}
    for name, service in services.items():
        rp = relying_party(service)
        started = rp.start()
        result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen))
        subjects[name] = result["id_token_claims"]["sub"]
        assert result["userinfo"]["sub"] == subjects[name]

    assert subjects["health-a"] == subjects["health-b"] != subjects["tax"]
    assert subjects["public"] == str(citizen.public_id)
    assert str(citizen.public_id) not in (subjects["health-a"], subjects["tax"])


def test_once_consented_the_next_sign_in_asks_nothing_and_prompt_none_works(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    first = rp.start(scope="openid email")
    rp.finish(first, sign_in_to_service(browser, first["url"], citizen))

    again = rp.start(scope="openid email", prompt="none")
    answer = browser.get(again["url"])
    assert answer.status == 302 and answer.location.startswith(REDIRECT_URI)
    result = rp.finish(again, answer.location)
    assert result["userinfo"]["email"] == citizen.email


def test_prompt_consent_asks_again_and_a_withdrawn_consent_is_asked_again(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    first = rp.start(scope="openid email")
    rp.finish(first, sign_in_to_service(browser, first["url"], citizen))

    asked = rp.start(scope="openid email", prompt="consent")
    page = browser.get(browser.get(asked["url"]).location)
    assert page.status == 200 and "/autorizar/" in page.url

    Consent.objects.filter(user=citizen).update(revoked_at=timezone.now())
    withdrawn = rp.start(scope="openid email")
    assert "/autorizar/" in browser.get(withdrawn["url"]).location


def test_ui_locales_chooses_the_consent_page_language(register_service, relying_party, make_citizen, browser):
    citizen = make_citizen()
    rp = relying_party(register_service())
    started = rp.start(scope="openid email", ui_locales="en-GB es")
    page = sign_in_to_service(browser, started["url"], citizen, consent={})
    assert "/en/autorizar/" in page.url
    assert "Share your details with Online procedures?" in page.text
    assert "Email address" in page.text and "To tell you news." in page.text


def test_the_person_may_refuse_and_the_service_hears_access_denied(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    started = rp.start(scope="openid email")
    callback = sign_in_to_service(browser, started["url"], citizen, consent={"decision": "deny"})
    answer = query_of(callback)
    assert (answer["error"], answer["state"]) == ("access_denied", started["state"])
    assert not Consent.objects.filter(user=citizen).exists()


def test_prompt_login_asks_for_the_password_again_and_auth_time_is_after_the_request(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    first = rp.start()
    rp.finish(first, sign_in_to_service(browser, first["url"], citizen))

    requested_at = timezone.now()
    again = rp.start(prompt="login")
    to_sign_in = browser.get(again["url"])
    assert "/entrar/?" in to_sign_in.location and query_of(to_sign_in.location)["force"] == "1"
    assert "prompt" not in query_of(query_of(to_sign_in.location)["next"].split("?", 1)[1])

    result = rp.finish(again, sign_in_to_service(browser, again["url"], citizen))
    assert result["id_token_claims"]["auth_time"] >= int(requested_at.timestamp())


def test_max_age_sends_a_person_who_signed_in_long_ago_to_sign_in_again(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    first = rp.start()
    rp.finish(first, sign_in_to_service(browser, first["url"], citizen))
    AccountSession.objects.filter(user=citizen).update(auth_time=timezone.now() - timedelta(hours=2))

    again = rp.start(max_age="600")
    assert "/entrar/?" in browser.get(again["url"]).location
    result = rp.finish(again, sign_in_to_service(browser, again["url"], citizen), max_age=600)
    assert "error" not in result, result
    assert result["id_token_claims"]["auth_time"] > int((timezone.now() - timedelta(minutes=5)).timestamp())


def test_after_one_of_our_forms_the_browser_is_sent_on_by_a_page_not_a_redirect(
    provider, register_service, relying_party, make_citizen, browser
):
    """Browsers apply the form's CSP form-action ('self') to the redirects after a form: the hop to the
    service is a page with a Refresh header and a link instead."""
    citizen = make_citizen()
    rp = relying_party(register_service())
    first = rp.start()
    rp.finish(first, sign_in_to_service(browser, first["url"], citizen))

    started = rp.start()
    page = browser.get(started["url"], headers={"Sec-Fetch-Site": "same-origin"})
    assert page.status == 200
    target = page.headers["Refresh"].split("url=", 1)[1]
    assert target.startswith(REDIRECT_URI) and f'href="{target.replace("&", "&amp;")}"' in page.text
    assert "error" not in rp.finish(started, target)
    assert browser.get(rp.start()["url"], headers={"Sec-Fetch-Site": "cross-site"}).status == 302
