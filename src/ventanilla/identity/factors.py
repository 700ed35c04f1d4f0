"""Second factors: authenticator apps (TOTP), WebAuthn passkeys and security keys, recovery codes.

Each factor is enrolled, checked and removed here; a factor just checked is then recorded on the browser
session by authn.add_factor. Everything a person types to prove a factor (an app code, a recovery code, the
password that confirms a removal) counts against one throttle per account, kind "code".
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from ipaddress import ip_address
from urllib.parse import urlsplit

import pyotp
import segno
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ventanilla.core import audit
from ventanilla.core.actor import Actor

from . import throttling
from .models import RecoveryCode, TotpDevice, User, WebAuthnCredential

TOTP_PERIOD = 30  # seconds per code (RFC 6238)
TOTP_DRIFT = 1  # codes accepted either side of the current one, for clocks a little off
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper. 12 characters of 31 are about 59 bits.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 12


class WrongCode(Exception):
    """What was typed does not prove the factor (wrong, expired or already used)."""


class Locked(Exception):
    """Too many wrong attempts for this account: nothing is checked until `seconds` have passed."""

    def __init__(self, seconds: int):
        super().__init__(f"locked for {seconds} s")
        self.seconds = seconds


class CeremonyFailed(Exception):
    """A WebAuthn response that does not verify (wrong origin, challenge, signature, no user verification…)."""


# --- Keys derived from the deployment's secret key -----------------------------------------------------------


def _derived_key(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        settings.SECRET_KEY.encode()
    )


@cache
def _fernet() -> Fernet:
    """TOTP secrets are encrypted with a key derived from the deployment's secret key, so a copy of the
    database alone does not let anyone generate codes."""
    return Fernet(base64.urlsafe_b64encode(_derived_key(b"ventanilla totp secrets")))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def has_second_factor(user: User) -> bool:
    return user.totp_devices.filter(confirmed_at__isnull=False).exists() or user.webauthn_credentials.exists()


# --- Throttling of typed codes -------------------------------------------------------------------------------


@contextmanager
def _attempt(user: User) -> Iterator[None]:
    """Refuses while the account is locked; a WrongCode raised inside counts as a failure, success clears them.
    The failure is recorded outside any transaction the check ran in, so a rollback cannot undo it."""
    throttle_key = throttling.key("code", str(user.public_id))
    wait = throttling.locked_for(throttle_key)
    if wait:
        raise Locked(wait)
    try:
        yield
    except WrongCode:
        throttling.record_failure(throttle_key)
        raise
    throttling.clear(throttle_key)


def confirm_password(*, user: User, password: str) -> None:
    """For changes that need the person to prove it is them again (removing a factor)."""
    with _attempt(user):
        if not user.check_password(password):
            raise WrongCode


# --- Authenticator apps (TOTP) -------------------------------------------------------------------------------


def _current_step() -> int:
    return int(time.time()) // TOTP_PERIOD


def _normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code is `code`, among the current one and TOTP_DRIFT either side."""
    code = _normalise_code(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret, interval=TOTP_PERIOD), _current_step()
    for step in range(now - TOTP_DRIFT, now + TOTP_DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_step(device: TotpDevice, step: int, **changes) -> bool:
    """Replay protection: a step is accepted once. The condition and the write are one UPDATE, so of two
    requests carrying the same code at the same moment only one can pass."""
    return bool(
        TotpDevice.objects.filter(id=device.id, last_used_step__lt=step).update(
            last_used_step=step, last_used_at=timezone.now(), **changes
        )
    )


def provisioning_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(decrypt_secret(device.encrypted_secret), interval=TOTP_PERIOD).provisioning_uri(
        name=device.user.get_username(), issuer_name=settings.VENTANILLA_SITE_NAME
    )


def secret_for_typing(device: TotpDevice) -> str:
    """The secret in groups of four, for people who type it into their app instead of scanning."""
    secret = decrypt_secret(device.encrypted_secret)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_data_uri(text: str) -> str:
    """A QR code as an SVG data: URI for an <img> (the page's CSP allows data: images, not inline styles)."""
    return segno.make(text, error="m").svg_data_uri(scale=5, border=4, dark="#0b0c0c", light="#ffffff")


def start_totp_enrolment(*, user: User) -> TotpDevice:
    """The app waiting for its first code: the same one until it is confirmed, so reloading the page keeps
    the QR code the person may already have scanned."""
    with transaction.atomic():
        pending = user.totp_devices.filter(confirmed_at__isnull=True).order_by("created_at").first()
        if pending is not None:
            return pending
        return TotpDevice.objects.create(
            user=user, name="", encrypted_secret=encrypt_secret(pyotp.random_base32())
        )


def confirm_totp_device(*, user: User, device_id, name: str, code: str, actor: Actor) -> list[str]:
    """Turn the pending app into a factor once it shows a current code. Returns recovery codes to show once
    if this is the person's first factor, else an empty list. A second submission of the same form is
    harmless: the app is already confirmed."""
    device = TotpDevice.objects.filter(id=device_id, user=user).first()
    if device is None:
        raise WrongCode
    if device.confirmed_at is not None:
        return []
    with _attempt(user):
        step = _matching_step(decrypt_secret(device.encrypted_secret), code)
        if step is None:
            raise WrongCode
        with transaction.atomic():
            first = not has_second_factor(user)
            if not _use_step(device, step, confirmed_at=timezone.now(), name=name):
                raise WrongCode
            # Secrets shown in other tabs and never confirmed are not factors; drop them.
            user.totp_devices.filter(confirmed_at__isnull=True).delete()
            audit.record(
                actor=actor,
                action="identity.totp_added",
                object_type="totp_device",
                object_id=device.id,
                data={"user": str(user.public_id), "name": name},
            )
            return _generate_recovery_codes(user=user, actor=actor) if first else []


def verify_totp(*, user: User, code: str) -> TotpDevice:
    """The app whose current code this is; raises WrongCode for a wrong or replayed code, Locked after too
    many failures."""
    with _attempt(user):
        for device in user.totp_devices.filter(confirmed_at__isnull=False):
            step = _matching_step(decrypt_secret(device.encrypted_secret), code)
            if step is not None and _use_step(device, step):
                return device
        raise WrongCode


# --- Recovery codes ------------------------------------------------------------------------------------------


@cache
def _recovery_key() -> bytes:
    return _derived_key(b"ventanilla recovery codes")


def _recovery_hash(user: User, code: str) -> str:
    """HMAC with a deployment key and the person's id as salt: the same code hashes differently for each
    person, and a copy of the database alone is no help in guessing codes."""
    normalised = _normalise_code(code).lower()
    return hmac.new(_recovery_key(), f"{user.public_id}:{normalised}".encode(), hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def _generate_recovery_codes(*, user: User, actor: Actor) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_recovery_hash(user, c)) for c in codes
    )
    audit.record(
        actor=actor,
        action="identity.recovery_codes_generated",
        object_type="user",
        object_id=user.public_id,
        data={"count": len(codes)},
    )
    return codes


