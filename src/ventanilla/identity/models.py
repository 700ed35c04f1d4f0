"""One identity for every public service: people and businesses, how sure we are of who they are, how they
signed in, who may act for whom, and the services (OpenID Connect relying parties) they sign in to."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """Levels of assurance, lowest first. The order matters: a higher level satisfies a lower one."""

    LOW = "low", _("Low")
    SUBSTANTIAL = "substantial", _("Substantial")
    HIGH = "high", _("High")


class DocumentType(models.TextChoices):
    CEDULA = "cedula", _("Panamanian identity card (cédula)")
    PASSPORT = "passport", _("Passport")


class User(AbstractUser):
    """A person. Citizens sign in with their cédula (username = the canonical number) or their email; staff
    accounts created by operators may have any username."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document_type = models.CharField(max_length=10, choices=DocumentType.choices, blank=True)
    # Canonical form: a cédula as validated by core.identifiers, a passport number upper-cased without spaces.
    document_number = models.CharField(max_length=32, blank=True)
    # ISO 3166-1 alpha-3: PAN for a cédula, the issuing country for a passport.
    nationality = models.CharField(max_length=3, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +50761234567")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    preferred_language = models.CharField(
        max_length=2, default="es", choices=[("es", "Español"), ("en", "English")]
    )
    # Set when an official checked the person's identity document in person (see IdentityCheck).
    identity_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "nationality", "document_number"],
                condition=~Q(document_number=""),
                name="identity_user_unique_document",
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A personal token for the API (Authorization: Bearer …). Only its SHA-256 is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="The first characters, to recognise a token in lists.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


# --- Businesses and acting for others -------------------------------------------------------------------


class Business(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ruc = models.CharField(max_length=40, unique=True, help_text="Canonical RUC, without the check digits.")
    dv = models.CharField(max_length=2, help_text="The RUC's check digits (dígito verificador).")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.name} (RUC {self.ruc} DV {self.dv})"


class Representation(models.Model):
    """A person who may act for a business. Declared by the person, confirmed by an official who saw the
    Public Registry's record (until the data exchange fetches it)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        ENDED = "ended", _("Ended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="representations")
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="representations")
    role = models.CharField(max_length=40, default="legal_representative")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    confirmed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "person"],
                condition=~Q(status="ended"),
                name="identity_one_live_representation",
            )
        ]

    def __str__(self):
        return f"{self.person} → {self.business} ({self.status})"


class Delegation(models.Model):
    """A person (delegator) lets another (delegate) act for them within scopes until an expiry date."""

    class Scope(models.TextChoices):
        CASES = "cases", _("Apply for procedures and follow them up")
        PAYMENTS = "payments", _("See and pay what I owe")
        DOCUMENTS = "documents", _("See and download my documents")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    delegator = models.ForeignKey(User, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(User, on_delete=models.CASCADE, related_name="delegations_received")
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.delegator} → {self.delegate} until {self.expires_at:%Y-%m-%d}"


# --- Authentication: factors, sessions, throttling ---------------------------------------------------------


class TotpDevice(models.Model):
    """An authenticator app (RFC 6238). The secret is encrypted at rest; last_used_step stops replays."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="totp_devices")
    name = models.CharField(max_length=100)
    encrypted_secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.user})"


class WebAuthnCredential(models.Model):
    """A passkey or security key (WebAuthn), registered with user verification."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="webauthn_credentials")
    name = models.CharField(max_length=100)
    credential_id = models.CharField(max_length=1400, unique=True, help_text="base64url")
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.user})"


class RecoveryCode(models.Model):
    """Single-use codes for when the second factor is lost. Only a hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"recovery code of {self.user}"


class AccountSession(models.Model):
    """A signed-in browser session: how the person authenticated (amr), the level reached, and who they act
    for. Its id is the OpenID Connect session id (sid)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    level = models.CharField(max_length=12, choices=Level.choices, default=Level.LOW)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Who this session acts for, if not the person: {"kind": "business"|"person"|"assisted", "id": public id}.
    acting_for = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self):
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M} ({self.level})"


class SignInRecord(models.Model):
    """History of sign-ins: to the platform itself (no service) or to a relying party."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_ins")
    service = models.ForeignKey("RelyingParty", null=True, blank=True, on_delete=models.SET_NULL)
    session = models.ForeignKey(AccountSession, null=True, blank=True, on_delete=models.SET_NULL)
    level = models.CharField(max_length=12, choices=Level.choices)
    method = models.CharField(max_length=40, help_text="e.g. pwd, pwd+otp, pwd+hwk, assisted")
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self):
        return f"{self.user} at {self.at:%Y-%m-%d %H:%M} ({self.level})"


class FailedAttempt(models.Model):
    """A failed sign-in or second-factor attempt, keyed by a hash of the account identifier or the client
    address; counted in a sliding window for throttling and lockout."""

    key = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"failed attempt at {self.at:%Y-%m-%d %H:%M}"


# --- Levels of assurance: in-person checks, officials, assisted digital -----------------------------------


class StaffRole(models.Model):
    """What an official may do in the identity system, and where."""

    class Role(models.TextChoices):
        REGISTRAR = "registrar", _("Registrar: verifies identity in person and assists citizens")
        INTEGRATOR = "integrator", _("Integrator: registers the institution's online services")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_roles")
    role = models.CharField(max_length=12, choices=Role.choices)
    institution = models.ForeignKey(
        "catalogue.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    place = models.CharField(
        max_length=200, blank=True, help_text="Office or InfoPlaza where the official works."
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "institution"], name="identity_unique_staff_role")
        ]

    def __str__(self):
        return f"{self.user}: {self.role}"


