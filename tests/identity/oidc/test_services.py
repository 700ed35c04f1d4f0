"""The provider's writes: what a consent keeps, what a session's end does to tokens, the demo service."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ventanilla.core.actor import Actor
from ventanilla.identity.models import Consent, OAuthToken, RelyingParty
from ventanilla.identity.oidc import services
from ventanilla.identity.oidc.authorization import AskConsent, OfferedClaim

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def offer(*names, essential=(), offline=False):
    claims = [OfferedClaim(name=n, label=n, purpose="", essential=n in essential) for n in names]
    return AskConsent(claims=claims, offline_access=offline)


def test_a_consent_keeps_what_was_agreed_before_and_not_shown_again(register_service, make_citizen):
    service, person = register_service(), make_citizen()
    first = services.grant_consent(
        user=person,
        service=service,
        offer=offer("given_name", "email", essential=("given_name",), offline=True),
        chosen={"email"},
        offline_access=True,
        scopes=["openid", "profile", "email", "offline_access"],
        actor=ACTOR,
    )
    assert first.claims == ["email", "given_name"] and "offline_access" in first.scopes

    second = services.grant_consent(
        user=person,
        service=service,
        offer=offer("ventanilla:document_number"),
        chosen=set(),
        offline_access=False,
        scopes=["openid", "document"],
        actor=ACTOR,
    )
    assert second.claims == ["email", "given_name"]  # the document number was refused; the rest kept
    assert set(second.scopes) == {"openid", "profile", "email", "document", "offline_access"}
    assert Consent.objects.filter(user=person, revoked_at__isnull=True).get() == second

    third = services.grant_consent(
        user=person,
        service=service,
        offer=offer("email", offline=True),
        chosen=set(),
        offline_access=False,
        scopes=["openid", "email", "offline_access"],
        actor=ACTOR,
    )
    assert third.claims == ["given_name"] and "offline_access" not in third.scopes


def test_a_session_ending_revokes_its_tokens_but_offline_access_survives(register_service, make_citizen):
    from ventanilla.identity.models import AccountSession

    service, person = register_service(backchannel_logout_uri="https://svc.example/logout"), make_citizen()
    session = AccountSession.objects.create(user=person, session_key="k1", auth_time=timezone.now())
    common = {
        "service": service,
        "user": person,
        "session": session,
        "scope": "openid",
        "claims": {},
        "level": "low",
    }
    online = services.save_tokens(**common, access_token="a1", refresh_token=None)
    offline = services.save_tokens(**common, access_token="a2", refresh_token="r2")

    told = services.end_session_tokens(sid=str(session.id))

    assert told == [service]
    online.refresh_from_db(), offline.refresh_from_db()
    assert online.revoked_at is not None
    assert offline.revoked_at is None and offline.expires_at <= timezone.now()
    assert services.redeem_refresh_token(refresh_token="r2", service=service) is None  # no offline consent


def test_codes_expire_and_assertions_are_remembered(register_service):
    service = register_service()
    later = timezone.now() + timedelta(minutes=1)
    assert services.remember_assertion(service=service, jti="one", expires_at=later)
    assert not services.remember_assertion(service=service, jti="one", expires_at=later)
    assert services.remember_assertion(service=register_service("other"), jti="one", expires_at=later)
    assert not OAuthToken.objects.exists()


def test_the_demo_service_is_documented_and_made_once():
    first = services.ensure_demo_service(actor=ACTOR)
    again = services.ensure_demo_service(actor=ACTOR)
    assert first.pk == again.pk and RelyingParty.objects.count() == 1
    assert again.client_id == "demo-rp" and again.sector == "demo"
    assert again.redirect_uris == ["http://127.0.0.1:9000/callback", "http://localhost:9000/callback"]
    assert again.token_endpoint_auth_method == "client_secret_basic"
    assert services.check_client_secret(again, services.DEMO_CLIENT_SECRET)
