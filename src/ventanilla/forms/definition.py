"""The `form` part of a service definition: its JSON Schema (form.schema.json), the checks that go beyond the
schema (unique keys, expressions that name real questions, uploads the catalogue lists), and the parsed form the
rest of the app works with (frozen dataclasses)."""

import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from functools import cache, cached_property
from pathlib import Path

from django.utils.text import slugify
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from ventanilla.core.definitions import DefinitionError
from ventanilla.core.i18n import FALLBACK_LANGUAGE, current_language

from . import expressions

SCHEMA_FILE = Path(__file__).parent / "form.schema.json"
FORM_SCHEMA: dict = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

COMMON_SETTINGS = {
    "key",
    "type",
    "label",
    "hint",
    "required",
    "show_if",
    "validate",
    "prefill",
    "autocomplete",
}
# The settings each component type understands beyond the common ones.
TYPE_SETTINGS = {
    "text": {"min_length", "max_length", "pattern", "pattern_message"},
    "textarea": {"min_length", "max_length"},
    "number": {"min", "max", "integer"},
    "money": {"min", "max", "currency"},
    "date": {"min_date", "max_date"},
    "yesno": set(),
    "choice": {"options"},
    "multichoice": {"options", "min_items"},
    "cedula": set(),
    "ruc": set(),
    "email": set(),
    "phone": set(),
    "address": set(),
    "file": {"requirement", "accept", "max_size_mb", "multiple"},
    "repeat": {"fields", "min_items", "max_items"},
    "declaration": {"text"},
}
PREFILLABLE = {"text", "email", "phone", "cedula", "ruc"}
NOT_IN_REPEAT = {"repeat", "file", "declaration"}


def text(value: dict | None) -> str:
    """A bilingual text {es, en} in the active language, falling back to Spanish."""
    if not value:
        return ""
    if isinstance(value, str):
        return value
    return value.get(current_language()) or value.get(FALLBACK_LANGUAGE, "")


@dataclass(frozen=True)
class Rule:
    rule: str
    message: dict


