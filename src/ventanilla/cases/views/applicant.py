"""The applicant's pages: a service's start page, its form one page at a time, check your answers, the
confirmation, "my applications", and each case's page (status, history, messages, answering a send-back,
withdrawing, downloading its documents). Thin: forms.flow checks answers, services write, selectors read."""

import secrets
from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.i18n import bilingual, localized
from ventanilla.forms import flow
from ventanilla.forms.components import FieldError, component
from ventanilla.forms.definition import Field
from ventanilla.forms.templatetags.form_fields import error_anchor
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for_request, may_act, principal_for_request

from .. import selectors, services
from ..models import Case, CaseEvent

CASES_SCOPE = "cases"
RETURN_TO_CHECK = "check"
RESPONSE_FILE_TYPES = ["pdf", "jpg", "png"]
# How a case filed by an official reads to the citizen ("Filed for you by an official …").
ASSISTED_CHANNELS = {
    "office": gettext_lazy("at an office"),
    "phone311": gettext_lazy("by phone, through 311"),
    "infoplaza": gettext_lazy("at an InfoPlaza"),
}


def sign_in_level(version) -> str:
    """The level of assurance a service asks for, fixed at publication; at least low, since a case is always
    filed for someone."""
    level = version.resolved.get("sign_in_level") or version.service.procedure.sign_in_level
    return level if level in authn.ORDER else "low"


def _level_label(level: str) -> str:
    return {
        "low": _("low (your password)"),
        "substantial": _("substantial (your password and a second factor)"),
        "high": _("high (your identity checked in person, and a second factor)"),
    }[level]


def _cannot_act(request, principal):
    return render(request, "cases/applicant/cannot_act.html", {"principal": principal}, status=403)


def case_page(view):
    """A page of one case: signed in at the service's level, for the person or business the case was filed
    for, with permission to handle their applications. Anyone else's case is "not found", exactly like a
    reference that does not exist."""

    @wraps(view)
    @authn.required()
    def wrapper(request, reference, **kwargs):
        principal = principal_for_request(request)
        case = selectors.case_for_subject(principal.reference, reference)
        if case is None:
            raise Http404(_("There is no application with this reference among yours."))
        if not may_act(request, CASES_SCOPE):
            return _cannot_act(request, principal)
        at_level = authn.required(sign_in_level(case.version))(view)
        return at_level(request, case, **kwargs)

    return wrapper


def _definition(case: Case):
    return selectors.definition_of(case.version)


def _state(case: Case):
    return _definition(case).workflow.states.get(case.state)


def _state_label(case: Case) -> str:
    if case.stage in (Case.Stage.DRAFT, Case.Stage.AWAITING_PAYMENT):
        return str(Case.Stage(case.stage).label)
    state = _state(case)
    return bilingual(state.label) if state else case.state


def _fees(version) -> list[dict]:
    return [{**fee, "amount": Decimal(fee["amount"])} for fee in version.resolved.get("fees", [])]


def _evidence_names(case: Case) -> dict[str, str]:
    return {str(evidence.id): evidence.name for evidence in selectors.evidence_of(case)}


def _first_incomplete_page(case: Case):
    """The first page, in the order they are shown, with an answer missing or to correct; None when the
    answers could be sent."""
    form = _definition(case).form
    applicant = services.applicant_context(case)
    errors = flow.clean_answers(form, case.answers, applicant=applicant)
    keys = {path.split("[")[0].split(".")[0] for path in errors}
    for page in flow.visible_pages(form, case.answers, applicant=applicant):
        if any(field.key in keys for field in page.fields):
            return page
    return None


def _continue_url(case: Case) -> str:
    """Where a draft continues: the page the applicant stopped at, else the first one still missing an
    answer, else check your answers."""
    form = _definition(case).form
    if case.current_page and form.page(case.current_page):
        return reverse("cases:page", args=[case.reference, case.current_page])
    page = _first_incomplete_page(case)
    if page is not None:
        return reverse("cases:page", args=[case.reference, page.key])
    return reverse("cases:check", args=[case.reference])


def _sent_back_event(case: Case) -> CaseEvent | None:
    return (
        selectors.history(case, for_applicant=True)
        .filter(kind=CaseEvent.Kind.SENT_BACK)
        .order_by("-at")
        .first()
    )


# --- Start -----------------------------------------------------------------------------------------------------


