"""Delegations: a person lets another act for them within scopes until a date; the delegator revokes, the
delegate may decline; acting for the delegator is limited to live delegations and their scopes, and recorded
as "X for Y"."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from ventanilla.core import audit
from ventanilla.core.models import AuditEntry
from ventanilla.identity import selectors
from ventanilla.identity.models import Delegation

from .helpers import session_of, sign_in

pytestmark = pytest.mark.usefixtures("run_tasks_immediately", "fast_passwords")


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def in_days(days: int) -> dict:
    day = timezone.localdate() + timedelta(days=days)
    return {"expires_on_day": day.day, "expires_on_month": day.month, "expires_on_year": day.year}


def grant(client, delegate, *, scopes=("cases",), until=30):
    return client.post(
        "/cuenta/delegaciones/nueva/",
        {"delegate": delegate.username, "scopes": list(scopes), **in_days(until)},
    )


def request_of(client):
    """A request carrying the client's session, to ask the selectors what it may do."""
    request = RequestFactory().get("/")
    request.session = client.session
    request.user = session_of(client).user
    return request


def test_a_person_lets_another_act_for_them_and_the_delegate_is_told(make_citizen):
    mother, son = make_citizen(), make_citizen(language="en")
    client = sign_in(mother)
    assert grant(client, son, scopes=["cases", "payments"])["Location"] == "/cuenta/delegaciones/"
    delegation = Delegation.objects.get()
    assert (delegation.delegator, delegation.delegate, delegation.scopes) == (
        mother,
        son,
        ["cases", "payments"],
    )
    assert timezone.localtime(delegation.expires_at).date() == timezone.localdate() + timedelta(days=31)
    [message] = mail.outbox
    assert message.to == [son.email] and str(mother) in message.subject
    assert "See and pay what I owe" in message.body and "/en/cuenta/delegaciones/" in message.body
    assert str(son) in client.get("/cuenta/delegaciones/").content.decode()
    assert str(mother) in sign_in(son).get("/cuenta/delegaciones/").content.decode()
    assert AuditEntry.objects.filter(action="identity.delegation_granted").exists()


def test_an_unknown_cedula_and_an_unverified_account_get_the_same_answer(client, make_citizen):
    unverified = make_citizen()
    unverified.is_active, unverified.email_verified_at = False, None
    unverified.save()
    client = sign_in(make_citizen())
    unknown = client.post(
        "/cuenta/delegaciones/nueva/", {"delegate": "8-999-9999", "scopes": ["cases"], **in_days(5)}
    )
    inactive = grant(client, unverified)
    assert unknown.context["form"].errors["delegate"] == inactive.context["form"].errors["delegate"]
    assert "primero se registre" in unknown.context["form"].errors["delegate"][0]
    assert not Delegation.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"until": 0}, "expires_on"),
        ({"until": -3}, "expires_on"),
        ({"until": 400}, "expires_on"),
        ({"scopes": ()}, "scopes"),
        ({"scopes": ("everything",)}, "scopes"),
    ],
)
def test_scopes_and_expiry_are_checked(make_citizen, changes, field):
    client, delegate = sign_in(make_citizen()), make_citizen()
    response = grant(client, delegate, **changes)
    assert response.status_code == 200 and response.context["form"].errors[field]
    assert not Delegation.objects.exists()


def test_nobody_delegates_to_themselves(make_citizen):
    citizen = make_citizen()
    response = grant(sign_in(citizen), citizen)
    assert response.context["form"].errors["delegate"]


