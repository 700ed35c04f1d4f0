from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field


class FieldIn(Schema):
    key: str = Field(description="Lower-case letters, digits and _; the claim's name in a credential.")
    label_es: str
    label_en: str
    value: str | list[str]


class DocumentIn(Schema):
    institution: str = Field(description="Code of the issuing institution, e.g. ATTT.")
    kind: Literal["certificate", "permit", "licence", "receipt"]
    reference: str = Field(
        max_length=80,
        description="Your reference for it: issuing the same reference again answers the first.",
    )
    holder: str = Field(
        description='A cédula, a RUC ("155612345-2-2021 DV 45") or "user:<id>" / "business:<id>".'
    )
    holder_name: str
    holder_identifier: str = ""
    title_es: str
    title_en: str
    fields: list[FieldIn] = []
    language: Literal["es", "en"] = "es"
    valid_from: datetime | None = None
    expires_at: datetime | None = None


class FieldOut(Schema):
    key: str
    label_es: str
    label_en: str
    value: str | list[str]


class DocumentOut(Schema):
    code: str
    kind: str
    status: str
    institution: str
    institution_name: str
    holder_name: str
    holder_identifier: str
    title_es: str
    title_en: str
    fields: list[FieldOut]
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str
    verification_url: str


class DocumentDetailOut(DocumentOut):
    reference: str
    holder: str
    history: list[dict]


class DocumentPage(Schema):
    items: list[DocumentOut]
    next: str | None


class RevokeIn(Schema):
    reason: str = Field(min_length=1, max_length=1000)


class ShareIn(Schema):
    days: int = Field(7, description="How long the link works, 1 to 30 days.")


class ShareOut(Schema):
    url: str
    expires_at: datetime


class CredentialIn(Schema):
    holder_key: dict | None = Field(
        None, description="The holder's public JWK, to bind the credential to it."
    )


class CredentialOut(Schema):
    format: str
    credential: str


class SignedFacts(Schema):
    """What the verified document shows, nothing more."""

    code: str
    kind: str
    title_es: str
    title_en: str
    institution: str
    institution_name: str
    holder_name: str
    holder_identifier: str
    fields: list[FieldOut]
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str


class ForeignIssuerOut(Schema):
    country: str
    name: str


class VerdictOut(Schema):
    status: Literal[
        "valid", "tampered", "revoked", "expired", "unknown_issuer", "not_signed", "unreadable", "not_found"
    ]
    message: str
    document: SignedFacts | None
    signer: str
    signed_at: datetime | None
    foreign_issuer: ForeignIssuerOut | None
    title: str


class PresentationIn(Schema):
    presentation: str = Field(description="The SD-JWT VC as presented: JWT~disclosure~…~[key binding JWT].")


class CredentialVerdictOut(Schema):
    status: Literal["valid", "tampered", "revoked", "expired", "unknown_issuer", "unreadable"]
    message: str
    issuer: str
    issuer_name: str
    country: str
    vct: str
    disclosed: dict
    status_checked: bool


class TrustedIssuerOut(Schema):
    country: str
    name: str
    kind: Literal["platform", "foreign"]
    institution: str | None
    credential_issuer: str | None
    certificates: list[str]
    jwks: dict


class TrustListOut(Schema):
    authorities: list[str] = Field(
        description="The platform's CA certificates (PEM): trust these to check its PDFs."
    )
    timestamp_authority: str
    issuers: list[TrustedIssuerOut]
