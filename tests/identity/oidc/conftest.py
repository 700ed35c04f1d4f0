"""The OpenID Connect provider over real HTTP: pytest-django's live server is the provider, a Node.js relying
party built with panva's openid-client (tests/node/rp.mjs) is the service, and a small cookie-keeping HTTP
client plays the person's browser through the sign-in, second-factor and consent pages."""

import base64
import hashlib
import json
import re
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import pytest
from django.utils import translation
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import PASSWORD
from ventanilla.core.actor import Actor
from ventanilla.identity.oidc import services

NODE_RP = Path(__file__).resolve().parents[2] / "node"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never visited: the browser stops at the redirect to it


# --- The relying party (Node.js, openid-client) -------------------------------------------------------------


def node(step: str, **request) -> dict:
    """One step of tests/node/rp.mjs; its JSON answer."""
    if not (NODE_RP / "node_modules" / "openid-client").exists():
        pytest.fail("Install the Node relying party first: npm ci --prefix tests/node")
    done = subprocess.run(
        ["node", str(NODE_RP / "rp.mjs"), step],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def rp_keys():
    """The relying party's own key pair, made by the Node library (private_key_jwt)."""
    return node("keys")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def language_kept():
    """API requests activate their caller's language in this thread; later tests must not inherit it."""
    language = translation.get_language()
    yield
    translation.activate(language)


@pytest.fixture
def provider(live_server, settings, transactional_db):
    """The live server, with the issuer set to its address."""
    settings.VENTANILLA_PUBLIC_URL = live_server.url
    return live_server.url


STANDARD_CLAIMS = [
    {
        "claim": "given_name",
        "essential": True,
        "purpose_es": "Para saludarle.",
        "purpose_en": "To greet you.",
    },
    {
        "claim": "family_name",
        "essential": True,
        "purpose_es": "Para su expediente.",
        "purpose_en": "For your file.",
    },
    {"claim": "email", "essential": False, "purpose_es": "Para avisarle.", "purpose_en": "To tell you news."},
    {
        "claim": "email_verified",
        "essential": False,
        "purpose_es": "Para saber si el correo es suyo.",
        "purpose_en": "To know the address is yours.",
    },
    {
        "claim": "ventanilla:document_number",
        "essential": False,
        "purpose_es": "Para buscar su expediente.",
        "purpose_en": "To find your file.",
    },
]


@pytest.fixture
def register_service(db, rp_keys):
    """register_service(client_id="tramites", ...) → a relying party the Node RP can use (private_key_jwt with
    its key, unless token_endpoint_auth_method says otherwise; then `.client_secret` holds the secret)."""

    def register(client_id="tramites", **fields):
        fields.setdefault("name_es", "Trámites en línea")
        fields.setdefault("name_en", "Online procedures")
        fields.setdefault("redirect_uris", [REDIRECT_URI])
        fields.setdefault("sector", "social")
        fields.setdefault("claims", STANDARD_CLAIMS)
        fields.setdefault("scopes", ["openid", "profile", "email", "document", "offline_access"])
        if fields.get("token_endpoint_auth_method") != "client_secret_basic":
            fields.setdefault("jwks", {"keys": [rp_keys["public_jwk"]]})
        registration = services.register_relying_party(
            actor=Actor.system("tests"), client_id=client_id, **fields
        )
        registration.service.client_secret = registration.client_secret
        return registration.service

    return register


class RelyingParty:
    """The Node RP bound to one service of the provider."""

    def __init__(self, issuer: str, service, private_jwk: dict):
        self.issuer, self.service = issuer, service
        self.credentials = (
            {"client_secret": service.client_secret}
            if service.client_secret
            else {"private_jwk": private_jwk}
        )

    def _call(self, step, **request):
        return node(step, issuer=self.issuer, client_id=self.service.client_id, **self.credentials, **request)

    def start(self, scope="openid", **parameters) -> dict:
        return self._call("start", redirect_uri=REDIRECT_URI, scope=scope, parameters=parameters)

    def finish(self, started: dict, callback_url: str, **checks) -> dict:
        return self._call(
            "finish",
            callback_url=callback_url,
            code_verifier=started["code_verifier"],
            state=started["state"],
            nonce=started["nonce"],
            **checks,
        )

    def refresh(self, refresh_token: str) -> dict:
        return self._call("refresh", refresh_token=refresh_token)


@pytest.fixture
def relying_party(provider, rp_keys):
    return lambda service: RelyingParty(provider, service, rp_keys["private_jwk"])


# --- The person's browser -------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": []})
        elif (
            tag == "input"
            and self.forms
            and attrs.get("name")
            and (attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs)
        ):
            self.forms[-1]["fields"].append((attrs["name"], attrs.get("value", "")))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status: int, headers, body: bytes, url: str):
        self.status, self.headers, self.url = status, headers, url
        self.text = body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str | None:
        location = self.headers.get("Location")
        return urljoin(self.url, location) if location else None

    def json(self):
        return json.loads(self.text)

    def forms(self) -> list[dict]:
        parser = _Forms()
        parser.feed(self.text)
        return parser.forms


