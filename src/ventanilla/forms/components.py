"""The question types a form may use, one class per type, found by name in a registry.

Each component reads what a person typed on the web page (`clean`: posted values, GOV.UK style errors), checks
an answer given as JSON through the API (`clean_value`), shows an answer on check-your-answers (`display`), and
describes its inputs for its template (`widget`). Answers are stored as the brief's JSON values: see
`docs`/DESIGN and the service definition format.

Names on the page: a question's inputs are named after its key (`trade_name`), with a suffix for the parts of
one answer (`birth_date-day`, `address-district`, `ruc-dv`) and the item index inside a repeating group
(`owners-0-name`). Element ids are the names prefixed with "f-", so they never collide with the page's own ids.
"""

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

import filetype
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ventanilla.core.identifiers import InvalidIdentifier, parse_cedula, parse_ruc

from . import addresses, expressions
from .definition import Field, resolve_date_limit, text

REGISTRY: dict[str, "Component"] = {}


class FieldError(ValueError):
    """An answer that cannot be accepted, with a sentence the person can act on. `errors` holds the problems of
    a repeating group's items, keyed by a path suffix ("[1].name"); "" is the question itself."""

    def __init__(self, message: str = "", *, errors: dict[str, str] | None = None):
        self.errors = dict(errors or {})
        if message:
            self.errors.setdefault("", str(message))
        self.message = self.errors.get("", "")
        super().__init__(self.message or "; ".join(self.errors.values()))


def register(kind: str):
    def decorate(cls):
        cls.kind = kind
        cls.template = f"forms/components/{kind}.html"
        REGISTRY[kind] = cls()
        return cls

    return decorate


def component(kind: str) -> "Component":
    try:
        return REGISTRY[kind]
    except KeyError:
        raise LookupError(f"There is no component of type {kind!r}.") from None


# --- Helpers -----------------------------------------------------------------------------------------------


def _subject(field: Field) -> str:
    """The label as it reads inside a sentence: "Date of birth" → "date of birth" (but "RUC" stays)."""
    label = field.label_text.rstrip(" ?:")
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def _label(field: Field) -> str:
    return field.label_text.rstrip(" ?:")


def _get(data, name: str) -> str:
    if data is None:
        return ""
    value = data.get(name)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return "" if value is None else str(value)


def _getlist(data, name: str) -> list:
    if data is None:
        return []
    if hasattr(data, "getlist"):
        return list(data.getlist(name))
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def element_id(name: str) -> str:
    return f"f-{name}"


def _format_date(value: date) -> str:
    return formats.date_format(value, "DATE_FORMAT")


def _format_number(value) -> str:
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def check_rules(field: Field, scope: dict, *, applicant: dict | None = None) -> str | None:
    """The message of the first `validate` rule the answers break, or None."""
    for rule in field.validate:
        try:
            passed = expressions.truthy(expressions.evaluate(rule.rule, scope, applicant=applicant))
        except expressions.ExpressionError:
            passed = False
        if not passed:
            return text(rule.message) or _("Check this answer.")
    return None


class Component:
    kind = ""
    template = ""

    def empty(self, value) -> bool:
        return value is None or value == "" or value == [] or value == {}

    def names(self, name: str) -> list[str]:
        """The posted names this question reads."""
        return [name]

    def required_message(self, field: Field) -> str:
        return _("Enter %(label)s") % {"label": _subject(field)}

    def anchor(self, name: str) -> str:
        """The id the error summary links to: the first input."""
        return element_id(name)

    # web
    def read(self, field: Field, data, files, name: str):
        """The answer in the posted values, before checking: None when nothing was entered."""
        value = _get(data, name).strip()
        return value or None

    def clean(
        self,
        field: Field,
        raw,
        files=None,
        *,
        name: str | None = None,
        existing=None,
        partial=False,
        answers=None,
    ):
        value = self.read(field, raw, files, name or field.key)
        if self.empty(value):
            if field.required and not partial:
                raise FieldError(self.required_message(field))
            return None
        return self.check(field, value)

    # API
    def clean_value(self, field: Field, value, *, answers=None):
        if isinstance(value, str):
            value = value.strip()
        if self.empty(value):
            if field.required:
                raise FieldError(self.required_message(field))
            return None
        return self.check_json(field, value)

    def check(self, field: Field, value):
        """The stored answer for a typed value (a string unless `read` says otherwise)."""
        return value

    def check_json(self, field: Field, value):
        if not isinstance(value, str):
            raise FieldError(_("Give %(label)s as text.") % {"label": _subject(field)})
        return self.check(field, value.strip())

    # display and rendering
    def display(self, field: Field, value) -> str:
        return "" if value is None else str(value)

    def to_raw(self, field: Field, value, name: str) -> dict:
        """Posted-style values that show a stored answer in the inputs again."""
        return {name: "" if value is None else str(value)}

    def widget(self, field: Field, name: str, data) -> dict:
        return {"value": _get(data, name)}


