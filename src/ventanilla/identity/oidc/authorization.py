"""Our policy for an authorization request, once Authlib has checked the protocol (client, redirect URI,
response type, PKCE challenge, scope, nonce).

`decide` answers what the person must do before the service gets a code: sign in, sign in again, step up to a
higher level of assurance (or learn that the level cannot be reached online), consent, or nothing. It reads and
never writes; the views act on the answer.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, InteractionRequiredError, LoginRequiredError
from django.core import signing
from django.utils import timezone

from ventanilla.core.i18n import localized

from .. import authn
from ..authn import Authentication
from ..models import Consent, Level, RelyingParty
from . import claims as claim_catalogue
from .claims import OFFLINE_ACCESS, ClaimsRequest

# Added to the authorization URL when the person is sent to sign in again (prompt=login, max_age): a signed
# time after which the sign-in must have happened, so the request is not sent round again once it has.
FRESH_SIGN_IN_PARAMETER = "ventanilla_fresh_after"
_FRESH_SALT = "ventanilla.oidc.fresh-sign-in"


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core errata: the level of assurance asked for cannot be met."""

    error = "unmet_authentication_requirements"


@dataclass(frozen=True)
class Ask:
    """What an authorization request asks of us, beyond the protocol parameters Authlib validated."""

    scopes: list[str]
    claims: ClaimsRequest
    prompts: set[str]
    max_age: int | None
    acr_levels: list[str]  # requested levels of assurance (known acr values only)
    fresh_after: datetime | None

    @property
    def claim_names(self) -> set[str]:
        return (
            claim_catalogue.scope_claims(self.scopes)
            | self.claims.names("userinfo")
            | self.claims.names("id_token")
        )


def fresh_sign_in_marker(now: datetime) -> str:
    return signing.dumps(now.timestamp(), salt=_FRESH_SALT)


def parse(data: dict, *, scope: str) -> Ask:
    """`data`: the request parameters; `scope`: the scope Authlib allowed for the client."""
    try:
        claims_request = claim_catalogue.parse_claims_request(data.get("claims"))
    except ValueError as error:
        raise InvalidRequestError(str(error)) from None
    max_age = data.get("max_age")
    if max_age is not None:
        if not (max_age.isascii() and max_age.isdigit()):
            raise InvalidRequestError("'max_age' must be a number of seconds.")
        max_age = int(max_age)
    acr_levels = [
        level for level in (authn.level_from_acr(v) for v in (data.get("acr_values") or "").split()) if level
    ]
    fresh_after = None
    if marker := data.get(FRESH_SIGN_IN_PARAMETER):
        try:
            fresh_after = datetime.fromtimestamp(signing.loads(marker, salt=_FRESH_SALT), tz=UTC)
        except (signing.BadSignature, TypeError, ValueError, OverflowError):
            raise InvalidRequestError(f"'{FRESH_SIGN_IN_PARAMETER}' is not valid.") from None
    return Ask(
        scopes=scope.split(),
        claims=claims_request,
        prompts=set((data.get("prompt") or "").split()),
        max_age=max_age,
        acr_levels=acr_levels + claims_request.acr_levels(),
        fresh_after=fresh_after,
    )


# --- Outcomes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    again: bool  # signed in already, but the service wants a fresh sign-in


@dataclass(frozen=True)
class StepUp:
    level: str


@dataclass(frozen=True)
class Unreachable:
    """The service needs a level this person cannot reach online (identity not checked in person)."""

    level: str


@dataclass(frozen=True)
class OfferedClaim:
    name: str
    label: str
    purpose: str
    essential: bool


@dataclass(frozen=True)
class AskConsent:
    claims: list[OfferedClaim]
    offline_access: bool

    @property
    def essential(self) -> list[OfferedClaim]:
        return [c for c in self.claims if c.essential]

    @property
    def optional(self) -> list[OfferedClaim]:
        return [c for c in self.claims if not c.essential]


@dataclass(frozen=True)
class Grant:
    """Everything the authorization code carries into the tokens."""

    authentication: Authentication
    scope: str
    id_token_claims: list[str]
    userinfo_claims: list[str]
    level: str  # the level asserted to the service (its acr)


def _highest(levels) -> str:
    return max(levels, key=lambda level: authn.ORDER[Level(level)])


