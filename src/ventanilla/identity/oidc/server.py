"""The OpenID Connect protocol, done by Authlib: the authorization server with the authorization code grant
(PKCE S256 required), OpenID Connect ID tokens, refresh tokens with rotation, client authentication by
private_key_jwt (RFC 7523) or client_secret_basic, the userinfo resource protector and RP-initiated logout.

This module only adapts our models to Authlib's interfaces and states our protocol choices; what a person must
do before a service gets a code is decided in authorization.py, and every write is in services.py.
"""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from authlib.integrations.django_oauth2 import AuthorizationServer, ResourceProtector
from authlib.integrations.django_oauth2.requests import DjangoOAuth2Request
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core import grants as oidc_grants
from authlib.oidc.rpinitiated import EndSessionEndpoint
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ventanilla.core.actor import Actor

from .. import authn
from ..models import AuthorizationCode, Level, OAuthToken, RelyingParty
from . import keys, services
from .authorization import Grant
from .claims import CLAIMS, OFFLINE_ACCESS, PREFIX, PROTOCOL_CLAIMS, SCOPES, subject, values

AUTH_METHODS = ["private_key_jwt", "client_secret_basic"]
ID_TOKEN_LIFETIME = timedelta(hours=1)
MAX_ASSERTION_LIFETIME = 300  # seconds: a client assertion is for one request, not for reuse
REMOTE_JWKS_CACHE_SECONDS = 300


def issuer() -> str:
    """The public address of this deployment (VENTANILLA_PUBLIC_URL): every token names it."""
    return settings.VENTANILLA_PUBLIC_URL


def endpoint(name: str) -> str:
    return issuer() + reverse(f"oidc:{name}")


def metadata() -> dict:
    """The discovery document (OpenID Connect Discovery 1.0)."""
    with translation.override("en"):
        own_claims = {
            claim.name: {"scope": claim.scope, "description": str(claim.label)}
            for claim in CLAIMS.values()
            if claim.name.startswith(PREFIX)
        }
    return {
        "issuer": issuer(),
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "jwks_uri": endpoint("jwks"),
        "end_session_endpoint": endpoint("logout"),
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": [keys.ALGORITHM],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [authn.acr_for(level) for level in Level.values],
        "claims_supported": PROTOCOL_CLAIMS + list(CLAIMS),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": [code for code, _name in settings.LANGUAGES],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "ventanilla_claims": own_claims,
    }


# --- Our models as Authlib sees them ------------------------------------------------------------------------


class Client(ClientMixin):
    def __init__(self, service: RelyingParty):
        self.service = service

    @property
    def client_id(self) -> str:
        return self.service.client_id

    @property
    def client_metadata(self) -> dict:
        return {"post_logout_redirect_uris": self.service.post_logout_redirect_uris}

    def get_client_id(self):
        return self.service.client_id

    def get_default_redirect_uri(self):
        return None  # OpenID Connect requires redirect_uri in every request

    def get_allowed_scope(self, scope):
        """The requested scopes the service registered, in the order asked; None (invalid_scope) without
        openid, since this is an OpenID Connect provider only."""
        requested = (scope or "").split()
        if "openid" not in requested:
            return None
        allowed = set(self.service.scopes)
        return " ".join(dict.fromkeys(s for s in requested if s in allowed))

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.service.redirect_uris  # exact match only

    def check_client_secret(self, client_secret):
        return services.check_client_secret(self.service, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == self.service.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")

    def public_keys(self) -> KeySet:
        if self.service.jwks:
            return KeySet.import_key_set(self.service.jwks)
        if self.service.jwks_uri:
            return _remote_jwks(self.service.jwks_uri)
        raise InvalidClientError(description="The client has no public keys registered.")


_remote_jwks_cache: dict[str, tuple[float, KeySet]] = {}
_remote_jwks_lock = threading.Lock()


def _remote_jwks(uri: str) -> KeySet:
    with _remote_jwks_lock:
        cached = _remote_jwks_cache.get(uri)
    if cached and time.monotonic() - cached[0] < REMOTE_JWKS_CACHE_SECONDS:
        return cached[1]
    try:
        with urllib.request.urlopen(uri, timeout=5) as response:  # noqa: S310 (https, validated at registration)
            key_set = KeySet.import_key_set(json.loads(response.read(1_000_000)))
    except (OSError, ValueError, JoseError) as error:
        raise InvalidClientError(description="The client's jwks_uri could not be read.") from error
    with _remote_jwks_lock:
        _remote_jwks_cache[uri] = (time.monotonic(), key_set)
    return key_set


class Code(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode):
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self):
        return self.row.redirect_uri

    def get_scope(self):
        return self.row.scope

    def get_nonce(self):
        return self.row.nonce

    def get_auth_time(self):
        return int(self.row.auth_time.timestamp())

    def get_acr(self):
        return authn.acr_for(self.row.level)

    def get_amr(self):
        return list(self.row.amr)


class Token(TokenMixin):
    def __init__(self, row: OAuthToken):
        self.row = row

    def check_client(self, client):
        return self.row.service_id == client.service.id

    def get_scope(self):
        return self.row.scope

    def get_expires_in(self):
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self):
        return self.row.expires_at <= timezone.now()

    def is_revoked(self):
        """Revoked, the person or the service deactivated, or (for a token without offline access) the
        browser session it was issued in has ended — at once, before the background work records it."""
        row = self.row
        session_ended = row.session is not None and row.session.ended_at is not None
        return (
            row.revoked_at is not None
            or not row.user.is_active
            or not row.service.active
            or (row.refresh_token_hash is None and session_ended)
        )

    def get_user(self):
        return self.row.user

    def get_client(self):
        return Client(self.row.service)


