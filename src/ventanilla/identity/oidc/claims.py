"""What a service may learn about a person: the claims we offer, the scopes that group them, the subject
identifier each service sees, and the `claims` request parameter.

A service receives a claim only when all three hold: it registered the claim (RelyingParty.claims, with the
purpose shown to the person), the person consented to it, and this sign-in requested it (by scope or by the
`claims` parameter).
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..authn import level_from_acr
from ..models import RelyingParty, Representation, User

# Our own claims carry this prefix so they never collide with registered OpenID Connect claim names.
PREFIX = "ventanilla:"


@dataclass(frozen=True)
class Claim:
    name: str
    scope: str
    label: str
    value: Callable[[User], Any]  # None when the person has not given it


def _text(value) -> str | None:
    return value or None


def _representation(user: User) -> list[dict] | None:
    businesses = [
        {"ruc": r.business.ruc, "dv": r.business.dv, "name": r.business.name}
        for r in user.representations.filter(status=Representation.Status.CONFIRMED).select_related(
            "business"
        )
    ]
    return businesses or None


_CLAIMS = [
    Claim("given_name", "profile", _("Given names"), lambda u: _text(u.first_name)),
    Claim("family_name", "profile", _("Surnames"), lambda u: _text(u.last_name)),
    Claim("name", "profile", _("Full name"), lambda u: _text(u.get_full_name())),
    Claim(
        "birthdate",
        "profile",
        _("Date of birth"),
        lambda u: u.birth_date.isoformat() if u.birth_date else None,
    ),
    Claim("locale", "profile", _("Preferred language"), lambda u: _text(u.preferred_language)),
    Claim("email", "email", _("Email address"), lambda u: _text(u.email)),
    Claim(
        "email_verified",
        "email",
        _("Whether the email address is verified"),
        lambda u: bool(u.email_verified_at),
    ),
    Claim("phone_number", "phone", _("Mobile phone number"), lambda u: _text(u.phone)),
    Claim(
        "phone_number_verified",
        "phone",
        _("Whether the phone number is verified"),
        lambda u: bool(u.phone_verified_at) if u.phone else None,
    ),
    Claim(
        PREFIX + "document_type", "document", _("Type of identity document"), lambda u: _text(u.document_type)
    ),
    Claim(
        PREFIX + "document_number",
        "document",
        _("Identity document number"),
        lambda u: _text(u.document_number),
    ),
    Claim(PREFIX + "nationality", "document", _("Nationality"), lambda u: _text(u.nationality)),
    Claim(
        PREFIX + "identity_verified",
        "document",
        _("Whether your identity was checked in person"),
        lambda u: bool(u.identity_verified_at),
    ),
    Claim(PREFIX + "representation", "representation", _("Businesses you represent"), _representation),
]
CLAIMS: dict[str, Claim] = {claim.name: claim for claim in _CLAIMS}

SCOPES = {
    "openid": _("Know that it is you (an identifier only this kind of service sees)"),
    "profile": _("Your name, date of birth and language"),
    "email": _("Your email address"),
    "phone": _("Your mobile phone number"),
    "document": _("Your identity document"),
    "representation": _("The businesses you represent"),
    "offline_access": _("Keep access to your details while you are not signed in"),
}
OFFLINE_ACCESS = "offline_access"

# Claims about the sign-in itself, always in the ID token (not attributes of the person: nothing to consent to).
PROTOCOL_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash"]


def label(name: str) -> str:
    """The person-facing name of a claim, in the active language (for consent lists)."""
    claim = CLAIMS.get(name)
    return str(claim.label) if claim else name


def scope_claims(scopes) -> set[str]:
    wanted = set(scopes)
    return {claim.name for claim in _CLAIMS if claim.scope in wanted}


def values(user: User, names) -> dict:
    """The available values of these claims for a person, in the order claims are defined."""
    result = {}
    for claim in _CLAIMS:
        if claim.name in names:
            value = claim.value(user)
            if value is not None:
                result[claim.name] = value
    return result


# --- Subject identifiers -------------------------------------------------------------------------------


@cache
def _pairwise_key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ventanilla oidc pairwise subjects"
    ).derive(secret_key.encode())


def subject(user: User, service: RelyingParty) -> str:
    """What a service knows the person as: by default a pairwise identifier, the same for every service of one
    sector and unrelated across sectors (so services of different sectors cannot link their records)."""
    if service.subject_type == RelyingParty.SubjectType.PUBLIC:
        return str(user.public_id)
    digest = hmac.new(
        _pairwise_key(settings.SECRET_KEY), f"{service.sector}{user.public_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- The `claims` request parameter (OpenID Connect Core §5.5) ------------------------------------------


@dataclass(frozen=True)
class ClaimsRequest:
    userinfo: dict
    id_token: dict

    def names(self, member: str) -> set[str]:
        """Known person claims asked for in one member ("userinfo" or "id_token")."""
        return {name for name in getattr(self, member) if name in CLAIMS}

    def acr_levels(self) -> list[str]:
        """Levels of assurance asked for with an `acr` member of the ID token request."""
        request = self.id_token.get("acr") or {}
        wanted = request.get("values") or ([request["value"]] if "value" in request else [])
        if not isinstance(wanted, list):
            return []
        return [level for level in (level_from_acr(v) for v in wanted if isinstance(v, str)) if level]


def parse_claims_request(raw: str | None) -> ClaimsRequest:
    """Raises ValueError for anything that is not the JSON object the specification describes."""
    if not raw:
        return ClaimsRequest(userinfo={}, id_token={})
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("The 'claims' parameter is not valid JSON.") from error
    if not isinstance(data, dict):
        raise ValueError("The 'claims' parameter must be a JSON object.")
    members = {}
    for member in ("userinfo", "id_token"):
        requested = data.get(member) or {}
        if not isinstance(requested, dict) or not all(
            v is None or isinstance(v, dict) for v in requested.values()
        ):
            raise ValueError(f"The '{member}' member of 'claims' must map claim names to null or an object.")
        members[member] = {name: value or {} for name, value in requested.items()}
    return ClaimsRequest(**members)
