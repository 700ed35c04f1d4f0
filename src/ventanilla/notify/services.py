"""Every write of notify. A message is saved (with the task that will send it, in the same transaction) before
anything leaves the platform; `deliver` hands it to its channel's provider and records what became of it."""

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core import audit
from ventanilla.core.actor import Actor
from ventanilla.core.i18n import localized
from ventanilla.core.identifiers import as_uuid
from ventanilla.identity import selectors as people
from ventanilla.identity import services as identity

from . import plugins, rendering, selectors
from .models import (
    ApiKey,
    Channel,
    Message,
    PhoneCheck,
    Preference,
    RateWindow,
    SendingService,
    Template,
    TemplateVersion,
)
from .plugins import PermanentFailure, TemporaryFailure

PLATFORM = "ventanilla"
MAX_TEXT = {"email": 20000, "sms": 918, "inbox": 20000}  # 918: six concatenated GSM parts
Status = Message.Status
PHONE_CODE_LIFETIME = timedelta(minutes=10)
PHONE_CODE_TRIES = 5
PHONE_CODES_PER_WINDOW, PHONE_CODES_WINDOW = 3, timedelta(hours=1)


class NotifyError(Exception):
    """A request notify will not carry out, with a message a person can act on and, per field, what to fix."""

    def __init__(self, message: str, *, errors: dict | None = None, status: int = 422):
        super().__init__(message)
        self.errors = errors or {}
        self.status = status


# --- Senders, keys and templates -------------------------------------------------------------------------------


def platform_service() -> SendingService:
    service, _created = SendingService.objects.get_or_create(
        slug=PLATFORM,
        defaults={"name_es": settings.VENTANILLA_SITE_NAME, "name_en": settings.VENTANILLA_SITE_NAME},
    )
    return service