def test_the_delegator_revokes_and_the_delegate_declines(make_citizen):
    mother, son, daughter = make_citizen(), make_citizen(), make_citizen()
    mother_client = sign_in(mother)
    grant(mother_client, son)
    grant(mother_client, daughter)
    to_son, to_daughter = Delegation.objects.order_by("id")
    assert mother_client.post(f"/cuenta/delegaciones/{to_son.public_id}/terminar/").status_code == 302
    assert (
        sign_in(daughter).post(f"/cuenta/delegaciones/{to_daughter.public_id}/terminar/").status_code == 302
    )
    to_son.refresh_from_db()
    to_daughter.refresh_from_db()
    assert to_son.revoked_at and to_daughter.revoked_at
    assert AuditEntry.objects.filter(action="identity.delegation_revoked").count() == 1
    assert AuditEntry.objects.filter(action="identity.delegation_declined").count() == 1
    assert "Ended" in mother_client.get("/en/cuenta/delegaciones/").content.decode()


def test_nobody_else_sees_or_ends_a_delegation(make_citizen):
    mother, son, stranger = make_citizen(), make_citizen(), make_citizen()
    grant(sign_in(mother), son)
    delegation = Delegation.objects.get()
    stranger_client = sign_in(stranger)
    assert str(mother) not in stranger_client.get("/cuenta/delegaciones/").content.decode()
    assert stranger_client.post(f"/cuenta/delegaciones/{delegation.public_id}/terminar/").status_code == 404
    delegation.refresh_from_db()
    assert delegation.revoked_at is None


def test_acting_for_a_delegator_is_limited_to_the_scopes_and_recorded(make_citizen):
    mother, son = make_citizen(), make_citizen()
    grant(sign_in(mother), son, scopes=["cases"])
    client = sign_in(son)
    choices = client.get("/cuenta/actuar-como/").context["choices"]
    assert [choice["value"] for choice in choices] == ["self", f"person:{mother.public_id}"]

    response = client.post("/cuenta/actuar-como/", {"acting_for": f"person:{mother.public_id}"})
    assert response.status_code == 302
    assert session_of(client).acting_for == {"kind": "person", "id": str(mother.public_id)}
    page = client.get("/en/tramites/").content.decode()
    assert "You are acting for <strong>" + str(mother) in page and "Stop" in page

    request = request_of(client)
    assert selectors.may_act(request, "cases")
    assert not selectors.may_act(request, "payments")
    actor = selectors.actor_for_request(request)
    assert (actor.id, actor.on_behalf_of) == (f"user:{son.public_id}", f"user:{mother.public_id}")
    entry = audit.record(actor=actor, action="test.done", object_type="test", object_id="1")
    assert entry.on_behalf_of == f"user:{mother.public_id}"

    client.post("/cuenta/actuar-como/", {"acting_for": "self"})
    assert session_of(client).acting_for == {}
    assert "You are acting for <strong>" not in client.get("/en/tramites/").content.decode()


def test_an_expired_or_revoked_delegation_gives_no_right_to_act(make_citizen):
    mother, son = make_citizen(), make_citizen()
    grant(sign_in(mother), son, scopes=["cases", "documents"])
    client = sign_in(son)
    client.post("/cuenta/actuar-como/", {"acting_for": f"person:{mother.public_id}"})
    Delegation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    request = request_of(client)
    assert not selectors.may_act(request, "cases") and not selectors.may_act(request, "documents")
    assert "You can no longer act for" in client.get("/en/tramites/").content.decode()
    again = client.post("/cuenta/actuar-como/", {"acting_for": f"person:{mother.public_id}"})
    assert again.status_code == 200 and again.context["form"].non_field_errors()
    assert "Expired" in client.get("/en/cuenta/delegaciones/").content.decode()


def test_nobody_acts_for_someone_who_did_not_delegate_to_them(make_citizen):
    mother, stranger = make_citizen(), make_citizen()
    client = sign_in(stranger)
    response = client.post("/cuenta/actuar-como/", {"acting_for": f"person:{mother.public_id}"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert client.post("/cuenta/actuar-como/", {"acting_for": "person:nonsense"}).status_code == 200
    assert session_of(client).acting_for == {}


def test_unknown_scopes_are_a_programming_error(make_citizen):
    with pytest.raises(ValueError, match="unknown scope"):
        selectors.may_act(request_of(sign_in(make_citizen())), "everything")
