"""The documents API. Institutions' systems issue signed documents and revoke them; holders list theirs, download
them, share them and take them as verifiable credentials; anyone verifies a PDF, a code or a credential, and reads
the status lists and the trust list."""

import functools

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Header, Query, Router
from ninja.files import UploadedFile

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core import idempotency, paging
from ventanilla.core.identifiers import as_uuid
from ventanilla.identity.auth import TokenAuth
from ventanilla.identity.selectors import actor_for, keys_of_person

from . import credentials, keys, pdf, selectors, services, verification
from .models import Document, StatusList
from .schemas import (
    CredentialIn,
    CredentialOut,
    CredentialVerdictOut,
    DocumentDetailOut,
    DocumentIn,
    DocumentPage,
    PresentationIn,
    RevokeIn,
    ShareIn,
    ShareOut,
    TrustListOut,
    VerdictOut,
)

INSTITUTIONS, HOLDERS, VERIFIERS = "Documents: institutions", "Documents: holders", "Documents: verification"
MAX_UPLOAD = 10 * 1024 * 1024
router = Router(auth=TokenAuth())


def refusals(view):
    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except services.DocumentError as error:
            status = {"conflict": 409, "not_found": 404}.get(error.code, 422)
            errors = [{"field": name, "message": str(message)} for name, message in error.fields.items()]
            return JsonResponse({"detail": str(error), "code": error.code, "errors": errors}, status=status)

    return answer


def facts(document: Document) -> dict:
    return {
        "code": document.code,
        "kind": document.kind,
        "title_es": document.title_es,
        "title_en": document.title_en,
        "institution": document.institution.code,
        "institution_name": document.institution.name_es,
        "holder_name": document.holder_name,
        "holder_identifier": document.holder_identifier,
        "fields": document.fields,
        "issued_at": document.valid_from,
        "expires_at": document.expires_at,
        "revoked_at": document.revoked_at,
        "revocation_reason": document.revocation_reason,
    }


def _document(document: Document) -> dict:
    return {
        **facts(document),
        "status": verification.status_of(document),
        "verification_url": pdf.verification_url(document.code),
    }


def _detail(document: Document) -> dict:
    return {
        **_document(document),
        "reference": document.source,
        "holder": document.holder,
        "history": [
            {"kind": event.kind, "at": event.at, "actor": event.actor, "text": event.text}
            for event in selectors.history_of(document)
        ],
    }


def _visible(request, code: str) -> Document:
    """The holder's document, or one the caller's institution issued; anything else is "not found"."""
    code = services.normalize_code(code)
    document = selectors.document_of_holder(keys_of_person(request.auth), code)
    if document is None:
        document = selectors.document_by_code(code)
        if document is None or not selectors.may_see_issued(request.auth, document.institution):
            raise Http404(_("There is no such document."))
    return document


# --- Institutions --------------------------------------------------------------------------------------------