@transaction.atomic
def create_sending_service(
    *,
    slug: str,
    name_es: str,
    name_en: str,
    institution=None,
    actor: Actor,
    rate_limit_per_minute: int = 3000,
) -> SendingService:
    if SendingService.objects.filter(slug=slug).exists():
        raise NotifyError(
            _("A sending service with this name already exists."),
            errors={"slug": _("Another sending service has this name: choose another.")},
        )
    service = SendingService.objects.create(
        slug=slug,
        name_es=name_es,
        name_en=name_en,
        institution=institution,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    audit.record(actor=actor, action="notify.service_created", object_type="sending_service", object_id=slug)
    return service


def _key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_key(*, service: SendingService, name: str, kind: str, actor: Actor) -> tuple[ApiKey, str]:
    """Returns the key and its secret, which is shown once and never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise NotifyError(
            _("Give the key a name, so you know later where it is used."), errors={"name": _("Enter a name.")}
        )
    if kind not in ApiKey.Kind.values:
        raise NotifyError(_("Choose a live or a test key."), errors={"kind": _("Choose live or test.")})
    prefix = secrets.token_hex(4)
    raw = f"ntf_{kind}_{prefix}_{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(
        service=service,
        name=name[:100],
        kind=kind,
        prefix=prefix,
        secret_hash=_key_hash(raw),
        created_by=actor.label,
    )
    audit.record(
        actor=actor,
        action="notify.api_key_created",
        object_type="sending_service",
        object_id=service.slug,
        data={"key": prefix, "kind": kind, "name": key.name},
    )
    return key, raw


def api_key_for(raw: str) -> ApiKey | None:
    """The live (not revoked) key for a presented secret, or None."""
    parts = raw.split("_")
    if len(parts) < 4 or parts[0] != "ntf":
        return None
    key = ApiKey.objects.select_related("service").filter(prefix=parts[2], revoked_at__isnull=True).first()
    if key is None or not secrets.compare_digest(key.secret_hash, _key_hash(raw)) or not key.service.active:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


@transaction.atomic
def revoke_api_key(*, key: ApiKey, actor: Actor) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action="notify.api_key_revoked",
            object_type="sending_service",
            object_id=key.service.slug,
            data={"key": key.prefix},
        )
    return key


def _check_texts(*, channel: str, subject_es: str, subject_en: str, body_es: str, body_en: str) -> dict:
    errors = {}
    for language in ("es", "en"):
        body = {"es": body_es, "en": body_en}[language]
        subject = {"es": subject_es, "en": subject_en}[language]
        if not body.strip():
            errors[f"body_{language}"] = _("Write the message.")
        elif len(body) > MAX_TEXT[channel]:
            errors[f"body_{language}"] = _("The message is too long: at most %(n)s characters.") % {
                "n": MAX_TEXT[channel]
            }
        if channel != Channel.SMS and not subject.strip():
            errors[f"subject_{language}"] = _("Write the subject line.")
    texts = {"es": (subject_es, body_es), "en": (subject_en, body_en)}
    names = {language: set(rendering.placeholders(*pair)) for language, pair in texts.items()}
    if not errors and names["es"] != names["en"]:
        errors["body_en"] = _("Both languages must use the same placeholders: %(names)s.") % {
            "names": ", ".join(sorted(names["es"] ^ names["en"]))
        }
    return errors


@transaction.atomic
def save_template(
    *, service: SendingService, slug: str, actor: Actor, new: bool = False, **fields
) -> TemplateVersion:
    """Creates the template, or a new version of it when a text changed (messages keep the version they used).
    Fields: channel, essential, subject_es, subject_en (email only), body_es, body_en. With `new`, a name the
    service already uses is refused instead of making a new version of that template."""
    if new and Template.objects.filter(service=service, slug=slug).exists():
        raise NotifyError(
            _("This service already has a template with this name."),
            errors={"slug": _("Choose another name: this one is taken.")},
        )
    version, added = _save_version(service=service, slug=slug, created_by=actor.label, **fields)
    if added:
        audit.record(
            actor=actor,
            action="notify.template_saved",
            object_type="notify_template",
            object_id=str(version.template),
            data={"version": version.number},
        )
    return version


def _save_version(
    *,
    service: SendingService,
    slug: str,
    channel: str,
    essential: bool,
    subject_es: str = "",
    subject_en: str = "",
    body_es: str,
    body_en: str,
    created_by: str,
) -> tuple[TemplateVersion, bool]:
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise NotifyError(_("Choose email or text message."), errors={"channel": _("Choose email or SMS.")})
    texts = {
        "subject_es": subject_es.strip() if channel == Channel.EMAIL else "",
        "subject_en": subject_en.strip() if channel == Channel.EMAIL else "",
        "body_es": body_es.strip(),
        "body_en": body_en.strip(),
    }
    errors = _check_texts(channel=channel, **texts)
    if errors:
        raise NotifyError(_("The template has problems to fix."), errors=errors)
    template, created = Template.objects.select_for_update().get_or_create(
        service=service, slug=slug, defaults={"channel": channel, "essential": essential}
    )
    if not created and template.channel != channel:
        raise NotifyError(
            _("This template is for another channel; make a new template instead."),
            errors={"channel": _("A template keeps its channel.")},
        )
    current = template.versions.first()
    if current is not None and all(getattr(current, name) == value for name, value in texts.items()):
        if template.essential != essential or template.archived_at:
            template.essential, template.archived_at = essential, None
            template.save(update_fields=["essential", "archived_at"])
        return current, False
    template.essential, template.archived_at = essential, None
    template.save(update_fields=["essential", "archived_at"])
    version = TemplateVersion.objects.create(
        template=template, number=(current.number + 1) if current else 1, created_by=created_by, **texts
    )
    selectors.forget_templates()
    return version, True


@transaction.atomic
def archive_template(*, template: Template, actor: Actor) -> Template:
    if template.archived_at is None:
        template.archived_at = timezone.now()
        template.save(update_fields=["archived_at"])
        audit.record(
            actor=actor,
            action="notify.template_archived",
            object_type="notify_template",
            object_id=str(template),
        )
        selectors.forget_templates()
    return template


@functools.cache
def platform_entries() -> dict:
    """data/templates.yaml: the platform's own messages and the events that send them."""
    return yaml.safe_load((Path(__file__).parent / "data" / "templates.yaml").read_text(encoding="utf-8"))


@transaction.atomic
def load_platform_templates() -> int:
    """The platform's own templates from data/templates.yaml (versioned with the code, so not audited);
    returns how many versions were added."""
    service = platform_service()
    added = 0
    for key, entry in platform_entries().items():
        for channel in (Channel.EMAIL, Channel.SMS):
            if channel in entry:
                _version, new = _save_version(
                    service=service,
                    slug=f"{key}-{channel}",
                    channel=channel,
                    essential=entry.get("essential", True),
                    created_by="templates.yaml",
                    **entry[channel],
                )
                added += new
    return added


# --- Sending ---------------------------------------------------------------------------------------------------


def _opted_out(template: Template, *, recipient: str, to: str) -> bool:
    # Essential messages go whatever the preference, so most messages never look the address up.
    if template.essential:
        return False
    people_reached = [recipient] if recipient else people.people_reached_at(to) if to else []
    return bool(people_reached) and (
        Preference.objects.filter(user__in=people_reached, non_essential=False).exists()
    )


def _create(*, cause: str | None, **fields) -> Message:
    """Saves the message once per cause: a second call with the same cause returns the first message."""
    if cause is not None and (existing := Message.objects.filter(cause=cause).first()):
        return existing
    try:
        # The savepoint only serves to recover from a concurrent twin of the same cause: skipped without one.
        with transaction.atomic(savepoint=cause is not None):
            message = Message.objects.create(cause=cause, **fields)
            if message.status == Status.CREATED:
                from .tasks import deliver_message

                deliver_message.enqueue(message_id=str(message.id))
    except IntegrityError:
        existing = Message.objects.filter(cause=cause).first() if cause else None
        if existing is None:
            raise
        return existing
    return message


def send(
    *,
    version: TemplateVersion,
    channel: str,
    to: str,
    language: str,
    personalisation: dict,
    recipient: str = "",
    reference: str = "",
    test: bool = False,
    cause: str | None = None,
) -> Message:
    """Saves a message for `to` (an email address, an E.164 number, or empty for the recipient's account) and
    queues it. Raises NotifyError when the personalisation lacks a placeholder or the text is too long."""
    template = version.template
    service = template.service
    sms = channel == Channel.SMS
    try:
        rendered = rendering.render_version(version, language=language, personalisation=personalisation)
    except rendering.MissingPersonalisation as error:
        raise NotifyError(str(error), errors={"personalisation": str(error)}) from error
    if sms and rendering.sms_length(rendered.text).fragments > rendering.SMS_MAX_FRAGMENTS:
        raise NotifyError(
            _("The text message is too long once filled in: at most %(n)s parts.")
            % {"n": rendering.SMS_MAX_FRAGMENTS},
            errors={"personalisation": _("Shorten the values.")},
        )
    now = timezone.now()
    status, failure, completed_at = Status.CREATED, "", None
    if _opted_out(template, recipient=recipient, to=to):
        status, failure, completed_at = Status.PERMANENT_FAILURE, "opted-out", now
    elif channel == Channel.INBOX:
        status, completed_at = Status.DELIVERED, now
    elif test:
        status, completed_at = selectors.simulated_outcome(to), now
    return _create(
        cause=cause,
        service=service,
        template_version=version,
        channel=channel,
        to=to,
        recipient=recipient,
        language=language,
        personalisation=personalisation,
        subject=rendered.subject,
        body=rendered.text,
        status=status,
        failure=failure,
        test=test,
        reference=reference,
        next_attempt_at=now if status == Status.CREATED else None,
        completed_at=completed_at,
    )


def check_rate_limit(*, service: SendingService) -> None:
    """Counts one more request of the service in this minute; raises NotifyError (429) past its limit. Call it
    before the request's transaction: counting inside one would hold the service's counter locked until that
    commits, and every concurrent sender of the service would wait in line (bench/notify.py: a third slower)."""
    if not _within_rate_limit(service):
        raise NotifyError(
            _("Too many messages: this service may send %(n)s a minute. Wait a minute and send again.")
            % {"n": service.rate_limit_per_minute},
            status=429,
        )


def _within_rate_limit(service: SendingService) -> bool:
    minute = timezone.now().replace(second=0, microsecond=0)
    window = RateWindow.objects.filter(
        service=service, minute=minute, count__lt=service.rate_limit_per_minute
    )
    if window.update(count=F("count") + 1):
        return True
    try:
        with transaction.atomic():
            RateWindow.objects.create(service=service, minute=minute, count=1)
        return service.rate_limit_per_minute > 0
    except IntegrityError:
        return bool(window.update(count=F("count") + 1))


def send_from_api(
    *, key: ApiKey, template_id: str, to: str, personalisation: dict, reference: str, language: str
) -> Message:
    """A message an institution sends with one of its templates and an API key (a test key sends nothing).
    The request counts towards the rate limit first: see check_rate_limit."""
    version = selectors.current_version(service=key.service, template=template_id)
    if version is None:
        raise NotifyError(
            _("There is no template %(id)s for this sending service.") % {"id": template_id},
            errors={"template": _("Use the id or the name of one of your templates.")},
        )
    channel = version.template.channel
    address_error = selectors.address_error(channel, to)
    if address_error:
        raise NotifyError(address_error, errors={"to": address_error})
    return send(
        version=version,
        channel=channel,
        to=selectors.normal_address(channel, to),
        language=language,
        personalisation=personalisation,
        reference=reference,
        test=key.kind == ApiKey.Kind.TEST,
    )


def notify_person(
    *, person: str, template_key: str, values_for: Callable[[str], dict], cause: str
) -> list[Message]:
    """Tell a person about something of theirs: in their account, and by email and/or
    SMS as they prefer (falling back to the channel they have), in their language (`values_for(language)` gives
    the placeholders' values). Once per cause."""
    contact = people.contact_for(person)
    if contact is None:
        return []
    values = {"first_name": contact.first_name, **values_for(contact.language)}
    preference = selectors.preference_for(person)
    channels = {
        Channel.EMAIL: bool(contact.email) and preference.channels in ("both", "email"),
        Channel.SMS: bool(contact.phone) and preference.channels in ("both", "sms"),
    }
    if not any(channels.values()):  # the preferred channel is missing: use the one they have
        channels = {Channel.EMAIL: bool(contact.email), Channel.SMS: bool(contact.phone)}
    sent = []
    platform = platform_service()
    for channel, to in ((Channel.INBOX, ""), (Channel.EMAIL, contact.email), (Channel.SMS, contact.phone)):
        if channel != Channel.INBOX and not channels[channel]:
            continue
        template_channel = Channel.SMS if channel == Channel.SMS else Channel.EMAIL
        version = selectors.current_version(service=platform, template=f"{template_key}-{template_channel}")
        if version is None:
            continue
        sent.append(
            send(
                version=version,
                channel=channel,
                to=to,
                recipient=person,
                language=contact.language,
                personalisation=values,
                reference=values.get("reference", ""),
                cause=f"{cause}:{channel}",
            )
        )
    return sent


# --- Delivering ------------------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    seconds = settings.VENTANILLA_NOTIFY_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 3600))


def deliver(*, message_id: str) -> str:
    """Hand one queued message to its provider. Safe to run twice or concurrently: only a message still queued
    and due is claimed, and claiming marks it sending before anything leaves the platform."""
    from .tasks import deliver_message

    now = timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("service")
            .filter(id=message_id, status=Status.CREATED)
            .first()
        )
        if message is None:
            return "skipped"
        if message.next_attempt_at and message.next_attempt_at > now + timedelta(seconds=1):
            return "not due"
        message.status, message.attempts, message.sent_at = Status.SENDING, message.attempts + 1, now
        message.save(update_fields=["status", "attempts", "sent_at"])
    provider = plugins.provider_for(message.channel)
    sender_name = localized(message.service, "name", message.language)
    if message.channel == Channel.EMAIL:
        text = rendering.email_text(message.body, sender_name=sender_name)
        html = rendering.email_html(
            subject=message.subject, text=message.body, language=message.language, sender_name=sender_name
        )
        sender = message.service.reply_to
    else:
        text, html, sender = message.body, "", message.service.sms_sender
    try:
        sent = provider.send(
            message_id=str(message.id),
            to=message.to,
            subject=message.subject,
            text=text,
            html=html,
            sender=sender,
        )
    except TemporaryFailure as error:
        with transaction.atomic():
            if message.attempts >= settings.VENTANILLA_NOTIFY_MAX_ATTEMPTS:
                _finish(message.id, Status.TECHNICAL_FAILURE, failure=str(error), provider=provider.name)
                return "technical-failure"
            retry_at = timezone.now() + _backoff(message.attempts)
            Message.objects.filter(id=message.id, status=Status.SENDING).update(
                status=Status.CREATED,
                next_attempt_at=retry_at,
                failure=str(error)[:500],
                provider=provider.name,
            )
            deliver_message.using(run_after=retry_at).enqueue(message_id=str(message.id))
        return "retrying"
    except PermanentFailure as error:
        _finish(message.id, Status.PERMANENT_FAILURE, failure=str(error), provider=provider.name)
        return "permanent-failure"
    Message.objects.filter(id=message.id, status=Status.SENDING).update(
        provider=provider.name,
        provider_reference=sent.reference,
        failure="",
        **({"status": Status.DELIVERED, "completed_at": timezone.now()} if sent.delivered else {}),
    )
    return "delivered" if sent.delivered else "sending"


