import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

code_validator = RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", _("Use capital letters, digits and hyphens."))


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFICE = "office", _("At an office")
    PHONE311 = "phone311", _("By phone (311)")
    INFOPLAZA = "infoplaza", _("At an InfoPlaza")


class Institution(models.Model):
    class Kind(models.TextChoices):
        MINISTRY = "ministry", _("Ministry")
        AUTHORITY = "authority", _("Authority or agency")
        MUNICIPALITY = "municipality", _("Municipality")
        OTHER = "other", _("Other body")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    kind = models.CharField(max_length=20, choices=Kind.choices)
    acronym = models.CharField(max_length=40, blank=True)
    name_es = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description_es = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    province = models.CharField(max_length=60, blank=True)
    channels = models.JSONField(default=list)
    illustrative = models.BooleanField(default=False)

    class Meta:
        ordering = ["name_es"]

    def __str__(self):
        return self.name_es


class Office(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="offices")
    name_es = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    hours_es = models.CharField(max_length=200, blank=True)
    hours_en = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["institution", "position"]

    def __str__(self):
        return f"{self.institution.code}: {self.name_es}"


class Topic(models.Model):
    class Kind(models.TextChoices):
        TOPIC = "topic", _("Topic")
        LIFE_EVENT = "life_event", _("Life event")

    code = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name_es = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120)

    class Meta:
        ordering = ["kind", "name_es"]

    def __str__(self):
        return self.name_es


class Procedure(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Audience(models.TextChoices):
        CITIZEN = "citizen", _("People")
        BUSINESS = "business", _("Businesses")
        BOTH = "both", _("People and businesses")

    class TimeUnit(models.TextChoices):
        WORKING = "working", _("working days")
        CALENDAR = "calendar", _("calendar days")

    class Silence(models.TextChoices):
        POSITIVE = "positive", _("Approved if there is no answer in time")
        NEGATIVE = "negative", _("Refused if there is no answer in time")
        NONE = "none", _("No effect: the institution must still answer")

    class SignInLevel(models.TextChoices):
        NONE = "none", _("No sign-in needed")
        LOW = "low", _("Low: password")
        SUBSTANTIAL = "substantial", _("Substantial: password and a second factor")
        HIGH = "high", _("High: identity verified in person")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=80, unique=True, validators=[code_validator])
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="procedures")
    title_es = models.CharField(max_length=250)
    title_en = models.CharField(max_length=250)
    description_es = models.TextField()
    description_en = models.TextField()
    audience = models.CharField(max_length=10, choices=Audience.choices)
    topics = models.ManyToManyField(Topic, related_name="procedures", blank=True)
    channels = models.JSONField(default=list)
    sign_in_level = models.CharField(max_length=12, choices=SignInLevel.choices, default=SignInLevel.NONE)
    typical_days = models.PositiveSmallIntegerField(null=True, blank=True)
    max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    time_unit = models.CharField(max_length=10, choices=TimeUnit.choices, default=TimeUnit.WORKING)
    silence_rule = models.CharField(max_length=10, choices=Silence.choices, default=Silence.NEGATIVE)
    silence_es = models.TextField(blank=True)
    silence_en = models.TextField(blank=True)
    output_es = models.CharField(max_length=300, blank=True)
    output_en = models.CharField(max_length=300, blank=True)
    validity_es = models.CharField(max_length=200, blank=True)
    validity_en = models.CharField(max_length=200, blank=True)
    appeal_es = models.TextField(blank=True)
    appeal_en = models.TextField(blank=True)
    level = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    reengineering_planned = models.BooleanField(default=False)
    languages = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    illustrative = models.BooleanField(default=False)
    generated = models.BooleanField(default=False, help_text="Synthetic, made by the generator for scale.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        indexes = [
            models.Index(fields=["status", "institution"]),
            models.Index(fields=["status", "level"]),
            models.Index(fields=["status", "title_es", "code"]),  # browsing without a query lists by title
        ]

    def __str__(self):
        return f"{self.code}: {self.title_es}"