def _applicant_fits(kind: str, principal) -> bool:
    acting_for_business = principal.kind == "business"
    return kind == "any" or (kind == "business") == acting_for_business


def _start_context(request, version) -> dict:
    procedure = version.service.procedure
    definition = selectors.definition_of(version)
    requirements = version.resolved.get("requirements", {})
    fetch = set(version.resolved.get("fetch", []))
    issuers = {}
    for slug in fetch:
        code = requirements.get(slug, {}).get("issuer")
        if code and code not in issuers:
            institution = catalogue.institution_by_code(code)
            issuers[code] = localized(institution, "name") if institution else ""
    kind = definition.document.get("applicant", "any")
    principal = principal_for_request(request)
    workflow = definition.workflow
    draft = None
    if principal is not None and principal.scopes:
        draft = (
            selectors.cases_of(principal.reference)
            .filter(stage=Case.Stage.DRAFT, version__service=version.service)
            .first()
        )
    return {
        "version": version,
        "procedure": procedure,
        "applicant_kind": kind,
        "to_upload": [
            localized(requirement, "name") for slug, requirement in requirements.items() if slug not in fetch
        ],
        "fetched": [
            {
                "name": localized(requirements[slug], "name"),
                "issuer": issuers.get(requirements[slug].get("issuer")) or "",
            }
            for slug in sorted(fetch)
            if slug in requirements
        ],
        "fees": _fees(version),
        "days": workflow.case_sla_days or procedure.max_days or services.DEFAULT_CASE_DAYS,
        "level": _level_label(sign_in_level(version)),
        "principal": principal,
        "wrong_kind": principal is not None and not _applicant_fits(kind, principal),
        "cannot_act": principal is not None and not may_act(request, CASES_SCOPE),
        "start_key": secrets.token_urlsafe(24),
        "draft": draft,
        "draft_url": _continue_url(draft) if draft else "",
    }


@require_http_methods(["GET", "POST"])
def start(request, procedure_code):
    version = selectors.published_version(procedure_code)
    if version is None:
        raise Http404(_("This procedure cannot be done online yet."))
    if request.method == "POST":
        return authn.required(sign_in_level(version))(_start_case)(request, version)
    return render(request, "cases/applicant/start.html", _start_context(request, version))


def _start_case(request, version):
    principal = principal_for_request(request)
    if not may_act(request, CASES_SCOPE):
        return _cannot_act(request, principal)
    context = _start_context(request, version)
    if context["wrong_kind"]:
        return render(request, "cases/applicant/start.html", context, status=403)
    user = request.authentication.user
    try:
        case, _created = services.start_case(
            version=version,
            subject=principal.reference,
            subject_label=principal.label,
            applicant=principal.person or user,
            filed_by=user,
            start_key=request.POST.get("start_key", "")[:64],
            actor=actor_for_request(request),
        )
    except services.CaseError as error:
        context["problem"] = str(error)
        return render(request, "cases/applicant/start.html", context, status=409)
    return redirect(_continue_url(case))


# --- The form, one page at a time ------------------------------------------------------------------------------


def _page_url(case: Case, page_key: str, *, to_check: bool) -> str:
    url = reverse("cases:page", args=[case.reference, page_key])
    return f"{url}?return={RETURN_TO_CHECK}" if to_check else url


@case_page
@require_http_methods(["GET", "POST"])
def page(request, case, page_key):
    if case.stage != Case.Stage.DRAFT:
        return redirect("cases:detail", case.reference)
    form = _definition(case).form
    form_page = form.page(page_key)
    if form_page is None:
        raise Http404(_("This application has no such page."))
    applicant = services.applicant_context(case)
    to_check = request.GET.get("return") == RETURN_TO_CHECK
    if form_page.key not in {
        shown.key for shown in flow.visible_pages(form, case.answers, applicant=applicant)
    }:
        following = flow.next_page(form, page_key, case.answers, applicant=applicant)
        if following is None or to_check:
            return redirect("cases:check", case.reference)
        return redirect(_page_url(case, following.key, to_check=False))

    values, errors = case.answers, {}
    if request.method == "POST":
        result = flow.clean_page(
            form, page_key, request.POST, request.FILES, case.answers, applicant=applicant
        )
        save_later = "save_later" in request.POST
        # Adding or removing an item of a group shows the page again; so do errors, unless saving for later.
        if result.action != flow.CONTINUE or (result.errors and not save_later):
            values, errors = result.data, result.errors
        else:
            return _save_page(request, case, page_key, result, save_later=save_later, to_check=to_check)

    previous = flow.previous_page(form, page_key, case.answers, applicant=applicant)
    if to_check:
        back_url = reverse("cases:check", args=[case.reference])
    elif previous is not None:
        back_url = reverse("cases:page", args=[case.reference, previous.key])
    else:
        back_url = reverse("cases:start", args=[case.version.service.procedure.code])
    return render(
        request,
        "cases/applicant/page.html",
        {
            "case": case,
            "procedure": case.version.service.procedure,
            "page": form_page,
            "values": values,
            "answers": case.answers,
            "errors": errors,
            "evidence": _evidence_names(case),
            "multipart": any(field.type == "file" for field in form_page.fields),
            "back_url": back_url,
        },
    )


