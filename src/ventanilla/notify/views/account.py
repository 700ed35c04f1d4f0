"""The person's side of notifications: the messages in their account, how they want to hear from us, and
confirming a mobile number with a code sent to it (only confirmed numbers get text messages)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for_request

from .. import rendering, selectors, services
from ..forms import PhoneCodeForm, PreferenceForm

signed_in = authn.required()
PAGE_SIZE = 20


def _person(request) -> str:
    return f"user:{request.authentication.user.public_id}"


def _posted(request):
    """The form's data on a POST, even an empty one (an empty POST must show errors, not a blank form)."""
    return request.POST if request.method == "POST" else None


@signed_in
def inbox(request):
    paginator = Paginator(selectors.inbox(_person(request)), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "notify/account/inbox.html",
        {"messages_page": page, "page": page.number, "last_page": paginator.num_pages},
    )


@signed_in
def message(request, message_id):
    found = selectors.inbox_message(_person(request), message_id)
    if found is None:
        raise Http404(_("There is no such message in your account."))
    services.mark_read(message=found, person=_person(request))
    return render(
        request,
        "notify/account/message.html",
        {"message": found, "blocks": list(rendering.blocks(found.body))},
    )


@signed_in
@require_http_methods(["GET", "POST"])
def preferences(request):
    user = request.authentication.user
    preference = selectors.preference_for(_person(request))
    form = PreferenceForm(
        _posted(request),
        initial={"channels": preference.channels, "non_essential": preference.non_essential},
    )
    if request.method == "POST" and form.is_valid():
        services.set_preference(
            person=_person(request),
            channels=form.cleaned_data["channels"],
            non_essential=form.cleaned_data["non_essential"],
            actor=actor_for_request(request),
        )
        messages.success(request, _("Your choices have been saved."))
        return redirect("notify:preferences")
    return render(request, "notify/account/preferences.html", {"form": form, "person": user})


@signed_in
@require_POST
def phone_code(request):
    try:
        services.send_phone_code(user=request.authentication.user, actor=actor_for_request(request))
    except services.PhoneCheckError as error:
        messages.error(request, str(error))
        return redirect("notify:preferences")
    return redirect("notify:phone-confirm")


@signed_in
@require_http_methods(["GET", "POST"])
def phone_confirm(request):
    user = request.authentication.user
    if user.phone_verified_at or not user.phone:
        return redirect("notify:preferences")
    form = PhoneCodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.confirm_phone_code(
                user=user, code=form.cleaned_data["code"], actor=actor_for_request(request)
            )
        except services.PhoneCheckError as error:
            form.add_error("code", str(error))
        else:
            messages.success(request, _("Your mobile number is confirmed: we will send text messages to it."))
            return redirect("notify:preferences")
    return render(request, "notify/account/phone_confirm.html", {"form": form, "person": user})