class Requirement(models.Model):
    class Kind(models.TextChoices):
        DOCUMENT = "document", _("Document")
        CONDITION = "condition", _("Condition")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="requirements")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DOCUMENT)
    name_es = models.CharField(max_length=300)
    name_en = models.CharField(max_length=300)
    format_es = models.CharField(max_length=200, blank=True)
    format_en = models.CharField(max_length=200, blank=True)
    issuer = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_by_state = models.BooleanField(
        default=False, help_text="The state already holds it: fetch, don't ask."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["procedure", "position"]

    def __str__(self):
        return self.name_es


class Fee(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="fees")
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="USD")
    conditions_es = models.CharField(max_length=300, blank=True)
    conditions_en = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["procedure", "position"]

    def __str__(self):
        return f"{self.amount} {self.currency}"


class LegalBasis(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="legal_basis")
    instrument = models.CharField(max_length=300)
    article = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["procedure", "position"]
        verbose_name_plural = "legal bases"

    def __str__(self):
        return f"{self.instrument} {self.article}".strip()


class Step(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="steps")
    text_es = models.TextField()
    text_en = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["procedure", "position"]

    def __str__(self):
        return self.text_es[:60]


class CatalogueRole(models.Model):
    """Who may propose and approve catalogue changes."""

    class Role(models.TextChoices):
        AUTHORITY_EDITOR = "authority_editor", _("Catalogue authority editor")
        AUTHORITY_REVIEWER = "authority_reviewer", _("Catalogue authority reviewer")
        INSTITUTION_EDITOR = "institution_editor", _("Institution editor")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="catalogue_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Required for institution editors: the only institution they edit.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "institution"], name="unique_catalogue_role")
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()}"


class ChangeRequest(models.Model):
    """A proposed change to the catalogue. Nothing published changes without one, approved by a second person."""

    class Kind(models.TextChoices):
        CREATE = "create", _("New procedure")
        UPDATE = "update", _("Change to a procedure")
        WITHDRAW = "withdraw", _("Withdrawal of a procedure")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved and published")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    procedure = models.ForeignKey(
        Procedure, null=True, blank=True, on_delete=models.CASCADE, related_name="change_requests"
    )
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="change_requests")
    proposed = models.JSONField(help_text="The procedure as it would be after the change.")
    changes = models.JSONField(
        default=list, help_text="What differs from the published version, field by field."
    )
    justification = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.proposed.get('code', '')} ({self.status})"


class ChangeLogEntry(models.Model):
    """The public record of what changed in a procedure, when and why."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="change_log")
    change_request = models.OneToOneField(ChangeRequest, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField()
    summary = models.JSONField(default=list, help_text="Field-by-field changes.")
    justification = models.TextField()

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "change log entries"

    def __str__(self):
        return f"{self.procedure.code} @ {self.at:%Y-%m-%d}"


class UnlistedDocumentReport(models.Model):
    """'I was asked for a document that is not listed': a report the institution must answer."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for the institution's answer")
        ANSWERED = "answered", _("Answered")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True)
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="unlisted_reports")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="unlisted_reports")
    office = models.CharField(max_length=200)
    document = models.CharField(max_length=300)
    asked_on = models.DateField()
    contact_email = models.EmailField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.reference


class SimplificationPlanItem(models.Model):
    """One line of an institution's annual simplification plan."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="plan_items")
    year = models.PositiveSmallIntegerField()
    current_level = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    target_level = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    reengineering = models.BooleanField(default=False)

    class Meta:
        ordering = ["year", "procedure"]
        constraints = [models.UniqueConstraint(fields=["procedure", "year"], name="one_plan_item_per_year")]

    def __str__(self):
        return f"{self.year} {self.procedure.code}: {self.current_level}→{self.target_level}"
