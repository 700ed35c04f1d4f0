"""The provider's token signing keys.

Keys live in the database (SigningKey), so every app server signs with the same key and publishes the same JWKS.
The private key is stored as an encrypted PKCS#8 PEM whose passphrase is derived from the deployment's secret
key: a copy of the database alone cannot sign tokens. The newest key that is not retired signs; rotating makes a
new one and retires the others, which stay in the JWKS until every token they signed has expired.
"""

import base64
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ventanilla.core import audit
from ventanilla.core.actor import Actor

from ..models import SigningKey

ALGORITHM = "RS256"
# Longer than anything a key signs lives (ID tokens: an hour; logout tokens: minutes).
RETIRED_KEYS_PUBLISHED_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class Signer:
    kid: str
    key: RSAKey

    @property
    def header(self) -> dict:
        return {"alg": ALGORITHM, "kid": self.kid}

    def sign(self, claims: dict, *, typ: str | None = None) -> str:
        header = self.header if typ is None else {**self.header, "typ": typ}
        return jwt.encode(header, claims, self.key, algorithms=[ALGORITHM])


@cache
def _passphrase(secret_key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ventanilla oidc signing keys"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@cache
def _load(kid: str, pem: str) -> Signer:
    """Keys never change once written, so each is decrypted once per process."""
    private = serialization.load_pem_private_key(pem.encode(), password=_passphrase(settings.SECRET_KEY))
    return Signer(kid=kid, key=RSAKey.import_key(private, {"kid": kid, "alg": ALGORITHM, "use": "sig"}))


def _create() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase(settings.SECRET_KEY)),
    ).decode()
    kid = RSAKey.import_key(private.public_key()).thumbprint()
    return SigningKey.objects.create(kid=kid, algorithm=ALGORITHM, private_key_pem=pem)


def signer() -> Signer:
    """The key that signs now; the first one is made on first need."""
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id").first()
    if key is None:
        with transaction.atomic():
            key = _create()
    return _load(key.kid, key.private_key_pem)


def _published():
    since = timezone.now() - RETIRED_KEYS_PUBLISHED_FOR
    return SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(retired_at__gt=since)).order_by(
        "-created_at"
    )


def public_jwks() -> dict:
    """The JWKS: the signing key and the recently retired ones."""
    if not SigningKey.objects.filter(retired_at__isnull=True).exists():
        signer()
    keys = [_load(k.kid, k.private_key_pem).key.as_dict(private=False) for k in _published()]
    return {"keys": keys}


def verification_keys() -> KeySet:
    return KeySet.import_key_set(public_jwks())


@transaction.atomic
def rotate(*, actor: Actor) -> SigningKey:
    """A new signing key; the previous ones are retired (still published for a day) and keys retired longer
    ago than that are deleted."""
    now = timezone.now()
    new = _create()
    retired = list(
        SigningKey.objects.filter(retired_at__isnull=True).exclude(id=new.id).values_list("kid", flat=True)
    )
    SigningKey.objects.filter(kid__in=retired).update(retired_at=now)
    deleted, _ = SigningKey.objects.filter(retired_at__lte=now - RETIRED_KEYS_PUBLISHED_FOR).delete()
    audit.record(
        actor=actor,
        action="identity.oidc_keys_rotated",
        object_type="signing_key",
        object_id=new.kid,
        data={"retired": retired, "deleted": deleted},
    )
    return new