# --- Text ---------------------------------------------------------------------------------------------------


class TextComponent(Component):
    default_max_length = 200

    def check(self, field, value):
        value = value.strip()
        low, high = field.option("min_length"), field.option("max_length", self.default_max_length)
        if low and len(value) < low:
            raise FieldError(
                _("%(label)s must be %(n)s characters or more") % {"label": _label(field), "n": low}
            )
        if len(value) > high:
            raise FieldError(
                _("%(label)s must be %(n)s characters or fewer") % {"label": _label(field), "n": high}
            )
        pattern = field.option("pattern")
        if pattern and not re.fullmatch(pattern, value):
            raise FieldError(
                text(field.option("pattern_message"))
                or _("%(label)s is not in the expected form") % {"label": _label(field)}
            )
        return value

    def widget(self, field, name, data):
        autocomplete = field.option("autocomplete") or {
            "applicant.name": "name",
            "business.name": "organization",
        }.get(field.prefill or "", "")
        return {"value": _get(data, name), "autocomplete": autocomplete}


@register("text")
class Text(TextComponent):
    pass


@register("textarea")
class Textarea(TextComponent):
    default_max_length = 5000

    def read(self, field, data, files, name):
        # Line breaks typed in a textarea arrive as \r\n; store \n.
        value = _get(data, name).replace("\r\n", "\n").strip()
        return value or None


# --- Numbers and money --------------------------------------------------------------------------------------


def _decimal(text_value: str) -> Decimal | None:
    compact = re.sub(r"[\s,]", "", text_value)
    if not re.fullmatch(r"-?[0-9]{1,15}(\.[0-9]+)?", compact) or len(compact) > 30:
        return None
    try:
        return Decimal(compact)
    except InvalidOperation:
        return None


def _check_range(field: Field, number: Decimal, *, minimum=None):
    low = field.option("min", minimum)
    high = field.option("max")
    if low is not None and number < Decimal(str(low)):
        raise FieldError(
            _("%(label)s must be %(n)s or more") % {"label": _label(field), "n": _format_number(low)}
        )
    if high is not None and number > Decimal(str(high)):
        raise FieldError(
            _("%(label)s must be %(n)s or less") % {"label": _label(field), "n": _format_number(high)}
        )


@register("number")
class Number(Component):
    def check(self, field, value):
        number = _decimal(str(value))
        if number is None:
            raise FieldError(_("%(label)s must be a number") % {"label": _label(field)})
        if field.option("integer") and number != number.to_integral_value():
            raise FieldError(_("%(label)s must be a whole number") % {"label": _label(field)})
        _check_range(field, number)
        if number == number.to_integral_value():
            return int(number)
        return str(number.normalize())

    def check_json(self, field, value):
        if isinstance(value, bool | float):
            raise FieldError(
                _('Give %(label)s as a whole number or as text, like "12.5".') % {"label": _subject(field)}
            )
        return self.check(field, str(value))

    def display(self, field, value):
        number = _decimal(str(value)) if value is not None else None
        return _format_number(number) if number is not None else ""

    def widget(self, field, name, data):
        return {"value": _get(data, name), "inputmode": "numeric" if field.option("integer") else "decimal"}


