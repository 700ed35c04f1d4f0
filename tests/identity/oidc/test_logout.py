"""Signing out: a service may end the person's session (RP-initiated logout), and every service that received
tokens in a session that ends is told in the background with a signed logout token (back-channel logout)."""

import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from ventanilla.identity.models import AccountSession

from .conftest import query_of, sign_in_to_service

pytestmark = pytest.mark.django_db(transaction=True)

POST_LOGOUT = "http://127.0.0.1:9/signed-out"


def run_worker():
    """Hand the queued work to a worker now; retries scheduled for later are brought forward."""
    from django_tasks_db.models import DBTaskResult

    for _ in range(4):
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
        call_command("worker", batch=True, verbosity=0)


def signed_in(browser, relying_party, service, citizen) -> dict:
    rp = relying_party(service)
    started = rp.start(scope="openid email")
    result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen))
    assert "error" not in result, result
    return result


def test_back_channel_logout_tells_each_service_of_the_session_with_a_signed_token(
    provider, register_service, relying_party, make_citizen, browser, logout_receiver
):
    receiver, other = logout_receiver(), logout_receiver(failures=2)  # the second is down for two tries
    citizen = make_citizen()
    first = signed_in(
        browser, relying_party, register_service("first", backchannel_logout_uri=receiver.url), citizen
    )
    second_service = register_service("second", sector="tax", backchannel_logout_uri=other.url)
    second = signed_in(browser, relying_party, second_service, citizen)
    register_service("unused", backchannel_logout_uri=receiver.url)  # no tokens in this session: not told

    home = browser.get(f"{provider}/cuenta/")
    sign_out = next(f for f in home.forms() if f["action"].endswith("/salir/"))
    browser.request("POST", f"{provider}{sign_out['action']}", sign_out["fields"])
    run_worker()

    assert len(receiver.tokens) == 1 and len(other.tokens) == 1
    key_set = KeySet.import_key_set(json.loads(browser.get(f"{provider}/oidc/jwks").text))
    for token, result, client_id in (
        (receiver.tokens[0], first, "first"),
        (other.tokens[0], second, "second"),
    ):
        decoded = jwt.decode(token, key_set, algorithms=["RS256"])
        assert decoded.header["typ"] == "logout+jwt" and decoded.header["kid"]
        claims = decoded.claims
        assert claims["iss"] == provider and claims["aud"] == client_id
        assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
        assert claims["sid"] == result["id_token_claims"]["sid"]
        assert claims["sub"] == result["id_token_claims"]["sub"]
        assert claims["exp"] > claims["iat"] and claims["jti"] and "nonce" not in claims
        userinfo = browser.get(
            f"{provider}/oidc/userinfo", headers={"Authorization": f"Bearer {result['access_token']}"}
        )
        assert userinfo.status == 401


def test_rp_initiated_logout_with_a_valid_id_token_ends_the_session_and_returns_to_the_service(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    service = register_service(post_logout_redirect_uris=[POST_LOGOUT])
    result = signed_in(browser, relying_party, service, citizen)

    answer = browser.get(
        f"{provider}/oidc/logout?id_token_hint={result['id_token']}&post_logout_redirect_uri={POST_LOGOUT}&state=bye"
    )
    assert answer.status == 302 and answer.location == f"{POST_LOGOUT}?state=bye"
    assert AccountSession.objects.get(user=citizen).ended_at is not None
    assert "/entrar/" in browser.get(relying_party(service).start()["url"]).location


def test_rp_initiated_logout_without_id_token_asks_first_and_never_redirects(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    service = register_service(post_logout_redirect_uris=[POST_LOGOUT])
    signed_in(browser, relying_party, service, citizen)

    page = browser.get(f"{provider}/oidc/logout?client_id=tramites&post_logout_redirect_uri={POST_LOGOUT}")
    assert page.status == 200 and AccountSession.objects.get(user=citizen).ended_at is None
    confirm = next(f for f in page.forms() if f["action"] == "/oidc/logout/confirm")
    done = browser.request("POST", f"{provider}/oidc/logout/confirm", confirm["fields"])
    assert done.status == 200 and done.location is None
    assert AccountSession.objects.get(user=citizen).ended_at is not None


def test_rp_initiated_logout_ignores_an_unregistered_address_and_refuses_a_tampered_token(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    service = register_service(post_logout_redirect_uris=[POST_LOGOUT])
    result = signed_in(browser, relying_party, service, citizen)
    header, payload, signature = result["id_token"].split(".")

    tampered = browser.get(f"{provider}/oidc/logout?id_token_hint={header}.{payload}.{signature[:-4]}AAAA")
    assert tampered.status == 400 and tampered.location is None
    assert AccountSession.objects.get(user=citizen).ended_at is None

    elsewhere = browser.get(
        f"{provider}/oidc/logout?id_token_hint={result['id_token']}&post_logout_redirect_uri=https://attacker.example/"
    )
    assert elsewhere.status == 200 and elsewhere.location is None
    assert AccountSession.objects.get(user=citizen).ended_at is not None


def test_an_ended_session_is_not_ended_again_by_a_late_logout(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    service = register_service(post_logout_redirect_uris=[POST_LOGOUT])
    result = signed_in(browser, relying_party, service, citizen)
    url = f"{provider}/oidc/logout?id_token_hint={result['id_token']}&post_logout_redirect_uri={POST_LOGOUT}&state=s"
    browser.get(url)
    again = browser.get(url)
    assert again.status == 302 and query_of(again.location) == {"state": "s"}
