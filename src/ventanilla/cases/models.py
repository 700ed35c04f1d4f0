"""Online services (a catalogue procedure's form and workflow, versioned) and the cases people file with them."""

import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils.functional import LazyObject
from django.utils.translation import gettext_lazy as _


class Service(models.Model):
    """The online service of one catalogue procedure. What it asks and how it is processed lives in its
    versions; a case stays on the version it was started with."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    procedure = models.OneToOneField(
        "catalogue.Procedure", on_delete=models.PROTECT, related_name="online_service"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.procedure.code


class ServiceVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Replaced by a newer version")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    document = models.JSONField(help_text="The definition (format ventanilla.service/1).")
    source = models.TextField(blank=True, help_text="The definition as its author wrote it (YAML or JSON).")
    # Fixed at publication, so running cases keep what they were started with even if the catalogue changes:
    # requirement slug → {id, name_es, name_en}, the requirements held by the state, fees, sign-in level.
    resolved = models.JSONField(default=dict, blank=True)
    computed_level = models.PositiveSmallIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="cases_version_number"),
            models.UniqueConstraint(
                fields=["service"], condition=Q(status="published"), name="cases_one_published_version"
            ),
            models.UniqueConstraint(
                fields=["service"], condition=Q(status="draft"), name="cases_one_draft_version"
            ),
        ]

    def __str__(self):
        return f"{self.service} v{self.number} ({self.status})"


class Case(models.Model):
    """A person's or a business's application to a service, from draft to outcome."""

    class Stage(models.TextChoices):
        DRAFT = "draft", _("Not sent yet")
        AWAITING_PAYMENT = "awaiting_payment", _("Waiting for payment")
        OPEN = "open", _("Being processed")
        WITH_APPLICANT = "with_applicant", _("Waiting for the applicant")
        CLOSED = "closed", _("Finished")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True)
    version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, related_name="cases")
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.PROTECT, related_name="+")
    # Whom the case is for (identity's principal reference: "user:<public_id>" or "business:<public_id>"),
    # and the person who answers for it.
    subject = models.CharField(max_length=60)
    subject_label = models.CharField(max_length=200)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=12, default="web")  # core.actor.Actor.CHANNELS
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DRAFT)
    state = models.CharField(max_length=60, blank=True, help_text="The workflow state, once submitted.")
    queue_role = models.CharField(max_length=60, blank=True, help_text="Whose queue the case is in.")
    outcome = models.CharField(max_length=12, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    current_page = models.CharField(max_length=60, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    state_entered_at = models.DateTimeField(null=True, blank=True)
    state_due_at = models.DateTimeField(null=True, blank=True)
    case_due_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True, help_text="Sent back to the applicant at.")
    sent_back_from = models.CharField(max_length=60, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True, help_text="When an SLA was first missed.")
    escalated = models.BooleanField(default=False)
    start_key = models.CharField(max_length=64, blank=True, help_text="Makes a repeated start one case.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["filed_by", "start_key"], condition=~Q(start_key=""), name="cases_one_case_per_start"
            ),
        ]
        indexes = [
            # The officials' queues: open cases of an institution for a role, most urgent first.
            models.Index(
                fields=["institution", "queue_role", "state_due_at", "id"],
                condition=Q(stage="open"),
                name="cases_queue",
            ),
            models.Index(
                fields=["institution", "assigned_to", "state_due_at", "id"],
                condition=Q(stage="open"),
                name="cases_assigned",
            ),
            models.Index(
                fields=["institution", "state_due_at", "id"],
                condition=Q(stage="open"),
                name="cases_open",
            ),
            models.Index(
                fields=["institution", "state_due_at", "id"],
                condition=Q(stage="open", escalated=True),
                name="cases_escalated",
            ),
            models.Index(fields=["stage", "state_due_at"], name="cases_due"),
            models.Index(fields=["subject", "-updated_at"], name="cases_of_subject"),
        ]

    def __str__(self):
        return self.reference


class CaseEvent(models.Model):
    """One line of a case's history: what happened, who did it and what they wrote. Internal notes are lines
    the applicant does not see."""

    class Kind(models.TextChoices):
        STARTED = "started", _("Started")
        SUBMITTED = "submitted", _("Sent")
        ACTION = "action", _("Processed")
        SENT_BACK = "sent_back", _("More information requested")
        RESPONDED = "responded", _("Information sent")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        MESSAGE = "message", _("Message")
        NOTE = "note", _("Internal note")
        ASSIGNED = "assigned", _("Assigned")
        ESCALATED = "escalated", _("Deadline missed: escalated")
        PAID = "paid", _("Fee paid")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    channel = models.CharField(max_length=12, default="web")
    by_applicant = models.BooleanField(default=False)
    action = models.CharField(max_length=60, blank=True)
    from_state = models.CharField(max_length=60, blank=True)
    to_state = models.CharField(max_length=60, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    visible_to_applicant = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self):
        return f"{self.case_id} {self.kind}"


class PrivateStorage(LazyObject):
    """Evidence files: kept outside the public media folder (settings.STORAGES["private"]), served only through
    a view that checks rights."""

    def _setup(self):
        self._wrapped = storages["private"]


private_storage = PrivateStorage()


def _private_storage():
    return private_storage


def _evidence_path(evidence: "Evidence", filename: str) -> str:
    return f"evidence/{evidence.case_id}/{evidence.id}"


class Evidence(models.Model):
    """A file an applicant gave as proof of a catalogue requirement."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    field_key = models.CharField(max_length=60)
    requirement_slug = models.CharField(max_length=80)
    requirement_id = models.UUIDField(null=True, blank=True, help_text="The catalogue Requirement.")
    file = models.FileField(storage=_private_storage, upload_to=_evidence_path, max_length=200)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    in_response = models.BooleanField(default=False, help_text="Given when the case was sent back.")

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name_plural = "evidence"

    def __str__(self):
        return f"{self.name} ({self.requirement_slug})"


class OfficialRole(models.Model):
    """A workflow role an official holds in an institution (the roles are the slugs service definitions use;
    `supervisor` also sees the cases that missed a deadline)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_roles")
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.CASCADE, related_name="+")
    role = models.SlugField(max_length=60)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "institution", "role"], name="cases_unique_official_role")
        ]

    def __str__(self):
        return f"{self.user} — {self.role} @ {self.institution_id}"