@register("money")
class Money(Component):
    def required_message(self, field):
        return _("Enter %(label)s") % {"label": _subject(field)}

    def currency(self, field) -> str:
        return field.option("currency", "USD")

    def check(self, field, value):
        compact = str(value).replace("$", "").replace(self.currency(field), "")
        amount = _decimal(compact)
        if amount is None:
            raise FieldError(
                _("%(label)s must be an amount of money, like 600 or 193.54") % {"label": _label(field)}
            )
        if amount.as_tuple().exponent < -2:
            raise FieldError(
                _("%(label)s must not have more than 2 decimal places, like 193.54")
                % {"label": _label(field)}
            )
        _check_range(field, amount, minimum=0)
        return {"amount": str(amount.quantize(Decimal("0.01"))), "currency": self.currency(field)}

    def check_json(self, field, value):
        if isinstance(value, dict):
            if value.get("currency", self.currency(field)) != self.currency(field):
                raise FieldError(_("Give the amount in %(currency)s.") % {"currency": self.currency(field)})
            value = value.get("amount")
        if isinstance(value, bool | float) or value is None:
            raise FieldError(_('Give the amount as text, like "193.54".'))
        return self.check(field, str(value))

    def display(self, field, value):
        if not isinstance(value, dict):
            return ""
        amount = Decimal(value["amount"])
        shown = formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
        return f"${shown}" if value.get("currency") == "USD" else f"{value.get('currency')} {shown}"

    def to_raw(self, field, value, name):
        return {name: value.get("amount", "") if isinstance(value, dict) else ""}

    def widget(self, field, name, data):
        return {
            "value": _get(data, name),
            "currency": self.currency(field),
            "prefix": "$" if self.currency(field) == "USD" else self.currency(field),
        }


# --- Dates --------------------------------------------------------------------------------------------------

DATE_PARTS = ("day", "month", "year")


@register("date")
class Date(Component):
    def names(self, name):
        return [f"{name}-{part}" for part in DATE_PARTS]

    def anchor(self, name):
        return element_id(f"{name}-day")

    def read(self, field, data, files, name):
        parts = {part: _get(data, f"{name}-{part}").strip() for part in DATE_PARTS}
        return parts if any(parts.values()) else None

    def check(self, field, parts):
        label = _label(field)
        missing = [part for part in DATE_PARTS if not parts[part]]
        if missing:
            names = {"day": _("a day"), "month": _("a month"), "year": _("a year")}
            if len(missing) == 1:
                raise FieldError(
                    _("%(label)s must include %(part)s") % {"label": label, "part": names[missing[0]]}
                )
            raise FieldError(
                _("%(label)s must include %(part)s and %(other)s")
                % {"label": label, "part": names[missing[0]], "other": names[missing[1]]}
            )
        try:
            if not all(parts[part].isdigit() for part in DATE_PARTS) or len(parts["year"]) != 4:
                raise ValueError
            value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            raise FieldError(_("%(label)s must be a real date") % {"label": label}) from None
        return self.check_limits(field, value)

    def check_limits(self, field, value: date) -> str:
        label, today = _label(field), timezone.localdate()
        low = resolve_date_limit(field.option("min_date"), today)
        high = resolve_date_limit(field.option("max_date"), today)
        if high and value > high:
            if field.option("max_date") == "today":
                raise FieldError(_("%(label)s must be today or in the past") % {"label": label})
            raise FieldError(
                _("%(label)s must be on or before %(date)s") % {"label": label, "date": _format_date(high)}
            )
        if low and value < low:
            if field.option("min_date") == "today":
                raise FieldError(_("%(label)s must be today or in the future") % {"label": label})
            raise FieldError(
                _("%(label)s must be on or after %(date)s") % {"label": label, "date": _format_date(low)}
            )
        return value.isoformat()

    def check_json(self, field, value):
        try:
            if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                raise ValueError
            day = date.fromisoformat(value)
        except ValueError:
            raise FieldError(
                _("%(label)s must be a real date written as YYYY-MM-DD") % {"label": _label(field)}
            ) from None
        return self.check_limits(field, day)

    def display(self, field, value):
        try:
            return _format_date(date.fromisoformat(value))
        except (TypeError, ValueError):
            return ""

    def to_raw(self, field, value, name):
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError):
            return {}
        return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}

    def widget(self, field, name, data):
        autocomplete = field.option("autocomplete", "")
        labels = {"day": _("Day"), "month": _("Month"), "year": _("Year")}
        return {
            "parts": [
                {
                    "name": f"{name}-{part}",
                    "id": element_id(f"{name}-{part}"),
                    "label": labels[part],
                    "value": _get(data, f"{name}-{part}"),
                    "size": part,
                    "autocomplete": f"{autocomplete}-{part}" if autocomplete == "bday" else "",
                }
                for part in DATE_PARTS
            ]
        }


