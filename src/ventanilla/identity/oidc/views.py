"""The provider's endpoints (discovery, JWKS, authorize, token, userinfo, logout) and its pages (consent, a
level that cannot be reached online, errors, logout confirmation).

An authorization request the person must act on (consent, an unreachable level) is kept in their session under a
random ticket while they decide: the page's form carries only the ticket and their choices, never the scopes.
"""

import secrets
import time
from urllib.parse import urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.integrations.django_oauth2.resource_protector import return_error_response
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ventanilla.web.navigation import continue_to

from .. import authn
from ..selectors import actor_for_request
from . import authorization, keys, services
from .authorization import AskConsent, Grant, SignIn, StepUp, Unreachable
from .claims import subject, values
from .server import Issuance, StoredAuthorizationRequest, metadata, resource_protector, server

PENDING_KEY = "ventanilla_oidc_pending"
PENDING_LIFETIME = 30 * 60  # seconds a person has to decide
PENDING_KEPT = 5  # requests kept per browser session (several tabs)
LANGUAGES = ("es", "en")


def _json(data: dict, *, max_age: int) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Access-Control-Allow-Origin"] = "*"  # public documents, fetched by browser-based clients too
    return response


@require_GET
def discovery(request):
    return _json(metadata(), max_age=300)


@require_GET
def jwks(request):
    return _json(keys.public_jwks(), max_age=300)


# --- Authorization -----------------------------------------------------------------------------------------


def _page_language(params: dict, authentication) -> str:
    """ui_locales first, then the person's preferred language, then the language of this request."""
    for tag in (params.get("ui_locales") or "").split():
        if tag[:2].lower() in LANGUAGES:
            return tag[:2].lower()
    if authentication is not None and authentication.user.preferred_language in LANGUAGES:
        return authentication.user.preferred_language
    return translation.get_language()[:2]


def _page_url(name: str, language: str, *, kwargs: dict | None = None, **query) -> str:
    with translation.override(language):
        url = reverse(name, kwargs=kwargs)
    return f"{url}?{urlencode(query)}" if query else url


def _authorize_url(params: dict) -> str:
    return f"{reverse('oidc:authorize')}?{urlencode(params)}"


def _error_page(request, error: OAuth2Error):
    return render(
        request,
        "identity/oidc/error.html",
        {"error": error.error, "description": error.get_error_description()},
        status=400,
    )


def _from_our_pages(request) -> bool:
    """Whether this navigation started on one of our own pages (a sign-in, second-factor or consent form)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    referer = urlsplit(request.headers.get("Referer", ""))
    return f"{referer.scheme}://{referer.netloc}" == f"{request.scheme}://{request.get_host()}"


def _to_service(request, response):
    """Send the browser back to the service: after one of our forms, through web.navigation's page."""
    if response.status_code != 302 or not _from_our_pages(request):
        return response
    return continue_to(
        request,
        response["Location"],
        title=_("Returning you to the service"),
        lead=_("Your browser should go back to the service by itself in a moment."),
        button=_("Continue to the service"),
    )


def _authorization_error(request, error: OAuth2Error):
    """To the service when its redirect URI is known to be its own; otherwise a page (never redirect to an
    address the service did not register)."""
    if error.redirect_uri:
        return _to_service(request, server.handle_error_response(None, error))
    return _error_page(request, error)


def _evaluate(request, authentication):
    """Authlib validates the request (a Django request or a kept one); our policy decides.
    Returns (grant, ask, outcome)."""
    end_user = authentication.user if authentication else None
    grant = server.get_consent_grant(request, end_user=end_user)
    try:
        ask = authorization.parse(grant.request.payload.data, scope=grant.request.scope)
        outcome = authorization.decide(service=grant.client.service, ask=ask, authentication=authentication)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        error.state = grant.request.payload.state
        raise
    return grant, ask, outcome


