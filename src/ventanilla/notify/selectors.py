"""Reads of notify used by pages, the API, services and tasks."""

import re
import time

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from ventanilla.core.identifiers import as_uuid

from . import sandbox_sms
from .models import ApiKey, Channel, Message, Preference, SendingService, Template, TemplateVersion

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TEMPLATE_CACHE_SECONDS = 30
_current: dict[tuple, tuple[float, TemplateVersion | None]] = {}


def forget_templates() -> None:
    _current.clear()


def current_version(*, service: SendingService, template: str) -> TemplateVersion | None:
    """The newest version of the service's live template, by id or by slug. Kept for a few seconds per process:
    every message asks, and a template rarely changes (an edit here clears it; other processes catch up)."""
    cache_key = (service.pk, template)
    hit = _current.get(cache_key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    templates = Template.objects.filter(service=service, archived_at__isnull=True)
    template_id = as_uuid(template)
    templates = templates.filter(id=template_id) if template_id else templates.filter(slug=template)
    version = (
        TemplateVersion.objects.select_related("template__service")
        .filter(template__in=templates)
        .order_by("-number")
        .first()
    )
    _current[cache_key] = (time.monotonic() + TEMPLATE_CACHE_SECONDS, version)
    return version


def address_error(channel: str, to: str) -> str:
    """What is wrong with an address for a channel, or ""."""
    if channel == Channel.EMAIL:
        try:
            validate_email(to or "")
        except ValidationError:
            return _("Enter an email address like name@example.com.")
        return ""
    if not E164.match(normal_address(channel, to or "")):
        return _("Enter a mobile number with its country code, like +507 6123 4567.")
    return ""


def normal_address(channel: str, to: str) -> str:
    if channel == Channel.SMS:
        return re.sub(r"[\s().-]", "", to or "")
    return (to or "").strip()


def simulated_outcome(to: str) -> str:
    """What a test key reports: the sandbox's rule for numbers, and the same by the email's local part."""
    local = to.split("@")[0]
    if local == "permanent-failure":
        return Message.Status.PERMANENT_FAILURE
    if local == "temporary-failure":
        return Message.Status.TEMPORARY_FAILURE
    return sandbox_sms.outcome_for(to) if to.startswith("+") else Message.Status.DELIVERED


def preference_for(person: str) -> Preference:
    return Preference.objects.filter(user=person).first() or Preference(user=person)


def inbox(person: str):
    """The person's messages in their account, newest first."""
    return Message.objects.filter(recipient=person, channel=Channel.INBOX).order_by("-created_at")


def unread_count(person: str) -> int:
    return inbox(person).filter(read_at__isnull=True).count()


def inbox_message(person: str, message_id) -> Message | None:
    message_id = as_uuid(message_id)
    return inbox(person).filter(id=message_id).first() if message_id else None


def messages_of(service: SendingService, *, status: str = "", reference: str = "", test: bool | None = None):
    found = Message.objects.filter(service=service).exclude(channel=Channel.INBOX)
    if status:
        found = found.filter(status=status)
    if reference:
        found = found.filter(reference=reference)
    if test is not None:
        found = found.filter(test=test)
    return found.order_by("-created_at", "-id")


def message_of(service: SendingService, message_id) -> Message | None:
    message_id = as_uuid(message_id)
    return Message.objects.filter(service=service, id=message_id).first() if message_id else None


def services_managed_by(user, integrator_institution_ids: set):
    """Operators manage every sending service; an institution's integrators manage its own."""
    if user.is_superuser:
        return SendingService.objects.order_by("slug")
    return SendingService.objects.filter(
        Q(institution_id__in=integrator_institution_ids) & ~Q(institution=None)
    ).order_by("slug")


def templates_of(service: SendingService):
    return Template.objects.filter(service=service, archived_at__isnull=True).order_by("slug")


def api_keys_of(service: SendingService):
    return ApiKey.objects.filter(service=service).order_by("revoked_at", "-created_at")


def status_counts(service: SendingService, *, since) -> dict[str, int]:
    rows = (
        messages_of(service, test=False)
        .filter(created_at__gte=since)
        .values_list("status")
        .order_by()
        .annotate(n=Count("id"))
    )
    return dict(rows)


def message_counts(services, *, since) -> dict:
    """Messages each sending service was asked to send since then (test keys' and in-account ones left out)."""
    rows = (
        Message.objects.filter(service__in=services, created_at__gte=since, test=False)
        .exclude(channel=Channel.INBOX)
        .values_list("service_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    return dict(rows)


def template_of(service: SendingService, slug: str) -> Template | None:
    """One of the service's templates by name, archived or not."""
    return Template.objects.filter(service=service, slug=slug).first()


def archived_templates_of(service: SendingService):
    return Template.objects.filter(service=service, archived_at__isnull=False).order_by("slug")