@transaction.atomic
def regenerate_recovery_codes(*, user: User, actor: Actor) -> list[str]:
    """New codes, shown once; every earlier code stops working."""
    return _generate_recovery_codes(user=user, actor=actor)


def remaining_recovery_codes(user: User) -> int:
    return user.recovery_codes.filter(used_at__isnull=True).count()


def use_recovery_code(*, user: User, code: str) -> None:
    """Spend one recovery code; raises WrongCode if it is not one of the person's unused codes."""
    with _attempt(user):
        used = RecoveryCode.objects.filter(
            user=user, code_hash=_recovery_hash(user, code), used_at__isnull=True
        ).update(used_at=timezone.now())
        if not used:
            raise WrongCode


# --- WebAuthn: passkeys and security keys --------------------------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    """Who asks for the credential: the RP ID (a domain name) and the exact origin the browser reports."""

    rp_id: str
    origin: str


def relying_party_for(request) -> RelyingParty | None:
    """The RP ID is the host name the page was opened with (already checked against ALLOWED_HOSTS). WebAuthn
    needs a domain name, so a site opened by IP address (http://127.0.0.1:8000) cannot use passkeys: locally,
    open it as http://localhost:8000, which browsers treat as secure even without HTTPS."""
    host = request.get_host()
    hostname = urlsplit(f"//{host}").hostname or ""
    try:
        ip_address(hostname)
    except ValueError:
        return RelyingParty(rp_id=hostname, origin=f"{request.scheme}://{host}")
    return None