# --- Choices ------------------------------------------------------------------------------------------------


@register("yesno")
class YesNo(Component):
    def required_message(self, field):
        return _("Select yes or no: %(label)s") % {"label": field.label_text}

    def anchor(self, name):
        return element_id(f"{name}-yes")

    def empty(self, value):
        return value is None or value == ""

    def check(self, field, value):
        if value not in ("yes", "no"):
            raise FieldError(self.required_message(field))
        return value == "yes"

    def check_json(self, field, value):
        if not isinstance(value, bool):
            raise FieldError(_("Answer %(label)s with true or false.") % {"label": _subject(field)})
        return value

    def display(self, field, value):
        return {True: _("Yes"), False: _("No")}.get(value, "")

    def to_raw(self, field, value, name):
        return {name: {True: "yes", False: "no"}.get(value, "")}

    def widget(self, field, name, data):
        selected = _get(data, name)
        return {
            "choices": [
                {
                    "value": value,
                    "label": label,
                    "id": element_id(f"{name}-{value}"),
                    "checked": selected == value,
                }
                for value, label in (("yes", _("Yes")), ("no", _("No")))
            ]
        }


@register("choice")
class Choice(Component):
    def required_message(self, field):
        return _("Select an option: %(label)s") % {"label": field.label_text}

    def anchor(self, name):
        return element_id(f"{name}-0")

    def check(self, field, value):
        if value not in dict(field.choices):
            raise FieldError(self.required_message(field))
        return value

    def display(self, field, value):
        return dict(field.choices).get(value, "")

    def widget(self, field, name, data):
        selected = _get(data, name)
        return {
            "choices": [
                {
                    "value": value,
                    "label": label,
                    "id": element_id(f"{name}-{index}"),
                    "checked": selected == value,
                }
                for index, (value, label) in enumerate(field.choices)
            ]
        }


@register("multichoice")
class MultiChoice(Component):
    def required_message(self, field):
        return _("Select at least one option: %(label)s") % {"label": field.label_text}

    def anchor(self, name):
        return element_id(f"{name}-0")

    def read(self, field, data, files, name):
        values = [str(value) for value in _getlist(data, name) if str(value).strip()]
        return values or None

    def check(self, field, values):
        allowed = dict(field.choices)
        if any(value not in allowed for value in values):
            raise FieldError(_("Select only the options listed: %(label)s") % {"label": field.label_text})
        chosen = [value for value in allowed if value in values]  # the definition's order, once each
        low = field.option("min_items")
        if low and len(chosen) < low:
            raise FieldError(
                ngettext(
                    "Select at least %(n)s option: %(label)s",
                    "Select at least %(n)s options: %(label)s",
                    low,
                )
                % {"n": low, "label": field.label_text}
            )
        return chosen

    def check_json(self, field, value):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise FieldError(_("Give %(label)s as a list of option values.") % {"label": _subject(field)})
        return self.check(field, value)

    def display(self, field, value):
        labels = dict(field.choices)
        return ", ".join(labels.get(item, item) for item in value or [])

    def to_raw(self, field, value, name):
        return {name: list(value or [])}

    def widget(self, field, name, data):
        selected = set(_getlist(data, name))
        return {
            "choices": [
                {
                    "value": value,
                    "label": label,
                    "id": element_id(f"{name}-{index}"),
                    "checked": value in selected,
                }
                for index, (value, label) in enumerate(field.choices)
            ]
        }


# --- Identifiers and contact --------------------------------------------------------------------------------


@register("cedula")
class Cedula(Component):
    def check(self, field, value):
        try:
            return parse_cedula(value).canonical
        except InvalidIdentifier as error:
            raise FieldError(str(error)) from None

    def widget(self, field, name, data):
        return {"value": _get(data, name)}