def _save_page(request, case, page_key, result, *, save_later: bool, to_check: bool):
    """Keep the page's answers. Saving to come back later keeps only what is valid, and the draft continues
    on this page."""
    invalid = {path.split("[")[0].split(".")[0] for path in result.errors}
    values = {key: value for key, value in result.values.items() if key not in invalid}
    values.update({key: None for key in result.removed if key not in invalid})
    uploads = {key: files for key, files in result.uploads.items() if key not in invalid}
    try:
        case = services.save_page(
            case=case,
            page_key=page_key,
            values=values,
            uploads=uploads,
            actor=actor_for_request(request),
            user=request.authentication.user,
            resume_at=page_key if save_later else None,
        )
    except services.CaseError as error:
        messages.error(request, str(error))
        return redirect("cases:detail", case.reference)
    if save_later:
        messages.success(
            request,
            _(
                "Your application %(reference)s is saved. You can continue it from any device: sign in and open "
                "“Your applications”."
            )
            % {"reference": case.reference},
        )
        return redirect("cases:mine")
    if to_check:
        incomplete = _first_incomplete_page(case)
        if incomplete is not None and incomplete.key != page_key:
            return redirect(_page_url(case, incomplete.key, to_check=True))
        return redirect("cases:check", case.reference)
    if case.current_page:
        return redirect("cases:page", case.reference, case.current_page)
    return redirect("cases:check", case.reference)


# --- Check your answers and send ------------------------------------------------------------------------------


def _summary(case: Case) -> list[dict]:
    definition = _definition(case)
    names = _evidence_names(case)
    sections = []
    for section in flow.summary(definition.form, case.answers, applicant=services.applicant_context(case)):
        change_url = _page_url(case, section.page.key, to_check=True)
        rows = []
        for row in section.rows:
            files = []
            if row.field.type == "file":
                files = [
                    names.get(str(evidence_id), "") for evidence_id in case.answers.get(row.field.key) or []
                ]
            anchor = error_anchor(section.page, row.field.key)
            if row.index is not None:
                anchor = component("repeat").anchor(f"{row.field.key}-{row.index}")
            rows.append(
                {"label": row.label, "value": row.value_text, "files": files, "url": f"{change_url}#{anchor}"}
            )
        sections.append({"title": section.page.title_text, "rows": rows})
    return sections


def _problems(case: Case, errors: dict) -> list[dict]:
    """Each problem found when sending, with a link to the page where it can be put right."""
    form = _definition(case).form
    problems = []
    for path, message in errors.items():
        key = path.split("[")[0].split(".")[0]
        page_of = next((page for page in form.pages if any(field.key == key for field in page.fields)), None)
        url = ""
        if page_of is not None:
            url = f"{_page_url(case, page_of.key, to_check=True)}#{error_anchor(page_of, path)}"
        problems.append({"message": message, "url": url})
    return problems


def _last_page_url(case: Case) -> str:
    pages = flow.visible_pages(
        _definition(case).form, case.answers, applicant=services.applicant_context(case)
    )
    if not pages:
        return reverse("cases:start", args=[case.version.service.procedure.code])
    return reverse("cases:page", args=[case.reference, pages[-1].key])