@router.post(
    "/documents",
    response={200: DocumentDetailOut, 201: DocumentDetailOut},
    tags=[INSTITUTIONS],
    summary="Issue a signed document",
    description=(
        "Renders the document in `language`, signs it PAdES with the institution's certificate and a timestamp, "
        "and files it for the holder. 201 when issued; the same `reference` again with the same contents answers "
        "200 with the first, with other contents 409."
    ),
)
@refusals
def issue(request, body: DocumentIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    status, answer, replayed = idempotency.once(
        owner=f"user:{request.auth.public_id}",
        scope="documents.issue",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        produce=lambda: _issue(request, body),
    )
    return idempotency.answered(answer, status=status, replayed=replayed)


def _issue(request, body: DocumentIn) -> tuple[int, dict]:
    institution = catalogue.institution_by_code(body.institution.strip().upper())
    if institution is None:
        raise Http404(_("There is no institution with the code %(code)s.") % {"code": body.institution})
    if not selectors.may_manage(request.auth, institution):
        raise PermissionDenied(
            _("Only the integrators and supervisors of %(institution)s may do this.")
            % {"institution": institution.code}
        )
    document, created = services.issue_document(
        institution=institution,
        data=services.DocumentIn(
            kind=body.kind,
            holder=body.holder,
            holder_name=body.holder_name,
            holder_identifier=body.holder_identifier,
            title_es=body.title_es,
            title_en=body.title_en,
            source=body.reference,
            fields=[item.model_dump() for item in body.fields],
            language=body.language,
            valid_from=body.valid_from,
            expires_at=body.expires_at,
        ),
        actor=actor_for(request.auth, channel="api"),
    )
    return (201 if created else 200), DocumentDetailOut(**_detail(document)).model_dump(mode="json")


@router.post(
    "/documents/{code}/revoke",
    response=DocumentDetailOut,
    tags=[INSTITUTIONS],
    summary="Revoke a document and its credentials",
)
@refusals
def revoke(request, code: str, body: RevokeIn):
    document = _visible(request, code)
    if not selectors.may_manage(request.auth, document.institution):
        raise PermissionDenied(_("Only the issuing institution's supervisors and integrators may revoke it."))
    document = services.revoke_document(
        document=document, reason=body.reason, actor=actor_for(request.auth, channel="api")
    )
    return _detail(document)


# --- Holders (and issuers reading what they issued) ----------------------------------------------------------


@router.get(
    "/documents",
    response=DocumentPage,
    tags=[HOLDERS],
    summary="Your documents, newest first (or, with ?institution=, what it issued)",
)
def list_documents(
    request,
    institution: str = Query(""),
    after: str = Query("", max_length=200),
    page_size: int = Query(20, ge=1, le=100),
):
    if institution:
        issuer = catalogue.institution_by_code(institution.strip().upper())
        if issuer is None or not selectors.may_see_issued(request.auth, issuer):
            raise PermissionDenied(
                _("Only the officials and integrators of %(institution)s may do this.")
                % {"institution": institution}
            )
        found = selectors.issued_by(issuer)
    else:
        found = selectors.documents_of(keys_of_person(request.auth))
    return paging.api_page(found, after=after, size=page_size, render=_document)


@router.get(
    "/documents/{code}", response=DocumentDetailOut, tags=[HOLDERS], summary="One document, with its history"
)
def get_document(request, code: str):
    return _detail(_visible(request, code))


@router.get(
    "/documents/{code}/pdf",
    tags=[HOLDERS],
    summary="The signed PDF",
    response={200: None},
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
@refusals
def download(request, code: str, language: str = Query("es")):
    document = _visible(request, code)
    file = services.signed_file(
        document=document, language=language, actor=actor_for(request.auth, channel="api")
    )
    response = HttpResponse(bytes(file.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.code}-{language}.pdf"'
    return response


def _holders_own(request, code: str) -> Document:
    document = selectors.document_of_holder(keys_of_person(request.auth), services.normalize_code(code))
    if document is None:
        raise Http404(_("There is no such document."))
    return document


@router.post(
    "/documents/{code}/share",
    response={201: ShareOut},
    tags=[HOLDERS],
    summary="A link that shows the document until it expires",
    description="Send an `Idempotency-Key`: a retry with the same key answers the same link.",
)
@refusals
def share(
    request, code: str, body: ShareIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    document = _holders_own(request, code)

    def produce() -> dict:
        link = services.share_document(
            document=document, days=body.days, actor=actor_for(request.auth, channel="api")
        )
        url = settings.VENTANILLA_PUBLIC_URL + reverse("documents:shared", kwargs={"token": link.token})
        return {"url": url, "expires_at": link.expires_at.isoformat()}

    return idempotency.respond(
        owner=f"user:{request.auth.public_id}",
        scope=f"documents.share:{document.code}",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=201,
        produce=produce,
    )


@router.post(
    "/documents/{code}/credentials",
    response={201: CredentialOut},
    tags=[HOLDERS],
    summary="The document as an SD-JWT verifiable credential",
    description=(
        "Every fact is selectively disclosable. Each call issues a fresh credential (new salts, its own status "
        "entry), so that copies shown to different verifiers cannot be linked. Send your wallet's public key as `holder_key` to bind the "
        "credential to it. The issuer's keys are at /.well-known/jwt-vc-issuer/issuers/<CODE>; revocation is "
        "published in the status list the credential names."
    ),
)
@refusals
def credential(request, code: str, body: CredentialIn):
    issued = services.issue_credential(
        document=_holders_own(request, code),
        holder_key=body.holder_key,
        actor=actor_for(request.auth, channel="api"),
    )
    return JsonResponse({"format": credentials.TYP, "credential": issued}, status=201)


# --- Verification: no credentials needed ---------------------------------------------------------------------


def verdict_json(verdict: verification.Verdict) -> dict:
    return {
        "status": verdict.status,
        "message": verification.message_for(verdict.status, revocation_known=verdict.foreign is None),
        "document": facts(verdict.document) if verdict.document is not None else None,
        "signer": verdict.signer,
        "signed_at": verdict.signed_at,
        "foreign_issuer": {"country": verdict.foreign.country, "name": verdict.foreign.name}
        if verdict.foreign
        else None,
        "title": verdict.title,
    }


@router.get(
    "/verify/{code}", response=VerdictOut, tags=[VERIFIERS], summary="Check a verification code", auth=None
)
def verify_code(request, code: str):
    return verdict_json(verification.verify_code(services.normalize_code(code)))


@router.post(
    "/verify",
    response=VerdictOut,
    tags=[VERIFIERS],
    summary="Check a signed PDF",
    description="Upload the PDF as `file` (multipart). Answers valid, tampered, revoked, expired, unknown_issuer, not_signed or unreadable.",
    auth=None,
)
def verify_file(request, file: File[UploadedFile]):
    if file.size > MAX_UPLOAD:
        return JsonResponse(
            {"detail": _("The file is larger than 10 MB: no document of ours is.")}, status=413
        )
    return verdict_json(verification.verify_pdf(file.read()))


@router.post(
    "/verify/credential",
    response=CredentialVerdictOut,
    tags=[VERIFIERS],
    summary="Check a presented SD-JWT VC",
    auth=None,
)
def verify_credential(request, body: PresentationIn):
    verdict = credentials.verify_presentation(body.presentation)
    return {
        "status": verdict.status,
        "message": verification.message_for(verdict.status, revocation_known=verdict.status_checked),
        "issuer": verdict.issuer,
        "issuer_name": verdict.issuer_name,
        "country": verdict.country,
        "vct": verdict.vct,
        "disclosed": verdict.disclosed,
        "status_checked": verdict.status_checked,
    }


@router.get(
    "/status-lists/{list_id}",
    tags=[VERIFIERS],
    summary="A Token Status List (statuslist+jwt)",
    auth=None,
    url_name="status_list",
    response={200: None},
    openapi_extra={"responses": {200: {"content": {"application/statuslist+jwt": {}}}}},
)
def status_list(request, list_id: str):
    found = StatusList.objects.select_related("institution").filter(id=as_uuid(list_id)).first()
    if found is None:
        raise Http404(_("There is no such status list."))
    response = HttpResponse(credentials.status_list_jwt(found), content_type="application/statuslist+jwt")
    response["Cache-Control"] = f"public, max-age={credentials.STATUS_LIST_TTL}"
    return response


@router.get(
    "/trust-list",
    response=TrustListOut,
    tags=[VERIFIERS],
    summary="The issuers this platform trusts",
    auth=None,
)
def trust_list(request):
    issuers = [
        {
            "country": settings.VENTANILLA_COUNTRY,
            "name": institution.name_es,
            "kind": "platform",
            "institution": institution.code,
            "credential_issuer": credentials.issuer_id(institution),
            "certificates": [certificate.pem for certificate in certificates],
            "jwks": credentials.issuer_metadata(institution)["jwks"],
        }
        for institution, certificates in selectors.platform_issuers().items()
    ]
    issuers += [
        {
            "country": issuer.country,
            "name": issuer.name,
            "kind": "foreign",
            "institution": None,
            "credential_issuer": issuer.credential_issuer or None,
            "certificates": [issuer.certificate_pem] if issuer.certificate_pem else [],
            "jwks": issuer.jwks,
        }
        for issuer in selectors.trusted_foreign_issuers()
    ]
    return {
        "authorities": [authority.pem for authority in keys.authorities()],
        "timestamp_authority": keys.tsa().pem,
        "issuers": issuers,
    }
