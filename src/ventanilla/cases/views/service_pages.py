"""The public page of each online service: what it asks, who processes it and how (the workflow drawn and
told in words), what it costs, and the digitalisation level it really delivers beside the one the catalogue
declares. Officials of the institution also see its versions."""

import hashlib

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.i18n import bilingual, current_language, localized
from ventanilla.workflow.diagram import render_svg

from .. import selectors

DIAGRAM_MAX_AGE = 300  # seconds: a new version is published now and then; the ETag makes revalidation cheap

TYPE_NAMES = {
    "text": gettext_lazy("short text"),
    "textarea": gettext_lazy("longer text"),
    "number": gettext_lazy("a number"),
    "money": gettext_lazy("an amount of money"),
    "date": gettext_lazy("a date"),
    "yesno": gettext_lazy("yes or no"),
    "choice": gettext_lazy("one of several options"),
    "multichoice": gettext_lazy("one or more options"),
    "cedula": gettext_lazy("an identity card number (cédula)"),
    "ruc": gettext_lazy("a RUC"),
    "email": gettext_lazy("an email address"),
    "phone": gettext_lazy("a phone number"),
    "address": gettext_lazy("an address in Panama"),
    "file": gettext_lazy("a document to upload"),
    "repeat": gettext_lazy("a list"),
    "declaration": gettext_lazy("a declaration to confirm"),
}


def _published_or_404(procedure_code: str):
    version = selectors.published_version(procedure_code)
    if version is None:
        raise Http404(_("This procedure has no online service yet."))
    return version


def requirement_name(version, slug: str) -> str:
    requirement = version.resolved.get("requirements", {}).get(slug, {})
    return bilingual({"es": requirement.get("name_es") or slug, "en": requirement.get("name_en", "")})


def fetched_requirements(version) -> list[dict]:
    """What the state fetches instead of asking the applicant (fixed at publication), with who issues it."""
    requirements = version.resolved.get("requirements", {})
    fetched = []
    for slug in version.resolved.get("fetch", []):
        code = requirements.get(slug, {}).get("issuer", "")
        issuer = catalogue.institution_by_code(code) if code else None
        fetched.append(
            {"name": requirement_name(version, slug), "issuer": localized(issuer, "name") if issuer else code}
        )
    return fetched


def _diagram(version, definition) -> str:
    procedure = version.service.procedure
    return render_svg(definition.workflow, language=current_language(), title=localized(procedure, "title"))


def _field(version, field) -> dict:
    return {
        "label": field.label_text,
        "hint": field.hint_text,
        "kind": TYPE_NAMES.get(field.type, field.type),
        "type": field.type,
        "required": field.required,
        "conditional": bool(field.show_if),
        "options": [label for _value, label in field.choices],
        "document": requirement_name(version, field.requirement) if field.type == "file" else "",
        "fields": [_field(version, child) for child in field.fields],
    }


def _pages(version, form) -> list[dict]:
    return [
        {
            "title": page.title_text,
            "description": page.description_text,
            "conditional": bool(page.show_if),
            "fields": [_field(version, field) for field in page.fields],
        }
        for page in form.pages
    ]


def _asked_documents(version, form) -> list[str]:
    slugs = [field.requirement for page in form.pages for field in page.fields if field.type == "file"]
    return [requirement_name(version, slug) for slug in dict.fromkeys(slugs)]


def _states(workflow) -> list[dict]:
    described = []
    for state in workflow.states.values():
        if state.kind == "applicant":
            who = _("Waits for the applicant; the deadline stops meanwhile.")
        elif state.kind == "outcome":
            who = _("Final.")
        else:
            who = _("Handled by the role “%(role)s”.") % {"role": state.role or ""}
        sla = (
            ngettext("At most %(n)s working day.", "At most %(n)s working days.", state.sla_days)
            % {"n": state.sla_days}
            if state.sla_days
            else ""
        )
        described.append(
            {
                "label": bilingual(state.label),
                "who": who,
                "sla": sla,
                "description": bilingual(state.description),
                "initial": state.key == workflow.initial,
            }
        )
    return described


def _actions(workflow) -> list[dict]:
    def name(key: str) -> str:
        state = workflow.states.get(key)
        return bilingual(state.label) if state else key

    return [
        {
            "label": bilingual(action.label),
            "sources": [name(key) for key in action.sources],
            "target": name(action.target),
            "roles": list(action.roles),
            "kind": action.kind,
            "inputs": [bilingual(item.label) for item in action.inputs],
            "conditional": bool(action.guard),
        }
        for action in workflow.actions.values()
    ]


def _level_note(computed: int | None, declared: int) -> str:
    if computed is None or computed == declared:
        return ""
    return _(
        "The catalogue declares level %(declared)s; this online service delivers level %(computed)s. "
        "The institution should update the catalogue."
    ) % {"declared": declared, "computed": computed}


def _level_reason(computed: int | None) -> str:
    if computed == 3:
        return _("The form is online, but there is a step in person.")
    if computed == 4:
        return _("It is done and tracked online from start to end, with no step in person.")
    if computed == 5:
        return _("Nothing is asked of the applicant but a declaration: the state holds everything else.")
    return ""


def level_comparison(version) -> dict:
    """The level the published service delivers beside the catalogue's, and what to say when they differ."""
    procedure = version.service.procedure
    return {
        "computed": version.computed_level,
        "declared": procedure.level,
        "differs": version.computed_level is not None and version.computed_level != procedure.level,
        "note": _level_note(version.computed_level, procedure.level),
    }


def service(request, procedure_code):
    version = _published_or_404(procedure_code)
    definition = selectors.definition_of(version)
    procedure = version.service.procedure
    workflow = definition.workflow
    document = definition.document
    is_official = bool(selectors.roles_of(request.user, procedure.institution_id))
    in_person = [bilingual(step) for step in document.get("in_person", [])]
    return render(
        request,
        "cases/service/service.html",
        {
            "procedure": procedure,
            "version": version,
            "diagram": _diagram(version, definition),
            "states": _states(workflow),
            "actions": _actions(workflow),
            "case_days": workflow.case_sla_days or procedure.max_days,
            "pages": _pages(version, definition.form),
            "declaration": definition.form.declaration_text,
            "asked": _asked_documents(version, definition.form),
            "fetched": fetched_requirements(version),
            "fees": [
                {
                    "amount": fee["amount"],
                    "currency": fee["currency"],
                    "conditions": localized(fee, "conditions"),
                }
                for fee in version.resolved.get("fees", [])
            ],
            "applicant": document.get("applicant", "any"),
            "outputs": [bilingual(output.get("title")) for output in document.get("outputs", [])],
            "in_person": in_person,
            "level": level_comparison(version),
            "level_reason": _level_reason(version.computed_level),
            "versions": selectors.versions_of(version.service) if is_official else None,
        },
    )


def diagram(request, procedure_code):
    """The workflow as an SVG image, for linking and embedding elsewhere; revalidated by its ETag."""
    version = _published_or_404(procedure_code)
    svg = _diagram(version, selectors.definition_of(version)).encode()
    etag = f'"{hashlib.sha256(svg).hexdigest()[:40]}"'
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["ETag"] = etag
    # An SVG opened on its own is a document: it may draw, never run anything.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    patch_cache_control(response, public=True, max_age=DIAGRAM_MAX_AGE)
    return get_conditional_response(request, etag=etag, response=response)
