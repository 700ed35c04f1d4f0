"""Every write of the OpenID Connect provider: relying parties, consents, authorization codes, tokens,
client assertions, sign-ins to services and what a session's end does to its tokens."""

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ventanilla.core import audit
from ventanilla.core.actor import Actor

from ..models import (
    AccountSession,
    AuthorizationCode,
    Consent,
    Level,
    OAuthToken,
    RelyingParty,
    SignInRecord,
    UsedAssertion,
    User,
)
from ..services import token_hash
from .authorization import AskConsent, Grant
from .claims import CLAIMS, OFFLINE_ACCESS, SCOPES

CODE_LIFETIME = timedelta(minutes=2)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
SECRET_PREFIX = "sha256$"  # noqa: S105 (the name of the hash, not a secret)
CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,99}$"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

DEMO_CLIENT_ID = "demo-rp"
DEMO_CLIENT_SECRET = "demo-rp-secret-for-local-tries-only"  # noqa: S105 (documented in the README, local only)
DEMO_REDIRECT_URIS = ["http://127.0.0.1:9000/callback", "http://localhost:9000/callback"]


# --- Relying parties ---------------------------------------------------------------------------------------


def hash_client_secret(secret: str) -> str:
    """Secrets are 256 random bits we generate, so a plain SHA-256 resists any guessing and keeps the token
    endpoint fast (a password hash would add ~100 ms to every sign-in)."""
    return SECRET_PREFIX + token_hash(secret)


def check_client_secret(service: RelyingParty, secret: str) -> bool:
    if not service.client_secret_hash:
        return False
    return hmac.compare_digest(service.client_secret_hash, hash_client_secret(secret))


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _redirect_uri_problem(uri: str) -> str | None:
    if not isinstance(uri, str) or len(uri) > 2000:
        return _("Give each address as text of at most 2,000 characters.")
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return _("%(uri)s is not a valid address.") % {"uri": uri}
    if not hostname or parts.scheme not in ("https", "http"):
        return _("%(uri)s is not a complete https address.") % {"uri": uri}
    if parts.scheme == "http" and hostname not in LOOPBACK_HOSTS:
        return _("%(uri)s must use https (plain http is only allowed for 127.0.0.1 and localhost).") % {
            "uri": uri
        }
    if parts.fragment or "#" in uri:
        return _("%(uri)s must not have a fragment (#…).") % {"uri": uri}
    if "*" in uri:
        return _("%(uri)s: give exact addresses, without wildcards.") % {"uri": uri}
    if parts.username or parts.password:
        return _("%(uri)s must not contain a user name or password.") % {"uri": uri}
    return None


def validate_relying_party(fields: dict, *, instance: RelyingParty | None) -> None:
    """Raises ValidationError with one message per field, for the API (422) and the admin form alike."""
    errors: dict[str, list[str]] = {}

    def problem(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    client_id = fields.get("client_id")
    if client_id is not None and instance is None:
        if not re.fullmatch(CLIENT_ID_PATTERN, client_id):
            problem("client_id", _("Use 3 to 100 lowercase letters, digits, dots, dashes or underscores."))
        elif RelyingParty.objects.filter(client_id=client_id).exists():
            problem("client_id", _("Another service already uses this client_id."))
    for name in ("name_es", "name_en"):
        if name in fields and not (fields[name] or "").strip():
            problem(name, _("Give the service's name in Spanish and in English."))
    if "sector" in fields and not (fields["sector"] or "").strip():
        problem("sector", _("Give the sector: services of one sector see the same identifier for a person."))

    for field in ("redirect_uris", "post_logout_redirect_uris"):
        if field in fields:
            uris = fields[field] or []
            if field == "redirect_uris" and not uris:
                problem(field, _("Give at least one redirect URI."))
            for uri in uris:
                if message := _redirect_uri_problem(uri):
                    problem(field, message)
            if len(set(uris)) != len(uris):
                problem(field, _("Each address may appear only once."))
    for field in ("backchannel_logout_uri", "jwks_uri"):
        if fields.get(field) and (message := _redirect_uri_problem(fields[field])):
            problem(field, message)

    if "scopes" in fields:
        unknown = [s for s in fields["scopes"] if s not in SCOPES]
        if unknown:
            problem("scopes", _("Unknown scopes: %(names)s.") % {"names": ", ".join(unknown)})
        if "openid" not in fields["scopes"]:
            problem("scopes", _("The scopes must include openid."))
    if "claims" in fields:
        seen = set()
        for entry in fields["claims"]:
            name = entry.get("claim")
            if name not in CLAIMS:
                problem("claims", _("Unknown claim: %(name)s.") % {"name": name})
            elif name in seen:
                problem("claims", _("The claim %(name)s appears twice.") % {"name": name})
            if not (entry.get("purpose_es") or "").strip() or not (entry.get("purpose_en") or "").strip():
                problem(
                    "claims",
                    _("Say why the service needs %(name)s, in Spanish and in English.") % {"name": name},
                )
            seen.add(name)
    if "minimum_level" in fields and fields["minimum_level"] not in Level.values:
        problem("minimum_level", _("Choose low, substantial or high."))

    method = fields.get(
        "token_endpoint_auth_method",
        instance.token_endpoint_auth_method if instance else RelyingParty.AuthMethod.PRIVATE_KEY_JWT,
    )
    if method not in RelyingParty.AuthMethod.values:
        problem("token_endpoint_auth_method", _("Choose private_key_jwt or client_secret_basic."))
    jwks = fields.get("jwks", instance.jwks if instance else {})
    jwks_uri = fields.get("jwks_uri", instance.jwks_uri if instance else "")
    if jwks:
        if message := _jwks_problem(jwks):
            problem("jwks", message)
    elif method == RelyingParty.AuthMethod.PRIVATE_KEY_JWT and not jwks_uri:
        problem("jwks", _("With private_key_jwt, give the service's public keys (jwks) or a jwks_uri."))
    if errors:
        raise ValidationError(errors)


def _jwks_problem(jwks) -> str | None:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return _('Give a JSON Web Key Set: {"keys": [ ... ]}.')
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            return _("Each key must be an RSA or EC public key.")
        if "d" in key:
            return _("Give only public keys: one of the keys includes its private part.")
    try:
        KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError):
        return _("The keys could not be read.")
    return None


