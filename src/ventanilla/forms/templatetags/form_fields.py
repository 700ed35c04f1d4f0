"""{% form_fields page values errors %}: the questions of a form page, GOV.UK style; and
{% form_error_summary page errors %}: the error summary linking to them.

`values` are the posted values when the page is shown again with errors (QueryDict, or PageResult.data), or the
stored answers otherwise. Optional: `answers=` (the stored answers, to decide what shows, when `values` are
posted ones) and `evidence=` (evidence id → file name, for the files already uploaded)."""

import re

from django import template

from ventanilla.forms import expressions
from ventanilla.forms.components import component, element_id
from ventanilla.forms.definition import Field, Page

register = template.Library()


def _is_posted(values) -> bool:
    return hasattr(values, "getlist")


def _raw(page: Page, answers: dict) -> dict:
    raw = {}
    for field in page.fields:
        if field.key in answers:
            raw.update(component(field.type).to_raw(field, answers[field.key], field.key))
    return raw


def _rendered(page: Page, field: Field, answers: dict) -> bool:
    """Shown when its condition holds, or when it depends on a question of the same page: without
    JavaScript the page cannot know that answer yet, so (as GOV.UK's conditional questions do with scripts
    off) the question is shown and only checked if the condition turns out true."""
    if not field.show_if:
        return True
    if expressions.references(field.show_if) & {other.key for other in page.fields}:
        return True
    return expressions.truthy(expressions.evaluate(field.show_if, answers))


def field_context(
    field: Field, name: str, path: str, data, errors: dict, answers: dict, evidence: dict
) -> dict:
    kind = component(field.type)
    identifier = element_id(name)
    error = errors.get(path)
    context = {
        "field": field,
        "template": kind.template,
        "name": name,
        "id": identifier,
        "label": field.label_text,
        "hint": field.hint_text,
        "hint_id": f"{identifier}-hint",
        "error": error,
        "error_id": f"{identifier}-error",
        "required": field.required,
        **kind.widget(field, name, data),
    }
    context["describedby"] = " ".join(
        part
        for part, present in ((context["hint_id"], context["hint"]), (context["error_id"], error))
        if present
    )
    if field.type == "repeat":
        context["items"] = [
            {
                "number": index + 1,
                "id": element_id(f"{name}-{index}"),
                "remove_action": f"remove:{field.key}:{index}",
                "fields": [
                    field_context(
                        child,
                        f"{name}-{index}-{child.key}",
                        f"{path}[{index}].{child.key}",
                        data,
                        errors,
                        answers,
                        evidence,
                    )
                    for child in field.fields
                ],
            }
            for index in range(context["count"])
        ]
    if field.type == "file":
        existing = answers.get(field.key) if isinstance(answers.get(field.key), list) else []
        context["existing"] = [
            {
                "id": evidence_id,
                "name": (evidence or {}).get(evidence_id) or (evidence or {}).get(str(evidence_id), ""),
            }
            for evidence_id in existing
        ]
    return context


@register.inclusion_tag("forms/page_fields.html")
def form_fields(page: Page, values, errors=None, answers=None, evidence=None):
    errors = errors or {}
    if answers is None:
        answers = {} if _is_posted(values) else (values or {})
    data = values if _is_posted(values) else _raw(page, values or {})
    fields = [
        field_context(field, field.key, field.key, data, errors, answers, evidence or {})
        for field in page.fields
        if _rendered(page, field, answers)
    ]
    # Enter in a text box submits with the form's first button: make that one "continue", not "remove".
    return {"fields": fields, "has_repeat": any(field["field"].type == "repeat" for field in fields)}


_PATH = re.compile(r"([a-z][a-z0-9_]*)(?:\[([0-9]+)\]\.([a-z][a-z0-9_]*))?")


def error_anchor(page: Page, path: str) -> str:
    """The id of the input an error is about ("owners[1].name" → "f-owners-1-name")."""
    match = _PATH.match(path)
    field = next((field for field in page.fields if match and field.key == match.group(1)), None)
    if field is None:
        return ""
    if match.group(2) is not None:
        child = next((child for child in field.fields if child.key == match.group(3)), None)
        if child is not None:
            return component(child.type).anchor(f"{field.key}-{match.group(2)}-{child.key}")
    return component(field.type).anchor(field.key)


@register.inclusion_tag("forms/error_summary.html")
def form_error_summary(page: Page, errors=None):
    errors = errors or {}
    order = {field.key: position for position, field in enumerate(page.fields)}

    def position(path: str):
        match = _PATH.match(path)
        return (order.get(match.group(1) if match else "", len(order)), path)

    return {
        "problems": [
            {"anchor": error_anchor(page, path), "message": errors[path]}
            for path in sorted(errors, key=position)
        ]
    }