@register("ruc")
class Ruc(Component):
    def names(self, name):
        return [f"{name}-ruc", f"{name}-dv"]

    def anchor(self, name):
        return element_id(f"{name}-ruc")

    def required_message(self, field):
        return _("Enter %(label)s") % {"label": _subject(field)}

    def read(self, field, data, files, name):
        value = {"ruc": _get(data, f"{name}-ruc").strip(), "dv": _get(data, f"{name}-dv").strip()}
        return value if any(value.values()) else None

    def check(self, field, value):
        if not value.get("ruc"):
            raise FieldError(_("Enter the RUC as well as its check digits (DV)"))
        if not value.get("dv"):
            raise FieldError(_("Enter the check digits (DV) of the RUC: they are on your RUC certificate"))
        try:
            ruc = parse_ruc(value["ruc"], value["dv"])
        except InvalidIdentifier as error:
            raise FieldError(str(error)) from None
        return {"ruc": ruc.canonical, "dv": ruc.dv}

    def check_json(self, field, value):
        if isinstance(value, str):  # "155596713-2-2015 DV 62", or without the DV (it is computed)
            try:
                ruc = parse_ruc(value)
            except InvalidIdentifier as error:
                raise FieldError(str(error)) from None
            return {"ruc": ruc.canonical, "dv": ruc.dv}
        if not isinstance(value, dict):
            raise FieldError(_("Give the RUC as an object with “ruc” and “dv”."))
        return self.check(
            field, {"ruc": str(value.get("ruc") or "").strip(), "dv": str(value.get("dv") or "").strip()}
        )

    def display(self, field, value):
        return f"{value['ruc']} DV {value['dv']}" if isinstance(value, dict) else ""

    def to_raw(self, field, value, name):
        value = value if isinstance(value, dict) else {}
        return {f"{name}-ruc": value.get("ruc", ""), f"{name}-dv": value.get("dv", "")}

    def widget(self, field, name, data):
        return {
            "ruc": {
                "name": f"{name}-ruc",
                "id": element_id(f"{name}-ruc"),
                "value": _get(data, f"{name}-ruc"),
            },
            "dv": {"name": f"{name}-dv", "id": element_id(f"{name}-dv"), "value": _get(data, f"{name}-dv")},
        }


@register("email")
class Email(Component):
    def required_message(self, field):
        return _("Enter %(label)s") % {"label": _subject(field)}

    def check(self, field, value):
        value = value.strip().lower()
        try:
            if len(value) > 254:
                raise ValidationError("too long")
            validate_email(value)
        except ValidationError:
            raise FieldError(
                _("Enter an email address in the correct format, like name@example.com")
            ) from None
        return value

    def widget(self, field, name, data):
        return {
            "value": _get(data, name),
            "autocomplete": field.option("autocomplete")
            or ("email" if field.prefill == "applicant.email" else ""),
        }


PHONE_HELP = "6123-4567"


@register("phone")
class Phone(Component):
    def check(self, field, value):
        compact = re.sub(r"[\s\-().]", "", value)
        compact = re.sub(r"^(\+|00)507", "", compact)
        if re.fullmatch(r"6[0-9]{7}", compact) or re.fullmatch(r"[2-9][0-9]{6}", compact):
            return f"+507{compact}"
        raise FieldError(
            _(
                "Enter a phone number in Panama, like 6123-4567 for a mobile or 223-4567 for a landline; the "
                "+507 in front is optional"
            )
        )

    def display(self, field, value):
        if isinstance(value, str) and value.startswith("+507"):
            local = value[4:]
            return f"+507 {local[:-4]}-{local[-4:]}"
        return value or ""

    def widget(self, field, name, data):
        return {
            "value": _get(data, name),
            "autocomplete": field.option("autocomplete")
            or ("tel" if field.prefill == "applicant.phone" else ""),
        }


# --- Address ------------------------------------------------------------------------------------------------

ADDRESS_PARTS = ("province", "district", "corregimiento", "line")


