"""Signing in and out (one door, also for the admin), registration with email verification, password reset."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import authn, factors, selectors, services
from ..authn import client_address
from ..forms import NewPasswordForm, RegistrationForm, ResetRequestForm, SignInForm, canonical_cedula
from ..models import Level
from . import SENT_TO, safe_next, wait_message

# --- Sign in, sign out -------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    destination = safe_next(request)
    authentication = authn.current(request)
    if request.method == "GET" and authentication is not None and not request.GET.get("force"):
        return redirect(destination)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"].strip()
        check = services.check_sign_in(
            identifier=identifier,
            canonical_cedula=canonical_cedula(identifier),
            password=form.cleaned_data["password"],
            address=client_address(request),
            actor=selectors.actor_for_request(request),
        )
        if check.user is not None:
            authn.start(request, check.user, method="pwd")
            if factors.has_second_factor(check.user):
                query = urlencode({"next": destination, "level": Level.SUBSTANTIAL})
                return redirect(f"{reverse('identity:step-up')}?{query}")
            return redirect(destination)
        if check.wait_seconds:
            form.add_error(None, wait_message(check.wait_seconds))
        else:
            form.add_error(
                None,
                _(
                    "The cédula or email address and the password do not match an account. Check them and "
                    "try again. If you registered recently, first open the link we emailed you."
                ),
            )
    return render(
        request,
        "identity/sign_in.html",
        {
            "form": form,
            "next": destination,
            "signed_in_as": authentication.user if authentication else None,
            "staff_only": destination.startswith(reverse("admin:index")),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def sign_out(request):
    """A GET only asks (a link or a prefetch must not sign anyone out); the button POSTs."""
    if request.method == "POST":
        authn.end(request)
        messages.success(request, _("You have signed out."))
        return redirect("web:home")
    if not request.user.is_authenticated:
        return redirect("web:home")
    return render(request, "identity/sign_out.html")


def admin_has_permission(request) -> bool:
    """The admin changes what everyone sees: it needs staff rights and a session that used a second factor."""
    authentication = authn.current(request)
    return bool(
        request.user.is_active
        and request.user.is_staff
        and authentication is not None
        and authn.satisfies(authentication.level, Level.SUBSTANTIAL)
    )


def admin_sign_in(request, extra_context=None):
    """Django admin's login: the same door as everyone. Staff signed in with a password only are asked for a
    second factor (and to set one up if they have none); a signed-in person without staff rights is asked to
    sign in again with another account, instead of going round in circles."""
    next_url = request.GET.get("next") or reverse("admin:index")
    authentication = authn.current(request)
    if authentication is not None and request.user.is_staff:
        query = {"next": next_url, "level": Level.SUBSTANTIAL}
        return redirect(f"{reverse('identity:step-up')}?{urlencode(query)}")
    query = {"next": next_url}
    if request.user.is_authenticated:
        query["force"] = "1"
    return redirect(f"{reverse('identity:sign-in')}?{urlencode(query)}")


def admin_sign_out(request, extra_context=None):
    return sign_out(request)


# --- Registration and email verification ------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if wait := services.registration_wait_seconds(email=data["email"], address=client_address(request)):
            form.add_error(None, wait_message(wait))
            return render(request, "identity/register.html", {"form": form})
        services.register_person(
            document_type=data["document_type"],
            document_number=data["document_number"],
            nationality=data["nationality"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            birth_date=data["birth_date"],
            email=data["email"],
            phone=data["phone"],
            preferred_language=data["preferred_language"],
            password=data["password"],
            address=client_address(request),
            actor=selectors.actor_for_request(request),
        )
        request.session[SENT_TO] = data["email"]
        return redirect("identity:register-sent")
    if not form.is_bound:
        form.initial["preferred_language"] = request.LANGUAGE_CODE
    return render(request, "identity/register.html", {"form": form})


@never_cache
def register_sent(request):
    return render(request, "identity/register_sent.html", {"email": request.session.get(SENT_TO, "")})


@never_cache
def verify_email(request, token):
    """The link activates the account but does not sign in: whoever holds the link (a mail scanner, another
    device) proves only that they can read the mail, and an account is opened with its password."""
    user = services.verify_email(token=token, actor=selectors.actor_for_request(request))
    return render(request, "identity/verify_email.html", {"verified": user is not None})


# --- Password reset ----------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def reset(request):
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"].strip()
        cedula = canonical_cedula(identifier)
        wait = services.reset_wait_seconds(identifier=cedula or identifier, address=client_address(request))
        if wait:
            form.add_error(None, wait_message(wait))
        else:
            services.request_password_reset(
                identifier=identifier,
                canonical_cedula=cedula,
                address=client_address(request),
                actor=selectors.actor_for_request(request),
            )
            return redirect("identity:reset-sent")
    return render(request, "identity/reset.html", {"form": form})


@never_cache
def reset_sent(request):
    return render(request, "identity/reset_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def reset_confirm(request, token):
    found = services.read_link_token(token, purpose="reset")
    if found is None:
        return render(request, "identity/link_invalid.html", {"again": "identity:reset"}, status=410)
    user = found[0]
    form = NewPasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        done = services.reset_password(
            user=user,
            token=token,
            password=form.cleaned_data["password"],
            keep_session_key=request.session.session_key,
            actor=selectors.actor_for_request(request),
        )
        if not done:
            return render(request, "identity/link_invalid.html", {"again": "identity:reset"}, status=410)
        messages.success(
            request,
            _("Your password has been changed and every other session was signed out. Sign in with it now."),
        )
        return redirect("identity:sign-in")
    return render(
        request,
        "identity/reset_confirm.html",
        {"form": form, "has_second_factor": factors.has_second_factor(user)},
    )
