"""Businesses: a person declares they represent one (RUC and DV checked), a registrar confirms it, and only
then may the person act for it; what they do is recorded as done for the business."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory

from ventanilla.core.models import AuditEntry
from ventanilla.identity import selectors, services
from ventanilla.identity.models import Business, Representation, StaffRole

from .helpers import session_of, sign_in

pytestmark = pytest.mark.usefixtures("fast_passwords")

RUC, DV = "155596713-2-2015", "59"


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def registrar(make_citizen):
    official = make_citizen()
    StaffRole.objects.create(user=official, role=StaffRole.Role.REGISTRAR, place="InfoPlaza de Chitré")
    return official


def declare(client, *, ruc=RUC, dv=DV, name="Cafetería La Esquina, S.A."):
    return client.post("/cuenta/empresas/nueva/", {"ruc": ruc, "dv": dv, "name": name})


def confirm(representation, official):
    return services.confirm_representation(
        representation_id=representation.public_id, official=official, actor=selectors.actor_for(official)
    )


def test_declaring_a_business_records_a_pending_representation_once(make_citizen):
    client = sign_in(make_citizen())
    assert declare(client, ruc=" 155596713 - 2 - 2015 ")["Location"] == "/cuenta/empresas/"
    declare(client)
    business = Business.objects.get()
    assert (business.ruc, business.dv, business.name) == (RUC, DV, "Cafetería La Esquina, S.A.")
    representation = Representation.objects.get()
    assert representation.status == Representation.Status.PENDING
    assert "Waiting for confirmation" in client.get("/en/cuenta/empresas/").content.decode()
    assert AuditEntry.objects.filter(action="identity.representation_declared").count() == 1


@pytest.mark.parametrize(("ruc", "dv"), [(RUC, "58"), ("no es un ruc", "59"), (RUC, "x")])
def test_a_wrong_ruc_or_dv_is_answered_with_a_message(make_citizen, ruc, dv):
    response = declare(sign_in(make_citizen()), ruc=ruc, dv=dv)
    assert response.status_code == 200 and response.context["form"].errors
    assert not Business.objects.exists()


def test_only_a_registrar_confirms(make_citizen, registrar):
    client = sign_in(make_citizen())
    declare(client)
    representation = Representation.objects.get()
    with pytest.raises(PermissionDenied):
        confirm(representation, make_citizen())
    confirm(representation, registrar)
    representation.refresh_from_db()
    assert (representation.status, representation.confirmed_by) == ("confirmed", registrar)
    with pytest.raises(ValidationError):
        confirm(representation, registrar)  # not pending any more
    assert AuditEntry.objects.filter(action="identity.representation_confirmed").count() == 1


def test_acting_for_a_business_needs_a_confirmed_representation(make_citizen, registrar):
    owner = make_citizen()
    client = sign_in(owner)
    declare(client)
    business, representation = Business.objects.get(), Representation.objects.get()
    choice = {"acting_for": f"business:{business.public_id}"}

    refused = client.post("/cuenta/actuar-como/", choice)
    assert refused.status_code == 200 and refused.context["form"].non_field_errors()
    assert session_of(client).acting_for == {}

    confirm(representation, registrar)
    assert client.post("/cuenta/actuar-como/", choice).status_code == 302
    request = RequestFactory().get("/")
    request.session, request.user = client.session, owner
    actor = selectors.actor_for_request(request)
    assert actor.on_behalf_of == f"business:{business.public_id}"
    assert selectors.may_act(request, "payments")
    assert "Cafetería La Esquina" in client.get("/tramites/").content.decode()


def test_ending_the_representation_ends_the_right_to_act(make_citizen, registrar):
    owner = make_citizen()
    client = sign_in(owner)
    declare(client)
    business, representation = Business.objects.get(), Representation.objects.get()
    confirm(representation, registrar)
    client.post("/cuenta/actuar-como/", {"acting_for": f"business:{business.public_id}"})
    assert client.post(f"/cuenta/empresas/{representation.public_id}/terminar/").status_code == 302

    request = RequestFactory().get("/")
    request.session, request.user = client.session, owner
    assert not selectors.may_act(request, "cases")
    assert "You can no longer act for" in client.get("/en/tramites/").content.decode()


def test_nobody_else_ends_or_uses_a_representation(make_citizen, registrar):
    owner_client = sign_in(make_citizen())
    declare(owner_client)
    business, representation = Business.objects.get(), Representation.objects.get()
    confirm(representation, registrar)
    stranger = sign_in(make_citizen())
    assert "Cafetería" not in stranger.get("/cuenta/empresas/").content.decode()
    assert stranger.post(f"/cuenta/empresas/{representation.public_id}/terminar/").status_code == 404
    refused = stranger.post("/cuenta/actuar-como/", {"acting_for": f"business:{business.public_id}"})
    assert refused.status_code == 200 and session_of(stranger).acting_for == {}
    representation.refresh_from_db()
    assert representation.status == "confirmed"