@register("address")
class Address(Component):
    def names(self, name):
        return [f"{name}-{part}" for part in ADDRESS_PARTS]

    def anchor(self, name):
        return element_id(f"{name}-province")

    def required_message(self, field):
        return _("Select the province, district and corregimiento, and enter the address: %(label)s") % {
            "label": field.label_text
        }

    def read(self, field, data, files, name):
        value = {part: _get(data, f"{name}-{part}").strip() for part in ADDRESS_PARTS}
        return value if any(value.values()) else None

    def check(self, field, value):
        province, district, corregimiento = value["province"], value["district"], value["corregimiento"]
        if not province or not addresses.place(province) or addresses.place(province).parent:
            raise FieldError(_("Select the province or comarca"))
        if not district:
            raise FieldError(_("Select the district"))
        if addresses.place(district) is None or addresses.place(district).parent != province:
            raise FieldError(
                _("The district you selected is not in %(province)s: select a district of that province")
                % {"province": addresses.label(province)}
            )
        if not corregimiento:
            raise FieldError(_("Select the corregimiento"))
        if not addresses.is_valid(province, district, corregimiento):
            raise FieldError(
                _(
                    "The corregimiento you selected is not in %(district)s: select a corregimiento of that district"
                )
                % {"district": addresses.label(district)}
            )
        line = " ".join(value["line"].split())
        if not line:
            raise FieldError(_("Enter the street, building and house or apartment number"))
        if len(line) > 200:
            raise FieldError(_("The street and building must be 200 characters or fewer"))
        return {"province": province, "district": district, "corregimiento": corregimiento, "line": line}

    def check_json(self, field, value):
        if not isinstance(value, dict):
            raise FieldError(
                _("Give the address as an object with “province”, “district”, “corregimiento” and “line”.")
            )
        return self.check(field, {part: str(value.get(part) or "").strip() for part in ADDRESS_PARTS})

    def display(self, field, value):
        return addresses.describe(value) if isinstance(value, dict) else ""

    def to_raw(self, field, value, name):
        value = value if isinstance(value, dict) else {}
        return {f"{name}-{part}": value.get(part, "") for part in ADDRESS_PARTS}

    def widget(self, field, name, data):
        chosen = {part: _get(data, f"{name}-{part}") for part in ADDRESS_PARTS}
        return {
            "parts": {
                part: {"name": f"{name}-{part}", "id": element_id(f"{name}-{part}"), "value": chosen[part]}
                for part in ADDRESS_PARTS
            },
            "provinces": addresses.provinces(),
            "district_groups": addresses.grouped_districts(),
            "corregimiento_groups": addresses.grouped_corregimientos(),
        }


# --- Files --------------------------------------------------------------------------------------------------

FILE_TYPES = {
    "pdf": ("PDF", "application/pdf", ".pdf"),
    "jpg": ("JPG", "image/jpeg", ".jpg,.jpeg"),
    "png": ("PNG", "image/png", ".png"),
    "webp": ("WEBP", "image/webp", ".webp"),
}
DEFAULT_ACCEPT = ("pdf", "jpg", "png")
MAX_FILES = 10


def detected_type(upload) -> str | None:
    """The kind of a file ("pdf", "jpg", …) read from its first bytes, whatever its name says."""
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    guess = filetype.guess(head)
    if guess is None:
        return None
    return {"jpeg": "jpg"}.get(guess.extension, guess.extension)


