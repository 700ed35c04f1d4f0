"""Template texts to messages: ((placeholders)) filled in, an accessible HTML email beside the plain text, and
the length of a text message in SMS fragments."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import urlize
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import override

from ventanilla.core.i18n import localized

PLACEHOLDER = re.compile(r"\(\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\)")
GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_7_EXTENDED = set("^{}\\[~]|€")
SMS_MAX_FRAGMENTS = 4


class MissingPersonalisation(Exception):
    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(_("Personalisation is missing for: %(names)s.") % {"names": ", ".join(names)})


def placeholders(*texts: str) -> list[str]:
    """The placeholder names in the texts, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for name in PLACEHOLDER.findall(text or ""):
            seen.setdefault(name, None)
    return list(seen)


def fill(text: str, values: dict) -> str:
    return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), "")), text or "").strip()


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


def render(*, subject: str, body: str, personalisation: dict, sms: bool = False) -> Rendered:
    """Raises MissingPersonalisation naming every placeholder without a value."""
    missing = [name for name in placeholders(subject, body) if name not in personalisation]
    if missing:
        raise MissingPersonalisation(missing)
    values = {name: " ".join(str(value).split()) for name, value in personalisation.items()}
    text = fill(body, values)
    if sms:
        text = " ".join(text.split())
    return Rendered(subject=" ".join(fill(subject, values).split()), text=text)


def render_version(version, *, language: str, personalisation: dict) -> Rendered:
    """A template version's texts in `language` (Spanish when a text is missing), filled in; raises
    MissingPersonalisation."""
    return render(
        subject=localized(version, "subject", language),
        body=localized(version, "body", language),
        personalisation=personalisation,
        sms=version.template.channel == "sms",
    )


def blocks(text: str):
    """Paragraphs (separated by a blank line); lines starting "* " or "- " make a list."""
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if lines and all(line[:2] in ("* ", "- ") for line in lines):
            yield "list", [urlize(line[2:], autoescape=True) for line in lines]
        else:
            yield "paragraph", mark_safe("<br>".join(urlize(line, autoescape=True) for line in lines))  # noqa: S308 (each line escaped by urlize)


def email_html(*, subject: str, text: str, language: str, sender_name: str) -> str:
    with override(language):
        return render_to_string(
            "notify/email.html",
            {
                "subject": subject,
                "blocks": list(blocks(text)),
                "language": language,
                "signature": signature(sender_name),
                "site_url": settings.VENTANILLA_PUBLIC_URL,
            },
        )


def signature(sender_name: str) -> str:
    """ "Sender · Site", or the site alone when the platform itself sends."""
    site = settings.VENTANILLA_SITE_NAME
    return site if sender_name == site else f"{sender_name} · {site}"


def email_text(text: str, *, sender_name: str) -> str:
    return f"{text}\n\n-- \n{signature(sender_name)}\n{settings.VENTANILLA_PUBLIC_URL}\n"


@dataclass(frozen=True)
class SmsLength:
    characters: int
    fragments: int
    unicode: bool


def sms_length(text: str) -> SmsLength:
    """GSM 03.38 text fits 160 characters in one message (153 per part when split); anything else needs
    UCS-2: 70 (67 per part)."""
    unicode = any(char not in GSM_7 and char not in GSM_7_EXTENDED for char in text)
    units = len(text) if unicode else sum(2 if char in GSM_7_EXTENDED else 1 for char in text)
    single, part = (70, 67) if unicode else (160, 153)
    fragments = 1 if units <= single else -(-units // part)
    return SmsLength(characters=len(text), fragments=fragments, unicode=unicode)