@dataclass(frozen=True, eq=False)
class Field:
    key: str
    type: str
    label: dict
    hint: dict | None = None
    required: bool = True
    show_if: str | None = None
    options: dict = dataclass_field(default_factory=dict)  # the type's own settings (min, max, options, …)
    fields: tuple["Field", ...] = ()  # a repeat's questions
    validate: tuple[Rule, ...] = ()
    prefill: str | None = None

    def option(self, name: str, default=None):
        return self.options.get(name, default)

    @property
    def label_text(self) -> str:
        return text(self.label)

    @property
    def hint_text(self) -> str:
        return text(self.hint)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of a choice or multichoice question, labels in the active language."""
        return [(option["value"], text(option["label"])) for option in self.options.get("options", ())]

    @property
    def requirement(self) -> str | None:
        return self.options.get("requirement")


@dataclass(frozen=True, eq=False)
class Page:
    key: str
    title: dict
    description: dict | None = None
    show_if: str | None = None
    fields: tuple[Field, ...] = ()

    @property
    def title_text(self) -> str:
        return text(self.title)

    @property
    def description_text(self) -> str:
        return text(self.description)


@dataclass(frozen=True, eq=False)
class Form:
    pages: tuple[Page, ...]
    declaration: dict | None = None

    def page(self, key: str) -> Page | None:
        return next((page for page in self.pages if page.key == key), None)

    def field(self, key: str) -> Field | None:
        return self.fields_by_key.get(key)

    @cached_property
    def fields_by_key(self) -> dict[str, Field]:
        return {field.key: field for page in self.pages for field in page.fields}

    @property
    def declaration_text(self) -> str:
        return text(self.declaration)


def _form_part(data: dict) -> dict:
    """The form itself, given either the form or a whole service document."""
    if isinstance(data, dict) and "pages" not in data and isinstance(data.get("form"), dict):
        return data["form"]
    return data


def _load_field(data: dict) -> Field:
    options = {name: value for name, value in data.items() if name not in COMMON_SETTINGS | {"fields"}}
    return Field(
        key=data["key"],
        type=data["type"],
        label=data["label"],
        hint=data.get("hint"),
        required=True if data["type"] == "declaration" else data.get("required", True),
        show_if=data.get("show_if"),
        options=options | ({"autocomplete": data["autocomplete"]} if "autocomplete" in data else {}),
        fields=tuple(_load_field(child) for child in data.get("fields", ())),
        validate=tuple(Rule(rule["rule"], rule["message"]) for rule in data.get("validate", ())),
        prefill=data.get("prefill"),
    )


def load_form(data: dict) -> Form:
    """The parsed form of a checked document (see check_form)."""
    data = _form_part(data)
    return Form(
        pages=tuple(
            Page(
                key=page["key"],
                title=page["title"],
                description=page.get("description"),
                show_if=page.get("show_if"),
                fields=tuple(_load_field(field) for field in page["fields"]),
            )
            for page in data["pages"]
        ),
        declaration=data.get("declaration"),
    )


def requirement_slug(name: str) -> str:
    """How a definition names a catalogue Requirement: the slug of its Spanish name ("Plano de construcción" →
    "plano-de-construccion"), at most 80 characters."""
    return slugify(name)[:80].strip("-")


# --- Checking ----------------------------------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(FORM_SCHEMA)


def _path(parts) -> str:
    path = "form"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


_KINDS = {
    "string": lambda: _("text"),
    "integer": lambda: _("a whole number"),
    "number": lambda: _("a number"),
    "boolean": lambda: _("true or false"),
    "array": lambda: _("a list"),
    "object": lambda: _("a mapping of keys to values"),
}


def _schema_message(error) -> tuple[str, str]:
    """(path, plain sentence) for one JSON Schema error."""
    path = _path(error.absolute_path)
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = next((name for name in expected if name not in (error.instance or {})), "")
        return f"{path}.{missing}", _("This is required.")
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{path}.{extra[0]}" if extra else path, _("This setting is unknown here; check its spelling.")
    if kind in ("enum", "const"):
        values = expected if kind == "enum" else [expected]
        return path, _("Use one of: %(values)s.") % {"values": ", ".join(str(value) for value in values)}
    if kind == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return path, _("This should be %(kind)s.") % {
            "kind": _(" or ").join(str(_KINDS.get(item, lambda k=item: k)()) for item in kinds)
        }
    if kind == "pattern":
        if expected == FORM_SCHEMA["$defs"]["key"]["pattern"]:
            return path, _("Use lower-case letters, digits and underscores, starting with a letter.")
        if "today" in expected:
            return path, _(
                "Write “today”, a relative date such as “-18y” or “+30d”, or a date as YYYY-MM-DD."
            )
        return path, _("This does not have the expected form.")
    if kind in ("minLength", "minItems"):
        if expected <= 1:
            return path, _("This cannot be empty.")
        return path, _("Give at least %(n)s.") % {"n": expected}
    if kind in ("maxLength", "maxItems"):
        return path, _("This is too long: at most %(n)s.") % {"n": expected}
    if kind in ("minimum", "exclusiveMinimum"):
        return path, _("This must be more than %(n)s.") % {"n": expected} if kind == "exclusiveMinimum" else (
            _("This must be %(n)s or more.") % {"n": expected}
        )
    if kind == "maximum":
        return path, _("This must be %(n)s or less.") % {"n": expected}
    if kind == "uniqueItems":
        return path, _("Each value may appear only once.")
    return path, _("This value is not valid here.")


class _Checker:
    def __init__(self, requirement_slugs: set[str] | None, held_by_state: set[str] | None):
        self.requirement_slugs = requirement_slugs
        self.held_by_state = held_by_state or set()
        self.errors: list[DefinitionError] = []

    def error(self, path: str, message: str):
        self.errors.append(DefinitionError(path, message))

    def check(self, data: dict):
        pages = data["pages"]
        page_keys: set[str] = set()
        field_page: dict[str, int] = {}
        for index, page in enumerate(pages):
            if page["key"] in page_keys:
                self.error(
                    f"form.pages[{index}].key", _("Another page already has the key “%(key)s”.") % page
                )
            page_keys.add(page["key"])
            for position, field in enumerate(page["fields"]):
                if field["key"] in field_page:
                    self.error(
                        f"form.pages[{index}].fields[{position}].key",
                        _("Another question already has the key “%(key)s”; keys are unique in the form.")
                        % field,
                    )
                field_page.setdefault(field["key"], index)
        self.field_page = field_page
        for index, page in enumerate(pages):
            path = f"form.pages[{index}]"
            if page.get("show_if"):
                self.expression(f"{path}.show_if", page["show_if"], index, allow_same_page=False)
            for position, field in enumerate(page["fields"]):
                self.field(f"{path}.fields[{position}]", field, index)

    def expression(
        self,
        path: str,
        source: str,
        page_index: int,
        *,
        allow_same_page: bool,
        siblings: set[str] = frozenset(),
    ):
        try:
            names = expressions.references(source)
        except expressions.ExpressionError as error:
            self.error(path, str(error))
            return
        for name in sorted(names):
            if name in siblings:
                continue
            if name not in self.field_page:
                self.error(
                    path, _("Refers to “%(name)s”, which is not a question of this form.") % {"name": name}
                )
            elif self.field_page[name] > page_index or (
                self.field_page[name] == page_index and not allow_same_page
            ):
                if allow_same_page:
                    message = _(
                        "Refers to “%(name)s”, which is asked on a later page; a question can depend only on "
                        "answers given on its own page or before it."
                    )
                else:
                    message = _(
                        "Refers to “%(name)s”, which is asked on this page or a later one; a page can depend "
                        "only on answers given before it."
                    )
                self.error(path, message % {"name": name})

    def field(self, path: str, field: dict, page_index: int, *, siblings: set[str] = frozenset(), group=None):
        kind = field["type"]
        for name in sorted(set(field) - COMMON_SETTINGS - TYPE_SETTINGS[kind]):
            self.error(
                f"{path}.{name}",
                _("“%(name)s” does not apply to a question of type %(type)s.") % {"name": name, "type": kind},
            )
        if group is not None and kind in NOT_IN_REPEAT:
            self.error(
                f"{path}.type",
                _("A repeating group cannot contain a question of type %(type)s.") % {"type": kind},
            )
        if field.get("prefill") and (kind not in PREFILLABLE or group is not None):
            self.error(
                f"{path}.prefill",
                _("Only a top-level text, email, phone, cédula or RUC question can be prefilled."),
            )
        if field.get("show_if"):
            self.expression(
                f"{path}.show_if", field["show_if"], page_index, allow_same_page=True, siblings=siblings
            )
        for index, rule in enumerate(field.get("validate", ())):
            self.expression(
                f"{path}.validate[{index}].rule",
                rule["rule"],
                page_index,
                allow_same_page=True,
                siblings=siblings,
            )
        self.ranges(path, field)
        if "pattern" in field:
            try:
                re.compile(field["pattern"])
            except re.error as error:
                self.error(
                    f"{path}.pattern", _("This is not a valid regular expression: %(why)s.") % {"why": error}
                )
        if "options" in field:
            seen = set()
            for index, option in enumerate(field["options"]):
                if option["value"] in seen:
                    self.error(
                        f"{path}.options[{index}].value",
                        _("Another option already has the value “%(value)s”.") % option,
                    )
                seen.add(option["value"])
        if kind == "file":
            self.requirement(f"{path}.requirement", field["requirement"])
        if kind == "repeat":
            keys: set[str] = set()
            for index, child in enumerate(field["fields"]):
                if child["key"] in keys:
                    self.error(
                        f"{path}.fields[{index}].key",
                        _("Another question of this group already has the key “%(key)s”.") % child,
                    )
                keys.add(child["key"])
            for index, child in enumerate(field["fields"]):
                self.field(f"{path}.fields[{index}]", child, page_index, siblings=keys, group=field["key"])

    def ranges(self, path: str, field: dict):
        for low, high in (("min", "max"), ("min_length", "max_length"), ("min_items", "max_items")):
            if low in field and high in field and field[low] > field[high]:
                self.error(
                    f"{path}.{low}", _("“%(low)s” is more than “%(high)s”.") % {"low": low, "high": high}
                )
        if "min_date" in field and "max_date" in field:
            today = date(2000, 1, 1)  # any fixed day: both limits move together
            low, high = (
                resolve_date_limit(field["min_date"], today),
                resolve_date_limit(field["max_date"], today),
            )
            if low and high and low > high:
                self.error(f"{path}.min_date", _("“min_date” is later than “max_date”."))
        if (
            "min_items" in field
            and field["type"] == "multichoice"
            and field["min_items"] > len(field["options"])
        ):
            self.error(f"{path}.min_items", _("“min_items” is more than the number of options."))

    def requirement(self, path: str, slug: str):
        if slug in self.held_by_state:
            self.error(
                path,
                _(
                    "Asks for “%(slug)s”, which the state already holds: it is fetched, not asked; remove this question."
                )
                % {"slug": slug},
            )
        elif self.requirement_slugs is not None and slug not in self.requirement_slugs:
            self.error(
                path,
                _(
                    "Asks for the document “%(slug)s”, which the catalogue does not list for this procedure; add "
                    "it to the procedure in the catalogue first, or remove this question."
                )
                % {"slug": slug},
            )


def check_form(
    data: dict, *, requirement_slugs: set[str] | None = None, held_by_state: set[str] | None = None
) -> list[DefinitionError]:
    """Every problem with a form, with the path where it is; [] when the form can be used. `requirement_slugs`
    are the slugs of the procedure's catalogue requirements (None skips that check); `held_by_state` those the
    state already holds, which a form must not ask for."""
    data = _form_part(data)
    errors = [
        DefinitionError(*_schema_message(error))
        for error in sorted(
            _validator().iter_errors(data), key=lambda error: list(map(str, error.absolute_path))
        )
    ]
    if errors:
        return errors
    checker = _Checker(requirement_slugs, held_by_state)
    checker.check(data)
    return checker.errors


# --- Date limits (used by the date component too) -----------------------------------------------------------

_RELATIVE = re.compile(r"([+-])([0-9]{1,4})([dy])")


def resolve_date_limit(limit: str | None, today: date) -> date | None:
    """ "today", "-18y", "+30d" or "2020-01-01" as a date."""
    if not limit:
        return None
    if limit == "today":
        return today
    if match := _RELATIVE.fullmatch(limit):
        sign = 1 if match.group(1) == "+" else -1
        amount = int(match.group(2)) * sign
        if match.group(3) == "d":
            return date.fromordinal(max(1, min(date.max.toordinal(), today.toordinal() + amount)))
        year = min(9999, max(1, today.year + amount))
        day = today.day if not (today.month == 2 and today.day == 29) else 28
        return today.replace(year=year, day=day)
    try:
        return date.fromisoformat(limit)
    except ValueError:
        return None