@register("file")
class File(Component):
    """New uploads come back from `clean` as UploadedFile objects for the caller to store as Evidence; an answer
    already given (a list of evidence ids) is kept when nothing new is uploaded."""

    def required_message(self, field):
        return _("Upload %(label)s") % {"label": _subject(field)}

    def accepted(self, field) -> list[str]:
        return list(field.option("accept") or DEFAULT_ACCEPT)

    def clean(self, field, raw, files=None, *, name=None, existing=None, partial=False, answers=None):
        name = name or field.key
        uploads = [
            upload for upload in _getlist(files, name) if upload is not None and getattr(upload, "name", "")
        ]
        if not uploads:
            if existing:
                return list(existing)
            if field.required and not partial:
                raise FieldError(self.required_message(field))
            return None
        if len(uploads) > (MAX_FILES if field.option("multiple") else 1):
            if field.option("multiple"):
                raise FieldError(_("Select %(n)s files or fewer") % {"n": MAX_FILES})
            raise FieldError(_("Select only one file"))
        for upload in uploads:
            self.check_upload(field, upload)
        return uploads

    def check_upload(self, field, upload):
        accepted = self.accepted(field)
        limit_mb = field.option("max_size_mb", 10)
        name = upload.name
        if not upload.size:
            raise FieldError(_("The selected file %(name)s is empty") % {"name": name})
        if upload.size > limit_mb * 1024 * 1024:
            raise FieldError(
                _("The selected file %(name)s must be smaller than %(n)s MB") % {"name": name, "n": limit_mb}
            )
        if detected_type(upload) not in accepted:
            raise FieldError(
                _("The selected file %(name)s must be a %(types)s")
                % {"name": name, "types": _(" or ").join(FILE_TYPES[kind][0] for kind in accepted)}
            )

    def check_json(self, field, value):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise FieldError(_("Give %(label)s as a list of evidence ids.") % {"label": _subject(field)})
        if len(value) > (MAX_FILES if field.option("multiple") else 1):
            raise FieldError(
                _("Give only one evidence id.")
                if not field.option("multiple")
                else _("Give %(n)s evidence ids or fewer.") % {"n": MAX_FILES}
            )
        try:
            return [str(uuid.UUID(item)) for item in value]
        except ValueError:
            raise FieldError(_("This is not a valid evidence id.")) from None

    def display(self, field, value):
        count = len(value or [])
        return ngettext("%(n)s file uploaded", "%(n)s files uploaded", count) % {"n": count} if count else ""

    def to_raw(self, field, value, name):
        return {}

    def widget(self, field, name, data):
        accepted = self.accepted(field)
        return {
            "accept": ",".join(f"{FILE_TYPES[kind][2]},{FILE_TYPES[kind][1]}" for kind in accepted),
            "types": _(" or ").join(FILE_TYPES[kind][0] for kind in accepted),
            "max_size_mb": field.option("max_size_mb", 10),
            "multiple": bool(field.option("multiple")),
        }


# --- Repeating groups ---------------------------------------------------------------------------------------

DEFAULT_MAX_ITEMS = 20


def item_scope(answers: dict | None, item: dict) -> dict:
    """What an expression inside a group's item sees: the form's answers and the item's own."""
    return {**(answers or {}), **item}


