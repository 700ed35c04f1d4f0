"""Reads of the documents app, and who may see what: a holder sees what was issued to them (under their account,
their cédula or their business's RUC); an institution's officials and integrators see what it issued; anyone with
the verification code or a live share link sees what the document itself shows."""

from django.utils import timezone

from ventanilla.cases import selectors as cases
from ventanilla.identity.oidc.selectors import integrator_institution_ids

from .models import Certificate, Document, DocumentFile, ShareLink, TrustedIssuer

MANAGER = "supervisor"  # the official role that may issue and revoke in its institution's name


def _documents():
    return Document.objects.select_related("institution")


def documents_of(keys: set[str]):
    return _documents().filter(holder__in=keys)


def document_of_holder(keys: set[str], code: str) -> Document | None:
    """The holder's document, or None: another person's is answered exactly like one that does not exist."""
    return documents_of(keys).filter(code=code).first()


def document_by_code(code: str) -> Document | None:
    return _documents().filter(code=code).first()


def document_for_source(institution, source: str) -> Document | None:
    return _documents().filter(institution=institution, source=source).first()


def file_of(document: Document, language: str) -> DocumentFile | None:
    return DocumentFile.objects.filter(document=document, language=language).first()


def history_of(document: Document):
    return document.events.all()


def share_links_of(document: Document):
    return document.share_links.all()


def live_share_link(token: str) -> ShareLink | None:
    return (
        ShareLink.objects.select_related("document__institution")
        .filter(token=token, withdrawn_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


def may_see_issued(user, institution) -> bool:
    """Officials of the institution, its integrators' tokens and operators see what it issued."""
    if user is None or not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or institution.id in integrator_institution_ids(user)
        or bool(cases.roles_of(user, institution))
    )


def may_manage(user, institution) -> bool:
    """Who issues and revokes in the institution's name: its integrators' systems, its supervisors, operators."""
    if user is None or not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or institution.id in integrator_institution_ids(user)
        or MANAGER in cases.roles_of(user, institution)
    )


def issuing_institutions(user) -> list:
    return [institution for institution, _roles in cases.institutions_of(user)]


def issued_by(institution, *, query: str = ""):
    documents = _documents().filter(institution=institution)
    if query:
        documents = documents.filter(code__icontains=query.strip().upper()) | documents.filter(
            holder_name__icontains=query.strip()
        )
    return documents


def platform_issuers():
    """Institutions with a signing certificate, each with its certificates (current first)."""
    certificates = (
        Certificate.objects.filter(kind=Certificate.Kind.ISSUER, not_after__gt=timezone.now())
        .select_related("institution")
        .order_by("institution__code", "retired_at", "-created_at")
    )
    issuers: dict = {}
    for certificate in certificates:
        issuers.setdefault(certificate.institution, []).append(certificate)
    return issuers


def trusted_foreign_issuers():
    return TrustedIssuer.objects.filter(removed_at__isnull=True)
