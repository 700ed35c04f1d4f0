"""The back office: an official's queue of cases, one case with everything needed to decide it, and the
actions of its workflow. Only for officials who hold a role in the case's institution, in a session that used
a second factor; everything they do is written through cases.services, which checks the role again."""

import uuid
from datetime import datetime
from functools import wraps

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.core.i18n import bilingual, localized
from ventanilla.forms import flow
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for
from ventanilla.workflow import engine

from .. import selectors, services
from ..models import Case
from .service_pages import fetched_requirements, requirement_name

official_session = authn.required(authn.Level.SUBSTANTIAL)
PAGE_SIZE = selectors.PAGE_SIZE


def _not_official(request):
    return render(request, "cases/officials/not_official.html", status=403)


def official_required(view):
    """A second factor, then a case role in some institution; anyone else is told whom to ask."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not selectors.is_official(request.authentication.user):
            return _not_official(request)
        return view(request, *args, **kwargs)

    return official_session(wrapper)


def _actor(request):
    # Back-office work is the official's own, even while their browser also assists a citizen at a counter.
    return actor_for(request.authentication.user)


def _case_or_404(request, reference: str) -> Case:
    case = selectors.case_for_official(request.authentication.user, reference)
    # An application not sent yet is the applicant's alone: the institution sees it once it arrives.
    if case is None or case.stage == Case.Stage.DRAFT:
        raise Http404(_("There is no such case in your institutions."))
    return case


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


# --- The queue -----------------------------------------------------------------------------------------------


def _valid_cursor(after: str) -> str | None:
    """A "next page" cursor exactly as the queue made it (due date ~ case id), or None."""
    due, separator, case_id = after.partition("~")
    try:
        datetime.fromisoformat(due)
        uuid.UUID(case_id)
    except ValueError:
        return None
    return after if separator else None


def _state_choices(versions) -> list[tuple[str, str]]:
    """The states of the institution's services a case can wait in, for the filter (by key, first label)."""
    labels: dict[str, str] = {}
    for version in versions:
        for state in selectors.definition_of(version).workflow.states.values():
            if state.kind == "active":
                labels.setdefault(state.key, bilingual(state.label))
    return sorted(labels.items(), key=lambda item: item[1].lower())


@official_session
def inbox(request):
    user = request.authentication.user
    institutions = selectors.institutions_of(user)
    if not institutions:  # the same answer as official_required, one query fewer on the busiest page
        return _not_official(request)
    chosen = request.GET.get("institution", "")
    institution, roles = next(
        ((item, held) for item, held in institutions if item.code == chosen), institutions[0]
    )
    versions = list(selectors.published_versions_of(institution))
    services_by_code = {version.service.procedure.code: version for version in versions}
    states = _state_choices(
        [services_by_code[request.GET["service"]]]
        if request.GET.get("service") in services_by_code
        else versions
    )
    filters = {
        "role": request.GET.get("role") if request.GET.get("role") in roles else "",
        "state": request.GET.get("state") if request.GET.get("state") in dict(states) else "",
        "service": request.GET.get("service") if request.GET.get("service") in services_by_code else "",
        "late": request.GET.get("late") == "1",
        "mine": request.GET.get("mine") == "1",
    }
    cursor = _valid_cursor(request.GET.get("after", ""))
    page = selectors.queue(
        institution=institution,
        roles=roles,
        user=user,
        role=filters["role"] or None,
        state=filters["state"] or None,
        service=filters["service"] or None,
        breached=filters["late"],
        mine=filters["mine"],
        after=cursor,
        limit=PAGE_SIZE,
    )
    # Each row as the strings it shows: a page of the queue is rendered many times a minute, and a template
    # looking values up is several times slower than Python formatting them once.
    now = timezone.now()
    work_url = reverse("cases:work", args=["REFERENCE"])
    rows = []
    for case in page.cases:
        state = selectors.definition_of(case.version).workflow.states.get(case.state)
        rows.append(
            {
                "reference": case.reference,
                "url": work_url.replace("REFERENCE", case.reference),
                "service": localized(case.version.service.procedure, "title"),
                "applicant": case.subject_label,
                "state": bilingual(state.label) if state else case.state,
                "escalated": case.escalated,
                "due": date_format(timezone.localtime(case.state_due_at), "SHORT_DATE_FORMAT")
                if case.state_due_at
                else "",
                "late": case.escalated or bool(case.state_due_at and case.state_due_at < now),
                "assigned": _person(case.assigned_to),
                "mine": case.assigned_to_id == user.pk,
            }
        )
    return render(
        request,
        "cases/officials/inbox.html",
        {
            "institutions": institutions,
            "institution": institution,
            "roles": sorted(roles),
            "states": states,
            "services": sorted(services_by_code.values(), key=lambda version: version.service.procedure.code),
            "filters": filters,
            "rows": rows,
            "next_cursor": page.next_cursor,
            "first_page": bool(cursor),
        },
    )


