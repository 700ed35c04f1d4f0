"""Registering services through the API: operators manage all, an institution's integrators only theirs, and
every mistake in a registration gets a clear 422."""

import json

import pytest

from ventanilla.identity.models import RelyingParty, StaffRole
from ventanilla.identity.oidc import services

pytestmark = pytest.mark.django_db

URL = "/api/v1/relying-parties"


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch_json(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def registration(**changes):
    body = {
        "client_id": "permisos-te",
        "name_es": "Permisos del Tribunal",
        "name_en": "Electoral Tribunal permits",
        "institution": "TE",
        "redirect_uris": ["https://permisos.te.example/callback", "http://127.0.0.1:8080/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
        "claims": [
            {
                "claim": "email",
                "essential": True,
                "purpose_es": "Para avisarle.",
                "purpose_en": "To tell you.",
            }
        ],
        "minimum_level": "substantial",
    }
    body.update(changes)
    return body


@pytest.fixture
def operator(make_user):
    user = make_user()
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def integrator(make_user, small_catalogue):
    user = make_user()
    StaffRole.objects.create(user=user, role=StaffRole.Role.INTEGRATOR, institution=small_catalogue["te"])
    return user


def test_an_operator_registers_a_service_and_sees_its_secret_once(api_client_for, operator, small_catalogue):
    api = api_client_for(operator)
    created = post_json(api, URL, registration())
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["client_id"] == "permisos-te" and body["institution"] == "TE" and body["sector"] == "te"
    assert body["scopes"] == ["openid", "email"]
    service = RelyingParty.objects.get(client_id="permisos-te")
    assert services.check_client_secret(service, body["client_secret"])
    assert body["client_secret"] not in service.client_secret_hash
    assert api.get(f"{URL}/permisos-te").json()["client_secret"] is None


def test_an_integrator_manages_only_their_institutions_services(
    api_client_for, integrator, operator, small_catalogue
):
    post_json(api_client_for(operator), URL, registration(client_id="municipio", institution="MUN-PANAMA"))
    api = api_client_for(integrator)

    assert post_json(api, URL, registration()).status_code == 201
    assert post_json(api, URL, registration(client_id="otro", institution="MUN-PANAMA")).status_code == 403
    assert post_json(api, URL, registration(client_id="sin", institution=None)).status_code == 403
    assert [s["client_id"] for s in api.get(URL).json()] == ["permisos-te"]
    assert api.get(f"{URL}/municipio").status_code == 404
    assert patch_json(api, f"{URL}/municipio", {"name_es": "Mío"}).status_code == 404
    assert patch_json(api, f"{URL}/permisos-te", {"institution": "MUN-PANAMA"}).status_code == 403

    changed = patch_json(api, f"{URL}/permisos-te", {"name_en": "Permits", "minimum_level": "high"})
    assert changed.status_code == 200 and changed.json()["minimum_level"] == "high"


def test_people_without_the_role_cannot_register_and_strangers_must_sign_in(
    api_client_for, make_user, client, small_catalogue
):
    assert post_json(api_client_for(make_user()), URL, registration()).status_code == 403
    assert api_client_for(make_user()).get(URL).status_code == 403
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"redirect_uris": ["http://permisos.te.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["https://permisos.te.example/cb#top"]}, "redirect_uris"),
        ({"redirect_uris": ["https://*.te.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["not an address"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "jwks"),
        (
            {
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
            },
            "jwks",
        ),
        (
            {"claims": [{"claim": "shoe_size", "purpose_es": "Porque sí.", "purpose_en": "Because."}]},
            "claims",
        ),
        ({"scopes": ["email"]}, "scopes"),
        ({"client_id": "Bad Id!"}, "client_id"),
        ({"backchannel_logout_uri": "ftp://te.example/logout"}, "backchannel_logout_uri"),
        ({"minimum_level": "extreme"}, "minimum_level"),
    ],
)
def test_a_wrong_registration_gets_a_clear_422(api_client_for, operator, small_catalogue, changes, field):
    answer = post_json(api_client_for(operator), URL, registration(**changes))
    assert answer.status_code == 422, answer.json()
    errors = answer.json()["errors"]
    assert any(e["field"].split(".")[0] == field for e in errors), errors
    assert all(e["message"] for e in errors)


def test_a_private_key_in_the_jwks_is_refused(api_client_for, operator, small_catalogue, rp_keys):
    body = registration(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [rp_keys["private_jwk"]]})
    answer = post_json(api_client_for(operator), URL, body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "jwks"
    body["jwks"] = {"keys": [rp_keys["public_jwk"]]}
    created = post_json(api_client_for(operator), URL, body)
    assert created.status_code == 201 and created.json()["client_secret"] is None


def test_a_client_id_already_taken_is_refused(api_client_for, operator, small_catalogue):
    api = api_client_for(operator)
    assert post_json(api, URL, registration()).status_code == 201
    answer = post_json(api, URL, registration())
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "client_id"


def test_rotating_the_secret_replaces_it_at_once(api_client_for, integrator, small_catalogue):
    api = api_client_for(integrator)
    old = post_json(api, URL, registration()).json()["client_secret"]
    new = api.post(f"{URL}/permisos-te/secret").json()["client_secret"]
    service = RelyingParty.objects.get(client_id="permisos-te")
    assert services.check_client_secret(service, new) and not services.check_client_secret(service, old)


def test_switching_to_private_key_jwt_needs_keys_and_such_a_service_has_no_secret(
    api_client_for, integrator, small_catalogue, rp_keys
):
    api = api_client_for(integrator)
    post_json(api, URL, registration())
    refused = patch_json(api, f"{URL}/permisos-te", {"token_endpoint_auth_method": "private_key_jwt"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "jwks"

    changes = {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [rp_keys["public_jwk"]]}}
    assert patch_json(api, f"{URL}/permisos-te", changes).status_code == 200
    assert api.post(f"{URL}/permisos-te/secret").status_code == 422
