"""What a service learns before anything else: the discovery document and the keys."""

import json

import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_describes_everything_the_provider_supports(provider, browser):
    answer = browser.get(f"{provider}/.well-known/openid-configuration")
    assert answer.status == 200 and "max-age" in answer.headers["Cache-Control"]
    document = answer.json()
    OpenIDProviderMetadata(document).validate()  # Authlib's check of OpenID Connect Discovery 1.0

    assert document["issuer"] == provider
    assert document["acr_values_supported"] == [
        "urn:ventanilla:loa:low",
        "urn:ventanilla:loa:substantial",
        "urn:ventanilla:loa:high",
    ]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "client_secret_basic"]
    assert set(document["subject_types_supported"]) == {"pairwise", "public"}
    assert document["prompt_values_supported"] == ["none", "login", "consent"]
    assert document["ui_locales_supported"] == ["es", "en"]
    assert document["claims_parameter_supported"] and document["backchannel_logout_session_supported"]
    assert {"sub", "acr", "amr", "sid", "email", "ventanilla:document_number"} <= set(
        document["claims_supported"]
    )
    assert document["ventanilla_claims"]["ventanilla:representation"]["scope"] == "representation"
    assert document["end_session_endpoint"] == f"{provider}/oidc/logout"


def test_the_jwks_publishes_the_signing_key_made_on_first_need(provider, browser):
    keys = json.loads(browser.get(f"{provider}/oidc/jwks").text)["keys"]
    assert len(keys) == 1
    assert (
        keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig" and keys[0]["kid"]
    )
    assert "d" not in keys[0]  # public parts only
