"""Payments: what a person or business owes any institution (Obligation), the Payments that settle one or several
obligations at once (split per obligation in PaymentItems), Refunds of what an item collected, what providers told
us (ProviderEvent, kept to ignore repeats), daily Reconciliations with their Mismatches, and the callbacks an
institution asked for when its obligations are paid (Webhook, WebhookDelivery).

Amounts are Decimals with two places and an ISO 4217 currency; no float ever holds money."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class Obligation(models.Model):
    class Kind(models.TextChoices):
        FEE = "fee", _("Procedure fee")
        FINE = "fine", _("Fine")
        TAX = "tax", _("Tax")
        MUNICIPAL = "municipal", _("Municipal charge")
        OTHER = "other", _("Other charge")

    class Status(models.TextChoices):
        OPEN = "open", _("To pay")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.PROTECT, related_name="+")
    # The institution's own reference (an invoice, a ticket, a case number): unique per institution, so that
    # posting the same obligation twice finds the first.
    reference = models.CharField(max_length=60)
    # Who owes it: identity's principal reference, "user:<public_id>" or "business:<public_id>".
    debtor = models.CharField(max_length=60)
    debtor_label = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.OTHER)
    concept_es = models.CharField(max_length=300)
    concept_en = models.CharField(max_length=300)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    due_date = models.DateField(null=True, blank=True)
    legal_basis = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=60, blank=True, help_text='What raised it, e.g. "case:SOL-7K3M9QXD".'
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    cancel_reason = models.TextField(blank=True)
    paid_by = models.ForeignKey(
        "Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="obligations_settled"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "reference"], name="payments_one_obligation_reference"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_obligation_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["debtor", "status"], name="payments_owed_by"),
            models.Index(fields=["institution", "status", "-created_at"], name="payments_owed_to"),
            models.Index(fields=["source"], name="payments_obligation_source"),
        ]

    def __str__(self):
        return f"{self.reference} {self.amount} {self.currency}"


class ObligationChange(models.Model):
    """The obligation's history: created, adjusted (with the amounts), cancelled, paid, refunded."""

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12)
    amount_before = models.DecimalField(**MONEY, null=True, blank=True)
    amount_after = models.DecimalField(**MONEY, null=True, blank=True)
    reason = models.TextField(blank=True)
    actor_label = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class Payment(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        STARTED = "started", _("Started: with the payment provider")
        SUBMITTED = "submitted", _("Submitted: waiting for the bank's answer")
        SUCCESS = "success", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled by the payer")
        EXPIRED = "expired", _("Expired")

    class Channel(models.TextChoices):
        WEB = "web", _("Online")
        API = "api", _("API")
        COUNTER = "counter", _("Counter")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True)  # PAG-XXXXXXXX, what the payer quotes
    subject = models.CharField(max_length=60)  # whose obligations: "user:…" or "business:…"
    subject_label = models.CharField(max_length=200)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payer_label = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(  # the cashier, for counter payments
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    provider = models.CharField(max_length=30)
    provider_reference = models.CharField(max_length=100, blank=True)
    redirect_url = models.URLField(max_length=1000, blank=True)
    return_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    error_code = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    refunded = models.DecimalField(**MONEY, default=0)
    receipt_number = models.CharField(max_length=24, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)  # when it became final
    expires_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)  # last time the provider was asked
    updated_at = models.DateTimeField(auto_now=True)

    FINAL = (Status.SUCCESS, Status.FAILED, Status.CANCELLED, Status.EXPIRED)
    PENDING = (Status.CREATED, Status.STARTED, Status.SUBMITTED)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded__gte=0) & Q(refunded__lte=models.F("amount")),
                name="payments_refunded_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["subject", "-created_at"], name="payments_of_subject"),
            models.Index(
                fields=["status", "updated_at"],
                name="payments_pending",
                condition=Q(status__in=["created", "started", "submitted"]),
            ),
            models.Index(fields=["provider", "provider_reference"], name="payments_by_provider_ref"),
            models.Index(fields=["provider", "finished_at"], name="payments_settled"),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class PaymentItem(models.Model):
    """The part of a payment that settles one obligation: what is collected on behalf of its institution."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="items")
    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="items")
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    refunded = models.DecimalField(**MONEY, default=0)
    # The obligation was already paid by another payment when this one succeeded: this item is given back.
    duplicate = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "obligation"], name="payments_item_once_per_payment"),
            models.CheckConstraint(
                condition=Q(refunded__gte=0) & Q(refunded__lte=models.F("amount")),
                name="payments_item_refunded_within_amount",
            ),
        ]

    def __str__(self):
        return f"{self.amount} → {self.obligation_id}"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Being returned")
        SUCCEEDED = "succeeded", _("Returned")
        FAILED = "failed", _("Could not be returned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True)  # DEV-XXXXXXXX
    item = models.ForeignKey(PaymentItem, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=40, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    requested_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_amount_positive")
        ]
        indexes = [models.Index(fields=["status", "finished_at"], name="payments_refunds_settled")]

    def __str__(self):
        return self.reference


class ProviderEvent(models.Model):
    """Each notification a provider sent, once: a repeat (same provider and event id) is recognised and ignored."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, null=True, on_delete=models.CASCADE, related_name="provider_events")
    status = models.CharField(max_length=12)
    outcome = models.CharField(max_length=20)  # applied | ignored (stale or repeated)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payments_provider_event_once")
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_id}"


class Reconciliation(models.Model):
    """One provider's settlement report for one day, matched against the platform's payments and refunds."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Everything matches")
        MISMATCHES = "mismatches", _("Differences to look at")
        FAILED = "failed", _("The report could not be fetched")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(max_length=30)
    day = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices)
    platform_total = models.DecimalField(
        **MONEY, default=0
    )  # payments minus refunds, as the platform has them
    provider_total = models.DecimalField(**MONEY, default=0)  # the same, as the provider settled them
    lines = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    run_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "day"], name="payments_one_reconciliation")
        ]

    def __str__(self):
        return f"{self.provider} {self.day}"


class Mismatch(models.Model):
    class Kind(models.TextChoices):
        MISSING_AT_PROVIDER = "missing_at_provider", _("Paid here, not in the provider's report")
        MISSING_HERE = "missing_here", _("In the provider's report, unknown or not paid here")
        AMOUNT = "amount", _("The amounts differ")

    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="mismatches")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    provider_reference = models.CharField(max_length=100, blank=True)
    platform_amount = models.DecimalField(**MONEY, null=True, blank=True)
    provider_amount = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["kind", "id"]

    def __str__(self):
        return f"{self.kind} {self.provider_reference}"


class Webhook(models.Model):
    """Where an institution wants to hear that its obligations were paid or refunded. Deliveries are signed with
    `secret` (X-Ventanilla-Signature: sha256=HMAC(secret, timestamp + "." + body))."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.OneToOneField("catalogue.Institution", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be delivered")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Gave up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    cause = models.CharField(max_length=120)  # one delivery per event and object, however often it is raised
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["webhook", "cause"], name="payments_webhook_once")]

    def __str__(self):
        return f"{self.event} {self.status}"