def _issue(request, grant, decision: Grant):
    grant.request.issuance = Issuance(
        grant=decision, actor=actor_for_request(request), ip_address=authn.client_address(request)
    )
    return server.create_authorization_response(
        request=grant.request, grant_user=decision.authentication.user, grant=grant
    )


def _remember(request, params: dict) -> str:
    now = time.time()
    pending = {
        ticket: entry
        for ticket, entry in request.session.get(PENDING_KEY, {}).items()
        if now - entry["at"] < PENDING_LIFETIME
    }
    ticket = secrets.token_urlsafe(18)
    pending[ticket] = {"params": params, "at": now}
    newest = sorted(pending, key=lambda t: pending[t]["at"])[-PENDING_KEPT:]
    request.session[PENDING_KEY] = {t: pending[t] for t in newest}
    return ticket


def _recall(request, ticket: str) -> dict | None:
    entry = request.session.get(PENDING_KEY, {}).get(ticket)
    if entry is None or time.time() - entry["at"] >= PENDING_LIFETIME:
        return None
    return entry


def _answer(request, ticket: str, response):
    """Keep where the person was sent, so a second click on the same button leads to the same place."""
    pending = request.session.get(PENDING_KEY, {})
    if ticket in pending:
        pending[ticket]["answer"] = response["Location"]
        request.session[PENDING_KEY] = pending
    return response


def _asking_for_a_fresh_sign_in(params: dict, ask) -> dict:
    """The request to come back to after signing in again: prompt=login is answered by the sign-in that
    follows, which must happen after now (the signed marker), so it is not asked for once more."""
    fresh = {k: v for k, v in params.items() if k != "prompt"}
    if remaining := ask.prompts - {"login"}:
        fresh["prompt"] = " ".join(sorted(remaining))
    fresh[authorization.FRESH_SIGN_IN_PARAMETER] = authorization.fresh_sign_in_marker(timezone.now())
    return fresh


@csrf_exempt  # services may send the authorization request as a form POST (OpenID Connect Core §3.1.2.1)
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request):
    authentication = authn.current(request)
    try:
        grant, ask, outcome = _evaluate(request, authentication)
    except OAuth2Error as error:
        return _authorization_error(request, error)
    params = dict(grant.request.payload.data)
    language = _page_language(params, authentication)
    match outcome:
        case SignIn(again=again):
            if again or "login" in ask.prompts or ask.max_age is not None:
                params = _asking_for_a_fresh_sign_in(params, ask)
            force = {"force": "1"} if again else {}
            return redirect(_page_url("identity:sign-in", language, next=_authorize_url(params), **force))
        case StepUp(level=level):
            return redirect(_page_url("identity:step-up", language, next=_authorize_url(params), level=level))
        case Unreachable():
            ticket = _remember(request, params)
            return redirect(_page_url("identity:level-unreachable", language, kwargs={"ticket": ticket}))
        case AskConsent():
            ticket = _remember(request, params)
            return redirect(_page_url("identity:consent", language, kwargs={"ticket": ticket}))
        case Grant():
            return _to_service(request, _issue(request, grant, outcome))


def _pending_or_page(request, ticket):
    """The kept request and its evaluation now, or a response when there is nothing to decide here."""
    entry = _recall(request, ticket)
    if entry is None:
        return None, render(request, "identity/oidc/expired.html", status=404)
    if "answer" in entry:
        return None, _to_service(request, redirect(entry["answer"]))
    try:
        evaluated = _evaluate(StoredAuthorizationRequest(entry["params"]), authn.current(request))
    except OAuth2Error as error:
        return None, _authorization_error(request, error)
    return (entry, *evaluated), None