def _finish(
    message_id, status: str, *, failure: str = "", provider: str = "", reference: str = "", **only
) -> bool:
    """Settle a message still on its way (and matching `only`); a message already settled keeps its first
    outcome."""
    changes = {"status": status, "completed_at": timezone.now(), "failure": failure[:500]}
    if provider:
        changes["provider"] = provider
    if reference:
        changes["provider_reference"] = reference
    return bool(
        Message.objects.filter(id=message_id, status__in=(Status.CREATED, Status.SENDING), **only).update(
            **changes
        )
    )


def record_receipts(*, provider_name: str, body: bytes, headers) -> int:
    """Apply a provider's signed delivery receipts; returns how many changed a message (a receipt arriving
    twice, or after a later one, changes nothing). Raises plugins.InvalidReceipt."""
    provider = plugins.providers.get(provider_name)
    changed = 0
    for receipt in provider.receipts(body=body, headers=headers):
        message_id = as_uuid(receipt.message_id)
        if message_id is not None:
            changed += _finish(
                message_id,
                receipt.status,
                failure="" if receipt.status == Status.DELIVERED else f"{provider_name}: {receipt.status}",
                provider=provider_name,
                reference=receipt.provider_reference,
                channel=provider.channel,
            )
    return changed


def settle_stuck(*, now=None) -> dict:
    """The sweeper: requeue a queued message whose task was lost; settle a message that never heard back."""
    from .tasks import deliver_message

    now = now or timezone.now()
    lost = Message.objects.filter(status=Status.CREATED, next_attempt_at__lt=now - timedelta(minutes=30))
    requeued = 0
    for message_id in lost.values_list("id", flat=True)[:1000]:
        deliver_message.enqueue(message_id=str(message_id))
        requeued += 1
    no_receipt = Message.objects.filter(status=Status.SENDING, sent_at__lt=now - timedelta(hours=72)).exclude(
        provider_reference=""
    )
    # Handed over with no word for three days: as networks do, count it as not delivered for now.
    unanswered = no_receipt.update(status=Status.TEMPORARY_FAILURE, completed_at=now, failure="no-receipt")
    # Claimed but never handed over (the worker died mid-send): sending again could make a copy, so stop here.
    died = Message.objects.filter(
        status=Status.SENDING, provider_reference="", sent_at__lt=now - timedelta(minutes=30)
    ).update(status=Status.TECHNICAL_FAILURE, completed_at=now, failure="interrupted")
    return {"requeued": requeued, "no_receipt": unanswered, "interrupted": died}