@case_page
@require_http_methods(["GET", "POST"])
def check(request, case):
    if case.stage != Case.Stage.DRAFT:
        if case.submitted_at:
            return redirect("cases:confirmation", case.reference)
        return redirect("cases:detail", case.reference)
    form = _definition(case).form
    problems, declaration_error = [], ""
    if request.method == "POST":
        if form.declaration and request.POST.get("declaration") != "yes":
            declaration_error = _("Select the box to confirm the declaration")
        else:
            try:
                services.submit(case=case, actor=actor_for_request(request))
            except services.CaseError as error:
                problems = _problems(case, error.errors) or [{"message": str(error), "url": ""}]
            else:
                return redirect("cases:confirmation", case.reference)
    return render(
        request,
        "cases/applicant/check.html",
        {
            "case": case,
            "procedure": case.version.service.procedure,
            "sections": _summary(case),
            "back_url": _last_page_url(case),
            "fees": _fees(case.version),
            "declaration": form.declaration_text,
            "declaration_error": declaration_error,
            "problems": problems,
        },
    )


@case_page
def confirmation(request, case):
    if not case.submitted_at:
        return redirect(
            _continue_url(case)
            if case.stage == Case.Stage.DRAFT
            else reverse("cases:detail", args=[case.reference])
        )
    return render(
        request,
        "cases/applicant/confirmation.html",
        {"case": case, "procedure": case.version.service.procedure, **_next_steps(case)},
    )


def _next_steps(case: Case) -> dict:
    state = _state(case)
    return {
        "state_label": _state_label(case),
        "state_description": bilingual(state.description) if state else "",
        "with_applicant": case.stage == Case.Stage.WITH_APPLICANT,
        "fee_due": _fee_due(case),
    }


def _fee_due(case: Case) -> dict | None:
    if case.stage != Case.Stage.AWAITING_PAYMENT:
        return None
    fee = services.due_fee(case.version)
    return {**fee, "amount": Decimal(fee["amount"])}


# --- My applications -------------------------------------------------------------------------------------------


@authn.required()
def mine(request):
    principal = principal_for_request(request)
    if not may_act(request, CASES_SCOPE):
        return _cannot_act(request, principal)
    groups = {stage: [] for stage in Case.Stage.values}
    for case in selectors.cases_of(principal.reference):
        row = {"case": case, "procedure": case.version.service.procedure, "state_label": _state_label(case)}
        if case.stage == Case.Stage.DRAFT:
            row["continue_url"] = _continue_url(case)
        elif case.stage == Case.Stage.WITH_APPLICANT:
            event = _sent_back_event(case)
            row["reason"] = event.text if event else ""
        groups[case.stage].append(row)
    return render(
        request,
        "cases/applicant/mine.html",
        {
            "principal": principal,
            "drafts": groups[Case.Stage.DRAFT],
            "waiting": groups[Case.Stage.WITH_APPLICANT],
            "to_pay": groups[Case.Stage.AWAITING_PAYMENT],
            "open": groups[Case.Stage.OPEN],
            "closed": groups[Case.Stage.CLOSED],
            "empty": not any(groups.values()),
        },
    )


# --- One case --------------------------------------------------------------------------------------------------


def _history(case: Case) -> list[dict]:
    workflow = _definition(case).workflow
    rows = []
    for event in selectors.history(case, for_applicant=True):
        target = workflow.states.get(event.to_state)
        rows.append(
            {
                "event": event,
                "from_institution": event.kind == CaseEvent.Kind.MESSAGE and not event.by_applicant,
                "state_label": bilingual(target.label) if target else "",
            }
        )
    return rows


def _detail_context(case: Case) -> dict:
    procedure = case.version.service.procedure
    sent_back = _sent_back_event(case) if case.stage == Case.Stage.WITH_APPLICANT else None
    return {
        "case": case,
        "procedure": procedure,
        "history": _history(case),
        "evidence": selectors.evidence_of(case),
        "sent_back": sent_back,
        "filed_by_official": ASSISTED_CHANNELS.get(case.channel, ""),
        "continue_url": _continue_url(case) if case.stage == Case.Stage.DRAFT else "",
        # What an approval issues (the documents app signs it and files it under "Your documents").
        "outputs": [
            bilingual(output["title"])
            for output in selectors.definition_of(case.version).document.get("outputs", [])
            if output.get("on") == case.outcome
        ],
        **_next_steps(case),
    }


@case_page
def detail(request, case):
    return render(request, "cases/applicant/detail.html", _detail_context(case))