def _user_handle(user: User) -> bytes:
    return user.public_id.bytes  # opaque: no name or document number travels to the authenticator


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(credential.credential_id),
            transports=[AuthenticatorTransport(t) for t in credential.transports if t in known] or None,
        )
        for credential in user.webauthn_credentials.all()
    ]


def registration_options(*, user: User, relying_party: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.create() as JSON, and the challenge to keep for the answer."""
    options = generate_registration_options(
        rp_id=relying_party.rp_id,
        rp_name=settings.VENTANILLA_SITE_NAME,
        user_id=_user_handle(user),
        user_name=user.get_username(),
        user_display_name=user.get_full_name() or user.get_username(),
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
    )
    return options_to_json(options), options.challenge


def _credential_dict(credential_json) -> dict:
    if isinstance(credential_json, str):
        try:
            credential_json = json.loads(credential_json)
        except ValueError as error:
            raise CeremonyFailed("not JSON") from error
    if not isinstance(credential_json, dict):
        raise CeremonyFailed("not a credential")
    return credential_json


def register_credential(
    *, user: User, relying_party: RelyingParty, credential_json, challenge: bytes, name: str, actor: Actor
) -> tuple[WebAuthnCredential, list[str]]:
    """Check the authenticator's answer to the registration options (user verification required) and keep
    the public key. Returns the credential and, if it is the person's first factor, recovery codes to show once."""
    credential = _credential_dict(credential_json)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=relying_party.rp_id,
            expected_origin=relying_party.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise CeremonyFailed(str(error)) from error
    transports = (credential.get("response") or {}).get("transports") or []
    with transaction.atomic():
        first = not has_second_factor(user)
        stored = WebAuthnCredential.objects.create(
            user=user,
            name=name,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[str(t) for t in transports if isinstance(t, str)][:10],
        )
        audit.record(
            actor=actor,
            action="identity.webauthn_added",
            object_type="webauthn_credential",
            object_id=stored.id,
            data={"user": str(user.public_id), "name": name},
        )
        return stored, (_generate_recovery_codes(user=user, actor=actor) if first else [])


def authentication_options(*, user: User, relying_party: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.get(), limited to the person's own credentials."""
    options = generate_authentication_options(
        rp_id=relying_party.rp_id,
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


def verify_credential(
    *, user: User, relying_party: RelyingParty, credential_json, challenge: bytes
) -> WebAuthnCredential:
    """Check a signed challenge from one of the person's credentials (origin, RP ID, user verification and
    signature counter). Raises CeremonyFailed."""
    credential = _credential_dict(credential_json)
    stored = WebAuthnCredential.objects.filter(user=user, credential_id=str(credential.get("id", ""))).first()
    if stored is None:
        raise CeremonyFailed("not one of this person's credentials")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=relying_party.rp_id,
            expected_origin=relying_party.origin,
            credential_public_key=bytes(stored.public_key),
            credential_current_sign_count=stored.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise CeremonyFailed(str(error)) from error
    # The counter must not go back: a cloned authenticator shows itself by reusing counts. Updating only if
    # the counter is still the one checked stops two answers with the same count from both passing.
    updated = WebAuthnCredential.objects.filter(id=stored.id, sign_count=stored.sign_count).update(
        sign_count=verified.new_sign_count, last_used_at=timezone.now()
    )
    if not updated:
        raise CeremonyFailed("signature counter changed meanwhile")
    return stored


# --- Listing and removing factors ----------------------------------------------------------------------------


def totp_devices(user: User):
    return user.totp_devices.filter(confirmed_at__isnull=False).order_by("created_at")


def webauthn_credentials(user: User):
    return user.webauthn_credentials.order_by("created_at")


@transaction.atomic
def remove_factor(*, user: User, factor: TotpDevice | WebAuthnCredential, actor: Actor) -> None:
    """Remove an app or a key. With no factor left, the recovery codes go too: they recover a factor."""
    kind = "totp_device" if isinstance(factor, TotpDevice) else "webauthn_credential"
    factor_id, name = factor.id, factor.name
    factor.delete()
    if not has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()
    audit.record(
        actor=actor,
        action="identity.factor_removed",
        object_type=kind,
        object_id=factor_id,
        data={"user": str(user.public_id), "name": name},
    )