# --- One case ------------------------------------------------------------------------------------------------


def _history(case: Case, workflow) -> list[dict]:
    def label(key: str) -> str:
        state = workflow.states.get(key)
        return bilingual(state.label) if state else key

    lines = []
    for event in selectors.history(case, for_applicant=False):
        action = workflow.actions.get(event.action) if event.action else None
        lines.append(
            {
                "event": event,
                "action": bilingual(action.label) if action else "",
                "from_state": label(event.from_state) if event.from_state else "",
                "to_state": label(event.to_state) if event.to_state else "",
                "internal": not event.visible_to_applicant,
                "assigned_to": event.data.get("to", "") if event.kind == "assigned" else "",
            }
        )
    return lines


def _work_context(request, case: Case, **extra) -> dict:
    user = request.authentication.user
    definition = selectors.definition_of(case.version)
    workflow = definition.workflow
    roles = selectors.roles_of(user, case.institution_id)
    state = workflow.states.get(case.state)
    case_state = state
    actions = (
        engine.available_actions(workflow, case.state, roles=roles, answers=case.answers)
        if case.stage == Case.Stage.OPEN
        else []
    )
    now = timezone.now()
    return {
        "case": case,
        "procedure": case.version.service.procedure,
        "for_business": case.subject.startswith("business:"),
        "state": bilingual(case_state.label) if case_state else "",
        "state_description": bilingual(case_state.description) if case_state else "",
        "late": case.stage == Case.Stage.OPEN
        and (case.escalated or bool(case.state_due_at and case.state_due_at < now)),
        "case_late": case.stage == Case.Stage.OPEN and bool(case.case_due_at and case.case_due_at < now),
        "answers": flow.summary(definition.form, case.answers, applicant=services.applicant_context(case)),
        "evidence": [
            {"item": item, "requirement": requirement_name(case.version, item.requirement_slug)}
            for item in selectors.evidence_of(case)
        ],
        "fetched": fetched_requirements(case.version),
        "history": _history(case, workflow),
        "actions": [{"key": action.key, "label": bilingual(action.label)} for action in actions],
        "roles": sorted(roles),
        "officials": selectors.officials_of(case.institution),
        "assigned": _person(case.assigned_to),
        "mine": case.assigned_to_id == user.pk,
        "open": case.stage == Case.Stage.OPEN,
        **extra,
    }


@official_required
def work(request, reference):
    case = _case_or_404(request, reference)
    return render(request, "cases/officials/work.html", _work_context(request, case))


def _write(request, reference, *, field: str, save, done: str):
    """A text an official writes on the case (an internal note, a message to the applicant)."""
    case = _case_or_404(request, reference)
    text = request.POST.get(field, "")
    try:
        save(case=case, text=text, official=request.authentication.user, actor=_actor(request))
    except services.CaseError as error:
        context = _work_context(
            request, case, **{f"{field}_error": error.errors.get(field, str(error)), f"{field}_text": text}
        )
        return render(request, "cases/officials/work.html", context, status=400)
    messages.success(request, done)
    return redirect("cases:work", reference=case.reference)


@official_required
@require_POST
def note(request, reference):
    return _write(
        request,
        reference,
        field="note",
        save=services.add_note,
        done=_("Your note was added. The applicant does not see it."),
    )


def _message_to_applicant(*, case, text, official, actor):
    services.post_message(case=case, text=text, by_applicant=False, actor=actor, user=official)


@official_required
@require_POST
def message(request, reference):
    return _write(
        request,
        reference,
        field="message",
        save=_message_to_applicant,
        done=_("Your message was sent to the applicant. It is on the case's history."),
    )


