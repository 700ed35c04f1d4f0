import uuid

from django.db import models


class AuditEntry(models.Model):
    """One line of the append-only audit log. Lines are written without waiting for each other (in the
    transaction of the change they record) and then sealed into a chain in the order they were written: each
    sealed line's hash covers the previous line's hash, so an edit or a deletion anywhere breaks the chain from
    that point on (see ventanilla.core.audit)."""

    seq = models.BigAutoField(primary_key=True)
    position = models.PositiveBigIntegerField(
        null=True, blank=True, unique=True, help_text="The line's place in the chain, once sealed."
    )
    at = models.DateTimeField()
    actor_id = models.CharField(max_length=100)
    actor_label = models.CharField(max_length=200)
    on_behalf_of = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=20)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["seq"], condition=models.Q(position__isnull=True), name="audit_unsealed"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit entries are append-only.")


class AuditChainHead(models.Model):
    """The single row that serialises sealing and remembers the chain's tip, so that removing the newest lines
    is detected too."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit head #{self.last_seq}"


class Event(models.Model):
    """A domain event, written in the same transaction as the change it describes (the outbox)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, db_index=True)
    subject = models.CharField(max_length=200, help_text="Who the event is about, e.g. institution:MICI.")
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["occurred_at"]

    def __str__(self):
        return f"{self.name} ({self.subject})"


class EventDelivery(models.Model):
    """The hand-over of one event to one subscriber; done once, retried with backoff until it is."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="one_delivery_per_subscriber")
        ]

    def __str__(self):
        return f"{self.event} → {self.subscriber}: {self.status}"


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an Idempotency-Key, replayed to every retry of it."""

    owner = models.CharField(max_length=100, help_text="Who sent the request, e.g. user:<public_id>.")
    scope = models.CharField(max_length=100, help_text="What the request did, e.g. cases.submit.")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "scope", "key"], name="one_answer_per_idempotency_key")
        ]

    def __str__(self):
        return f"{self.scope} {self.key}"


class PeriodicRun(models.Model):
    """When a periodic task is next due. Workers claim a run with one conditional UPDATE, so however many
    workers run, each period's task is queued once."""

    name = models.CharField(max_length=200, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.next_run_at}"
