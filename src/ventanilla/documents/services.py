"""Every write of the documents app. Issuing renders and signs the PDF before opening a transaction (signing takes
milliseconds of CPU; no lock is held meanwhile) and is idempotent per source: issuing the same source again answers
the first document. Revoking also sets the status bit of every credential issued from the document."""

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from jwcrypto import jwk
from jwcrypto.common import JWException

from ventanilla.core import audit, events
from ventanilla.core.actor import Actor
from ventanilla.core.identifiers import InvalidIdentifier
from ventanilla.core.references import ALPHABET
from ventanilla.identity.selectors import identifier_of_subject, keys_for_subject, subject_for_identifier

from . import credentials, keys, pdf, selectors
from .models import (
    Certificate,
    Credential,
    Document,
    DocumentEvent,
    DocumentFile,
    ShareLink,
    StatusList,
    TrustedIssuer,
)

ISSUED, REVOKED = "documents.issued", "documents.revoked"
LANGUAGES = ("es", "en")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED_KEYS = credentials.REGISTERED_CLAIMS | {"holder_name", "holder_id", "title"}
MAX_SHARE_DAYS = 30
LONGEST = {"holder_name": 200, "holder_identifier": 60, "title_es": 300, "title_en": 300, "source": 80}


class DocumentError(Exception):
    """A request a person can act on: the message, each field's problem, and a code the API maps to a status."""

    def __init__(self, message: str, fields: dict | None = None, *, code: str = "invalid"):
        super().__init__(message)
        self.fields = fields or {}
        self.code = code


@dataclass
class DocumentIn:
    kind: str
    holder: str  # a cédula, a RUC, or "user:<id>" / "business:<id>"
    holder_name: str
    title_es: str
    title_en: str
    source: str
    fields: list = field(default_factory=list)
    holder_identifier: str = ""  # the cédula or RUC to print, when not the one the platform knows
    recipient: str = ""  # whom to tell, when the holder is a business ("user:<public_id>")
    announce: bool = True  # tell the holder it was issued (a payment's receipt was already announced)
    language: str = "es"
    valid_from: datetime | None = None
    expires_at: datetime | None = None


def normalize_code(text: str) -> str:
    """A verification code as printed (XXXX-XXXX-XXXX) from whatever was typed or read out."""
    compact = re.sub(r"[\s-]+", "", text or "").upper()
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _new_code() -> str:
    return normalize_code("".join(secrets.choice(ALPHABET) for _ in range(12)))


def _checked(data: DocumentIn) -> dict:
    """The document's values, or DocumentError listing every problem at once."""
    problems = {}
    values = {
        "kind": data.kind,
        "holder_name": (data.holder_name or "").strip(),
        "holder_identifier": (data.holder_identifier or "").strip(),
        "title_es": (data.title_es or "").strip(),
        "title_en": (data.title_en or "").strip(),
        "source": (data.source or "").strip(),
        "language": data.language,
        "valid_from": data.valid_from or timezone.now(),
        "expires_at": data.expires_at,
    }
    if data.kind not in Document.Kind.values:
        problems["kind"] = _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Document.Kind.values)}
    try:
        values["holder"] = subject_for_identifier(data.holder)
        # Printed under the holder's name: what the institution gave, else the cédula or RUC the platform knows.
        values["holder_identifier"] = values["holder_identifier"] or identifier_of_subject(values["holder"])
        people = sorted(key for key in keys_for_subject(values["holder"]) if key.startswith("user:"))
        values["recipient"] = data.recipient or (people[0] if people else "")
    except InvalidIdentifier as error:
        problems["holder"] = str(error)
    for name, label in [
        ("holder_name", _("the holder's name")),
        ("title_es", _("the title in Spanish")),
        ("title_en", _("the title in English")),
        ("source", _("your reference for it")),
    ]:
        if not values[name]:
            problems[name] = _("Give %(what)s.") % {"what": label}
    for name, most in LONGEST.items():
        if len(values[name]) > most:
            problems[name] = _("At most %(count)s characters.") % {"count": most}
    if data.language not in LANGUAGES:
        problems["language"] = _("The language is es or en.")
    if values["expires_at"] is not None and values["expires_at"] <= values["valid_from"]:
        problems["expires_at"] = _("A document must expire after it becomes valid.")
    fields, seen = [], set()
    for number, item in enumerate(data.fields or [], start=1):
        key = str(item.get("key", "")) if isinstance(item, dict) else ""
        value = item.get("value") if isinstance(item, dict) else None
        if not FIELD_KEY.match(key) or key in RESERVED_KEYS or key in seen:
            problems[f"fields[{number}].key"] = _(
                "Each field needs its own key: lower-case letters, digits and _, not one of %(reserved)s."
            ) % {"reserved": ", ".join(sorted(RESERVED_KEYS))}
        if not (
            (isinstance(value, str) and value.strip())
            or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
        ):
            problems[f"fields[{number}].value"] = _("Give the value as text, or as a list of texts.")
        labels = (
            {language: str(item.get(f"label_{language}", "")).strip() for language in LANGUAGES}
            if isinstance(item, dict)
            else {}
        )
        if not all(labels.values()) or len(labels) != 2:
            problems[f"fields[{number}].label"] = _("Give the field's label in Spanish and in English.")
        seen.add(key)
        fields.append(
            {"key": key, "label_es": labels.get("es", ""), "label_en": labels.get("en", ""), "value": value}
        )
    values["fields"] = fields
    if problems:
        raise DocumentError(_("The document cannot be issued as sent."), problems)
    return values


