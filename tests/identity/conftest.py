"""People at each level of assurance, for every identity test."""

import pyotp
import pytest
from django.utils import timezone, translation

from ventanilla.identity.models import DocumentType, IdentityCheck, TotpDevice, User

PASSWORD = "a long passphrase nobody guesses"


@pytest.fixture(autouse=True)
def english_pages():
    """Tests read the English pages (reverse() gives /en/… paths); the Spanish ones are checked for complete
    translations in tests/web/test_translations.py."""
    with translation.override("en"):
        yield


@pytest.fixture
def make_citizen(db):
    """make_citizen(level="low"|"substantial"|"high") → a person with a verified email and a cédula.
    substantial and high have an authenticator app whose base32 secret is in `citizen.totp_secret`."""
    counter = {"n": 0}

    def make(*, level="low", email=None, password=PASSWORD, language="es"):
        from ventanilla.identity import factors

        counter["n"] += 1
        number = f"8-{700 + counter['n']}-{1000 + counter['n']}"
        user = User.objects.create_user(
            username=number,
            email=email or f"persona{counter['n']}@example.org",
            password=password,
            first_name="María",
            last_name=f"Pérez {counter['n']}",
            document_type=DocumentType.CEDULA,
            document_number=number,
            nationality="PAN",
            preferred_language=language,
            email_verified_at=timezone.now(),
        )
        user.totp_secret = None
        if level in ("substantial", "high"):
            user.totp_secret = pyotp.random_base32()
            TotpDevice.objects.create(
                user=user,
                name="phone",
                encrypted_secret=factors.encrypt_secret(user.totp_secret),
                confirmed_at=timezone.now(),
            )
        if level == "high":
            official = User.objects.create_user(username=f"official{counter['n']}", password=password)
            IdentityCheck.objects.create(
                person=user,
                official=official,
                document_type=DocumentType.CEDULA,
                document_number=number,
                place="InfoPlaza de prueba",
            )
            user.identity_verified_at = timezone.now()
            user.save(update_fields=["identity_verified_at"])
        return user

    return make
