"""Validation errors as messages a person can act on, in the active language.

Pydantic (behind django-ninja) describes errors in English for programmers; we translate each error *type* into
a sentence for people, keeping the field path so a client can show it next to the right input."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _


def _message(error: dict) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    messages = {
        "missing": _("This field is required."),
        "string_too_short": _("Write at least %(n)s characters.") % {"n": ctx.get("min_length")},
        "string_too_long": _("Write at most %(n)s characters.") % {"n": ctx.get("max_length")},
        "too_short": _("Give at least %(n)s item(s).") % {"n": ctx.get("min_length")},
        "too_long": _("Give at most %(n)s item(s).") % {"n": ctx.get("max_length")},
        "greater_than_equal": _("Must be %(n)s or more.") % {"n": ctx.get("ge")},
        "less_than_equal": _("Must be %(n)s or less.") % {"n": ctx.get("le")},
        "string_pattern_mismatch": _("Has characters that are not allowed here."),
        "literal_error": _("Choose one of: %(options)s.") % {"options": ctx.get("expected", "")},
        "int_parsing": _("Write a whole number."),
        "int_type": _("Write a whole number."),
        "decimal_parsing": _("Write an amount such as 12.50."),
        "decimal_max_places": _("Use at most %(n)s decimal places.") % {"n": ctx.get("decimal_places")},
        "decimal_max_digits": _("The amount is too large."),
        "bool_parsing": _("Answer true or false."),
        "string_type": _("Write text here."),
        "list_type": _("Give a list here."),
        "dict_type": _("Give an object here."),
        "model_type": _("Give an object here."),
        "json_invalid": _("The request body is not valid JSON."),
        "date_from_datetime_parsing": _("Write a date as YYYY-MM-DD."),
        "date_parsing": _("Write a date as YYYY-MM-DD."),
        "uuid_parsing": _("This is not a valid identifier."),
        "value_error": _("This value is not valid: %(why)s.") % {"why": ctx.get("error", "")},
    }
    return messages.get(kind, _("This value is not valid."))


def _field(location) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "form", "payload")]
    return ".".join(parts) or "__all__"


def describe_pydantic(errors: list[dict]) -> list[dict]:
    return [{"field": _field(error.get("loc", ())), "message": _message(error)} for error in errors]


def describe_django(error: DjangoValidationError) -> list[dict]:
    if hasattr(error, "error_dict"):
        return [
            {"field": field, "message": message}
            for field, errors in error.message_dict.items()
            for message in errors
        ]
    return [{"field": "__all__", "message": message} for message in error.messages]