@case_page
@require_POST
def message(request, case):
    text = request.POST.get("message", "")
    try:
        services.post_message(
            case=case,
            text=text,
            by_applicant=True,
            actor=actor_for_request(request),
            user=request.authentication.user,
        )
    except services.CaseError as error:
        context = _detail_context(case)
        context["message_text"] = text
        context["message_error"] = error.errors.get("message") or str(error)
        return render(request, "cases/applicant/detail.html", context)
    messages.success(
        request, _("Your message has been sent to %(institution)s.") % {"institution": _institution(case)}
    )
    return redirect("cases:detail", case.reference)


def _institution(case: Case) -> str:
    return localized(case.institution, "name")


def _response_fields(case: Case, event: CaseEvent | None) -> list[Field]:
    """The documents the official asked for, as file questions (a requirement the catalogue lists)."""
    if event is None:
        return []
    requirements = case.version.resolved.get("requirements", {})
    return [
        Field(
            key=slug,
            type="file",
            label={
                "es": requirements[slug]["name_es"],
                "en": requirements[slug]["name_en"] or requirements[slug]["name_es"],
            },
            required=False,
            options={"requirement": slug, "accept": RESPONSE_FILE_TYPES, "multiple": True},
        )
        for slug in event.data.get("requirements", [])
        if slug in requirements
    ]


@case_page
@require_http_methods(["GET", "POST"])
def respond(request, case):
    if case.stage != Case.Stage.WITH_APPLICANT:
        messages.info(request, _("Nothing has been asked of you on this case."))
        return redirect("cases:detail", case.reference)
    event = _sent_back_event(case)
    fields = _response_fields(case, event)
    errors, text = {}, ""
    if request.method == "POST":
        text = request.POST.get("message", "")
        uploads = {}
        for field in fields:
            try:
                files = component("file").clean(field, request.POST, request.FILES, name=f"file-{field.key}")
            except FieldError as error:
                errors[f"file-{field.key}"] = error.message
                continue
            if files:
                uploads[field.key] = files
        if not errors:
            try:
                services.respond(
                    case=case,
                    message=text,
                    uploads=uploads,
                    actor=actor_for_request(request),
                    user=request.authentication.user,
                )
            except services.CaseError as error:
                errors["message"] = error.errors.get("message") or str(error)
            else:
                messages.success(
                    request,
                    _("Your answer has been sent. %(institution)s will carry on with your application.")
                    % {"institution": _institution(case)},
                )
                return redirect("cases:detail", case.reference)
    return render(
        request,
        "cases/applicant/respond.html",
        {
            "case": case,
            "procedure": case.version.service.procedure,
            "sent_back": event,
            "files": [
                {
                    "name": f"file-{field.key}",
                    "label": field.label_text,
                    "error": errors.get(f"file-{field.key}"),
                }
                for field in fields
            ],
            "message_text": text,
            "errors": errors,
        },
    )


@case_page
@require_http_methods(["GET", "POST"])
def withdraw(request, case):
    if case.stage == Case.Stage.CLOSED:
        messages.info(request, _("This application is already finished."))
        return redirect("cases:detail", case.reference)
    if request.method == "POST":
        try:
            services.withdraw(
                case=case,
                reason=request.POST.get("reason", ""),
                actor=actor_for_request(request),
                user=request.authentication.user,
            )
        except services.CaseError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("You have withdrawn application %(reference)s.") % {"reference": case.reference}
            )
        return redirect("cases:detail", case.reference)
    return render(
        request,
        "cases/applicant/withdraw.html",
        {"case": case, "procedure": case.version.service.procedure, "sent": case.stage != Case.Stage.DRAFT},
    )


# --- Documents -------------------------------------------------------------------------------------------------

OFFICIAL_LEVEL = "substantial"


@authn.required()
def evidence(request, reference, evidence_id):
    """A document of a case, for the person or business it was filed for, or an official of the institution
    handling it; for anyone else it does not exist."""
    principal = principal_for_request(request)
    case = (
        selectors.case_for_subject(principal.reference, reference) if may_act(request, CASES_SCOPE) else None
    )
    level = sign_in_level(case.version) if case is not None else OFFICIAL_LEVEL
    if case is None:
        case = selectors.case_for_official(request.authentication.user, reference)
    if case is None:
        raise Http404(_("There is no such document."))
    return authn.required(level)(_download)(request, case, evidence_id)


def _download(request, case, evidence_id):
    item = selectors.evidence_item(case, evidence_id)
    if item is None:
        raise Http404(_("There is no such document."))
    response = FileResponse(
        item.file.open("rb"), as_attachment=True, filename=item.name, content_type=item.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
