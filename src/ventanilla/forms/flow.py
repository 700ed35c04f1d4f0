"""Going through a form: which pages and questions show for the answers so far, checking one posted page (the
web) or a whole answers dict (the API, and the final check before submission), check-your-answers, prefill.

Visibility is decided in page order: a page's `show_if` sees only the answers of the visible pages before it,
and a question's `show_if` sees those plus the answers of its own page. So the answers of a page that the
applicant later skips stop counting as soon as it is skipped, and `prune` drops them.
"""

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from . import expressions
from .components import FieldError, check_rules, component, item_scope
from .definition import Field, Form, Page

CONTINUE = "continue"


def _shown(expression: str | None, scope: dict, applicant: dict | None) -> bool:
    return not expression or expressions.truthy(expressions.evaluate(expression, scope, applicant=applicant))


def _prune_items(field: Field, items, scope: dict, applicant: dict | None):
    """A group's items without the answers of their hidden questions."""
    if not isinstance(items, list):
        return items
    pruned = []
    for item in items:
        if not isinstance(item, dict):
            continue
        local = item_scope(scope, item)
        pruned.append(
            {
                child.key: item[child.key]
                for child in field.fields
                if child.key in item and _shown(child.show_if, local, applicant)
            }
        )
    return pruned


def _walk(form: Form, answers: dict, applicant: dict | None) -> tuple[list[tuple[Page, list[Field]]], dict]:
    """The visible pages with their visible questions, and the answers that count (pruned)."""
    answers = answers or {}
    scope: dict = {}
    visible = []
    for page in form.pages:
        if not _shown(page.show_if, scope, applicant):
            continue
        local = {**scope, **{field.key: answers[field.key] for field in page.fields if field.key in answers}}
        fields = [field for field in page.fields if _shown(field.show_if, local, applicant)]
        for field in fields:
            if field.key in answers and answers[field.key] is not None:
                value = answers[field.key]
                scope[field.key] = (
                    _prune_items(field, value, local, applicant) if field.type == "repeat" else value
                )
        visible.append((page, fields))
    return visible, scope


def visible_pages(form: Form, answers: dict, *, applicant: dict | None = None) -> list[Page]:
    return [page for page, _fields in _walk(form, answers, applicant)[0]]


def visible_fields(page: Page, answers: dict, *, applicant: dict | None = None) -> list[Field]:
    answers = answers or {}
    return [field for field in page.fields if _shown(field.show_if, answers, applicant)]


def prune(form: Form, answers: dict, *, applicant: dict | None = None) -> dict:
    """The answers without those of hidden pages and questions, and without keys the form does not ask."""
    return _walk(form, answers, applicant)[1]


def first_page(form: Form, answers: dict, *, applicant: dict | None = None) -> Page | None:
    pages = visible_pages(form, answers, applicant=applicant)
    return pages[0] if pages else None


def _neighbour(form: Form, page_key: str, answers: dict, applicant: dict | None, step: int) -> Page | None:
    order = [page.key for page in form.pages]
    if page_key not in order:
        return None
    visible = {page.key for page in visible_pages(form, answers, applicant=applicant)}
    index = order.index(page_key) + step
    while 0 <= index < len(order):
        if order[index] in visible:
            return form.pages[index]
        index += step
    return None


def next_page(form: Form, page_key: str, answers: dict, *, applicant: dict | None = None) -> Page | None:
    """The next visible page after `page_key` (which may itself have become hidden); None after the last."""
    return _neighbour(form, page_key, answers, applicant, 1)


def previous_page(form: Form, page_key: str, answers: dict, *, applicant: dict | None = None) -> Page | None:
    return _neighbour(form, page_key, answers, applicant, -1)


# --- One posted page ---------------------------------------------------------------------------------------


@dataclass
class PageResult:
    """What a posted page gave.

    values   the answers of the page's visible questions (file questions: only the evidence ids kept)
    errors   messages keyed by question path ("trade_name", "owners[1].name")
    uploads  new files per file question: the caller stores them as Evidence and puts their ids in the answers
    action   "continue", or "add:<repeat key>" / "remove:<repeat key>:<index>": show the page again
    data     the posted values to show again (after an add or remove, with the items renumbered)
    removed  keys whose stored answers must go (hidden or cleared questions of the page)
    """

    values: dict
    errors: dict[str, str]
    uploads: dict
    action: str = CONTINUE
    data: MultiValueDict = dataclass_field(default_factory=MultiValueDict)
    removed: tuple[str, ...] = ()

    def merge(self, answers: dict) -> dict:
        """The stored answers updated with this page (call prune afterwards for the pages that depend on it)."""
        return {**{key: value for key, value in answers.items() if key not in self.removed}, **self.values}