def _lowest(levels) -> str:
    return min(levels, key=lambda level: authn.ORDER[Level(level)])


def required_level(service: RelyingParty, ask: Ask) -> str:
    """The service's minimum level, raised to the lowest level it asked for in this request (any requested
    value is acceptable, so the lowest one is what must be reached)."""
    levels = [service.minimum_level]
    if ask.acr_levels:
        levels.append(_lowest(ask.acr_levels))
    return _highest(levels)


def asserted_level(session_level: str, ask: Ask) -> str:
    """The acr put in the ID token: the highest requested value the session satisfies (so it is one of the
    values asked for), or the session's own level when none was asked for."""
    satisfied = [level for level in ask.acr_levels if authn.satisfies(session_level, level)]
    return _highest(satisfied) if satisfied else session_level


def registered_claims(service: RelyingParty) -> dict[str, dict]:
    return {c["claim"]: c for c in service.claims if c.get("claim") in claim_catalogue.CLAIMS}


def live_consent(user, service: RelyingParty) -> Consent | None:
    return Consent.objects.filter(user=user, service=service, revoked_at__isnull=True).first()


def _consent_needed(service: RelyingParty, ask: Ask, consent: Consent | None) -> bool:
    """First sign-in to the service, prompt=consent, or a claim the person was never asked about. An optional
    claim they refused is not asked again while they keep the consent for its scope."""
    if consent is None or "consent" in ask.prompts:
        return True
    registered = registered_claims(service)
    for name in ask.claim_names & registered.keys():
        asked_before = name in consent.claims or (
            not registered[name].get("essential") and claim_catalogue.CLAIMS[name].scope in consent.scopes
        )
        if not asked_before:
            return True
    return False


def consent_offer(service: RelyingParty, ask: Ask) -> AskConsent:
    registered = registered_claims(service)
    wanted = ask.claim_names
    offered = [
        OfferedClaim(
            name=name,
            label=claim_catalogue.label(name),
            purpose=localized(entry, "purpose"),
            essential=bool(entry.get("essential")),
        )
        for name, entry in registered.items()
        if name in wanted
    ]
    return AskConsent(claims=offered, offline_access=OFFLINE_ACCESS in ask.scopes)


def grant(service: RelyingParty, ask: Ask, authentication: Authentication, consent: Consent) -> Grant:
    granted = set(ask.claim_names) & registered_claims(service).keys() & set(consent.claims)
    userinfo = (claim_catalogue.scope_claims(ask.scopes) | ask.claims.names("userinfo")) & granted
    scopes = [s for s in ask.scopes if s != OFFLINE_ACCESS or OFFLINE_ACCESS in consent.scopes]
    return Grant(
        authentication=authentication,
        scope=" ".join(scopes),
        id_token_claims=sorted(ask.claims.names("id_token") & granted),
        userinfo_claims=sorted(userinfo),
        level=asserted_level(authentication.level, ask),
    )


def decide(*, service: RelyingParty, ask: Ask, authentication: Authentication | None):
    """SignIn, StepUp, Unreachable, AskConsent or Grant. With prompt=none, anything that needs the person
    raises the matching OpenID Connect error instead."""
    silent = "none" in ask.prompts
    if authentication is None:
        if silent:
            raise LoginRequiredError()
        return SignIn(again=False)

    fresh_enough = ask.fresh_after is not None and authentication.auth_time >= ask.fresh_after
    too_old = (
        ask.max_age is not None and (timezone.now() - authentication.auth_time).total_seconds() > ask.max_age
    )
    if not fresh_enough and ("login" in ask.prompts or too_old):
        if silent:
            raise LoginRequiredError()
        return SignIn(again=True)

    level = required_level(service, ask)
    if not authn.satisfies(authentication.level, level):
        reachable = authn.satisfies(authn.highest_level_possible(authentication.user), level)
        if silent:
            raise InteractionRequiredError() if reachable else UnmetAuthenticationRequirementsError()
        return StepUp(level) if reachable else Unreachable(level)

    consent = live_consent(authentication.user, service)
    if _consent_needed(service, ask, consent):
        if silent:
            raise ConsentRequiredError()
        return consent_offer(service, ask)
    return grant(service, ask, authentication, consent)
