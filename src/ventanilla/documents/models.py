"""Documents: the platform's Certificates (its CA, one signing certificate per institution and the timestamp
authority's; private keys stay in the key store), the official Documents issued to a person or business with the
signed PDF of each language they were asked for (DocumentFile), each document's history (DocumentEvent), the links
a holder shares (ShareLink), the verifiable Credentials issued from a document and the Token Status Lists that
revoke them, and the foreign issuers this platform trusts (TrustedIssuer)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Certificate(models.Model):
    class Kind(models.TextChoices):
        CA = "ca", _("Issuing certification authority")
        ISSUER = "issuer", _("Institution's signing certificate")
        TSA = "tsa", _("Timestamp authority")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    institution = models.ForeignKey(
        "catalogue.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    serial = models.CharField(max_length=40, unique=True, help_text="Hexadecimal, as certificates print it.")
    subject = models.CharField(max_length=300)
    pem = models.TextField()
    # Where the key store keeps its private key; the key never leaves the store.
    key_alias = models.CharField(max_length=120, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-created_at"]
        constraints = [
            # One certificate of each kind in use at a time: the platform's CA and TSA, each institution's signer.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(retired_at__isnull=True, institution__isnull=True),
                name="one_active_platform_certificate",
            ),
            models.UniqueConstraint(
                fields=["institution"],
                condition=Q(retired_at__isnull=True, institution__isnull=False),
                name="one_active_signer_per_institution",
            ),
        ]

    def __str__(self):
        return f"{self.subject} ({self.serial})"


class Document(models.Model):
    class Kind(models.TextChoices):
        CERTIFICATE = "certificate", _("Certificate")
        PERMIT = "permit", _("Permit")
        LICENCE = "licence", _("Licence")
        RECEIPT = "receipt", _("Receipt")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The short code printed under the QR code, typed on the verification page.
    code = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.PROTECT, related_name="+")
    # Whose it is: identity's principal reference, "user:<public_id>" or "business:<public_id>".
    holder = models.CharField(max_length=60)
    holder_name = models.CharField(max_length=200)
    holder_identifier = models.CharField(max_length=60, blank=True, help_text="Cédula or RUC, as printed.")
    # The person told when it is issued or revoked ("user:<public_id>"): the holder, or for a business the person
    # who applied for it.
    recipient = models.CharField(max_length=60, blank=True)
    title_es = models.CharField(max_length=300)
    title_en = models.CharField(max_length=300)
    # What the document states, in order: [{"key", "label_es", "label_en", "value", "disclose"}].
    fields = models.JSONField(default=list)
    # What issued it: "case:SOL-…", "payment:PAG-…" or the institution's own reference through the API. Issuing
    # the same source again answers the first document.
    source = models.CharField(max_length=80)
    language = models.CharField(max_length=2, default="es", help_text="Language of the first PDF.")
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "source"], name="one_document_per_source")
        ]
        indexes = [models.Index(fields=["holder", "-created_at"], name="documents_of_holder")]

    def __str__(self):
        return self.code


class DocumentFile(models.Model):
    """The signed PDF of a document in one language, exactly as handed out; its hash finds it again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="files")
    language = models.CharField(max_length=2)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64, unique=True)
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "language"], name="one_file_per_language")]

    def __str__(self):
        return f"{self.document_id} ({self.language})"


class DocumentEvent(models.Model):
    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        FILE = "file", _("Signed copy made")
        SHARED = "shared", _("Share link created")
        UNSHARED = "unshared", _("Share link withdrawn")
        CREDENTIAL = "credential", _("Credential issued")
        REVOKED = "revoked", _("Revoked")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]

    def __str__(self):
        return f"{self.document_id}: {self.kind}"


class ShareLink(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    opened = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.document_id} until {self.expires_at:%Y-%m-%d}"


class StatusList(models.Model):
    """A Token Status List (one bit per credential: 1 = revoked) of one issuing institution."""

    SIZE = 16384  # bits: a list is published whole, so it stays small; a new list starts when one is full

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.ForeignKey("catalogue.Institution", on_delete=models.PROTECT, related_name="+")
    bits = models.BinaryField()
    used = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.id} ({self.used}/{self.SIZE})"


class Credential(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="credentials")
    status_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="+")
    index = models.PositiveIntegerField()
    vct = models.CharField(max_length=200)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["status_list", "index"], name="one_credential_per_bit")
        ]

    def __str__(self):
        return f"{self.vct} #{self.index}"


class TrustedIssuer(models.Model):
    """Another country's issuer whose documents (its CA certificate) or credentials (its `iss` and keys) this
    platform accepts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    country = models.CharField(max_length=3, help_text="ISO 3166-1 alpha-3, e.g. CRI.")
    name = models.CharField(max_length=300)
    # Documents: the CA that certifies its signers. Credentials: its issuer identifier and public keys.
    certificate_pem = models.TextField(blank=True)
    credential_issuer = models.URLField(blank=True)
    jwks = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["country", "name"]

    def __str__(self):
        return f"{self.name} ({self.country})"
