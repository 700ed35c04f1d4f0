"""Pages for registrars: officials at an office or InfoPlaza who check identity documents in person (level
high) and act for citizens who are present (assisted digital). Anyone else is told the pages are not theirs."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import assurance, authn
from ..forms import AssistForm, DocumentLookupForm, IdentityCheckForm
from ..models import IdentityCheck, Level, User
from ..selectors import actor_for_request
from . import signed_in


def registrar_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not assurance.is_registrar(request.authentication.user):
            return render(request, "identity/officials/not_registrar.html", status=403)
        return view(request, *args, **kwargs)

    return signed_in(wrapper)


def _agreement_text(official: User) -> str:
    """What the official reads to the citizen before acting for them; recorded with the assisted session."""
    return _(
        "I, %(official)s, will use your account for you, here and now, while you are with me (in person or "
        "on the phone). Everything I do is recorded in your account's history as done by me for you. You can "
        "ask me to stop at any moment."
    ) % {"official": official.get_full_name() or official.get_username()}


def _form_errors(form, error: ValidationError) -> None:
    """A service's ValidationError shown on the form: by field where it names one the form has."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@registrar_required
def home(request):
    official = request.authentication.user
    return render(
        request,
        "identity/officials/home.html",
        {
            "roles": assurance.registrar_roles(official).select_related("institution"),
            "assisted": assurance.active_assisted_session(request.authentication.session),
        },
    )


# --- Identity checks in person -----------------------------------------------------------------------------


@registrar_required
@authn.required(Level.SUBSTANTIAL)
@require_http_methods(["GET", "POST"])
def identity_check(request):
    """Find the person by the document they show. POST, so the number stays out of addresses and logs."""
    form = DocumentLookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = assurance.find_person(**form.cleaned_data)
        if person is None:
            form.add_error(
                "document_number",
                _(
                    "No account holds this document. Check the number; if it is right, the person has to register first."
                ),
            )
        else:
            return redirect("identity:identity-check-record", person_id=person.public_id)
    return render(request, "identity/officials/check_find.html", {"form": form})


@registrar_required
@authn.required(Level.SUBSTANTIAL)
@require_http_methods(["GET", "POST"])
def identity_check_record(request, person_id):
    person = User.objects.filter(public_id=person_id, is_active=True).first()
    if person is None:
        raise Http404(_("There is no such account."))
    official = request.authentication.user
    form = IdentityCheckForm(request.POST or None, initial={"place": assurance.default_place(official)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            check = assurance.record_identity_check(
                person=person,
                official=official,
                document_type=person.document_type,
                document_number=data["document_number"],
                document_expiry=data["document_expiry"],
                place=data["place"],
                notes=data["notes"],
                actor=actor_for_request(request),
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            return redirect("identity:identity-check-done", check_id=check.public_id)
    return render(request, "identity/officials/check_record.html", {"form": form, "person": person})


@registrar_required
def identity_check_done(request, check_id):
    check = (
        IdentityCheck.objects.select_related("person")
        .filter(public_id=check_id, official=request.authentication.user)
        .first()
    )
    if check is None:
        raise Http404(_("There is no such identity check of yours."))
    return render(request, "identity/officials/check_done.html", {"check": check})


# --- Assisted digital --------------------------------------------------------------------------------------


@registrar_required
@authn.required(Level.SUBSTANTIAL)
@require_http_methods(["GET", "POST"])
def assist(request):
    official, session = request.authentication.user, request.authentication.session
    assisted = assurance.active_assisted_session(session)
    if assisted is not None:
        return render(request, "identity/officials/assisting.html", {"assisted": assisted})
    agreement = _agreement_text(official)
    form = AssistForm(request.POST or None, initial={"channel": "infoplaza"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        citizen = assurance.find_person(
            document_type=data["document_type"],
            document_number=data["document_number"],
            nationality=data.get("nationality", ""),
        )
        if citizen is None:
            form.add_error(
                "document_number",
                _(
                    "No account holds this document. Check the number; if it is right, help the citizen register first."
                ),
            )
        else:
            try:
                assurance.start_assisted_session(
                    official=official,
                    citizen=citizen,
                    account_session=session,
                    channel=data["channel"],
                    place=assurance.default_place(official),
                    agreement=agreement + "\n" + _("The citizen agreed."),
                    actor=actor_for_request(request),
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                return redirect("identity:assist")
    return render(request, "identity/officials/assist.html", {"form": form, "agreement": agreement})


@registrar_required
@require_POST
def assist_end(request):
    ended = assurance.end_assisted_session(
        account_session=request.authentication.session, actor=actor_for_request(request)
    )
    if ended is not None:
        messages.success(request, _("You are no longer acting for %(citizen)s.") % {"citizen": ended.citizen})
    return redirect("identity:officials")
