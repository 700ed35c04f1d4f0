import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings

from . import EC_P256, RSA_3072, KeyStore, stores


@stores.register("files")
class FileKeyStore(KeyStore):
    @property
    def folder(self) -> Path:
        folder = Path(settings.VENTANILLA_KEYS_DIR)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def _path(self, alias: str) -> Path:
        if not alias.replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"A key alias is letters, digits, '-' and '.', not {alias!r}.")
        return self.folder / f"{alias}.key.pem"

    def generate(self, alias, algorithm):
        if algorithm == EC_P256:
            key = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == RSA_3072:
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        else:
            raise ValueError(f"Unknown key algorithm {algorithm!r}.")
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # O_EXCL: two processes generating the same alias cannot overwrite each other's key.
        descriptor = os.open(self._path(alias), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        return key.public_key()

    def private_key(self, alias):
        try:
            data = self._path(alias).read_bytes()
        except FileNotFoundError:
            raise LookupError(f"The key store holds no key {alias!r} (in {self.folder}).") from None
        return serialization.load_pem_private_key(data, password=None)
