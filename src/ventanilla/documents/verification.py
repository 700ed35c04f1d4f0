"""Checking a PDF someone hands over. Its signature must be intact and cover the whole file (nothing changed or
added after signing), and its signer must chain to a CA on the trust list: this platform's own CA (the retired ones
too) or a trusted foreign issuer's. A document of this platform is then looked up by the file's hash, which gives
its revocation and expiry."""

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from django.utils import timezone
from django.utils.translation import gettext_lazy
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from . import keys, pdf
from .models import Document, DocumentFile, TrustedIssuer

logger = logging.getLogger(__name__)

VALID, TAMPERED, REVOKED, EXPIRED = "valid", "tampered", "revoked", "expired"
UNKNOWN_ISSUER, NOT_SIGNED, UNREADABLE, NOT_FOUND = "unknown_issuer", "not_signed", "unreadable", "not_found"
FOREIGN_VALID = "foreign_valid"  # the message of a valid document of a foreign issuer, not a status


@dataclass
class Verdict:
    status: str
    document: Document | None = None
    signer: str = ""  # the signing certificate's subject, as the file states it
    signed_at: datetime | None = None
    foreign: TrustedIssuer | None = None
    title: str = ""  # a foreign document's own title (the PDF's metadata)


def status_of(document: Document) -> str:
    if document.revoked_at is not None:
        return REVOKED
    if document.expires_at is not None and document.expires_at <= timezone.now():
        return EXPIRED
    return VALID


def verify_code(code: str) -> Verdict:
    document = Document.objects.select_related("institution").filter(code=code).first()
    if document is None:
        return Verdict(status=NOT_FOUND)
    return Verdict(status=status_of(document), document=document, signed_at=document.valid_from)


def _foreign_roots() -> dict:
    roots = {}
    for issuer in TrustedIssuer.objects.filter(removed_at__isnull=True).exclude(certificate_pem=""):
        data = issuer.certificate_pem.encode()
        if asn1_pem.detect(data):
            data = asn1_pem.unarmor(data)[2]
        roots[issuer] = asn1_x509.Certificate.load(data)
    return roots


def verify_pdf(data: bytes) -> Verdict:
    return pdf.outside_event_loop(_verify_pdf, data)


def _verify_pdf(data: bytes) -> Verdict:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as error:
        logger.info("An uploaded file could not be read as a PDF: %r", error)
        return Verdict(status=UNREADABLE)
    if not signatures:
        return Verdict(status=NOT_SIGNED)
    signature = signatures[-1]
    foreign = _foreign_roots()
    roots = [keys.asn1(ca) for ca in keys.authorities()] + list(foreign.values())
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(signature, signer_validation_context=context, skip_diff=True)
    except Exception as error:
        logger.info("A PDF signature could not be validated: %r", error)
        return Verdict(status=TAMPERED)
    subject = status.signing_cert.subject if status.signing_cert else None
    signer = (subject.native.get("common_name") or subject.human_friendly) if subject else ""
    timestamp = status.timestamp_validity
    signed_at = timestamp.timestamp if timestamp is not None else status.signer_reported_dt
    verdict = Verdict(status=VALID, signer=signer, signed_at=signed_at)
    if not (status.intact and status.valid) or status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        verdict.status = TAMPERED
        return verdict
    if not status.trusted:
        verdict.status = UNKNOWN_ISSUER
        return verdict
    issuer = status.signing_cert.issuer
    verdict.foreign = next((trusted for trusted, root in foreign.items() if root.subject == issuer), None)
    if verdict.foreign is not None:
        info = reader.trailer_view.get("/Info")
        verdict.title = str(info.get_object().get("/Title", "")) if info is not None else ""
        return verdict
    file = (
        DocumentFile.objects.select_related("document__institution")
        .filter(sha256=hashlib.sha256(data).hexdigest())
        .first()
    )
    if file is None:
        # Signed by one of our institutions, yet not a file we handed out: we cannot vouch for what it says.
        verdict.status = NOT_FOUND
        return verdict
    verdict.document = file.document
    verdict.status = status_of(file.document)
    return verdict


MESSAGES = {
    VALID: gettext_lazy("Valid: the document is authentic, unchanged, in force and not revoked."),
    FOREIGN_VALID: gettext_lazy(
        "Authentic: the document is unchanged and signed by a trusted foreign issuer. Whether it was revoked is "
        "known only to its issuer."
    ),
    TAMPERED: gettext_lazy(
        "Altered: this file was changed after it was signed, or its signature is broken. Do not rely on it; "
        "ask the holder for the original or check the code."
    ),
    REVOKED: gettext_lazy("Revoked: the issuing institution withdrew this document."),
    EXPIRED: gettext_lazy("Expired: this document is authentic but no longer in force."),
    UNKNOWN_ISSUER: gettext_lazy(
        "Unknown issuer: the file is signed, but not by an issuer on this platform's trust list."
    ),
    NOT_SIGNED: gettext_lazy(
        "Not signed: this PDF carries no electronic signature, so nothing vouches for it."
    ),
    UNREADABLE: gettext_lazy(
        "This file is not a PDF that can be read. Upload the PDF exactly as you received it."
    ),
    NOT_FOUND: gettext_lazy(
        "Not found: no document has this code. Check it letter by letter; codes never contain 0, 1, I, L or O."
    ),
}


def message_for(status: str, *, revocation_known: bool = True) -> str:
    """What to tell a person about a verdict, a PDF's or a credential's."""
    return str(MESSAGES[FOREIGN_VALID if status == VALID and not revocation_known else status])
