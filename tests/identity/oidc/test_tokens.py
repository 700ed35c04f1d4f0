"""Refresh tokens only with offline access the person agreed to, rotated at every use; signing keys rotated
without breaking tokens already issued."""

import base64
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from ventanilla.identity.models import Consent, SigningKey

from .conftest import REDIRECT_URI, sign_in_to_service, token_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_refresh_token_when_the_person_leaves_offline_access_unticked(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    started = rp.start(scope="openid email offline_access")
    result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen))
    assert result["refresh_token"] is None
    assert "offline_access" not in result["scope"].split()


def test_offline_access_agreed_gives_a_refresh_token_that_rotates_and_cannot_be_replayed(
    provider, register_service, relying_party, make_citizen, browser, rp_keys
):
    citizen = make_citizen()
    service = register_service()
    rp = relying_party(service)
    started = rp.start(scope="openid email offline_access")
    consent = {"decision": "allow", "offline_access": "yes"}
    result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen, consent=consent))
    assert result["refresh_token"]

    refreshed = rp.refresh(result["refresh_token"])
    assert refreshed["access_token"] != result["access_token"]
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != result["refresh_token"]
    userinfo = browser.get(
        f"{provider}/oidc/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"}
    )
    assert userinfo.json()["email"] == citizen.email

    replayed = token_request(
        browser,
        provider,
        service,
        rp_keys["private_jwk"],
        grant_type="refresh_token",
        refresh_token=result["refresh_token"],
    )
    assert (replayed.status, replayed.json()["error"]) == (400, "invalid_grant")
    # Someone replayed a spent refresh token: the whole line is revoked, the newest one too.
    newest = token_request(
        browser,
        provider,
        service,
        rp_keys["private_jwk"],
        grant_type="refresh_token",
        refresh_token=refreshed["refresh_token"],
    )
    assert newest.json()["error"] == "invalid_grant"


def test_refresh_stops_when_the_person_withdraws_consent(
    provider, register_service, relying_party, make_citizen, browser, rp_keys
):
    citizen = make_citizen()
    service = register_service()
    rp = relying_party(service)
    started = rp.start(scope="openid offline_access")
    consent = {"decision": "allow", "offline_access": "yes"}
    result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen, consent=consent))
    Consent.objects.filter(user=citizen).update(revoked_at=timezone.now())
    answer = token_request(
        browser,
        provider,
        service,
        rp_keys["private_jwk"],
        grant_type="refresh_token",
        refresh_token=result["refresh_token"],
    )
    assert answer.json()["error"] == "invalid_grant"


def test_offline_access_is_not_granted_later_without_asking(
    register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    first = rp.start(scope="openid email")
    rp.finish(first, sign_in_to_service(browser, first["url"], citizen))
    later = rp.start(scope="openid email offline_access")
    result = rp.finish(later, sign_in_to_service(browser, later["url"], citizen, consent={}))
    assert "error" not in result, result
    assert result["refresh_token"] is None  # asking for it needs prompt=consent


def test_key_rotation_keeps_tokens_signed_before_it_verifiable(
    provider, register_service, relying_party, make_citizen, browser
):
    citizen = make_citizen()
    rp = relying_party(register_service())
    before = rp.start()
    old = rp.finish(before, sign_in_to_service(browser, before["url"], citizen))

    call_command("oidc", "rotate-keys", verbosity=0)
    after = rp.start()
    new = rp.finish(after, sign_in_to_service(browser, after["url"], citizen))
    assert "error" not in new, new

    published = KeySet.import_key_set(json.loads(browser.get(f"{provider}/oidc/jwks").text))
    old_kid = jwt.decode(old["id_token"], published).header["kid"]
    new_kid = jwt.decode(new["id_token"], published).header["kid"]
    assert old_kid != new_kid and {k.kid for k in published.keys} == {old_kid, new_kid}

    header, payload, signature = old["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "acr": "urn:ventanilla:loa:high"}).encode())
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged.rstrip(b'=').decode()}.{signature}", published)

    # A day later the retired key is gone from the JWKS (and from the database at the next rotation).
    SigningKey.objects.filter(kid=old_kid).update(retired_at=timezone.now() - timedelta(days=2))
    assert [k["kid"] for k in json.loads(browser.get(f"{provider}/oidc/jwks").text)["keys"]] == [new_kid]
    call_command("oidc", "rotate-keys", verbosity=0)
    assert not SigningKey.objects.filter(kid=old_kid).exists()


def test_tokens_of_client_secret_basic_services(provider, register_service, make_citizen, browser):
    """The other client authentication method, with the Node library's ClientSecretBasic."""
    from .conftest import RelyingParty

    citizen = make_citizen()
    service = register_service(token_endpoint_auth_method="client_secret_basic", redirect_uris=[REDIRECT_URI])
    rp = RelyingParty(provider, service, private_jwk={})
    started = rp.start(scope="openid email")
    result = rp.finish(started, sign_in_to_service(browser, started["url"], citizen))
    assert "error" not in result, result
    assert result["userinfo"]["email"] == citizen.email
