"""The signed-in person's account: details, email change, devices signed in, sign-in history, consents."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .. import authn, selectors, services
from ..forms import EmailChangeForm, ProfileForm, format_phone
from ..models import Level
from ..oidc.claims import CLAIMS
from . import SENT_TO, signed_in
from .auth import sign_out

HISTORY_PAGE_SIZE = 25


# --- The account -------------------------------------------------------------------------------------------


def _masked_document(user) -> str:
    """Enough of the number to recognise it, not enough to copy it from a screen over someone's shoulder."""
    number = user.document_number
    if not number:
        return ""
    visible = 3
    return "".join("•" if char.isalnum() else char for char in number[:-visible]) + number[-visible:]


@signed_in
def account(request):
    authentication = request.authentication
    user = authentication.user
    highest = authn.highest_level_possible(user)
    return render(
        request,
        "identity/account.html",
        {
            "person": user,
            "session": authentication.session,
            "masked_document": _masked_document(user),
            "phone": format_phone(user.phone),
            "highest_level": Level(highest),
            "can_raise": not authn.satisfies(authentication.level, highest),
            "level": Level(authentication.level),
            "can_act_for_others": selectors.confirmed_representations(user).exists()
            or selectors.live_delegations_received(user).exists(),
        },
    )


@signed_in
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.authentication.user
    form = ProfileForm(
        request.POST or None, initial={"preferred_language": user.preferred_language, "phone": user.phone}
    )
    if request.method == "POST" and form.is_valid():
        services.update_profile(
            user=user,
            preferred_language=form.cleaned_data["preferred_language"],
            phone=form.cleaned_data["phone"],
            actor=selectors.actor_for_request(request),
        )
        messages.success(request, _("Your details have been saved."))
        return redirect("identity:account")
    return render(request, "identity/profile.html", {"form": form})


@signed_in
@require_http_methods(["GET", "POST"])
def email_change(request):
    user = request.authentication.user
    form = EmailChangeForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        services.request_email_change(
            user=user, new_email=form.cleaned_data["email"], actor=selectors.actor_for_request(request)
        )
        request.session[SENT_TO] = form.cleaned_data["email"]
        return redirect("identity:email-change-sent")
    return render(request, "identity/email_change.html", {"form": form})


@signed_in
def email_change_sent(request):
    return render(request, "identity/email_change_sent.html", {"email": request.session.get(SENT_TO, "")})


@never_cache
def email_change_confirm(request, token):
    user = services.confirm_email_change(token=token, actor=selectors.actor_for_request(request))
    if user is None:
        return render(request, "identity/link_invalid.html", {"again": "identity:email-change"}, status=410)
    return render(request, "identity/email_change_done.html", {"email": user.email})


# --- Sessions, history, consents ---------------------------------------------------------------------------


def describe_device(user_agent: str) -> str:
    """ "Firefox on Android" from a User-Agent header: enough to recognise one's own devices."""
    browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    systems = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    browser = next((name for marker, name in browsers if marker in user_agent), "")
    system = next((name for marker, name in systems if marker in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown device")


@signed_in
def sessions(request):
    current = request.authentication.session
    rows = [
        {
            "session": session,
            "device": describe_device(session.user_agent),
            "this_device": session.id == current.id,
        }
        for session in selectors.active_sessions(request.authentication.user)
    ]
    rows.sort(key=lambda row: not row["this_device"])
    return render(request, "identity/sessions.html", {"rows": rows, "others": len(rows) > 1})


@signed_in
@require_POST
def session_end(request, session_id):
    authentication = request.authentication
    if session_id == authentication.session.id:
        return sign_out(request)
    if not services.end_session(
        user=authentication.user, session_id=session_id, actor=selectors.actor_for_request(request)
    ):
        raise Http404(_("There is no such session among yours."))
    messages.success(request, _("That device has been signed out."))
    return redirect("identity:sessions")


@signed_in
@require_POST
def sessions_end_others(request):
    ended = services.end_other_sessions(
        user=request.authentication.user,
        current_session_id=request.authentication.session.id,
        actor=selectors.actor_for_request(request),
    )
    messages.success(
        request,
        ngettext(
            "%(n)s other device has been signed out.", "%(n)s other devices have been signed out.", ended
        )
        % {"n": ended},
    )
    return redirect("identity:sessions")


METHODS = {
    "pwd": gettext_lazy("password"),
    "otp": gettext_lazy("authenticator app"),
    "hwk": gettext_lazy("passkey or security key"),
    "rc": gettext_lazy("recovery code"),
    "assisted": gettext_lazy("assisted by an official"),
}


def describe_method(method: str) -> str:
    return " + ".join(str(METHODS.get(part, part)) for part in method.split("+"))


@signed_in
def history(request):
    paginator = Paginator(selectors.sign_in_history(request.authentication.user), HISTORY_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    records = [{"record": record, "method": describe_method(record.method)} for record in page]
    return render(
        request,
        "identity/history.html",
        {"records": records, "page": page.number, "last_page": paginator.num_pages},
    )


@signed_in
def consents(request):
    rows = [
        {
            "consent": consent,
            "claims": [str(CLAIMS[name].label) if name in CLAIMS else name for name in consent.claims],
        }
        for consent in selectors.live_consents(request.authentication.user)
    ]
    return render(request, "identity/consents.html", {"rows": rows})


@signed_in
@require_POST
def consent_revoke(request, consent_id):
    if not services.revoke_consent(
        user=request.authentication.user, consent_id=consent_id, actor=selectors.actor_for_request(request)
    ):
        raise Http404(_("There is no such consent among yours."))
    messages.success(
        request, _("The service no longer receives your details. It will ask again if you sign in to it.")
    )
    return redirect("identity:consents")
