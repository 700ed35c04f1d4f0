from datetime import date, datetime
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status

from ventanilla.identity.auth import TokenAuth
from ventanilla.identity.selectors import actor_for

from . import opendata, search, selectors, services
from .schemas import ProcedureDoc

router = Router(tags=["catalogue"])


class ProcedureSummary(Schema):
    code: str
    title_es: str
    title_en: str
    institution: str
    institution_name_es: str
    institution_name_en: str
    level: int
    audience: str
    url: str


class ProcedurePage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ProcedureSummary]


class ProcedureOut(ProcedureDoc):
    status: str
    url: str
    updated_at: datetime


class SearchFilters(Schema):
    q: str = Field("", max_length=200)
    institution: str | None = Field(None, max_length=40)
    level: int | None = Field(None, ge=1, le=5)
    audience: str | None = Field(None, pattern="^(citizen|business)$")
    topic: str | None = Field(None, max_length=60)
    page: int = Field(1, ge=1, le=10000)
    page_size: int = Field(20, ge=1, le=100)


class Suggestion(Schema):
    code: str
    title_es: str
    title_en: str


class ChangeLogOut(Schema):
    at: datetime
    justification: str
    summary: list[dict]


class InstitutionOut(Schema):
    code: str
    kind: str
    acronym: str
    name_es: str
    name_en: str
    website: str
    email: str
    phone: str
    province: str
    channels: list[str]
    published_count: int = 0


class ChangeRequestIn(Schema):
    procedure: ProcedureDoc | None = Field(
        None, description="The procedure as it should be (new or changed)."
    )
    withdraw: str | None = Field(None, description="Code of a procedure to withdraw, instead of `procedure`.")
    justification: str = Field(description="Why the change is needed (at least 20 characters).")


class ChangeRequestOut(Schema):
    id: UUID
    kind: str
    status: str
    code: str
    institution: str
    justification: str
    changes: list[dict]
    submitted_at: datetime
    review_note: str

    @staticmethod
    def resolve_code(obj):
        return obj.proposed.get("code", "")

    @staticmethod
    def resolve_institution(obj):
        return obj.institution.code


class ReviewIn(Schema):
    note: str = ""


class UnlistedReportIn(Schema):
    office: str = Field(max_length=200)
    document: str = Field(max_length=300)
    asked_on: date
    contact_email: str = Field("", max_length=254)


class UnlistedReportOut(Schema):
    reference: str
    procedure: str
    institution: str
    status: str

    @staticmethod
    def resolve_procedure(obj):
        return obj.procedure.code

    @staticmethod
    def resolve_institution(obj):
        return obj.institution.code


def _procedure_url(request, code: str) -> str:
    return request.build_absolute_uri(f"/tramites/{code}/")


def _summary(request, procedure) -> dict:
    return {
        "code": procedure.code,
        "title_es": procedure.title_es,
        "title_en": procedure.title_en,
        "institution": procedure.institution.code,
        "institution_name_es": procedure.institution.name_es,
        "institution_name_en": procedure.institution.name_en,
        "level": procedure.level,
        "audience": procedure.audience,
        "url": _procedure_url(request, procedure.code),
    }


def _published(code: str):
    procedure = selectors.procedure_detail(code)
    if procedure is None:
        raise Http404(_("There is no published procedure with the code %(code)s.") % {"code": code})
    return procedure


@router.get("/procedures", response=ProcedurePage, summary="Search and list published procedures")
def list_procedures(request, filters: Query[SearchFilters]):
    found = search.search(
        q=filters.q,
        institution=filters.institution,
        level=filters.level,
        audience=filters.audience,
        topic=filters.topic,
        limit=filters.page_size,
        offset=(filters.page - 1) * filters.page_size,
    )
    items = [_summary(request, p) for p in selectors.procedures_by_ids(found.ids)]
    return {"total": found.total, "page": filters.page, "page_size": filters.page_size, "items": items}


@router.get("/procedures/suggest", response=list[Suggestion], summary="Suggestions as you type")
def suggest(request, q: str = Query("", max_length=100)):
    return search.suggest(q=q, limit=8)


@router.get("/procedures/{code}", response=ProcedureOut, summary="One published procedure, in full")
def get_procedure(request, code: str):
    procedure = _published(code)
    return {
        **selectors.procedure_document(procedure),
        "status": procedure.status,
        "url": _procedure_url(request, code),
        "updated_at": procedure.updated_at,
    }


