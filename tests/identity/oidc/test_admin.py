"""Operators register services in the admin too: the same checks as the API, the secret shown once."""

import json

import pytest
from django.contrib.messages import get_messages

from tests.identity.helpers import sign_in_with_second_factor
from ventanilla.identity.models import RelyingParty, User
from ventanilla.identity.oidc import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, make_citizen):
    operator = make_citizen(level="substantial")
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    return sign_in_with_second_factor(operator, client=client)


def form(**changes):
    data = {
        "client_id": "licencias",
        "name_es": "Licencias",
        "name_en": "Licences",
        "institution": "",
        "redirect_uris": json.dumps(["https://licencias.example/callback"]),
        "post_logout_redirect_uris": "[]",
        "backchannel_logout_uri": "",
        "sector": "",
        "subject_type": "pairwise",
        "token_endpoint_auth_method": "client_secret_basic",
        "jwks": "{}",
        "jwks_uri": "",
        "scopes": json.dumps(["openid", "email"]),
        "claims": "[]",
        "minimum_level": "low",
        "active": "on",
    }
    data.update(changes)
    return data


def test_adding_a_service_shows_its_secret_once(operator_client):
    answer = operator_client.post("/admin/identity/relyingparty/add/", form())
    assert answer.status_code == 302, answer.content.decode()[:2000]
    service = RelyingParty.objects.get(client_id="licencias")
    assert service.sector == "licencias"
    shown = next(str(m) for m in get_messages(answer.wsgi_request) if "shown only now" in str(m))
    secret = shown.split("shown only now: ")[1].split(" ")[0]
    assert services.check_client_secret(service, secret)


def test_the_admin_refuses_what_the_api_refuses(operator_client):
    answer = operator_client.post(
        "/admin/identity/relyingparty/add/", form(redirect_uris=json.dumps(["http://licencias.example/cb"]))
    )
    assert answer.status_code == 200 and not RelyingParty.objects.exists()
    assert "debe usar https" in answer.content.decode()  # the admin speaks the default language