def _default_scopes(claims: list[dict]) -> list[str]:
    scopes = {"openid"} | {CLAIMS[c["claim"]].scope for c in claims if c.get("claim") in CLAIMS}
    return [s for s in SCOPES if s in scopes]


@dataclass(frozen=True)
class Registration:
    service: RelyingParty
    client_secret: str | None  # shown once, when one was made


@transaction.atomic
def register_relying_party(*, actor: Actor, created_by: User | None = None, **fields) -> Registration:
    """fields: RelyingParty fields (client_id optional: one is made). A client_secret_basic service gets a
    secret, returned once."""
    fields.setdefault("client_id", "rp-" + secrets.token_hex(8))
    fields.setdefault("claims", [])
    fields.setdefault("scopes", _default_scopes(fields["claims"]))
    if not fields.get("sector"):
        institution = fields.get("institution")
        fields["sector"] = institution.code.lower() if institution else fields["client_id"]
    validate_relying_party(fields, instance=None)
    service = RelyingParty(created_by=created_by, **fields)
    secret = None
    if service.token_endpoint_auth_method == RelyingParty.AuthMethod.CLIENT_SECRET_BASIC:
        secret = _new_secret()
        service.client_secret_hash = hash_client_secret(secret)
    service.save()
    audit.record(
        actor=actor,
        action="identity.relying_party_registered",
        object_type="relying_party",
        object_id=service.client_id,
        data={"fields": _audit_view(fields)},
    )
    return Registration(service=service, client_secret=secret)


def _audit_view(fields: dict) -> dict:
    return {
        k: (v.code if hasattr(v, "code") else v) for k, v in fields.items() if k not in ("jwks", "created_by")
    } | ({"jwks": "changed"} if "jwks" in fields else {})


@transaction.atomic
def update_relying_party(*, service: RelyingParty, changes: dict, actor: Actor) -> Registration:
    """Changes some fields. Switching to client_secret_basic without a secret makes one (returned once)."""
    changes = {k: v for k, v in changes.items() if k not in ("client_id", "client_secret_hash", "created_by")}
    validate_relying_party(changes, instance=service)
    for field, value in changes.items():
        setattr(service, field, value)
    secret = None
    if service.token_endpoint_auth_method != RelyingParty.AuthMethod.CLIENT_SECRET_BASIC:
        service.client_secret_hash = ""  # a service that signs with its own keys keeps no secret
    elif not service.client_secret_hash:
        secret = _new_secret()
        service.client_secret_hash = hash_client_secret(secret)
    service.save()
    audit.record(
        actor=actor,
        action="identity.relying_party_updated",
        object_type="relying_party",
        object_id=service.client_id,
        data={"fields": _audit_view(changes)},
    )
    return Registration(service=service, client_secret=secret)