def _assign(request, case: Case, to) -> None:
    try:
        services.assign(case=case, to=to, official=request.authentication.user, actor=_actor(request))
    except services.CaseError as error:
        messages.error(request, str(error))
        return
    if to is None:
        messages.success(request, _("Nobody is working on this case now: it is back in its queue."))
    elif to == request.authentication.user:
        messages.success(request, _("The case is yours now."))
    else:
        messages.success(request, _("The case was given to %(name)s.") % {"name": _person(to)})


@official_required
@require_POST
def claim(request, reference):
    case = _case_or_404(request, reference)
    _assign(request, case, request.authentication.user)
    return redirect("cases:work", reference=case.reference)


@official_required
@require_POST
def assign(request, reference):
    """Give the case to an official of its institution; "nobody" releases it."""
    case = _case_or_404(request, reference)
    chosen = request.POST.get("to", "")
    if not chosen:
        _assign(request, case, None)
        return redirect("cases:work", reference=case.reference)
    try:
        to = selectors.officials_of(case.institution).filter(public_id=uuid.UUID(chosen)).first()
    except ValueError:
        to = None
    if to is None:
        messages.error(request, _("Choose an official of this institution."))
    else:
        _assign(request, case, to)
    return redirect("cases:work", reference=case.reference)


# --- Actions -------------------------------------------------------------------------------------------------


def _consequence(workflow, action) -> str:
    """What taking the action will do, said before the official confirms it."""
    target = workflow.states[action.target]
    name = bilingual(target.label)
    if action.kind == "send_back" or target.kind == "applicant":
        return _(
            "The case will move to “%(state)s” and go back to the applicant, who is told what you write and "
            "answers from their account. The deadline stops until they answer."
        ) % {"state": name}
    if target.kind == "outcome":
        return _(
            "The case will move to “%(state)s” and be finished. The applicant will be told, with your reason."
        ) % {"state": name}
    return _(
        "The case will move to “%(state)s” and wait in the queue of the role “%(role)s”. The applicant will be "
        "told."
    ) % {"state": name, "role": target.role or ""}


def _inputs(action, values: dict, errors: dict) -> list[dict]:
    return [
        {
            "key": item.key,
            "type": item.type,
            "label": bilingual(item.label),
            "required": item.required,
            "options": [(option.value, bilingual(option.label)) for option in item.options],
            "value": values.get(item.key, ""),
            "error": errors.get(item.key, ""),
        }
        for item in action.inputs
    ]


@official_required
@require_http_methods(["GET", "POST"])
def act(request, reference, action_key):
    case = _case_or_404(request, reference)
    user = request.authentication.user
    workflow = selectors.definition_of(case.version).workflow
    action = workflow.actions.get(action_key)
    if action is None:
        raise Http404(_("This service has no such action."))
    values, errors, problem = {}, {}, ""
    expected_state = case.state
    if request.method == "POST":
        values = {item.key: request.POST.get(item.key, "") for item in action.inputs}
        expected_state = request.POST.get("expected_state", "")
        try:
            case = services.act(
                case=case,
                action_key=action.key,
                inputs=values,
                official=user,
                actor=_actor(request),
                expected_state=expected_state or None,
            )
        except services.CaseError as error:
            errors, problem = error.errors, str(error)
        else:
            state = workflow.states.get(case.state)
            messages.success(
                request,
                _("Done: “%(action)s”. The case is now “%(state)s”.")
                % {
                    "action": bilingual(action.label),
                    "state": bilingual(state.label) if state else case.state,
                },
            )
            return redirect("cases:work", reference=case.reference)
    else:
        roles = selectors.roles_of(user, case.institution_id)
        available = case.stage == Case.Stage.OPEN and action in engine.available_actions(
            workflow, case.state, roles=roles, answers=case.answers
        )
        if not available:
            state = workflow.states.get(case.state)
            messages.error(
                request,
                _("You cannot “%(action)s” this case now: it is “%(state)s”.")
                % {
                    "action": bilingual(action.label),
                    "state": bilingual(state.label) if state else case.state,
                },
            )
            return redirect("cases:work", reference=case.reference)
    state = workflow.states.get(expected_state)
    return render(
        request,
        "cases/officials/act.html",
        {
            "case": case,
            "action": action,
            "action_label": bilingual(action.label),
            "state": bilingual(state.label) if state else "",
            "consequence": _consequence(workflow, action),
            "inputs": _inputs(action, values, errors),
            "expected_state": expected_state,
            "problem": problem,
            "field_errors": [(key, message) for key, message in errors.items()],
            "decision": action.kind == "decision",
        },
        status=400 if problem else 200,
    )
