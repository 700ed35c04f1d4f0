"""Pages for second factors (authenticator apps, passkeys, recovery codes), step-up and the levels of assurance.

Managing factors needs a second factor when the person has one: otherwise whoever learnt the password could
add their own app or remove the person's. The WebAuthn endpoints answer JSON to webauthn.js; every other page
works without JavaScript, and the authenticator app is the route for browsers without it.
"""

import json
from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from .. import authn, factors
from ..forms import PasskeyForm, PasswordConfirmForm, RecoveryCodeForm, TotpCodeForm, TotpEnrolForm
from ..models import Level
from ..selectors import actor_for_request
from . import safe_next, signed_in, wait_message

FRESH_RECOVERY_CODES = "identity_fresh_recovery_codes"  # session key: codes to show once
REGISTRATION_CHALLENGE = "identity_webauthn_registration"
AUTHENTICATION_CHALLENGE = "identity_webauthn_authentication"


# --- Shared by the factor and official pages -----------------------------------------------------------------


def _factor_gate(request):
    """A redirect to step-up if the person has a second factor but this session has not used one."""
    authentication = request.authentication
    if factors.has_second_factor(authentication.user) and not authn.satisfies(
        authentication.level, Level.SUBSTANTIAL
    ):
        return redirect(authn.step_up_url(next_url=request.get_full_path(), level=Level.SUBSTANTIAL))
    return None