class IdentityCheck(models.Model):
    """An official saw the person's identity document in person. Raises the person to level high (with a
    second factor)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identity_checks")
    official = models.ForeignKey(User, on_delete=models.PROTECT, related_name="identity_checks_done")
    document_type = models.CharField(max_length=10, choices=DocumentType.choices)
    document_number = models.CharField(max_length=32)
    document_expiry = models.DateField(null=True, blank=True)
    place = models.CharField(max_length=200)
    checked_at = models.DateTimeField(auto_now_add=True)
    notes = models.TextField(blank=True)

    def __str__(self):
        return f"{self.person} checked by {self.official}"


class AssistedSession(models.Model):
    """An official acting for a citizen who is present, with the citizen's recorded agreement."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    official = models.ForeignKey(User, on_delete=models.PROTECT, related_name="assisted_sessions_given")
    citizen = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assisted_sessions")
    channel = models.CharField(max_length=12, default="infoplaza")  # core.actor.Actor.CHANNELS
    place = models.CharField(max_length=200)
    agreement = models.TextField(help_text="How the citizen agreed (what they were told and said).")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.official} for {self.citizen}"


# --- OpenID Connect provider ------------------------------------------------------------------------------


class RelyingParty(models.Model):
    """An institution's online service that signs people in through the platform (an OIDC client)."""

    class AuthMethod(models.TextChoices):
        PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt"
        CLIENT_SECRET_BASIC = "client_secret_basic", "client_secret_basic"

    class SubjectType(models.TextChoices):
        PAIRWISE = "pairwise", _("Pairwise (a different identifier per sector)")
        PUBLIC = "public", _("Public (the same identifier everywhere)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.CharField(max_length=100, unique=True)
    name_es = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    institution = models.ForeignKey(
        "catalogue.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    redirect_uris = models.JSONField(default=list)
    post_logout_redirect_uris = models.JSONField(default=list, blank=True)
    backchannel_logout_uri = models.URLField(blank=True)
    sector = models.CharField(
        max_length=200, help_text="Services of one sector see the same pairwise identifier."
    )
    subject_type = models.CharField(max_length=10, choices=SubjectType.choices, default=SubjectType.PAIRWISE)
    token_endpoint_auth_method = models.CharField(
        max_length=30, choices=AuthMethod.choices, default=AuthMethod.PRIVATE_KEY_JWT
    )
    client_secret_hash = models.CharField(max_length=200, blank=True)
    jwks = models.JSONField(
        default=dict, blank=True, help_text="The service's public keys (private_key_jwt)."
    )
    jwks_uri = models.URLField(blank=True)
    scopes = models.JSONField(default=list, help_text="Scopes the service may ask for.")
    # The attributes asked for and why: [{"claim": "email", "essential": true, "purpose_es": …, "purpose_en": …}]
    claims = models.JSONField(default=list)
    minimum_level = models.CharField(max_length=12, choices=Level.choices, default=Level.LOW)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self):
        return self.name_es


class Consent(models.Model):
    """What a person agreed to share with a service. Revoking ends it; the next sign-in asks again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    service = models.ForeignKey(RelyingParty, on_delete=models.CASCADE, related_name="consents")
    claims = models.JSONField(default=list)
    scopes = models.JSONField(default=list)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "service"],
                condition=Q(revoked_at__isnull=True),
                name="identity_one_live_consent",
            )
        ]

    def __str__(self):
        return f"{self.user} → {self.service}"


class AuthorizationCode(models.Model):
    code_hash = models.CharField(max_length=64, unique=True)
    service = models.ForeignKey(RelyingParty, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    session = models.ForeignKey(AccountSession, null=True, on_delete=models.SET_NULL)
    redirect_uri = models.TextField()
    scope = models.TextField()
    nonce = models.CharField(max_length=255, blank=True)
    code_challenge = models.CharField(max_length=128)
    code_challenge_method = models.CharField(max_length=10)
    claims = models.JSONField(
        default=dict, help_text="Granted claims: {'id_token': [...], 'userinfo': [...]}"
    )
    level = models.CharField(max_length=12, choices=Level.choices)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"code for {self.service}"


class OAuthToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(RelyingParty, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    session = models.ForeignKey(AccountSession, null=True, on_delete=models.SET_NULL)
    scope = models.TextField()
    claims = models.JSONField(default=dict)
    level = models.CharField(max_length=12, choices=Level.choices)
    access_token_hash = models.CharField(max_length=64, unique=True)
    refresh_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"token for {self.service}"


class SigningKey(models.Model):
    """The provider's token signing keys. The newest active key signs; retired keys stay in the JWKS until
    tokens they signed have expired."""

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=10, default="RS256")
    private_key_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.kid


class UsedAssertion(models.Model):
    """jti of client assertions already seen (private_key_jwt replay protection)."""

    jti = models.CharField(max_length=255)
    service = models.ForeignKey(RelyingParty, on_delete=models.CASCADE)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "jti"], name="identity_unique_assertion")]

    def __str__(self):
        return self.jti
