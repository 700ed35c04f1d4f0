from django.utils.translation import get_language

FALLBACK_LANGUAGE = "es"


def current_language() -> str:
    return (get_language() or FALLBACK_LANGUAGE)[:2]


def localized(obj, field: str, language: str | None = None) -> str:
    """The `field_<lang>` value (attribute or key) in the active language, falling back to Spanish."""
    language = language or current_language()
    get = obj.get if isinstance(obj, dict) else lambda name, default: getattr(obj, name, default)
    return get(f"{field}_{language}", "") or get(f"{field}_{FALLBACK_LANGUAGE}", "")


def bilingual(text: dict | None, language: str | None = None) -> str:
    """A definition's `{es: ..., en: ...}` text in the active language, falling back to Spanish."""
    if not text:
        return ""
    return text.get(language or current_language()) or text.get(FALLBACK_LANGUAGE, "")