def _path(key: str, suffix: str) -> str:
    return f"{key}{suffix}"


def _action(page: Page, data) -> str:
    action = str((data.get("action") if data is not None else "") or CONTINUE)
    repeats = {field.key for field in page.fields if field.type == "repeat"}
    if match := re.fullmatch(r"add:([a-z][a-z0-9_]*)", action):
        return action if match.group(1) in repeats else CONTINUE
    if match := re.fullmatch(r"remove:([a-z][a-z0-9_]*):([0-9]{1,3})", action):
        return action if match.group(1) in repeats else CONTINUE
    return CONTINUE


def _as_multivalue(data) -> MultiValueDict:
    if data is None:
        return MultiValueDict()
    if hasattr(data, "lists"):
        return MultiValueDict({key: list(values) for key, values in data.lists()})
    return MultiValueDict(
        {key: list(value) if isinstance(value, list) else [value] for key, value in data.items()}
    )


def _renumbered(data: MultiValueDict, key: str, removed_index: int | None, count: int) -> MultiValueDict:
    """The posted values after an item was removed (the later ones move up) or added (the count grows)."""
    pattern = re.compile(rf"{re.escape(key)}-([0-9]+)-(.+)")
    result = MultiValueDict()
    for name, values in data.lists():
        if name in ("action", f"{key}-count"):
            continue
        match = pattern.fullmatch(name)
        if match and removed_index is not None:
            index = int(match.group(1))
            if index == removed_index:
                continue
            if index > removed_index:
                name = f"{key}-{index - 1}-{match.group(2)}"
        result.setlist(name, values)
    result[f"{key}-count"] = str(max(count, 1))
    return result


def clean_page(
    form: Form, page_key: str, data, files, answers: dict, *, applicant: dict | None = None
) -> PageResult:
    """Check one posted page. On "add"/"remove" of a group's item nothing is required yet (the page is shown
    again); answers typed in the wrong form are still reported."""
    page = form.page(page_key)
    if page is None:
        raise LookupError(f"The form has no page {page_key!r}.")
    answers = answers or {}
    action = _action(page, data)
    partial = action != CONTINUE
    scope = prune(form, answers, applicant=applicant)
    values, errors, uploads = {}, {}, {}
    for field in page.fields:
        try:
            value = component(field.type).clean(
                field,
                data,
                files,
                existing=answers.get(field.key) if field.type == "file" else None,
                partial=partial,
                answers=scope,
            )
        except FieldError as error:
            errors.update({_path(field.key, suffix): message for suffix, message in error.errors.items()})
            continue
        if field.type == "file" and value and not all(isinstance(item, str) for item in value):
            uploads[field.key] = value
        elif value is not None:
            values[field.key] = value

    page_keys = {field.key for field in page.fields}
    local = {**{key: value for key, value in scope.items() if key not in page_keys}, **values}
    removed = []
    for field in page.fields:
        if not _shown(field.show_if, local, applicant):
            values.pop(field.key, None)
            uploads.pop(field.key, None)
            errors = {
                path: message
                for path, message in errors.items()
                if not (path == field.key or path.startswith((f"{field.key}[", f"{field.key}.")))
            }
            removed.append(field.key)
        elif field.key not in values and field.key not in uploads and field.key not in errors:
            removed.append(field.key)  # left empty: an earlier answer is cleared
        elif not partial and field.key in values and field.key not in errors and field.type != "repeat":
            message = check_rules(field, local, applicant=applicant)
            if message:
                errors[field.key] = message

    output = _as_multivalue(data)
    if action.startswith("add:"):
        key = action.split(":")[1]
        items = list(values.get(key) or [])
        items.append({})
        values[key] = items
        output = _renumbered(
            output, key, None, component("repeat").count(form_field(page, key), output, key) + 1
        )
    elif action.startswith("remove:"):
        _verb, key, index = action.split(":")
        items = list(values.get(key) or [])
        if int(index) < len(items):
            del items[int(index)]
        values[key] = items
        count = component("repeat").count(form_field(page, key), output, key)
        output = _renumbered(output, key, int(index), count - 1)
        errors = {
            path: message for path, message in errors.items() if not path.startswith(f"{key}[")
        }  # indexes moved; the page is checked again on continue
    else:
        output.pop("action", None)
    return PageResult(values, errors, uploads, action, output, tuple(removed))