def forget_old_contents(*, now=None) -> int:
    """Emails and texts keep their words and address for VENTANILLA_NOTIFY_RETENTION_DAYS after they settled
    (long enough for 311 to answer "did you send it?"), then only their status and dates; messages in a
    person's account stay, they are the person's record."""
    before = (now or timezone.now()) - timedelta(days=settings.VENTANILLA_NOTIFY_RETENTION_DAYS)
    return (
        Message.objects.filter(completed_at__lt=before)
        .exclude(channel=Channel.INBOX)
        .exclude(body="")
        .update(to="", subject="", body="", personalisation={})
    )


# --- The person's side -----------------------------------------------------------------------------------------


@transaction.atomic
def set_preference(*, person: str, channels: str, non_essential: bool, actor: Actor) -> Preference:
    if channels not in Preference.Channels.values:
        raise NotifyError(
            _("Choose how you want to hear from us."), errors={"channels": _("Choose an option.")}
        )
    preference, _created = Preference.objects.update_or_create(
        user=person, defaults={"channels": channels, "non_essential": non_essential}
    )
    audit.record(
        actor=actor,
        action="notify.preference_changed",
        object_type="person",
        object_id=person,
        data={"channels": channels, "non_essential": non_essential},
    )
    return preference


class PhoneCheckError(NotifyError):
    pass


