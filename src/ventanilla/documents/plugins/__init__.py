"""Where the platform's private keys live. `files` keeps them as PEM files in VENTANILLA_KEYS_DIR (./var/keys),
readable by the platform's user only: enough for one machine or a shared volume. A hardware security module is one
more store: it generates keys inside the module and answers `pdf_signer` with pyHanko's PKCS#11 signer, so that
PDF signatures never need the key outside it.

The setting VENTANILLA_KEY_STORE names the store in use."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from django.conf import settings
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ventanilla.core.plugins import Registry

EC_P256, RSA_3072 = "ec-p256", "rsa-3072"


class KeyStore:
    name: str

    def generate(self, alias: str, algorithm: str) -> PublicKeyTypes:
        """Makes a new key pair under `alias` (never replacing one) and answers its public key."""
        raise NotImplementedError

    def private_key(self, alias: str) -> PrivateKeyTypes:
        raise NotImplementedError

    def pyhanko_key(self, alias: str):
        """The private key as pyHanko takes it (asn1crypto's PrivateKeyInfo)."""
        pem = self.private_key(alias).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return load_private_key_from_pemder_data(pem, passphrase=None)

    def pdf_signer(self, alias: str, *, certificate, chain) -> signers.Signer:
        """A pyHanko signer for the key under `alias`; `certificate` and `chain` are asn1crypto certificates."""
        return signers.SimpleSigner(
            signing_cert=certificate,
            signing_key=self.pyhanko_key(alias),
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )


stores: Registry[KeyStore] = Registry("key store")


def current() -> KeyStore:
    return stores.get(settings.VENTANILLA_KEY_STORE)


def load() -> None:
    from . import files  # noqa: F401
