"""Notifications: who sends (SendingService and its ApiKeys), what (versioned Templates) and each Message with
its delivery status. A message is saved before anything is sent; background tasks hand it to its channel."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

LANGUAGES = [("es", "Español"), ("en", "English")]


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")
    INBOX = "inbox", _("Message in the account")


class SendingService(models.Model):
    """A sender: the platform itself (slug "ventanilla") or an institution's service that sends through the API."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=60, unique=True)
    name_es = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    # The institution that owns it (its integrators manage it); empty for the platform's own sender.
    institution = models.ForeignKey(
        "catalogue.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reply_to = models.EmailField(blank=True)
    sms_sender = models.CharField(
        max_length=11, blank=True, help_text="Shown as the SMS sender, 11 characters."
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=3000)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.slug


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        LIVE = "live", _("Live: sends real messages")
        TEST = "test", _("Test: accepted and reported, never sent")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(SendingService, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    # The key is "ntf_<kind>_<prefix>_<secret>"; only the prefix and a SHA-256 of the whole key are stored.
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.service.slug}/{self.name}"


class Template(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(SendingService, on_delete=models.CASCADE, related_name="templates")
    slug = models.SlugField(max_length=80)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    # Essential messages (about a person's case, payment or document) cannot be opted out of.
    essential = models.BooleanField(default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "slug"], name="notify_template_unique_slug")
        ]

    def __str__(self):
        return f"{self.service.slug}/{self.slug}"


class TemplateVersion(models.Model):
    """Texts never change once used: an edit is a new version. Placeholders are written ((name))."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject_es = models.CharField(max_length=200, blank=True)
    subject_en = models.CharField(max_length=200, blank=True)
    body_es = models.TextField()
    body_en = models.TextField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="notify_version_unique_number")
        ]

    def __str__(self):
        return f"{self.template} v{self.number}"


class Message(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("Queued")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        TEMPORARY_FAILURE = (
            "temporary-failure",
            _("Not delivered: the recipient could not be reached for now"),
        )
        PERMANENT_FAILURE = "permanent-failure", _("Not delivered: the address or number does not exist")
        TECHNICAL_FAILURE = "technical-failure", _("Not delivered: a technical problem on our side")

    FINAL = (
        Status.DELIVERED,
        Status.TEMPORARY_FAILURE,
        Status.PERMANENT_FAILURE,
        Status.TECHNICAL_FAILURE,
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(SendingService, on_delete=models.PROTECT, related_name="messages")
    template_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    # The email address or E.164 number; for an in-account message, empty.
    to = models.CharField(max_length=254, blank=True)
    # The person it is for, when known ("user:<public id>"): their account lists it and their preferences apply.
    recipient = models.CharField(max_length=60, blank=True)
    language = models.CharField(max_length=2, choices=LANGUAGES)
    personalisation = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=17, choices=Status.choices, default=Status.CREATED)
    test = models.BooleanField(default=False, help_text="Sent with a test key: never leaves the platform.")
    # The sender's own reference (a case reference, an invoice number), for finding it again.
    reference = models.CharField(max_length=100, blank=True)
    # What caused it, once per cause: "event:<event id>:<template>" from a subscriber, "api:<key>" from an
    # Idempotency-Key. A second attempt to create the same message finds the first.
    cause = models.CharField(max_length=250, null=True, blank=True, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notify_msg_recipient"),
            models.Index(fields=["service", "-created_at"], name="notify_msg_service"),
            models.Index(fields=["provider", "provider_reference"], name="notify_msg_provider_ref"),
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="created"), name="notify_msg_waiting"
            ),
        ]

    def __str__(self):
        return f"{self.channel} {self.id} {self.status}"


class Preference(models.Model):
    """How a person wants to hear from the platform. Without a row: email and SMS, whichever they have."""

    class Channels(models.TextChoices):
        BOTH = "both", _("Email and text message")
        EMAIL = "email", _("Email only")
        SMS = "sms", _("Text message only")

    user = models.CharField(max_length=60, unique=True, help_text='"user:<public id>"')
    channels = models.CharField(max_length=5, choices=Channels.choices, default=Channels.BOTH)
    non_essential = models.BooleanField(
        default=True, help_text="Also receive messages that are not about one of the person's own cases."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user}: {self.channels}"


class RateWindow(models.Model):
    """Messages accepted from one sending service in one minute: one conditional UPDATE counts and limits."""

    service = models.ForeignKey(SendingService, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "minute"], name="notify_rate_unique_minute")
        ]

    def __str__(self):
        return f"{self.service_id} {self.minute:%H:%M} {self.count}"


class PhoneCheck(models.Model):
    """A code sent by SMS to confirm that a mobile number is the person's: only its hash is kept."""

    person = models.CharField(max_length=60, db_index=True, help_text='"user:<public id>"')
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.person} {self.phone}"