def _same(document: Document, values: dict) -> bool:
    return all(
        getattr(document, name) == values[name]
        for name in ("kind", "holder", "holder_name", "title_es", "title_en", "fields", "expires_at")
    )


def issue_document(*, institution, data: DocumentIn, actor: Actor) -> tuple[Document, bool]:
    """Issues and signs a document; (document, created). The same source again answers the first document;
    the same source with other contents is a conflict."""
    values = _checked(data)
    existing = selectors.document_for_source(institution, values["source"])
    if existing is not None:
        if _same(existing, values):
            return existing, False
        raise DocumentError(
            _(
                "%(source)s was already issued as %(code)s with other contents: revoke that one, and issue the "
                "corrected document under a new reference."
            )
            % {"source": values["source"], "code": existing.code},
            code="conflict",
        )
    for _attempt in range(3):
        document = Document(institution=institution, code=_new_code(), **values)
        signed, certificate = _signed(document, document.language)
        try:
            with transaction.atomic():
                document.save()
                _store_file(document, document.language, signed, certificate)
                _event(document, DocumentEvent.Kind.ISSUED, actor)
                audit.record(
                    actor=actor,
                    action="documents.issued",
                    object_type="document",
                    object_id=document.code,
                    data={"source": document.source},
                )
                events.emit(
                    ISSUED, subject=document.holder, payload=_payload(document, announce=data.announce)
                )
            return document, True
        except IntegrityError:
            existing = selectors.document_for_source(institution, values["source"])
            if existing is not None:  # issued meanwhile by a retry of the same request
                return existing, False
    raise DocumentError(_("The document could not be issued; try again."), code="conflict")


def _signed(document: Document, language: str) -> tuple[bytes, Certificate]:
    certificate = keys.signer_of(document.institution)
    with_title = document.title_es if language == "es" else document.title_en
    return pdf.sign(
        pdf.render(document, language), certificate=certificate, reason=with_title[:200]
    ), certificate


def _store_file(document, language, signed: bytes, certificate) -> DocumentFile:
    return DocumentFile.objects.create(
        document=document,
        language=language,
        pdf=signed,
        sha256=hashlib.sha256(signed).hexdigest(),
        certificate=certificate,
        signed_at=timezone.now(),
    )


def signed_file(*, document: Document, language: str, actor: Actor) -> DocumentFile:
    """The signed PDF in `language`, made the first time someone asks for it in that language."""
    if language not in LANGUAGES:
        raise DocumentError(_("The language is es or en."), {"language": _("The language is es or en.")})
    file = selectors.file_of(document, language)
    if file is not None:
        return file
    signed, certificate = _signed(document, language)
    try:
        with transaction.atomic():
            file = _store_file(document, language, signed, certificate)
            _event(document, DocumentEvent.Kind.FILE, actor, text=language)
        return file
    except IntegrityError:
        return selectors.file_of(document, language)


def _event(document, kind, actor: Actor, text: str = "") -> None:
    DocumentEvent.objects.create(document=document, kind=kind, actor=actor.label[:200], text=text)


def _payload(document: Document, **extra) -> dict:
    return {
        "code": document.code,
        "kind": document.kind,
        "institution": document.institution.code,
        "title_es": document.title_es,
        "title_en": document.title_en,
        "source": document.source,
        "applicant": document.recipient,
        **extra,
    }