def form_field(page: Page, key: str) -> Field | None:
    return next((field for field in page.fields if field.key == key), None)


# --- Whole answers (API and before submission) -------------------------------------------------------------


def normalized_answers(
    form: Form, answers: dict, *, applicant: dict | None = None
) -> tuple[dict, dict[str, str]]:
    """The answers in their stored form (only those that count) and the errors, keyed by question path."""
    visible, scope = _walk(form, answers or {}, applicant)
    values, errors = {}, {}
    checked = []
    for _page, fields in visible:
        for field in fields:
            try:
                value = component(field.type).clean_value(
                    field, (answers or {}).get(field.key), answers=scope
                )
            except FieldError as error:
                errors.update({_path(field.key, suffix): message for suffix, message in error.errors.items()})
                continue
            if value is not None:
                values[field.key] = value
                checked.append(field)
    rule_scope = {**scope, **values}
    for field in checked:
        if field.type != "repeat" and (message := check_rules(field, rule_scope, applicant=applicant)):
            errors[field.key] = message
    return values, errors


def clean_answers(form: Form, answers: dict, *, applicant: dict | None = None) -> dict[str, str]:
    """Every problem with a whole answers dict, keyed by question path ("owners[1].name"); {} when it can be
    submitted. Answers on hidden pages and questions are ignored."""
    return normalized_answers(form, answers, applicant=applicant)[1]


def evidence_ids(form: Form, answers: dict) -> list[tuple[str, str, str]]:
    """(question key, requirement slug, evidence id) of every file the answers that count refer to."""
    pruned = prune(form, answers)
    found = []
    for field in form.fields_by_key.values():
        if field.type == "file":
            value = pruned.get(field.key)
            for evidence_id in value if isinstance(value, list) else []:
                found.append((field.key, field.requirement, str(evidence_id)))
    return found


# --- Check your answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    field: Field
    label: str
    value_text: str
    index: int | None = None  # the item of a repeating group


@dataclass(frozen=True)
class SummarySection:
    page: Page
    rows: list[SummaryRow]


def summary(form: Form, answers: dict, *, applicant: dict | None = None) -> list[SummarySection]:
    visible, scope = _walk(form, answers or {}, applicant)
    not_given = _("Not given")
    sections = []
    for page, fields in visible:
        rows = []
        for field in fields:
            value = scope.get(field.key)
            shown = component(field.type)
            if field.type == "repeat" and value:
                for index, item in enumerate(value):
                    rows.append(
                        SummaryRow(
                            field,
                            _("%(label)s %(n)s") % {"label": field.label_text, "n": index + 1},
                            shown.item_text(field, item) or not_given,
                            index,
                        )
                    )
                continue
            text = shown.display(field, value) if value is not None else ""
            rows.append(SummaryRow(field, field.label_text, text or not_given))
        sections.append(SummarySection(page, rows))
    return sections


# --- Prefill -----------------------------------------------------------------------------------------------


def _applicant_value(applicant: dict, source: str):
    head, _dot, detail = source.partition(".")
    if f"{head}.{detail}" in applicant:
        return applicant[f"{head}.{detail}"]
    holder = applicant if head == "applicant" else applicant.get(head)
    return holder.get(detail) if isinstance(holder, dict) else None


def initial_answers(form: Form, applicant: dict) -> dict:
    """Answers taken from the applicant's profile for the questions with `prefill`; a value the question
    would not accept is left out."""
    answers = {}
    for field in form.fields_by_key.values():
        if not field.prefill:
            continue
        value = _applicant_value(applicant or {}, field.prefill)
        if value in (None, ""):
            continue
        try:
            cleaned = component(field.type).clean_value(field, value)
        except FieldError:
            continue
        if cleaned is not None:
            answers[field.key] = cleaned
    return answers