# --- Grants and extensions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issuance:
    """What the authorization view hands to the grant when it issues a code."""

    grant: Grant
    actor: Actor
    ip_address: str | None


class S256CodeChallenge(CodeChallenge):
    """PKCE is required of every client, and only with S256 (plain would hand the verifier to anyone who
    sees the authorization request)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code, request):
        issuance: Issuance = request.issuance
        data = request.payload.data
        services.create_authorization_code(
            code=code,
            service=request.client.service,
            grant=issuance.grant,
            redirect_uri=request.payload.redirect_uri,
            nonce=data.get("nonce") or "",
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            ip_address=issuance.ip_address,
            actor=issuance.actor,
        )

    def query_authorization_code(self, code, client):
        row = services.redeem_authorization_code(code=code, service=client.service)
        return Code(row) if row else None

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: redeeming marked the code used, and it is kept so a second use is recognised."""

    def authenticate_user(self, authorization_code):
        user = authorization_code.row.user
        return user if user.is_active else None


class OpenIDCode(oidc_grants.OpenIDCode):
    def exists_nonce(self, nonce, request):
        return AuthorizationCode.objects.filter(
            service__client_id=request.payload.client_id, nonce=nonce
        ).exists()

    def get_client_algorithm(self, client):
        return keys.ALGORITHM

    def get_encode_header(self, client):
        return keys.signer().header

    def resolve_client_private_key(self, client):
        return keys.signer().key

    def get_client_claims(self, client):
        return {
            "iss": issuer(),
            "aud": client.client_id,
            "exp": int(time.time() + ID_TOKEN_LIFETIME.total_seconds()),
        }

    def get_authorization_code_claims(self, authorization_code: Code):
        """nonce, auth_time, acr and amr (Authlib), plus the subject, the session id and the claims the person
        agreed to put in the ID token."""
        row = authorization_code.row
        claims = super().get_authorization_code_claims(authorization_code)
        claims["sub"] = subject(row.user, row.service)
        if row.session_id:
            claims["sid"] = str(row.session_id)
        claims.update(values(row.user, row.claims.get("id_token", [])))
        return claims

    def generate_user_info(self, user, scope):
        return {}  # the ID token's claims come from the code (get_authorization_code_claims)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh token is good once

    def authenticate_refresh_token(self, refresh_token):
        row = services.redeem_refresh_token(refresh_token=refresh_token, service=self.request.client.service)
        return Token(row) if row else None

    def authenticate_user(self, refresh_token):
        return refresh_token.row.user

    def revoke_old_credential(self, refresh_token):
        """Nothing to do: redeeming revoked it."""


class PrivateKeyJwt(JWTBearerClientAssertion):
    """private_key_jwt: the client signs a short-lived assertion with its own key (RFC 7523 §2.2); each one is
    accepted once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self):
        return [endpoint("token"), issuer()]

    def resolve_client_public_key(self, client):
        return client.public_keys()

    def verify_claims(self, claims):
        expires = claims.get("exp")
        if isinstance(expires, int | float) and expires - time.time() > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="The client assertion must expire within 5 minutes.")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti):
        service = RelyingParty.objects.filter(client_id=claims["sub"]).first()
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
        return (
            service is not None
            and isinstance(jti, str)
            and services.remember_assertion(service=service, jti=jti, expires_at=expires_at)
        )


def generate_tokens(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
    """Opaque bearer tokens (kept as hashes, checked at the userinfo endpoint, revocable at once); a refresh
    token only with offline_access, which the scope holds only when the person consented to it."""
    token = {
        "token_type": "Bearer",
        "access_token": services.new_token_value(),
        "expires_in": int(services.ACCESS_TOKEN_LIFETIME.total_seconds()),
        "scope": scope,
    }
    if include_refresh_token and OFFLINE_ACCESS in (scope or "").split():
        token["refresh_token"] = services.new_token_value()
    return token


class OAuthRequest(DjangoOAuth2Request):
    """Authlib's request, keeping the Django request for what the policy needs (session, address)."""

    @property
    def django_request(self):
        return self._request


class StoredAuthorizationRequest(OAuth2Request):
    """An authorization request kept while the person decides (consent), rebuilt from its parameters."""

    def __init__(self, params: dict):
        super().__init__("GET", endpoint("authorize"))
        self.payload = BasicOAuth2Payload(params)


class Server(AuthorizationServer):
    def __init__(self):
        super().__init__(client_model=RelyingParty, token_model=OAuthToken)
        self.register_token_generator("default", generate_tokens)

    def query_client(self, client_id):
        service = RelyingParty.objects.filter(client_id=client_id, active=True).first() if client_id else None
        return Client(service) if service else None

    def save_token(self, token, request):
        source = request.authorization_code.row if request.authorization_code else request.refresh_token.row
        services.save_tokens(
            service=request.client.service,
            user=request.user,
            session=source.session,
            scope=token["scope"],
            claims=source.claims,
            level=source.level,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
        )

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return OAuthRequest(request)


class EndSession(EndSessionEndpoint):
    def get_server_jwks(self):
        return keys.verification_keys()

    def get_algorithms(self):
        return [keys.ALGORITHM]

    def end_session(self, end_session_request):
        authn.end(end_session_request.request.django_request)


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        row = (
            OAuthToken.objects.select_related("user", "service", "session")
            .filter(access_token_hash=services.token_hash(token_string))
            .first()
        )
        return Token(row) if row else None


server = Server()
server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt())
server.register_grant(
    AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode(require_nonce=False)]
)
server.register_grant(RefreshTokenGrant)
server.register_endpoint(EndSession)

resource_protector = ResourceProtector()
resource_protector.register_token_validator(AccessTokenValidator())
