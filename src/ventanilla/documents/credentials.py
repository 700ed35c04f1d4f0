"""Verifiable credentials: a document issued again as an SD-JWT VC (IETF draft-ietf-oauth-sd-jwt-vc) whose every
stated fact is selectively disclosable, so that its holder shows a verifier only what is asked (a driving
licence's category, not the address). Each credential owns one bit of its institution's Token Status List
(draft-ietf-oauth-status-list), published signed, and 1 means revoked. Each institution is an issuer at
`<public url>/issuers/<CODE>` whose keys are published at `/.well-known/jwt-vc-issuer/issuers/<CODE>`.

The `sd-jwt` library (OpenWallet Foundation) builds and checks the SD-JWTs; the status list is small enough to
write here."""

import base64
import hashlib
import json
import time
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from jwcrypto import jwk, jws
from jwcrypto.common import JWException
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.identifiers import as_uuid

from . import keys, plugins
from .models import Certificate, Credential, Document, StatusList, TrustedIssuer

TYP = "dc+sd-jwt"
STATUS_LIST_TYP = "statuslist+jwt"
STATUS_LIST_TTL = 300  # seconds a verifier may keep a fetched list
# Claims about the credential itself, not facts the holder discloses.
REGISTERED_CLAIMS = {"iss", "iat", "nbf", "exp", "vct", "status", "cnf", "_sd_alg", "document_code"}


def issuer_id(institution) -> str:
    return f"{settings.VENTANILLA_PUBLIC_URL}/issuers/{institution.code}"


def vct(kind: str) -> str:
    return f"{settings.VENTANILLA_PUBLIC_URL}/credentials/{kind}"


def status_list_uri(status_list: StatusList) -> str:
    return settings.VENTANILLA_PUBLIC_URL + reverse("api-v1:status_list", kwargs={"list_id": status_list.id})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def private_jwk(certificate: Certificate) -> jwk.JWK:
    key = jwk.JWK.from_pyca(plugins.current().private_key(certificate.key_alias))
    return jwk.JWK(**{**key.export(as_dict=True, private_key=True), "kid": certificate.serial})


def public_jwk(certificate: Certificate) -> dict:
    key = jwk.JWK.from_pyca(keys.load(certificate).public_key())
    return {**key.export_public(as_dict=True), "kid": certificate.serial, "use": "sig", "alg": "ES256"}


def issuer_metadata(institution) -> dict:
    """What `/.well-known/jwt-vc-issuer/issuers/<CODE>` publishes: the issuer and every key a credential of theirs
    still valid may have been signed with."""
    certificates = Certificate.objects.filter(
        kind=Certificate.Kind.ISSUER, institution=institution, not_after__gt=timezone.now()
    )
    return {"issuer": issuer_id(institution), "jwks": {"keys": [public_jwk(c) for c in certificates]}}


def claims_of(document: Document) -> dict:
    """The credential's claims: each field of the document under its key, every one selectively disclosable."""
    return {SDObj(item["key"]): item["value"] for item in document.fields} | {
        SDObj("holder_name"): document.holder_name,
        **({SDObj("holder_id"): document.holder_identifier} if document.holder_identifier else {}),
        SDObj("title"): {"es": document.title_es, "en": document.title_en},
    }


def sign_credential(credential: Credential, *, holder_key: dict | None = None) -> str:
    """The SD-JWT VC issuance (JWT~disclosure~…~) for `credential`."""
    document = credential.document
    certificate = keys.signer_of(document.institution)
    claims = {
        "iss": issuer_id(document.institution),
        "iat": int(time.time()),
        "nbf": int(document.valid_from.timestamp()),
        "vct": credential.vct,
        "document_code": document.code,
        "status": {"status_list": {"idx": credential.index, "uri": status_list_uri(credential.status_list)}},
        **({"exp": int(document.expires_at.timestamp())} if document.expires_at else {}),
        **claims_of(document),
    }
    issuer = SDJWTIssuer(
        claims,
        private_jwk(certificate),
        holder_key=jwk.JWK(**holder_key) if holder_key else None,
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": TYP, "kid": certificate.serial},
    )
    return issuer.sd_jwt_issuance


def status_list_jwt(status_list: StatusList) -> str:
    certificate = keys.signer_of(status_list.institution)
    now = int(time.time())
    payload = {
        "sub": status_list_uri(status_list),
        "iss": issuer_id(status_list.institution),
        "iat": now,
        "exp": now + 24 * 3600,
        "ttl": STATUS_LIST_TTL,
        "status_list": {"bits": 1, "lst": _b64(zlib.compress(bytes(status_list.bits), 9))},
    }
    token = jws.JWS(json.dumps(payload).encode())
    token.add_signature(
        private_jwk(certificate),
        alg="ES256",
        protected=json.dumps({"alg": "ES256", "typ": STATUS_LIST_TYP, "kid": certificate.serial}),
    )
    return token.serialize(compact=True)


