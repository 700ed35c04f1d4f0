"""Acting for others: delegations between people, businesses represented, choosing whom a session acts for."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors, services
from ..forms import ActAsForm, BusinessForm, DelegationForm
from ..models import Delegation
from . import safe_next, signed_in

# --- Delegations, businesses, acting for others ------------------------------------------------------------


@signed_in
def delegations(request):
    user = request.authentication.user
    received = _delegation_rows(selectors.delegations_received(user))
    return render(
        request,
        "identity/delegations.html",
        {
            "given": _delegation_rows(selectors.delegations_given(user)),
            "received": received,
            "can_act": any(row["status"] == "active" for row in received),
        },
    )


def _delegation_rows(delegations) -> list[dict]:
    now = timezone.now()
    labels = dict(Delegation.Scope.choices)
    return [
        {
            "delegation": delegation,
            "status": "revoked"
            if delegation.revoked_at
            else "active"
            if delegation.expires_at > now
            else "expired",
            # expires_at is the midnight that ends the last day
            "last_day": timezone.localtime(delegation.expires_at - timedelta(seconds=1)).date(),
            "scopes": [labels.get(scope, scope) for scope in delegation.scopes],
        }
        for delegation in delegations
    ]


@signed_in
@require_http_methods(["GET", "POST"])
def delegation_new(request):
    form = DelegationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.grant_delegation(
                delegator=request.authentication.user,
                delegate_cedula=data["delegate"],
                scopes=data["scopes"],
                expires_on=data["expires_on"],
                actor=selectors.actor_for_request(request),
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field, message)
        else:
            messages.success(request, _("The person may now act for you. We have told them by email."))
            return redirect("identity:delegations")
    return render(request, "identity/delegation_new.html", {"form": form})


@signed_in
@require_POST
def delegation_end(request, delegation_id):
    delegation = services.end_delegation(
        user=request.authentication.user,
        delegation_id=delegation_id,
        actor=selectors.actor_for_request(request),
    )
    if delegation is None:
        raise Http404(_("There is no such delegation among yours."))
    messages.success(request, _("The delegation has ended."))
    return redirect("identity:delegations")


@signed_in
def businesses(request):
    return render(
        request,
        "identity/businesses.html",
        {"representations": selectors.representations(request.authentication.user)},
    )


@signed_in
@require_http_methods(["GET", "POST"])
def business_new(request):
    form = BusinessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.declare_representation(
            person=request.authentication.user,
            ruc=form.cleaned_data["ruc"],
            dv=form.cleaned_data["dv"],
            name=form.cleaned_data["name"],
            actor=selectors.actor_for_request(request),
        )
        messages.success(
            request, _("We have recorded it. An official will confirm it against the Public Registry.")
        )
        return redirect("identity:businesses")
    return render(request, "identity/business_new.html", {"form": form})


@signed_in
@require_POST
def business_end(request, representation_id):
    if not services.end_representation(
        person=request.authentication.user,
        representation_id=representation_id,
        actor=selectors.actor_for_request(request),
    ):
        raise Http404(_("There is no such business among yours."))
    messages.success(request, _("You no longer act for this business here."))
    return redirect("identity:businesses")


@signed_in
@require_http_methods(["GET", "POST"])
def act_as(request):
    authentication = request.authentication
    user = authentication.user
    form = ActAsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kind, public_id = form.choice()
        try:
            principal = services.act_as(
                session=authentication.session,
                kind=kind,
                public_id=public_id,
                actor=selectors.actor_for_request(request),
            )
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            if principal.is_self:
                messages.success(request, _("You are acting for yourself again."))
            else:
                messages.success(request, _("You are now acting for %(name)s.") % {"name": principal.label})
            return redirect(safe_next(request))
    return render(
        request,
        "identity/act_as.html",
        {
            "form": form,
            "choices": _acting_choices(user),
            "current": _current_choice(authentication.session),
        },
    )


def _current_choice(session) -> str:
    acting_for = session.acting_for or {}
    return f"{acting_for['kind']}:{acting_for['id']}" if acting_for else "self"


def _acting_choices(user) -> list[dict]:
    """Oneself, each business represented (confirmed), each person with a live delegation (once)."""
    choices = [{"value": "self", "label": str(user), "hint": _("Yourself")}]
    for representation in selectors.confirmed_representations(user):
        business = representation.business
        choices.append(
            {
                "value": f"business:{business.public_id}",
                "label": business.name,
                "hint": f"RUC {business.ruc} DV {business.dv}",
            }
        )
    seen = set()
    for delegation in selectors.live_delegations_received(user):
        if delegation.delegator_id not in seen:
            seen.add(delegation.delegator_id)
            choices.append(
                {
                    "value": f"person:{delegation.delegator.public_id}",
                    "label": str(delegation.delegator),
                    "hint": _("Gave you permission to act for them"),
                }
            )
    return choices