class Browser:
    """Keeps cookies, never follows redirects by itself."""

    def __init__(self):
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects
        )

    def request(self, method: str, url: str, data=None, headers: dict | None = None) -> Response:
        """data: a dict (lists for repeated fields) or a list of (name, value) pairs."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as answer:
                return Response(answer.status, answer.headers, answer.read(), url)
        except urllib.error.HTTPError as answer:
            return Response(answer.code, answer.headers, answer.read(), url)

    def get(self, url: str, **kwargs) -> Response:
        return self.request("GET", url, **kwargs)

    def submit(self, page: Response, data: dict) -> Response:
        """Submit the page's own form (the one that posts back to the page, not the header's sign-out): its
        hidden fields and ticked boxes, except those named in `data`, which gives their values instead (a list
        for several boxes of one name)."""
        here = urlsplit(page.url)
        chosen = next(
            f for f in page.forms() if urlsplit(urljoin(page.url, f["action"] or page.url)).path == here.path
        )
        fields = [(name, value) for name, value in chosen["fields"] if name not in data]
        for name, value in data.items():
            fields += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
        return self.request("POST", urljoin(page.url, chosen["action"] or page.url), fields)


def totp_code(citizen) -> str:
    """A fresh code each time for the same person: the provider refuses a code used before (replay)."""
    offset = getattr(citizen, "_totp_offset", 0)
    citizen._totp_offset = offset + 1
    return pyotp.TOTP(citizen.totp_secret).at(time.time() + 30 * offset)


def sign_in_to_service(browser: Browser, url: str, citizen, *, consent: dict | None = None, max_steps=12):
    """Follow the provider's pages from `url` as the person would: sign in with the password, confirm with the
    authenticator app when asked, answer the consent page with `consent` (default: allow, as ticked). Returns
    the address the provider finally sends the browser to (the service's redirect URI, with code or error), or
    the last page when it stops on one."""
    consent = {"decision": "allow"} if consent is None else consent
    response = browser.get(url)
    for _ in range(max_steps):
        if response.status in (301, 302, 303):
            if response.location.startswith(REDIRECT_URI):
                return response.location
            response = browser.get(response.location)
            continue
        path = urlsplit(response.url).path
        if re.search(r"/entrar/$", path):
            response = browser.submit(response, {"identifier": citizen.username, "password": PASSWORD})
        elif re.search(r"/verificacion-adicional/$", path):
            response = browser.submit(response, {"code": totp_code(citizen)})
        elif re.search(r"/autorizar/[^/]+/$", path) and consent:
            response = browser.submit(response, consent)
        else:
            return response
    raise AssertionError(f"too many steps; last at {response.url}")


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def browser():
    return Browser()


# --- A service's back-channel logout receiver ------------------------------------------------------------


class LogoutReceiver:
    def __init__(self, failures: int = 0):
        self.tokens: list[str] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                if receiver.failures:
                    receiver.failures -= 1
                    self.send_response(503)
                else:
                    receiver.tokens.append(form["logout_token"][0])
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel-logout"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def logout_receiver():
    receivers = []

    def make(failures: int = 0):
        receivers.append(LogoutReceiver(failures))
        return receivers[-1]

    yield make
    for receiver in receivers:
        receiver.close()


# --- The service's side done by hand, for the protocol's negative cases --------------------------------------


class Pkce:
    def __init__(self, method="S256"):
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        self.challenge = (
            base64.urlsafe_b64encode(digest).rstrip(b"=").decode() if method == "S256" else self.verifier
        )
        self.method = method


def authorization_url(
    provider: str, service, *, pkce: Pkce | None = None, scope="openid", **parameters
) -> str:
    pkce = pkce or Pkce()
    query = {
        "response_type": "code",
        "client_id": service.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "state-" + secrets.token_hex(4),
        "nonce": "nonce-" + secrets.token_hex(4),
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
        **parameters,
    }
    return f"{provider}/oidc/authorize?{urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})}"


def client_assertion(provider: str, service, private_jwk: dict, **changes) -> str:
    """A private_key_jwt assertion as a service makes one; `changes` overrides claims (None removes one)."""
    now = int(time.time())
    claims = {
        "iss": service.client_id,
        "sub": service.client_id,
        "aud": f"{provider}/oidc/token",
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = RSAKey.import_key(private_jwk)
    return jwt.encode({"alg": "RS256", "kid": private_jwk["kid"]}, claims, key)


def token_request(browser: Browser, provider: str, service, private_jwk: dict | None, assertion=None, **form):
    """POST to the token endpoint authenticated with private_key_jwt (or the given assertion)."""
    data = dict(form)
    if private_jwk is not None or assertion is not None:
        data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        data["client_assertion"] = assertion or client_assertion(provider, service, private_jwk)
    return browser.request("POST", f"{provider}/oidc/token", data)


def code_for(browser: Browser, provider: str, service, citizen, *, pkce: Pkce, **parameters) -> str:
    """Sign in through the pages and return the authorization code the service receives."""
    callback = sign_in_to_service(
        browser, authorization_url(provider, service, pkce=pkce, **parameters), citizen
    )
    assert isinstance(callback, str), callback.text[:500]
    return query_of(callback)["code"]
