"""`ventanilla oidc`: keys, registrations and the demo service from the command line."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ventanilla.identity.models import RelyingParty, SigningKey
from ventanilla.identity.oidc import services

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("oidc", *args, stdout=out)
    return out.getvalue()


def test_register_prints_the_secret_once_and_refuses_bad_addresses():
    printed = run(
        "register",
        "--client-id",
        "citas",
        "--name-es",
        "Citas",
        "--name-en",
        "Appointments",
        "--redirect-uri",
        "https://citas.example/cb",
        "--auth-method",
        "client_secret_basic",
        "--claim",
        '{"claim": "email", "essential": true, "purpose_es": "Avisos.", "purpose_en": "Notices."}',
    )
    secret = printed.split("client_secret (shown once): ")[1].strip()
    assert services.check_client_secret(RelyingParty.objects.get(client_id="citas"), secret)
    with pytest.raises(CommandError, match="redirect_uris"):
        run(
            "register",
            "--client-id",
            "otra",
            "--name-es",
            "O",
            "--name-en",
            "O",
            "--redirect-uri",
            "http://x.example/",
        )


def test_rotate_keys_and_the_demo_service_and_discovery(settings):
    run("rotate-keys")
    run("rotate-keys")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    assert "demo-rp-secret-for-local-tries-only" in run("demo-service")
    assert json.loads(run("discovery"))["issuer"] == settings.VENTANILLA_PUBLIC_URL
