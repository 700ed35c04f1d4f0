"""Registering online services (OpenID Connect relying parties) through the API: operators manage every service,
an institution's integrators only their institution's."""

from datetime import datetime
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from ventanilla.catalogue import selectors as catalogue

from ..auth import TokenAuth
from ..selectors import actor_for
from . import selectors, services

router = Router(tags=["identity"], auth=TokenAuth())

Level = Literal["low", "substantial", "high"]
AuthMethod = Literal["private_key_jwt", "client_secret_basic"]
SubjectType = Literal["pairwise", "public"]


class ClaimRequest(Schema):
    claim: str = Field(description="A claim name from the discovery document's claims_supported.")
    essential: bool = Field(False, description="Essential claims cannot be refused on the consent page.")
    purpose_es: str = Field(min_length=3, max_length=300, description="Why the service needs it, in Spanish.")
    purpose_en: str = Field(min_length=3, max_length=300, description="Why the service needs it, in English.")


class RelyingPartyFields(Schema):
    name_es: str = Field(min_length=2, max_length=200)
    name_en: str = Field(min_length=2, max_length=200)
    institution: str | None = Field(None, max_length=40, description="Code of the institution running it.")
    redirect_uris: list[str] = Field(
        min_length=1, max_length=20, description="Exact addresses: https, or http on 127.0.0.1/localhost."
    )
    post_logout_redirect_uris: list[str] = Field([], max_length=20)
    backchannel_logout_uri: str = Field("", max_length=200)
    sector: str = Field("", max_length=200, description="Default: the institution's code.")
    subject_type: SubjectType = "pairwise"
    token_endpoint_auth_method: AuthMethod = "private_key_jwt"  # noqa: S105 (a method's name)
    jwks: dict = Field({}, description="The service's public keys, for private_key_jwt.")
    jwks_uri: str = Field("", max_length=200)
    scopes: list[str] | None = Field(None, description="Default: openid and the scopes of the claims.")
    claims: list[ClaimRequest] = []
    minimum_level: Level = "low"


class RelyingPartyIn(RelyingPartyFields):
    client_id: str | None = Field(
        None, pattern=services.CLIENT_ID_PATTERN, description="Default: one is made."
    )


class RelyingPartyChanges(Schema):
    name_es: str | None = Field(None, min_length=2, max_length=200)
    name_en: str | None = Field(None, min_length=2, max_length=200)
    institution: str | None = Field(None, max_length=40)
    redirect_uris: list[str] | None = Field(None, min_length=1, max_length=20)
    post_logout_redirect_uris: list[str] | None = Field(None, max_length=20)
    backchannel_logout_uri: str | None = Field(None, max_length=200)
    sector: str | None = Field(None, min_length=1, max_length=200)
    subject_type: SubjectType | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    jwks: dict | None = None
    jwks_uri: str | None = Field(None, max_length=200)
    scopes: list[str] | None = None
    claims: list[ClaimRequest] | None = None
    minimum_level: Level | None = None
    active: bool | None = None


class RelyingPartyOut(Schema):
    client_id: str
    name_es: str
    name_en: str
    institution: str | None
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    backchannel_logout_uri: str
    sector: str
    subject_type: str
    token_endpoint_auth_method: str
    jwks: dict
    jwks_uri: str
    scopes: list[str]
    claims: list[dict]
    minimum_level: str
    active: bool
    created_at: datetime
    client_secret: str | None = Field(None, description="Only when one was just made: shown once.")


class SecretOut(Schema):
    client_id: str
    client_secret: str


def _out(registration_or_service) -> dict:
    service = getattr(registration_or_service, "service", registration_or_service)
    fields = {name: getattr(service, name) for name in RelyingPartyOut.model_fields if hasattr(service, name)}
    fields["institution"] = service.institution.code if service.institution else None
    fields["client_secret"] = getattr(registration_or_service, "client_secret", None)
    return fields


def _institution(code: str | None):
    if not code:
        return None
    institution = catalogue.institution_by_code(code)
    if institution is None:
        raise ValidationError(
            {"institution": _("There is no institution with the code %(code)s.") % {"code": code}}
        )
    return institution


def _require_registrar(user) -> None:
    if not selectors.may_register_services(user):
        raise PermissionDenied(_("Only operators and an institution's integrators may register services."))


def _check_institution(user, institution) -> None:
    if not selectors.may_manage(user, institution):
        raise PermissionDenied(_("You may register services only for the institutions you integrate."))


def _managed(request, client_id: str):
    _require_registrar(request.user)
    service = selectors.services_managed_by(request.user).filter(client_id=client_id).first()
    if service is None:
        raise Http404(_("There is no service with the client_id %(id)s that you manage.") % {"id": client_id})
    return service


def _fields(body: Schema, *, exclude_unset: bool) -> dict:
    data = body.dict(exclude_unset=exclude_unset)
    if "claims" in data and data["claims"] is not None:
        data["claims"] = [dict(c) for c in data["claims"]]
    if data.get("scopes") is None:
        data.pop("scopes", None)
    return data


@router.post(
    "/relying-parties",
    response={201: RelyingPartyOut},
    summary="Register a service that signs people in (a client_secret_basic one gets its secret, shown once)",
)
def register(request, body: RelyingPartyIn):
    _require_registrar(request.user)
    fields = _fields(body, exclude_unset=False)
    fields["institution"] = _institution(fields.get("institution"))
    _check_institution(request.user, fields["institution"])
    if fields.get("client_id") is None:
        fields.pop("client_id")
    registration = services.register_relying_party(
        actor=actor_for(request.user, channel="api"), created_by=request.user, **fields
    )
    return Status(201, _out(registration))


@router.get("/relying-parties", response=list[RelyingPartyOut], summary="The services you manage")
def list_services(request):
    _require_registrar(request.user)
    return [_out(service) for service in selectors.services_managed_by(request.user)]


@router.get("/relying-parties/{client_id}", response=RelyingPartyOut, summary="One service you manage")
def get_service(request, client_id: str):
    return _out(_managed(request, client_id))


@router.patch("/relying-parties/{client_id}", response=RelyingPartyOut, summary="Change a service you manage")
def update_service(request, client_id: str, body: RelyingPartyChanges):
    service = _managed(request, client_id)
    changes = {k: v for k, v in _fields(body, exclude_unset=True).items() if v is not None}
    if "institution" in body.model_fields_set:
        changes["institution"] = _institution(body.institution)
        _check_institution(request.user, changes["institution"])
    registration = services.update_relying_party(
        service=service, changes=changes, actor=actor_for(request.user, channel="api")
    )
    return _out(registration)


@router.post(
    "/relying-parties/{client_id}/secret",
    response=SecretOut,
    summary="Replace the client secret (the old one stops working at once; the new one is shown once)",
)
def rotate_secret(request, client_id: str):
    service = _managed(request, client_id)
    secret = services.rotate_client_secret(service=service, actor=actor_for(request.user, channel="api"))
    return {"client_id": service.client_id, "client_secret": secret}
