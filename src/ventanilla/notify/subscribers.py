"""Other apps announce what happened; notify tells the person concerned. Which event makes which message is
written in data/templates.yaml (`event`, and `when` to pick by a payload value)."""

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from django.utils.dateparse import parse_datetime

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.events import subscriber
from ventanilla.core.i18n import localized
from ventanilla.core.models import Event

from . import services

ROUTES = {key: entry for key, entry in services.platform_entries().items() if "event" in entry}


def _money(amount: str, currency: str) -> str:
    return f"{currency} {amount}" if amount else ""


def _case_values(payload: dict, language: str) -> dict:
    procedure = catalogue.procedure_detail(payload["procedure"], include_unpublished=True)
    institution = catalogue.institution_by_code(payload["institution"])
    with translation.override(language):
        path = reverse("cases:detail", args=[payload["reference"]])
        due = parse_datetime(payload["due"]) if payload.get("due") else None
        return {
            "reference": payload["reference"],
            "procedure": localized(procedure, "title", language) if procedure else payload["procedure"],
            "institution": localized(institution, "name", language)
            if institution
            else payload["institution"],
            "url": settings.VENTANILLA_PUBLIC_URL + path,
            "reason": payload.get("reason", ""),
            "due": formats.date_format(due, "DATE_FORMAT") if due else "",
            "amount": _money(payload.get("amount", ""), payload.get("currency", "")),
        }


def _payment_values(payload: dict, language: str) -> dict:
    with translation.override(language):
        path = reverse("payments:detail", args=[payload["reference"]])
    return {
        "reference": payload["reference"],
        "amount": _money(payload["amount"], payload["currency"]),
        "receipt": payload.get("receipt", ""),
        "refund_amount": _money(payload.get("refund_amount", ""), payload["currency"]),
        "url": settings.VENTANILLA_PUBLIC_URL + path,
    }


def _document_values(payload: dict, language: str) -> dict:
    institution = catalogue.institution_by_code(payload["institution"])
    with translation.override(language):
        path = reverse("documents:detail", args=[payload["code"]])
    return {
        "reference": payload["code"],
        "document": payload["title_en"] if language == "en" else payload["title_es"],
        "institution": localized(institution, "name", language) if institution else payload["institution"],
        "reason": payload.get("reason", ""),
        "url": settings.VENTANILLA_PUBLIC_URL + path,
    }


def _values(payload: dict, language: str) -> dict:
    """Events about a case name its procedure; documents' events their code; payments' events a payment."""
    if "procedure" in payload:
        return _case_values(payload, language)
    return _document_values(payload, language) if "code" in payload else _payment_values(payload, language)


def tell_applicant(event: Event) -> None:
    payload = event.payload
    person = payload.get("applicant") or event.subject
    for key, entry in ROUTES.items():
        if entry["event"] != event.name:
            continue
        if any(payload.get(name) != value for name, value in entry.get("when", {}).items()):
            continue
        services.notify_person(
            person=person,
            template_key=key,
            values_for=lambda language: _values(payload, language),
            cause=f"event:{event.id}:{key}",
        )


for event_name in sorted({entry["event"] for entry in ROUTES.values()}):
    subscriber(event_name)(tell_applicant)
