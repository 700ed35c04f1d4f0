from urllib.parse import urlencode

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ventanilla.core.i18n import localized

register = template.Library()

LEVELS = {
    1: _("Information only: the procedure is listed"),
    2: _("Form can be downloaded"),
    3: _("Started online, finished in person"),
    4: _("Done online and tracked"),
    5: _("Eliminated: nothing to do"),
}
CHANNELS = {
    "online": _("Online"),
    "office": _("At an office"),
    "phone311": _("By phone (311)"),
    "infoplaza": _("At an InfoPlaza"),
}


@register.filter
def tr(obj, field: str) -> str:
    """{{ procedure|tr:"title" }} → title_es or title_en, by the page's language."""
    return localized(obj, field)


@register.filter
def level_name(level) -> str:
    return LEVELS.get(int(level), "")


@register.filter
def channel_name(code: str) -> str:
    return CHANNELS.get(code, code)


@register.filter
def days(count, unit: str) -> str:
    """{{ 5|days:"working" }} → "5 working days", with the right plural in each language."""
    if unit == "calendar":
        return ngettext("%(n)s calendar day", "%(n)s calendar days", count) % {"n": count}
    return ngettext("%(n)s working day", "%(n)s working days", count) % {"n": count}


@register.filter
def money(amount) -> str:
    """Balboas and dollars circulate at par; amounts are shown with two decimals, never rounded."""
    return f"{amount:,.2f}"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters changed (pagination and filter links keep the rest)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted((k, v) for k, v in params.items() if v))
