"""The platform's certificates: its issuing CA (RSA 3072, 20 years), the timestamp authority's certificate and one
ECDSA P-256 signing certificate per institution (3 years), all certified by the CA. Each is made the first time it
is needed; private keys go to the key store (plugins), certificates to the database, where every process and the
trust list find them. Rotation retires a certificate and makes a new one: what the retired one signed still
verifies, because the CA that certified it is still trusted."""

import functools
from datetime import timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import plugins
from .models import Certificate

YEARS = {Certificate.Kind.CA: 20, Certificate.Kind.TSA: 10, Certificate.Kind.ISSUER: 3}
ALGORITHMS = {
    Certificate.Kind.CA: plugins.RSA_3072,
    # pyHanko's timestamp responder signs with RSA.
    Certificate.Kind.TSA: plugins.RSA_3072,
    Certificate.Kind.ISSUER: plugins.EC_P256,
}


def active(kind: str, institution=None) -> Certificate | None:
    return Certificate.objects.filter(kind=kind, institution=institution, retired_at__isnull=True).first()


def ca() -> Certificate:
    return active(Certificate.Kind.CA) or _make(Certificate.Kind.CA)


def tsa() -> Certificate:
    return active(Certificate.Kind.TSA) or _make(Certificate.Kind.TSA)


def signer_of(institution) -> Certificate:
    """The institution's signing certificate in use, made the first time it signs."""
    certificate = active(Certificate.Kind.ISSUER, institution)
    if certificate is None or certificate.not_after <= timezone.now() + timedelta(days=30):
        # Renewed a month before it lapses, so that nothing is signed by a certificate about to expire.
        if certificate is not None:
            Certificate.objects.filter(pk=certificate.pk).update(retired_at=timezone.now())
        certificate = _make(Certificate.Kind.ISSUER, institution)
    return certificate


def rotate(kind: str, institution=None) -> Certificate:
    """Retires the certificate in use and makes its successor. A new CA also retires every institution's signer,
    whose successors are then certified by the new CA."""
    with transaction.atomic():
        now = timezone.now()
        Certificate.objects.filter(kind=kind, institution=institution, retired_at__isnull=True).update(
            retired_at=now
        )
        if kind == Certificate.Kind.CA:
            Certificate.objects.filter(
                kind__in=[Certificate.Kind.ISSUER, Certificate.Kind.TSA], retired_at__isnull=True
            ).update(retired_at=now)
    return _make(kind, institution)


def _subject(kind: str, institution) -> x509.Name:
    site = settings.VENTANILLA_SITE_NAME
    common = {
        Certificate.Kind.CA: f"{site} - Autoridad emisora",
        Certificate.Kind.TSA: f"{site} - Sellado de tiempo",
    }.get(kind) or (institution.name_es if institution else site)
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, common[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, site[:64]),
    ]
    if institution is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, institution.code[:64]))
    return x509.Name(attributes)


def key_usage(*, authority: bool) -> x509.KeyUsage:
    """A CA certifies and nothing else; a signer signs, with non-repudiation (what validators ask of documents)."""
    return x509.KeyUsage(
        digital_signature=not authority,
        content_commitment=not authority,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=authority,
        crl_sign=authority,
        encipher_only=False,
        decipher_only=False,
    )


def _make(kind: str, institution=None) -> Certificate:
    now = timezone.now()
    serial = x509.random_serial_number()
    alias = f"{kind}-{(institution.code if institution else 'platform').lower()}-{serial:x}"[:120]
    public_key = plugins.current().generate(alias, ALGORITHMS[kind])
    subject = _subject(kind, institution)
    if kind == Certificate.Kind.CA:
        issuer_name, issuer_key, issuer_public = subject, alias, public_key
    else:
        authority = ca()
        issuer_name = load(authority).subject
        issuer_key, issuer_public = authority.key_alias, load(authority).public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * YEARS[kind]))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False)
    )
    is_ca = kind == Certificate.Kind.CA
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True
    ).add_extension(key_usage(authority=is_ca), critical=True)
    if kind == Certificate.Kind.TSA:
        # RFC 3161 asks for exactly this extended key usage, marked critical.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    certificate = builder.sign(plugins.current().private_key(issuer_key), hashes.SHA256())
    try:
        with transaction.atomic():
            return Certificate.objects.create(
                kind=kind,
                institution=institution,
                serial=f"{serial:X}",
                subject=subject.rfc4514_string(),
                pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
                key_alias=alias,
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
            )
    except IntegrityError:
        # Another process made it first: use theirs (this key pair stays unused in the store).
        return active(kind, institution)


@functools.lru_cache(maxsize=256)
def _parsed(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def load(certificate: Certificate) -> x509.Certificate:
    return _parsed(certificate.pem)


@functools.lru_cache(maxsize=256)
def _der(pem: str) -> bytes:
    return _parsed(pem).public_bytes(serialization.Encoding.DER)


def asn1(certificate: Certificate) -> asn1_x509.Certificate:
    """The certificate as pyHanko takes it: a new object at each call, never shared between threads (asn1crypto
    parses as it is read, and a thread can read an object another is still parsing)."""
    return asn1_x509.Certificate.load(_der(certificate.pem))


def authorities() -> list[Certificate]:
    """Every CA certificate not yet expired, the retired ones too: what they certified still verifies. A platform
    that has signed nothing yet makes its CA now, so that what it publishes is never empty."""
    return list(Certificate.objects.filter(kind=Certificate.Kind.CA, not_after__gt=timezone.now())) or [ca()]