def bit_is_set(bits: bytes, index: int) -> bool:
    # Bit 0 of byte 0 is the first credential: the status list draft numbers bits from the least significant.
    return bool(bits[index // 8] >> (index % 8) & 1)


def with_bit(bits: bytes, index: int) -> bytes:
    changed = bytearray(bits)
    changed[index // 8] |= 1 << (index % 8)
    return bytes(changed)


# --- Checking a presented credential -------------------------------------------------------------------------


@dataclass
class CredentialVerdict:
    status: str  # valid | revoked | expired | tampered | unknown_issuer | unreadable
    issuer: str = ""
    issuer_name: str = ""
    country: str = ""
    vct: str = ""
    disclosed: dict = field(default_factory=dict)
    document: Document | None = None
    status_checked: bool = False


def _issuer_keys(iss: str) -> tuple[str, str, list[dict], object]:
    """(name, country, public keys, institution or TrustedIssuer) of a trusted issuer; LookupError otherwise."""
    prefix = f"{settings.VENTANILLA_PUBLIC_URL}/issuers/"
    if iss.startswith(prefix):
        institution = catalogue.institution_by_code(iss.removeprefix(prefix))
        if institution is not None:
            keys_ = issuer_metadata(institution)["jwks"]["keys"]
            return institution.name_es, settings.VENTANILLA_COUNTRY, keys_, institution
    foreign = TrustedIssuer.objects.filter(credential_issuer=iss, removed_at__isnull=True).first()
    if foreign is not None:
        return foreign.name, foreign.country, list(foreign.jwks.get("keys", [])), foreign
    raise LookupError(iss)


def _unverified_payload(presentation: str) -> dict:
    encoded = presentation.split("~", 1)[0].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def _digests(value) -> set[str]:
    """Every digest a signed object or a disclosed value refers to (`_sd` lists and array `...` entries)."""
    found = set()
    if isinstance(value, dict):
        found.update(value.get("_sd", []))
        if set(value) == {"..."}:
            found.add(value["..."])
        for item in value.values():
            found |= _digests(item)
    elif isinstance(value, list):
        for item in value:
            found |= _digests(item)
    return found


def _every_disclosure_referenced(presentation: str, payload: dict) -> bool:
    _jwt, *disclosures, _key_binding = presentation.split("~")
    referenced = _digests(payload)
    for disclosure in disclosures:
        referenced |= _digests(
            json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
        )
    return all(_b64(hashlib.sha256(disclosure.encode()).digest()) in referenced for disclosure in disclosures)


def verify_presentation(presentation: str) -> CredentialVerdict:
    """Checks the issuer's signature against the trust list, every disclosure, the expiry and (for this platform's
    credentials) the status bit. Answers what was disclosed, nothing more."""
    presentation = "".join((presentation or "").split())
    if presentation.rsplit("~", 1)[-1].count(".") != 2:
        presentation = presentation.rstrip("~") + "~"  # no key binding JWT: the SD-JWT ends with "~"
    try:
        payload = _unverified_payload(presentation)
        iss = str(payload.get("iss", ""))
    except (ValueError, IndexError, AttributeError):
        return CredentialVerdict(status="unreadable")
    try:
        name, country, jwks, source = _issuer_keys(iss)
    except LookupError:
        return CredentialVerdict(status="unknown_issuer", issuer=iss)

    def key_for(_issuer, header):
        for candidate in jwks:
            if candidate.get("kid") == header.get("kid"):
                return jwk.JWK(**candidate)
        raise JWException("The issuer publishes no key with this kid.")

    verdict = CredentialVerdict(
        status="valid", issuer=iss, issuer_name=name, country=country, vct=str(payload.get("vct", ""))
    )
    try:
        verifier = SDJWTVerifier(presentation, key_for)
        verified = verifier.get_verified_payload()
    except (JWException, ValueError, KeyError, TypeError, IndexError):
        verdict.status = "tampered"
        return verdict
    if not _every_disclosure_referenced(presentation, payload):
        # The library skips a disclosure nothing signed refers to; the SD-JWT draft says to refuse it.
        verdict.status = "tampered"
        return verdict
    verdict.disclosed = {key: value for key, value in verified.items() if key not in REGISTERED_CLAIMS}
    if not isinstance(source, TrustedIssuer):
        verdict.document = Document.objects.filter(code=verified.get("document_code", "")).first()
        reference = verified.get("status", {}).get("status_list", {})
        credential = (
            Credential.objects.select_related("status_list")
            .filter(status_list_id=as_uuid(str(reference.get("uri", "")).rsplit("/", 1)[-1]))
            .filter(index=reference.get("idx", -1))
            .first()
        )
        verdict.status_checked = credential is not None
        if credential is not None and bit_is_set(bytes(credential.status_list.bits), credential.index):
            verdict.status = "revoked"
            return verdict
    if verified.get("exp") and verified["exp"] < time.time():
        verdict.status = "expired"
    return verdict
