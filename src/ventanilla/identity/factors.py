"""Second factors: authenticator apps (TOTP), WebAuthn passkeys and security keys, recovery codes."""

import base64
from functools import cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from .models import User


@cache
def _fernet() -> Fernet:
    """TOTP secrets are encrypted with a key derived from the deployment's secret key, so a copy of the
    database alone does not let anyone generate codes."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ventanilla totp secrets").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def has_second_factor(user: User) -> bool:
    return user.totp_devices.filter(confirmed_at__isnull=False).exists() or user.webauthn_credentials.exists()