@transaction.atomic
def rotate_client_secret(*, service: RelyingParty, actor: Actor) -> str:
    """A new secret replaces the old one at once; returned once."""
    if service.token_endpoint_auth_method != RelyingParty.AuthMethod.CLIENT_SECRET_BASIC:
        raise ValidationError(
            {
                "token_endpoint_auth_method": _(
                    "This service authenticates with its own keys: it has no secret."
                )
            }
        )
    secret = _new_secret()
    service.client_secret_hash = hash_client_secret(secret)
    service.save(update_fields=["client_secret_hash"])
    audit.record(
        actor=actor,
        action="identity.relying_party_secret_rotated",
        object_type="relying_party",
        object_id=service.client_id,
    )
    return secret


@transaction.atomic
def ensure_demo_service(*, actor: Actor) -> RelyingParty:
    """The demo relying party the README documents, for trying a sign-in from outside on a local installation:
    client_id "demo-rp", client_secret_basic with DEMO_CLIENT_SECRET, redirect URIs on port 9000."""
    service = RelyingParty.objects.filter(client_id=DEMO_CLIENT_ID).first()
    fields = {
        "name_es": "Servicio de demostración",
        "name_en": "Demonstration service",
        "redirect_uris": DEMO_REDIRECT_URIS,
        "post_logout_redirect_uris": ["http://127.0.0.1:9000/", "http://localhost:9000/"],
        "sector": "demo",
        "subject_type": RelyingParty.SubjectType.PAIRWISE,
        "token_endpoint_auth_method": RelyingParty.AuthMethod.CLIENT_SECRET_BASIC,
        "scopes": list(SCOPES),
        "claims": [
            {
                "claim": name,
                "essential": name in ("given_name", "family_name"),
                "purpose_es": "Para mostrar en la demostración lo que un servicio recibe.",
                "purpose_en": "To show in the demonstration what a service receives.",
            }
            for name in CLAIMS
        ],
        "minimum_level": Level.LOW,
        "active": True,
    }
    if service is None:
        service = register_relying_party(actor=actor, client_id=DEMO_CLIENT_ID, **fields).service
    else:
        update_relying_party(service=service, changes=fields, actor=actor)
    if not check_client_secret(service, DEMO_CLIENT_SECRET):
        service.client_secret_hash = hash_client_secret(DEMO_CLIENT_SECRET)
        service.save(update_fields=["client_secret_hash"])
    return service


# --- Consent -----------------------------------------------------------------------------------------------


@transaction.atomic
def grant_consent(
    *,
    user: User,
    service: RelyingParty,
    offer: AskConsent,
    chosen: set[str],
    offline_access: bool,
    scopes: list[str],
    actor: Actor,
) -> Consent:
    """Records what the person agreed to share after seeing `offer`: the essential claims, the optional ones
    they left ticked, and offline access if offered and ticked. Claims agreed before and not shown this time
    are kept."""
    previous = (
        Consent.objects.select_for_update()
        .filter(user=user, service=service, revoked_at__isnull=True)
        .first()
    )
    shown = {c.name for c in offer.claims}
    agreed = {c.name for c in offer.essential} | ({c.name for c in offer.optional} & chosen)
    kept_claims = set(previous.claims) - shown if previous else set()
    kept_scopes = set(previous.scopes) if previous else set()
    new_scopes = (kept_scopes | set(scopes)) - {OFFLINE_ACCESS}
    offline = (offer.offline_access and offline_access) or (
        not offer.offline_access and OFFLINE_ACCESS in kept_scopes
    )
    if offline:
        new_scopes.add(OFFLINE_ACCESS)
    now = timezone.now()
    if previous:
        previous.revoked_at = now
        previous.save(update_fields=["revoked_at"])
    consent = Consent.objects.create(
        user=user,
        service=service,
        claims=sorted(kept_claims | agreed),
        scopes=sorted(new_scopes),
        granted_at=now,
    )
    audit.record(
        actor=actor,
        action="identity.consent_granted",
        object_type="consent",
        object_id=consent.id,
        data={"service": service.client_id, "claims": consent.claims, "scopes": consent.scopes},
    )
    return consent


def record_refusal(*, user: User, service: RelyingParty, actor: Actor) -> None:
    audit.record(
        actor=actor,
        action="identity.consent_refused",
        object_type="relying_party",
        object_id=service.client_id,
        data={"user": str(user.public_id)},
    )


# --- Codes and tokens --------------------------------------------------------------------------------------