@router.get(
    "/procedures/{code}/changes", response=list[ChangeLogOut], summary="The procedure's public change log"
)
def procedure_changes(request, code: str):
    return list(selectors.change_log(_published(code)))


@router.post(
    "/procedures/{code}/unlisted-document-reports",
    response={201: UnlistedReportOut},
    summary="Report being asked for a document the catalogue does not list",
)
def report_unlisted(
    request,
    code: str,
    body: UnlistedReportIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=64),
):
    report = services.report_unlisted_document(
        procedure=_published(code),
        office=body.office,
        document=body.document,
        asked_on=body.asked_on,
        contact_email=body.contact_email,
        idempotency_key=idempotency_key,
        actor=actor_for(request.user, channel="api"),
    )
    return Status(201, report)


@router.get(
    "/institutions", response=list[InstitutionOut], summary="Every institution with its published count"
)
def list_institutions(request):
    return list(selectors.institutions_with_counts())


@router.get("/institutions/{code}", response=InstitutionOut, summary="One institution")
def get_institution(request, code: str):
    institution = selectors.institutions_with_counts().filter(code=code).first()
    if institution is None:
        raise Http404(_("There is no institution with the code %(code)s.") % {"code": code})
    return institution


@router.get(
    "/change-requests",
    response=list[ChangeRequestOut],
    auth=TokenAuth(),
    summary="Change requests you may see (reviewers: all; editors: their institutions')",
)
def list_change_requests(request, status: str | None = Query(None, pattern="^(pending|approved|rejected)$")):
    queryset = selectors.change_requests(status=status)
    if not selectors.can_review(request.user):
        queryset = queryset.filter(institution__in=selectors.institutions_answerable_by(request.user))
    return list(queryset[:200])


@router.post(
    "/change-requests",
    response={201: ChangeRequestOut},
    auth=TokenAuth(),
    summary="Propose a new procedure, a change or a withdrawal",
)
def submit_change_request(request, body: ChangeRequestIn):
    if (body.procedure is None) == (body.withdraw is None):
        raise ValidationError(
            {"procedure": _("Send either `procedure` (new or changed) or `withdraw`, not both.")}
        )
    change = services.submit_change(
        user=request.user,
        actor=actor_for(request.user, channel="api"),
        doc=body.procedure,
        withdraw_code=body.withdraw,
        justification=body.justification,
    )
    return Status(201, change)


def _review(request, change_id: UUID, approve: bool, note: str):
    return services.review_change(
        change_id=change_id,
        user=request.user,
        approve=approve,
        note=note,
        actor=actor_for(request.user, channel="api"),
    )


@router.post(
    "/change-requests/{change_id}/approve",
    response=ChangeRequestOut,
    auth=TokenAuth(),
    summary="Approve and publish (a reviewer other than the proposer)",
)
def approve_change_request(request, change_id: UUID, body: ReviewIn):
    return _review(request, change_id, True, body.note)


@router.post(
    "/change-requests/{change_id}/reject",
    response=ChangeRequestOut,
    auth=TokenAuth(),
    summary="Reject, saying why",
)
def reject_change_request(request, change_id: UUID, body: ReviewIn):
    return _review(request, change_id, False, body.note)


OPEN_DATA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "jsonld": "application/ld+json",
    "ttl": "text/turtle; charset=utf-8",
}


@router.get(
    "/opendata/catalogue.{fmt}",
    summary="The whole catalogue as open data (json, csv, jsonld, ttl)",
    tags=["open data"],
)
def open_data(request, fmt: str):
    if fmt not in OPEN_DATA_TYPES:
        raise Http404(_("Formats: json, csv, jsonld, ttl."))
    snapshot = selectors.open_data_directory() / f"catalogue.{fmt}"
    if not snapshot.exists():
        # Normally written in the background whenever the catalogue changes; until then, this one format.
        opendata.snapshot(snapshot.parent, base_url=settings.VENTANILLA_PUBLIC_URL, formats=[fmt])
    response = FileResponse(snapshot.open("rb"), content_type=OPEN_DATA_TYPES[fmt])
    response["Content-Disposition"] = f'inline; filename="catalogue.{fmt}"'
    return response
