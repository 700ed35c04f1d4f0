"""Each wrong request is refused with the standard OAuth 2.0 / OpenID Connect error: at the service's redirect
URI when it is known to be the service's own, as JSON at the token and userinfo endpoints, on a page otherwise —
and never with a server error."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from joserfc.jwk import RSAKey

from ventanilla.identity.models import OAuthToken

from .conftest import (
    REDIRECT_URI,
    Pkce,
    authorization_url,
    client_assertion,
    code_for,
    query_of,
    sign_in_to_service,
    token_request,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service(register_service):
    return register_service()


@pytest.fixture
def citizen(make_citizen):
    return make_citizen()


def exchange(browser, provider, service, rp_keys, code, pkce, **form):
    form = {"redirect_uri": REDIRECT_URI, "code_verifier": pkce.verifier, **form}
    return token_request(
        browser, provider, service, rp_keys["private_jwk"], grant_type="authorization_code", code=code, **form
    )


def redirected_error(response) -> dict:
    assert response.status == 302, response.text[:300]
    assert response.location.startswith(REDIRECT_URI + "?")
    return query_of(response.location)


# --- At the authorization endpoint ------------------------------------------------------------------------------


def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(provider, service, browser):
    url = authorization_url(provider, service, redirect_uri="https://attacker.example/callback")
    page = browser.get(url)
    assert page.status == 400 and page.location is None
    assert "invalid_request" in page.text and "attacker.example/callback" in page.text


@pytest.mark.parametrize(
    "change",
    [{"client_id": "nobody"}, {"client_id": None}, {"redirect_uri": None}],
    ids=["unknown", "no-client", "no-uri"],
)
def test_an_unknown_client_or_a_missing_redirect_uri_gets_an_error_page(provider, service, browser, change):
    page = browser.get(authorization_url(provider, service, **change))
    assert page.status == 400 and page.location is None


def test_pkce_is_required(provider, service, browser):
    answer = redirected_error(
        browser.get(authorization_url(provider, service, code_challenge=None, code_challenge_method=None))
    )
    assert answer["error"] == "invalid_request" and answer["state"].startswith("state-")


def test_the_plain_pkce_method_is_refused(provider, service, browser):
    answer = redirected_error(browser.get(authorization_url(provider, service, pkce=Pkce(method="plain"))))
    assert answer["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile email"}, "invalid_scope"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": '{"id_token": ["acr"]}'}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"ventanilla_fresh_after": "forged"}, "invalid_request"),
    ],
)
def test_malformed_requests_are_sent_back_with_the_standard_error(provider, service, browser, change, error):
    assert redirected_error(browser.get(authorization_url(provider, service, **change)))["error"] == error


def test_prompt_none_without_a_session_is_login_required(provider, service, browser):
    answer = redirected_error(browser.get(authorization_url(provider, service, prompt="none")))
    assert answer["error"] == "login_required" and answer["state"].startswith("state-")


def test_prompt_none_before_consent_is_consent_required(provider, service, citizen, browser):
    page = sign_in_to_service(browser, f"{provider}/entrar/", citizen)  # signed in, nowhere to go
    assert page.status == 200
    answer = redirected_error(browser.get(authorization_url(provider, service, prompt="none")))
    assert answer["error"] == "consent_required"


def test_a_level_that_cannot_be_reached_online_shows_why_and_returns_unmet_authentication_requirements(
    provider, register_service, make_citizen, browser
):
    service = register_service(minimum_level="high")
    citizen = make_citizen(level="substantial")  # identity never checked in person
    page = sign_in_to_service(browser, authorization_url(provider, service), citizen)
    assert page.status == 200 and "/autorizar/" in page.url and page.url.endswith("/nivel/")
    assert "InfoPlaza" in page.text
    back = next(line for line in page.text.split('"') if line.startswith(REDIRECT_URI))
    answer = query_of(back.replace("&amp;", "&"))
    assert answer["error"] == "unmet_authentication_requirements" and answer["state"].startswith("state-")

    silent = redirected_error(browser.get(authorization_url(provider, service, prompt="none")))
    assert silent["error"] == "unmet_authentication_requirements"


def test_a_level_reachable_by_stepping_up_is_interaction_required_with_prompt_none(
    provider, register_service, make_citizen, browser
):
    service = register_service()
    citizen = make_citizen(level="substantial")
    browser.submit(
        browser.get(f"{provider}/entrar/"),
        {"identifier": citizen.username, "password": "a long passphrase nobody guesses"},
    )
    url = authorization_url(provider, service, prompt="none", acr_values="urn:ventanilla:loa:substantial")
    assert redirected_error(browser.get(url))["error"] == "interaction_required"


def test_an_authorization_request_seen_before_is_refused(provider, service, citizen, browser, rp_keys):
    pkce = Pkce()
    url = authorization_url(provider, service, pkce=pkce)
    sign_in_to_service(browser, url, citizen)
    answer = redirected_error(browser.get(url))  # the same nonce again
    assert answer["error"] == "invalid_request"


# --- At the token endpoint ----------------------------------------------------------------------------------------


def test_a_missing_pkce_verifier_is_invalid_request(provider, service, citizen, browser, rp_keys):
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    answer = token_request(
        browser,
        provider,
        service,
        rp_keys["private_jwk"],
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
    )
    assert (answer.status, answer.json()["error"]) == (400, "invalid_request")


def test_a_wrong_pkce_verifier_is_invalid_grant(provider, service, citizen, browser, rp_keys):
    code = code_for(browser, provider, service, citizen, pkce=Pkce())
    answer = exchange(browser, provider, service, rp_keys, code, Pkce())
    assert (answer.status, answer.json()["error"]) == (400, "invalid_grant")


def test_a_reused_code_is_invalid_grant_and_revokes_the_tokens_issued_from_it(
    provider, service, citizen, browser, rp_keys
):
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    first = exchange(browser, provider, service, rp_keys, code, pkce)
    assert first.status == 200
    access_token = first.json()["access_token"]
    assert (
        browser.get(f"{provider}/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status
        == 200
    )

    second = exchange(browser, provider, service, rp_keys, code, pkce)
    assert (second.status, second.json()["error"]) == (400, "invalid_grant")
    userinfo = browser.get(f"{provider}/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert userinfo.status == 401 and 'error="invalid_token"' in userinfo.headers["WWW-Authenticate"]


def test_the_redirect_uri_must_match_the_one_of_the_authorization(
    provider, register_service, citizen, browser, rp_keys
):
    service = register_service(redirect_uris=[REDIRECT_URI, "http://127.0.0.1:9/other"])
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    answer = exchange(
        browser, provider, service, rp_keys, code, pkce, redirect_uri="http://127.0.0.1:9/other"
    )
    assert (answer.status, answer.json()["error"]) == (400, "invalid_grant")


def test_an_expired_code_is_invalid_grant(provider, service, citizen, browser, rp_keys):
    from ventanilla.identity.models import AuthorizationCode

    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    AuthorizationCode.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    answer = exchange(browser, provider, service, rp_keys, code, pkce)
    assert (answer.status, answer.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    "wrong",
    ["signature", "audience", "expired", "issuer", "too-long-lived"],
)
def test_a_wrong_client_assertion_is_invalid_client(provider, service, citizen, browser, rp_keys, wrong):
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    now = int(time.time())
    if wrong == "signature":
        other = RSAKey.generate_key(2048, parameters={"kid": rp_keys["private_jwk"]["kid"]}).as_dict(
            private=True
        )
        assertion = client_assertion(provider, service, other)
    else:
        changes = {
            "audience": {"aud": "https://elsewhere.example/token"},
            "expired": {"iat": now - 600, "exp": now - 300},
            "issuer": {"iss": "someone-else"},
            "too-long-lived": {"exp": now + 3600},
        }[wrong]
        assertion = client_assertion(provider, service, rp_keys["private_jwk"], **changes)
    answer = token_request(
        browser,
        provider,
        service,
        None,
        assertion=assertion,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=pkce.verifier,
    )
    assert answer.json()["error"] == "invalid_client", answer.text
    assert answer.status in (400, 401)


def test_a_replayed_client_assertion_is_invalid_client(provider, service, citizen, browser, rp_keys):
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    assertion = client_assertion(provider, service, rp_keys["private_jwk"])
    bad_code = token_request(
        browser,
        provider,
        service,
        None,
        assertion=assertion,
        grant_type="authorization_code",
        code="not-a-code",
        redirect_uri=REDIRECT_URI,
        code_verifier=pkce.verifier,
    )
    assert bad_code.json()["error"] == "invalid_grant"
    replay = token_request(
        browser,
        provider,
        service,
        None,
        assertion=assertion,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=pkce.verifier,
    )
    assert replay.json()["error"] == "invalid_client"


def test_the_issuer_is_an_accepted_audience_for_client_assertions(
    provider, service, citizen, browser, rp_keys
):
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    assertion = client_assertion(provider, service, rp_keys["private_jwk"], aud=provider)
    answer = token_request(
        browser,
        provider,
        service,
        None,
        assertion=assertion,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=pkce.verifier,
    )
    assert answer.status == 200, answer.text


def test_client_secret_basic_with_a_wrong_secret_is_invalid_client(
    provider, register_service, citizen, browser
):
    service = register_service(token_endpoint_auth_method="client_secret_basic")
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    import base64

    wrong = base64.b64encode(f"{service.client_id}:not-the-secret".encode()).decode()
    answer = browser.request(
        "POST",
        f"{provider}/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
        },
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert (answer.status, answer.json()["error"]) == (401, "invalid_client")


def test_a_private_key_jwt_service_cannot_authenticate_with_a_secret(provider, service, citizen, browser):
    import base64

    basic = base64.b64encode(f"{service.client_id}:anything".encode()).decode()
    answer = browser.request(
        "POST",
        f"{provider}/oidc/token",
        {"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "form",
    [{}, {"grant_type": "password"}, {"grant_type": "authorization_code"}],
    ids=["nothing", "password", "no-code"],
)
def test_bad_token_requests_get_json_errors(provider, service, browser, rp_keys, form):
    answer = token_request(browser, provider, service, rp_keys["private_jwk"], **form)
    assert answer.status in (400, 401) and answer.json()["error"] in (
        "unsupported_grant_type",
        "invalid_request",
        "invalid_client",
    )
    assert browser.get(f"{provider}/oidc/token").status == 405


# --- At the userinfo endpoint ---------------------------------------------------------------------------------


def test_userinfo_refuses_expired_tampered_and_missing_access_tokens(
    provider, service, citizen, browser, rp_keys
):
    pkce = Pkce()
    code = code_for(browser, provider, service, citizen, pkce=pkce)
    access_token = exchange(browser, provider, service, rp_keys, code, pkce).json()["access_token"]

    def userinfo(token):
        return browser.get(f"{provider}/oidc/userinfo", headers={"Authorization": f"Bearer {token}"})

    assert userinfo(access_token).status == 200
    tampered = userinfo(access_token[:-2] + ("AA" if not access_token.endswith("AA") else "BB"))
    assert tampered.status == 401 and 'error="invalid_token"' in tampered.headers["WWW-Authenticate"]
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = userinfo(access_token)
    assert expired.status == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert browser.get(f"{provider}/oidc/userinfo").status == 401


@pytest.mark.parametrize(
    ("method", "path", "data", "headers"),
    [
        ("GET", "/oidc/authorize?max_age=%C2%B2&client_id=tramites", None, {}),
        ("GET", "/oidc/authorize?client_id=tramites&redirect_uri=%ZZ", None, {}),
        ("POST", "/oidc/authorize", {"client_id": "tramites", "claims": "[" * 100_000}, {}),
        (
            "POST",
            "/oidc/token",
            {"grant_type": "authorization_code", "code": "x"},
            {"Authorization": "Basic !!!"},
        ),
        (
            "POST",
            "/oidc/token",
            {
                "grant_type": "refresh_token",
                "client_assertion": "a.b.c",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            },
            {},
        ),
        ("GET", "/oidc/userinfo", None, {"Authorization": "Bearer"}),
        ("GET", "/oidc/userinfo", None, {"Authorization": "Basic abc"}),
        ("GET", "/oidc/logout?id_token_hint=not-a-token", None, {}),
        ("GET", "/autorizar/unknown-ticket/", None, {}),
        ("GET", "/autorizar/unknown-ticket/nivel/", None, {}),
    ],
)
def test_bad_input_never_causes_a_server_error(provider, service, browser, method, path, data, headers):
    answer = browser.request(method, provider + path, data, headers=headers)
    assert 400 <= answer.status < 500 or answer.status == 302, (answer.status, answer.text[:300])


@pytest.mark.parametrize(
    "change", [{"max_age": "²"}, {"claims": "[" * 50_000}, {"acr_values": "\x00"}, {"ui_locales": "ü"}]
)
def test_odd_parameters_of_a_valid_request_never_cause_a_server_error(provider, service, browser, change):
    answer = browser.request(
        "POST", f"{provider}/oidc/authorize", query_of(authorization_url(provider, service, **change))
    )
    assert answer.status in (302, 400), (answer.status, answer.text[:300])