@transaction.atomic
def revoke_document(*, document: Document, reason: str, actor: Actor) -> Document:
    """Revokes the document and every credential issued from it. Revoking again changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise DocumentError(_("Say why it is revoked."), {"reason": _("Say why it is revoked.")})
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.revoked_at is not None:
        return document
    document.revoked_at, document.revocation_reason = timezone.now(), reason
    document.save(update_fields=["revoked_at", "revocation_reason"])
    for credential in Credential.objects.filter(document=document):
        status_list = StatusList.objects.select_for_update().get(pk=credential.status_list_id)
        status_list.bits = credentials.with_bit(bytes(status_list.bits), credential.index)
        status_list.save(update_fields=["bits", "updated_at"])
    _event(document, DocumentEvent.Kind.REVOKED, actor, text=reason)
    audit.record(
        actor=actor,
        action="documents.revoked",
        object_type="document",
        object_id=document.code,
        data={"reason": reason},
    )
    events.emit(REVOKED, subject=document.holder, payload=_payload(document, reason=reason))
    return document


@transaction.atomic
def share_document(*, document: Document, days: int, actor: Actor) -> ShareLink:
    if not 1 <= days <= MAX_SHARE_DAYS:
        message = _("A link lasts from 1 to %(days)s days.") % {"days": MAX_SHARE_DAYS}
        raise DocumentError(message, {"days": message})
    if document.revoked_at is not None:
        raise DocumentError(_("A revoked document cannot be shared."), code="conflict")
    link = ShareLink.objects.create(
        document=document, token=secrets.token_urlsafe(24), expires_at=timezone.now() + timedelta(days=days)
    )
    _event(
        document,
        DocumentEvent.Kind.SHARED,
        actor,
        text=f"{timezone.localtime(link.expires_at):%Y-%m-%d %H:%M}",
    )
    return link


@transaction.atomic
def withdraw_share(*, link: ShareLink, actor: Actor) -> ShareLink:
    if link.withdrawn_at is None:
        link.withdrawn_at = timezone.now()
        link.save(update_fields=["withdrawn_at"])
        _event(link.document, DocumentEvent.Kind.UNSHARED, actor)
    return link


def opened(link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk).update(opened=F("opened") + 1)


def issue_credential(*, document: Document, holder_key: dict | None, actor: Actor) -> str:
    """The document as an SD-JWT VC, bound to `holder_key` (a public JWK) when given, with its own status bit."""
    document = Document.objects.select_related("institution").get(pk=document.pk)  # as it stands now
    if document.revoked_at is not None or (document.expires_at and document.expires_at <= timezone.now()):
        raise DocumentError(
            _("A revoked or expired document cannot be issued as a credential."), code="conflict"
        )
    if holder_key is not None:
        try:
            key = jwk.JWK(**holder_key)
        except (JWException, TypeError, ValueError) as error:
            raise DocumentError(
                _("The holder key is not a JSON Web Key."), {"holder_key": str(error)}
            ) from error
        if key.has_private:
            raise DocumentError(
                _("Send only the public part of the holder key."),
                {"holder_key": _("Send only the public part of the holder key.")},
            )
        holder_key = key.export_public(as_dict=True)
    with transaction.atomic():
        status_list = (
            StatusList.objects.select_for_update()
            .filter(institution=document.institution, used__lt=StatusList.SIZE)
            .first()
        ) or StatusList.objects.create(institution=document.institution, bits=bytes(StatusList.SIZE // 8))
        credential = Credential.objects.create(
            document=document,
            status_list=status_list,
            index=status_list.used,
            vct=credentials.vct(document.kind),
        )
        status_list.used += 1
        status_list.save(update_fields=["used", "updated_at"])
        _event(document, DocumentEvent.Kind.CREDENTIAL, actor)
    return credentials.sign_credential(credential, holder_key=holder_key)


def rotate_certificate(*, kind: str, institution=None, actor: Actor) -> Certificate:
    certificate = keys.rotate(kind, institution)
    audit.record(
        actor=actor,
        action="documents.certificate_rotated",
        object_type="certificate",
        object_id=certificate.serial,
        data={"kind": kind, "institution": institution.code if institution else ""},
    )
    return certificate


@transaction.atomic
def trust_issuer(
    *,
    country: str,
    name: str,
    certificate_pem: str = "",
    credential_issuer: str = "",
    jwks: dict | None = None,
    note: str = "",
    actor: Actor,
) -> TrustedIssuer:
    """Adds a foreign issuer to the trust list: its CA certificate (for documents) and/or its credential issuer
    identifier and keys (for credentials)."""
    if not certificate_pem and not credential_issuer:
        raise DocumentError(_("Give the issuer's CA certificate, its credential issuer identifier, or both."))
    if certificate_pem:
        try:
            x509.load_pem_x509_certificate(certificate_pem.encode())
        except ValueError as error:
            raise DocumentError(
                _("The certificate is not a PEM X.509 certificate."), {"certificate_pem": str(error)}
            ) from error
    issuer = TrustedIssuer.objects.create(
        country=country.upper()[:3],
        name=name,
        certificate_pem=certificate_pem,
        credential_issuer=credential_issuer,
        jwks=jwks or {},
        note=note,
    )
    audit.record(
        actor=actor,
        action="documents.issuer_trusted",
        object_type="trusted_issuer",
        object_id=str(issuer.id),
        data={"country": issuer.country, "name": name},
    )
    return issuer


@transaction.atomic
def distrust_issuer(*, issuer: TrustedIssuer, actor: Actor) -> TrustedIssuer:
    if issuer.removed_at is None:
        issuer.removed_at = timezone.now()
        issuer.save(update_fields=["removed_at"])
        audit.record(
            actor=actor,
            action="documents.issuer_removed",
            object_type="trusted_issuer",
            object_id=str(issuer.id),
        )
    return issuer