@never_cache
@require_http_methods(["GET", "POST"])
def consent(request, ticket: str):
    pending, response = _pending_or_page(request, ticket)
    if response is not None:
        return response
    entry, grant, ask, outcome = pending
    if not isinstance(outcome, AskConsent):
        return redirect(_authorize_url(entry["params"]))
    service = grant.client.service
    authentication = authn.current(request)
    problem = None
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "allow":
            consent_given = services.grant_consent(
                user=authentication.user,
                service=service,
                offer=outcome,
                chosen=set(request.POST.getlist("claims")),
                offline_access=request.POST.get("offline_access") == "yes",
                scopes=ask.scopes,
                actor=actor_for_request(request),
            )
            decided = authorization.grant(service, ask, authentication, consent_given)
            return _to_service(request, _answer(request, ticket, _issue(request, grant, decided)))
        if decision == "deny":
            services.record_refusal(
                user=authentication.user, service=service, actor=actor_for_request(request)
            )
            denied = AccessDeniedError(redirect_uri=grant.redirect_uri, state=grant.request.payload.state)
            return _to_service(request, _answer(request, ticket, server.handle_error_response(None, denied)))
        problem = _("Choose whether to share your details with the service.")
    return render(
        request,
        "identity/oidc/consent.html",
        {"service": service, "offer": outcome, "authentication": authentication, "problem": problem},
        status=400 if problem else 200,
    )


@never_cache
@require_GET
def level_unreachable(request, ticket: str):
    pending, response = _pending_or_page(request, ticket)
    if response is not None:
        return response
    entry, grant, _ask, outcome = pending
    if not isinstance(outcome, Unreachable):
        return redirect(_authorize_url(entry["params"]))
    back = add_params_to_uri(
        grant.redirect_uri,
        [("error", "unmet_authentication_requirements")]
        + ([("state", grant.request.payload.state)] if grant.request.payload.state else []),
    )
    return render(
        request,
        "identity/oidc/level_unreachable.html",
        {"service": grant.client.service, "level": outcome.level, "back_url": back},
    )


# --- Tokens and userinfo -----------------------------------------------------------------------------------


@csrf_exempt  # clients authenticate themselves; there is no browser session here
@require_POST
def token(request):
    try:
        return server.create_token_response(request)
    except OAuth2Error as error:
        return server.handle_error_response(None, error)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def userinfo(request):
    try:
        access = resource_protector.acquire_token(request, ["openid"])
    except OAuth2Error as error:
        return return_error_response(error)
    row = access.row
    response = JsonResponse(
        {"sub": subject(row.user, row.service), **values(row.user, row.claims.get("userinfo", []))}
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- Logout ------------------------------------------------------------------------------------------------

LOGOUT_PARAMETERS = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales")


def _activate_ui_locales(request):
    for tag in (request.GET.get("ui_locales") or request.POST.get("ui_locales") or "").split():
        if tag[:2].lower() in LANGUAGES:
            translation.activate(tag[:2].lower())
            request.LANGUAGE_CODE = tag[:2].lower()
            return


def _signed_out(request, end):
    """End the session; back to the service when its address was confirmed, else our own page."""
    back = server.create_endpoint_response("end_session", end)
    return _to_service(request, back) if back else render(request, "identity/oidc/signed_out.html")


@csrf_exempt  # services send people here from their own pages; ending a session needs a valid id_token_hint
@never_cache
@require_http_methods(["GET", "POST"])
def logout(request):
    """RP-initiated logout. Without a valid ID token of this browser's session, the person confirms first."""
    _activate_ui_locales(request)
    try:
        end = server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return _error_page(request, error)
    authentication = authn.current(request)
    if authentication is None:
        if end.redirect_uri:
            return _to_service(request, redirect(end.redirect_uri))
        return render(request, "identity/oidc/signed_out.html")
    hinted_sid = (end.id_token_claims or {}).get("sid")
    if end.needs_confirmation or hinted_sid != authentication.sid:
        data = end.request.payload.data
        kept = {name: data[name] for name in LOGOUT_PARAMETERS if data.get(name)}
        return render(
            request,
            "identity/oidc/logout_confirm.html",
            {"parameters": kept, "service": end.client.service if end.client else None},
        )
    return _signed_out(request, end)


@never_cache
@require_POST
def logout_confirm(request):
    _activate_ui_locales(request)
    try:
        end = server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return _error_page(request, error)
    return _signed_out(request, end)