@transaction.atomic
def create_authorization_code(
    *,
    code: str,
    service: RelyingParty,
    grant: Grant,
    redirect_uri: str,
    nonce: str,
    code_challenge: str,
    code_challenge_method: str,
    ip_address: str | None,
    actor: Actor,
) -> AuthorizationCode:
    """The code for one sign-in to a service; the sign-in is recorded in the person's history and audited."""
    authentication = grant.authentication
    row = AuthorizationCode.objects.create(
        code_hash=token_hash(code),
        service=service,
        user=authentication.user,
        session=authentication.session,
        redirect_uri=redirect_uri,
        scope=grant.scope,
        nonce=nonce,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        claims={"id_token": grant.id_token_claims, "userinfo": grant.userinfo_claims},
        level=grant.level,
        amr=authentication.amr,
        auth_time=authentication.auth_time,
    )
    SignInRecord.objects.create(
        user=authentication.user,
        service=service,
        session=authentication.session,
        level=grant.level,
        method="+".join(authentication.amr),
        ip_address=ip_address,
    )
    audit.record(
        actor=actor,
        action="identity.service_signed_in",
        object_type="relying_party",
        object_id=service.client_id,
        data={"session": authentication.sid, "level": grant.level, "scope": grant.scope},
    )
    return row


def redeem_authorization_code(*, code: str, service: RelyingParty) -> AuthorizationCode | None:
    """The code, marked used, or None. A code is good once: presenting it again revokes every token issued
    from it (RFC 6749 §4.1.2), since someone else may hold it."""
    row = (
        AuthorizationCode.objects.select_related("user", "session")
        .filter(code_hash=token_hash(code), service=service)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if not AuthorizationCode.objects.filter(id=row.id, used_at__isnull=True).update(used_at=now):
        OAuthToken.objects.filter(
            service=service,
            user=row.user,
            session=row.session,
            issued_at__gte=row.created_at,
            revoked_at__isnull=True,
        ).update(revoked_at=now)
        return None
    if row.created_at < now - CODE_LIFETIME:
        return None
    return row


def new_token_value() -> str:
    return secrets.token_urlsafe(32)


def save_tokens(
    *,
    service: RelyingParty,
    user: User,
    session: AccountSession | None,
    scope: str,
    claims: dict,
    level: str,
    access_token: str,
    refresh_token: str | None,
) -> OAuthToken:
    now = timezone.now()
    return OAuthToken.objects.create(
        service=service,
        user=user,
        session=session,
        scope=scope,
        claims=claims,
        level=level,
        access_token_hash=token_hash(access_token),
        refresh_token_hash=token_hash(refresh_token) if refresh_token else None,
        issued_at=now,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME if refresh_token else None,
    )


def redeem_refresh_token(*, refresh_token: str, service: RelyingParty) -> OAuthToken | None:
    """The token row a refresh token belongs to, revoked now (each refresh token is good once: rotation), or
    None. A refresh token presented again revokes its whole line, since someone else may hold it. It stops
    working when the person withdraws consent to offline access."""
    row = (
        OAuthToken.objects.select_related("user", "session")
        .filter(refresh_token_hash=token_hash(refresh_token), service=service)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if not OAuthToken.objects.filter(id=row.id, revoked_at__isnull=True).update(revoked_at=now):
        OAuthToken.objects.filter(
            service=service, user=row.user, session=row.session, revoked_at__isnull=True
        ).update(revoked_at=now)
        return None
    if row.refresh_expires_at < now or not row.user.is_active or not _has_offline_consent(row.user, service):
        return None
    return row


def _has_offline_consent(user: User, service: RelyingParty) -> bool:
    consent = Consent.objects.filter(user=user, service=service, revoked_at__isnull=True).first()
    return consent is not None and OFFLINE_ACCESS in consent.scopes


def remember_assertion(*, service: RelyingParty, jti: str, expires_at: datetime) -> bool:
    """False when this client assertion id was seen before (a replay)."""
    if len(jti) > 255:
        return False
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(service=service, jti=jti, expires_at=expires_at)
    except IntegrityError:
        return False
    UsedAssertion.objects.filter(
        service=service, expires_at__lt=timezone.now() - timedelta(minutes=5)
    ).delete()
    return True


# --- Sessions ending ---------------------------------------------------------------------------------------


@transaction.atomic
def end_session_tokens(*, sid: str) -> list[RelyingParty]:
    """A browser session ended: tokens issued in it stop working. Refresh tokens (only ever issued for offline
    access, with consent) outlive it, as OpenID Connect Back-Channel Logout §2.7 advises; their current access
    token expires now. Returns the services to tell, through back-channel logout."""
    now = timezone.now()
    in_session = OAuthToken.objects.filter(session_id=sid, revoked_at__isnull=True)
    services = list(
        RelyingParty.objects.filter(id__in=OAuthToken.objects.filter(session_id=sid).values("service_id"))
        .exclude(backchannel_logout_uri="")
        .filter(active=True)
    )
    in_session.filter(refresh_token_hash__isnull=True).update(revoked_at=now)
    in_session.filter(~Q(refresh_token_hash=None), expires_at__gt=now).update(expires_at=now)
    return services