def _code_hash(check_person: str, code: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{check_person}:{code}".encode()).hexdigest()


@transaction.atomic
def send_phone_code(*, user, actor: Actor) -> PhoneCheck:
    """Text a six-digit code to the person's unconfirmed mobile number (essential: no preference stops it)."""
    person = f"user:{user.public_id}"
    if not user.phone:
        raise PhoneCheckError(_("Add a mobile number to your account first."))
    if user.phone_verified_at:
        raise PhoneCheckError(_("This mobile number is already confirmed."))
    recent = PhoneCheck.objects.filter(person=person, created_at__gte=timezone.now() - PHONE_CODES_WINDOW)
    if recent.count() >= PHONE_CODES_PER_WINDOW:
        raise PhoneCheckError(
            _(
                "We have sent you %(n)s codes in the last hour. Wait an hour, or use the last code you received."
            )
            % {"n": PHONE_CODES_PER_WINDOW},
            status=429,
        )
    code = f"{secrets.randbelow(10**6):06d}"
    check = PhoneCheck.objects.create(
        person=person,
        phone=user.phone,
        code_hash=_code_hash(person, code),
        expires_at=timezone.now() + PHONE_CODE_LIFETIME,
    )
    version = selectors.current_version(service=platform_service(), template="phone-code-sms")
    send(
        version=version,
        channel=Channel.SMS,
        to=user.phone,
        recipient=person,
        language=user.preferred_language,
        personalisation={"code": code},
        cause=f"phone-check:{check.pk}",
    )
    audit.record(actor=actor, action="notify.phone_code_sent", object_type="person", object_id=person)
    return check


def confirm_phone_code(*, user, code: str, actor: Actor) -> None:
    """Check the code against the newest one sent; raises PhoneCheckError saying what to do. A wrong code
    counts against the code, so the count is saved before the refusal is raised."""
    person = f"user:{user.public_id}"
    code = "".join((code or "").split())
    with transaction.atomic():
        check = (
            PhoneCheck.objects.select_for_update()
            .filter(person=person, confirmed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if check is None or check.phone != user.phone:
            refusal = PhoneCheckError(_("Ask for a code first: there is none waiting for this number."))
        elif check.expires_at < timezone.now():
            refusal = PhoneCheckError(_("This code has expired. Ask for a new one."))
        elif check.wrong_tries >= PHONE_CODE_TRIES:
            refusal = PhoneCheckError(_("Too many wrong codes. Ask for a new one."))
        elif not secrets.compare_digest(check.code_hash, _code_hash(person, code)):
            check.wrong_tries += 1
            check.save(update_fields=["wrong_tries"])
            refusal = PhoneCheckError(
                _("That is not the code we sent. Check the last text message from us and try again."),
                errors={"code": _("That is not the code we sent.")},
            )
        else:
            check.confirmed_at = timezone.now()
            check.save(update_fields=["confirmed_at"])
            refusal = None
            if not identity.confirm_phone(user=user, phone=check.phone, actor=actor):
                refusal = PhoneCheckError(
                    _("Your mobile number changed after the code was sent. Ask for a new one.")
                )
    if refusal is not None:
        raise refusal


def mark_read(*, message: Message, person: str) -> Message:
    if message.recipient == person and message.read_at is None:
        message.read_at = timezone.now()
        Message.objects.filter(id=message.id, read_at__isnull=True).update(read_at=message.read_at)
    return message