@register("repeat")
class Repeat(Component):
    """A group of questions asked once per item ("owners": name, cédula). On the web the items are numbered
    (`owners-0-name`), "Add another" and "Remove" are submit buttons, so it works without JavaScript."""

    def required_message(self, field):
        return _("Add at least one: %(label)s") % {"label": field.label_text}

    def anchor(self, name):
        return element_id(name)

    def max_items(self, field) -> int:
        return field.option("max_items", DEFAULT_MAX_ITEMS)

    def count(self, field, data, name: str) -> int:
        """How many items the page posted: the hidden count, or the highest index seen."""
        counted = _get(data, f"{name}-count")
        count = int(counted) if counted.isdigit() else 0
        pattern = re.compile(rf"{re.escape(name)}-([0-9]{{1,3}})-")
        for key in list(data.keys()) if data is not None else ():
            if match := pattern.match(key):
                count = max(count, int(match.group(1)) + 1)
        return min(count, self.max_items(field) + 1)

    def item_names(self, field, name: str, index: int) -> list[str]:
        return [
            raw
            for child in field.fields
            for raw in component(child.type).names(f"{name}-{index}-{child.key}")
        ]

    def clean(self, field, raw, files=None, *, name=None, existing=None, partial=False, answers=None):
        name = name or field.key
        items, errors = [], {}
        for index in range(self.count(field, raw, name)):
            blank = not any(
                _get(raw, item_name).strip() or len(_getlist(raw, item_name)) > 1
                for item_name in self.item_names(field, name, index)
            )
            if blank and not partial:
                continue
            item = {}
            for child in field.fields:
                try:
                    value = component(child.type).clean(
                        child, raw, files, name=f"{name}-{index}-{child.key}", partial=partial or blank
                    )
                except FieldError as error:
                    errors.update(
                        {
                            f"[{index}].{child.key}{suffix}": message
                            for suffix, message in error.errors.items()
                        }
                    )
                    continue
                if value is not None:
                    item[child.key] = value
            item, item_errors = self._visible(field, item, answers, index, errors, skip_rules=partial)
            errors = item_errors
            items.append(item)
        self._check_count(field, items, errors, partial)
        if errors:
            raise FieldError(errors=errors)
        return items or None

    def _visible(self, field, item, answers, index, errors, *, skip_rules=False):
        """The item without the answers of its hidden questions, and the errors without theirs; then the
        questions' own rules."""
        scope = item_scope(answers, item)
        for child in field.fields:
            prefix = f"[{index}].{child.key}"
            if child.show_if and not expressions.truthy(expressions.evaluate(child.show_if, scope)):
                item.pop(child.key, None)
                errors = {path: message for path, message in errors.items() if not path.startswith(prefix)}
            elif not skip_rules and child.key in item and prefix not in errors:
                message = check_rules(child, scope)
                if message:
                    errors[prefix] = message
        return item, errors

    def _check_count(self, field, items, errors, partial):
        if not items and field.required and not partial:
            errors[""] = self.required_message(field)
        low, high = field.option("min_items"), self.max_items(field)
        if low and items and len(items) < low and not partial:
            errors[""] = _("Add at least %(n)s: %(label)s") % {"n": low, "label": field.label_text}
        if len(items) > high:
            errors[""] = _("Add %(n)s or fewer: %(label)s") % {"n": high, "label": field.label_text}

    def clean_value(self, field, value, *, answers=None):
        if value in (None, []):
            if field.required:
                raise FieldError(self.required_message(field))
            return None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise FieldError(_("Give %(label)s as a list of objects.") % {"label": _subject(field)})
        items, errors = [], {}
        if len(value) > self.max_items(field):
            raise FieldError(
                _("Add %(n)s or fewer: %(label)s") % {"n": self.max_items(field), "label": field.label_text}
            )
        for index, given in enumerate(value):
            item = {}
            scope = item_scope(answers, given)
            for child in field.fields:
                if child.show_if and not expressions.truthy(expressions.evaluate(child.show_if, scope)):
                    continue
                try:
                    cleaned = component(child.type).clean_value(child, given.get(child.key), answers=scope)
                except FieldError as error:
                    errors.update(
                        {
                            f"[{index}].{child.key}{suffix}": message
                            for suffix, message in error.errors.items()
                        }
                    )
                    continue
                if cleaned is not None:
                    item[child.key] = cleaned
            item, errors = self._visible(field, item, answers, index, errors)
            items.append(item)
        self._check_count(field, items, errors, False)
        if errors:
            raise FieldError(errors=errors)
        return items

    def item_text(self, field, item: dict) -> str:
        """One item as lines "Label: answer"."""
        lines = []
        for child in field.fields:
            if child.key in item:
                shown = component(child.type).display(child, item[child.key])
                lines.append(f"{child.label_text}: {shown}")
        return "\n".join(lines)

    def display(self, field, value):
        return "\n\n".join(self.item_text(field, item) for item in value or [])

    def to_raw(self, field, value, name):
        items = value if isinstance(value, list) else []
        raw = {f"{name}-count": str(max(len(items), 1))}
        for index, item in enumerate(items):
            for child in field.fields:
                raw.update(
                    component(child.type).to_raw(child, item.get(child.key), f"{name}-{index}-{child.key}")
                )
        return raw

    def widget(self, field, name, data):
        count = max(self.count(field, data, name), 1)
        return {
            "count_name": f"{name}-count",
            "count": count,
            "can_add": count < self.max_items(field),
            "add_action": f"add:{field.key}",
        }


# --- Declaration --------------------------------------------------------------------------------------------


@register("declaration")
class Declaration(Component):
    def required_message(self, field):
        return _("Select the box to confirm the declaration")

    def empty(self, value):
        return value is None or value == "" or value is False

    def check(self, field, value):
        if value not in ("yes", "true", "on"):
            raise FieldError(self.required_message(field))
        return True

    def check_json(self, field, value):
        if value is not True:
            raise FieldError(_("Confirm the declaration with true."))
        return True

    def display(self, field, value):
        return _("Confirmed") if value is True else ""

    def to_raw(self, field, value, name):
        return {name: "yes" if value is True else ""}

    def widget(self, field, name, data):
        return {"checked": _get(data, name) in ("yes", "true", "on"), "statement": text(field.option("text"))}