def manages_factors(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return _factor_gate(request) or view(request, *args, **kwargs)

    return signed_in(wrapper)


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _session_expired() -> JsonResponse:
    return _json_error(_("Your session has ended. Reload the page and sign in again."), status=403)


# --- The security page -------------------------------------------------------------------------------------


@signed_in
def security(request):
    user = request.authentication.user
    return render(
        request,
        "identity/factors/security.html",
        {
            "apps": factors.totp_devices(user),
            "keys": factors.webauthn_credentials(user),
            "remaining_codes": factors.remaining_recovery_codes(user),
            "has_factor": factors.has_second_factor(user),
            "authentication": request.authentication,
        },
    )


def _after_new_factor(request, *, method: str, codes: list[str], next_url: str) -> str:
    """Where to go once a factor is added. The first factor, just proved, raises this session's level; the
    recovery codes made with it are shown once, before going on."""
    if request.authentication.level == Level.LOW:
        authn.add_factor(request, method=method)
    if codes:
        request.session[FRESH_RECOVERY_CODES] = codes
    if FRESH_RECOVERY_CODES in request.session:  # also after a double submit: the codes are not skipped
        return reverse("identity:recovery-codes") + "?" + urlencode({"next": next_url})
    return next_url


# --- Authenticator app -------------------------------------------------------------------------------------


@manages_factors
@require_http_methods(["GET", "POST"])
def totp_add(request):
    user = request.authentication.user
    next_url = safe_next(request, "identity:security")
    device = factors.start_totp_enrolment(user=user)
    if request.method == "POST":
        form = TotpEnrolForm(request.POST)
        if form.is_valid():
            try:
                codes = factors.confirm_totp_device(
                    user=user,
                    device_id=form.cleaned_data["device"],
                    name=form.cleaned_data["name"],
                    code=form.cleaned_data["code"],
                    actor=actor_for_request(request),
                )
            except factors.WrongCode:
                form.add_error(
                    "code", _("That code is not right. Enter the code your app shows now for this site.")
                )
            except factors.Locked as locked:
                form.add_error("code", wait_message(locked.seconds))
            else:
                messages.success(request, _("Your authenticator app is set up."))
                return redirect(_after_new_factor(request, method="otp", codes=codes, next_url=next_url))
    else:
        form = TotpEnrolForm(initial={"device": device.id})
    uri = factors.provisioning_uri(device)
    return render(
        request,
        "identity/factors/totp_add.html",
        {
            "form": form,
            "qr_code": factors.qr_code_data_uri(uri),
            "secret": factors.secret_for_typing(device),
            "otpauth_uri": uri,
            "next_url": next_url,
        },
    )


def _remove(request, factor, *, kind: str):
    if factor is None:
        if request.method == "POST":  # already removed: a second click
            return redirect("identity:security")
        raise Http404(_("There is no such factor on your account."))
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.authentication.user
        try:
            factors.confirm_password(user=user, password=form.cleaned_data["password"])
        except factors.WrongCode:
            form.add_error("password", _("That is not your password."))
        except factors.Locked as locked:
            form.add_error("password", wait_message(locked.seconds))
        else:
            factors.remove_factor(user=user, factor=factor, actor=actor_for_request(request))
            messages.success(request, _("“%(name)s” was removed.") % {"name": factor.name})
            return redirect("identity:security")
    return render(
        request,
        "identity/factors/remove.html",
        {
            "form": form,
            "factor": factor,
            "kind": kind,
            "last_one": factors.totp_devices(request.authentication.user).count()
            + factors.webauthn_credentials(request.authentication.user).count()
            == 1,
        },
    )


@manages_factors
@require_http_methods(["GET", "POST"])
def totp_remove(request, device_id):
    device = factors.totp_devices(request.authentication.user).filter(id=device_id).first()
    return _remove(request, device, kind="app")


# --- Passkeys and security keys ----------------------------------------------------------------------------


@manages_factors
def passkeys(request):
    next_url = safe_next(request, "identity:security")
    return render(
        request,
        "identity/factors/passkeys.html",
        {
            "keys": factors.webauthn_credentials(request.authentication.user),
            "form": PasskeyForm(),
            "relying_party": factors.relying_party_for(request),
            "localhost_url": _localhost_url(request),
            "next_url": next_url,
            "totp_url": reverse("identity:totp-add") + "?" + urlencode({"next": next_url}),
        },
    )


def _localhost_url(request) -> str:
    """This page on http://localhost (same port), for a local install opened by IP address."""
    port = urlsplit(f"//{request.get_host()}").port
    return f"{request.scheme}://localhost{f':{port}' if port else ''}{request.get_full_path()}"


def _json_factor_gate(view):
    """The JSON twin of manages_factors: answers an error instead of redirecting."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        authentication = authn.current(request)
        if authentication is None:
            return _session_expired()
        request.authentication = authentication
        if _factor_gate(request) is not None:
            return _json_error(_("Confirm it is you with your second factor first. Reload the page."), 403)
        if factors.relying_party_for(request) is None:
            return _json_error(_("Passkeys need the site opened by its name, not by an IP address."))
        return view(request, *args, **kwargs)

    return require_POST(wrapper)


def _passkey_name(request) -> str | None:
    form = PasskeyForm({"name": _json_body(request).get("name", "")})
    return form.cleaned_data["name"] if form.is_valid() else None


@_json_factor_gate
def passkey_register_options(request):
    """Asked before the browser's dialog, so a missing name is reported before the person touches the key."""
    if _passkey_name(request) is None:
        return _json_error(_("Give the passkey a name, for example “laptop fingerprint”."))
    options, challenge = factors.registration_options(
        user=request.authentication.user, relying_party=factors.relying_party_for(request)
    )
    request.session[REGISTRATION_CHALLENGE] = bytes_to_base64url(challenge)
    return JsonResponse(json.loads(options))


@_json_factor_gate
def passkey_register(request):
    name = _passkey_name(request)
    if name is None:
        return _json_error(_("Give the passkey a name, for example “laptop fingerprint”."))
    challenge = request.session.pop(REGISTRATION_CHALLENGE, None)  # single use, even if this attempt fails
    if challenge is None:
        return _json_error(_("This attempt has expired. Try again."))
    try:
        _credential, codes = factors.register_credential(
            user=request.authentication.user,
            relying_party=factors.relying_party_for(request),
            credential_json=_json_body(request).get("credential"),
            challenge=base64url_to_bytes(challenge),
            name=name,
            actor=actor_for_request(request),
        )
    except factors.CeremonyFailed:
        return _json_error(_("The passkey could not be added. Try again, or use an authenticator app."))
    messages.success(request, _("Your passkey is set up."))
    next_url = safe_next(request, "identity:passkeys")
    return JsonResponse(
        {"redirect": _after_new_factor(request, method="hwk", codes=codes, next_url=next_url)}
    )


@manages_factors
@require_http_methods(["GET", "POST"])
def passkey_remove(request, credential_id):
    credential = factors.webauthn_credentials(request.authentication.user).filter(id=credential_id).first()
    return _remove(request, credential, kind="key")


# --- Recovery codes ----------------------------------------------------------------------------------------


@never_cache
@manages_factors
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    user = request.authentication.user
    next_url = safe_next(request, "identity:security")
    has_factor = factors.has_second_factor(user)
    if request.method == "POST":
        if has_factor:
            request.session[FRESH_RECOVERY_CODES] = factors.regenerate_recovery_codes(
                user=user, actor=actor_for_request(request)
            )
        return redirect(request.get_full_path())
    return render(
        request,
        "identity/factors/recovery_codes.html",
        {
            "codes": request.session.pop(FRESH_RECOVERY_CODES, None),  # shown once
            "remaining": factors.remaining_recovery_codes(user),
            "has_factor": has_factor,
            "next_url": next_url,
            "security_url": reverse("identity:security"),
        },
    )


# --- Step-up -----------------------------------------------------------------------------------------------


def _step_up_target(request) -> tuple[str, str]:
    level = request.GET.get("level")
    level = level if level in (Level.SUBSTANTIAL, Level.HIGH) else Level.SUBSTANTIAL
    return level, safe_next(request, "identity:account")


def _after_step_up(request, *, method: str) -> str:
    """Record the factor; on to `next` if the level asked for is reached, else back to step-up, which then
    explains what is missing (level high needs an identity check in person)."""
    level, next_url = _step_up_target(request)
    session = authn.add_factor(request, method=method)
    if authn.satisfies(session.level, level):
        return next_url
    return authn.step_up_url(next_url=next_url, level=level)


def _step_up_page(request):
    """None when the person can prove a factor here; else the page that says what to do instead."""
    level, next_url = _step_up_target(request)
    authentication = authn.current(request)
    if authentication is None:
        return redirect_to_login(request.get_full_path())
    request.authentication = authentication
    if authn.satisfies(authentication.level, level):
        return redirect(next_url)
    user = authentication.user
    if level == Level.HIGH and not user.identity_verified_at and authentication.level != Level.LOW:
        return render(request, "identity/factors/step_up_high.html", {"next_url": next_url})
    if not factors.has_second_factor(user):
        return render(
            request,
            "identity/factors/step_up_no_factor.html",
            {
                "level": level,
                "totp_url": reverse("identity:totp-add") + "?" + urlencode({"next": request.get_full_path()}),
                "passkeys_url": reverse("identity:passkeys")
                + "?"
                + urlencode({"next": request.get_full_path()}),
            },
        )
    return None


def _step_up_context(request, form) -> dict:
    user = request.authentication.user
    level, next_url = _step_up_target(request)
    return {
        "form": form,
        "level": level,
        "next_url": next_url,
        "query": urlencode({"next": next_url, "level": level}),
        "has_app": factors.totp_devices(user).exists(),
        "has_key": factors.webauthn_credentials(user).exists(),
        "relying_party": factors.relying_party_for(request),
        "remaining_codes": factors.remaining_recovery_codes(user),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def step_up(request):
    elsewhere = _step_up_page(request)
    if elsewhere is not None:
        return elsewhere
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            factors.verify_totp(user=request.authentication.user, code=form.cleaned_data["code"])
        except factors.WrongCode:
            form.add_error(
                "code",
                _("That code is not right or was already used. Enter the code your app shows now."),
            )
        except factors.Locked as locked:
            form.add_error("code", wait_message(locked.seconds))
        else:
            return redirect(_after_step_up(request, method="otp"))
    return render(request, "identity/factors/step_up.html", _step_up_context(request, form))


@never_cache
@require_http_methods(["GET", "POST"])
def step_up_recovery(request):
    elsewhere = _step_up_page(request)
    if elsewhere is not None:
        return elsewhere
    user = request.authentication.user
    form = RecoveryCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            factors.use_recovery_code(user=user, code=form.cleaned_data["code"])
        except factors.WrongCode:
            form.add_error("code", _("That is not one of your recovery codes, or it was already used."))
        except factors.Locked as locked:
            form.add_error("code", wait_message(locked.seconds))
        else:
            remaining = factors.remaining_recovery_codes(user)
            messages.warning(
                request,
                ngettext(
                    "You have %(n)s recovery code left. Make new ones from your account's security page.",
                    "You have %(n)s recovery codes left. Make new ones from your account's security page "
                    "if you are running out.",
                    remaining,
                )
                % {"n": remaining},
            )
            return redirect(_after_step_up(request, method="rc"))
    return render(request, "identity/factors/step_up_recovery.html", _step_up_context(request, form))


def _json_step_up_gate(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        authentication = authn.current(request)
        if authentication is None:
            return _session_expired()
        request.authentication = authentication
        if factors.relying_party_for(request) is None:
            return _json_error(_("Passkeys need the site opened by its name, not by an IP address."))
        return view(request, *args, **kwargs)

    return require_POST(wrapper)


@_json_step_up_gate
def step_up_passkey_options(request):
    options, challenge = factors.authentication_options(
        user=request.authentication.user, relying_party=factors.relying_party_for(request)
    )
    request.session[AUTHENTICATION_CHALLENGE] = bytes_to_base64url(challenge)
    return JsonResponse(json.loads(options))


@_json_step_up_gate
def step_up_passkey(request):
    challenge = request.session.pop(AUTHENTICATION_CHALLENGE, None)  # single use, even if this attempt fails
    if challenge is None:
        return _json_error(_("This attempt has expired. Try again."))
    try:
        factors.verify_credential(
            user=request.authentication.user,
            relying_party=factors.relying_party_for(request),
            credential_json=_json_body(request).get("credential"),
            challenge=base64url_to_bytes(challenge),
        )
    except factors.CeremonyFailed:
        return _json_error(_("The passkey could not be checked. Try again, or use another way."))
    return JsonResponse({"redirect": _after_step_up(request, method="hwk")})


# --- Levels of assurance -----------------------------------------------------------------------------------


def levels(request):
    authentication = authn.current(request)
    return render(
        request,
        "identity/factors/levels.html",
        {
            "acr": {level: authn.acr_for(level) for level in Level.values},
            "authentication": authentication,
        },
    )
