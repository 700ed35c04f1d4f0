"""The transaction engine's API: published online services and their definitions, a person's applications (start,
answer, give files, send, follow), and the back office for institutions' own systems."""

import base64
import binascii
import functools
import json
import re
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core import idempotency
from ventanilla.core.i18n import bilingual
from ventanilla.identity.auth import TokenAuth
from ventanilla.identity.oidc.selectors import integrator_institution_ids
from ventanilla.identity.selectors import actor_for
from ventanilla.workflow import engine

from . import definitions, selectors, services
from .models import Case, CaseEvent, ServiceVersion
from .schemas import (
    ActionIn,
    AnswersIn,
    ApplicationDetailOut,
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    BackOfficeCaseOut,
    DefinitionOut,
    EvidenceCreated,
    MessageOut,
    QueuePageOut,
    ServiceDetailOut,
    ServiceOut,
    VersionOut,
    WithdrawIn,
)
from .schemas import EventOut as EventSchema
from .schemas import MessageIn as TextIn

SERVICES, APPLICATIONS, BACK_OFFICE = "Online services", "Applications", "Back office"
YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
CURSOR = re.compile(
    r"^(?P<due>[0-9T:.+\-]{10,40})~(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)

router = Router(auth=TokenAuth())


# --- Refusals ------------------------------------------------------------------------------------------------


def _refusal(status: int, detail: str, errors: list[dict] | None = None) -> JsonResponse:
    body = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def _case_error_status(error: services.CaseError) -> int:
    by_code = {"unknown_action": 404, "forbidden": 403, "invalid_input": 422}
    if error.code in by_code:
        return by_code[error.code]
    # Answers to fix are the caller's to correct (422); otherwise the case's situation rules it out (409).
    return 422 if error.errors else 409


def refusals(view):
    """Answers the engine's refusals as the API root answers every error: detail and field errors."""

    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except services.CaseError as error:
            errors = [{"field": field, "message": str(message)} for field, message in error.errors.items()]
            return _refusal(_case_error_status(error), str(error), errors)
        except definitions.InvalidDefinition as error:
            errors = [{"field": item.path, "message": item.message} for item in error.errors]
            return _refusal(422, _("The definition has problems to fix."), errors)

    return answer


# --- Online services -----------------------------------------------------------------------------------------


def _service(request, version: ServiceVersion) -> dict:
    procedure = version.service.procedure
    resolved = version.resolved or {}
    return {
        "procedure": procedure.code,
        "title_es": procedure.title_es,
        "title_en": procedure.title_en,
        "institution": procedure.institution.code,
        "version": version.number,
        "computed_level": version.computed_level,
        "declared_level": resolved.get("declared_level", procedure.level),
        "sign_in_level": resolved.get("sign_in_level", procedure.sign_in_level),
        "applicant": version.document.get("applicant", "any"),
        "fees": resolved.get("fees", []),
        "published_at": version.published_at,
        "url": request.build_absolute_uri(f"/servicios/{procedure.code}/"),
    }


def _version(version: ServiceVersion, *, with_document: bool = False) -> dict:
    out = {
        "procedure": version.service.procedure.code,
        "version": version.number,
        "status": version.status,
        "computed_level": version.computed_level,
        "created_at": version.created_at,
        "published_at": version.published_at,
    }
    if with_document:
        out.update(document=version.document, source=version.source)
    return out


def _published(code: str) -> ServiceVersion:
    version = selectors.published_version(code)
    if version is None:
        raise Http404(_("There is no published online service for the procedure %(code)s.") % {"code": code})
    return version


def _may_author(user, procedure) -> bool:
    """Operators, the institution's integrators and the catalogue editors who may edit its procedures."""
    if user is None or not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or procedure.institution_id in integrator_institution_ids(user)
        or catalogue.can_edit(user, procedure.institution)
    )


def _authored_procedure(request, code: str):
    procedure = selectors.procedure(code)
    if procedure is None:
        raise Http404(_("There is no procedure with the code %(code)s.") % {"code": code})
    if not _may_author(request.auth, procedure):
        raise PermissionDenied(
            _(
                "Only operators, and the integrators and catalogue editors of %(institution)s, may change "
                "its online services."
            )
            % {"institution": procedure.institution.code}
        )
    return procedure


@router.get(
    "/services",
    response=list[ServiceOut],
    auth=None,
    tags=[SERVICES],
    summary="Published online services, with their digitalisation levels and fees",
)
def list_services(request):
    return [_service(request, version) for version in selectors.published_versions()]


@router.get(
    "/services/schema.json",
    auth=None,
    tags=[SERVICES],
    summary="The JSON Schema of a service definition (format ventanilla.service/1)",
)
def service_schema(request):
    return JsonResponse(definitions.service_schema(), content_type="application/schema+json")


@router.get(
    "/services/{code}",
    response=ServiceDetailOut,
    auth=None,
    tags=[SERVICES],
    summary="One published online service, with its definition",
)
def get_service(request, code: str):
    version = _published(code)
    return {**_service(request, version), "definition": version.document}


@router.get(
    "/services/{code}/definition",
    response=DefinitionOut,
    auth=None,
    tags=[SERVICES],
    summary="The published definition, or version N (drafts: for those who may change the service)",
)
def get_definition(request, code: str, version: int | None = Query(None, ge=1, le=100000)):
    if version is None:
        return _version(_published(code), with_document=True)
    service = selectors.service_for(code)
    found = selectors.version_number(service, version) if service else None
    # A draft is work in progress: shown only to whom may change the service (the token is optional here).
    is_draft = found is not None and found.status == ServiceVersion.Status.DRAFT
    if is_draft and not _may_author(TokenAuth()(request), service.procedure):
        found = None
    if found is None:
        raise Http404(_("The service %(code)s has no version %(n)s.") % {"code": code, "n": version})
    return _version(found, with_document=True)


def _definition_source(request) -> str:
    try:
        source = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise services.CaseError(
            _("The definition must be UTF-8 text."), {"": _("The definition must be UTF-8 text.")}
        ) from None
    if not source.strip():
        message = _(
            "Send the definition in the request body, as JSON or YAML (Content-Type: application/yaml)."
        )
        raise services.CaseError(message, {"": message})
    if request.content_type not in YAML_TYPES:
        try:
            json.loads(source)
        except json.JSONDecodeError as error:
            message = _(
                "This is not valid JSON (line %(line)s, column %(column)s). To send YAML, use the "
                "Content-Type application/yaml."
            ) % {"line": error.lineno, "column": error.colno}
            raise services.CaseError(message, {"": message}) from None
    return source


@router.put(
    "/services/{code}/definition",
    response=DefinitionOut,
    tags=[SERVICES],
    summary="Save a new draft of the definition (JSON, or YAML with Content-Type application/yaml)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
@refusals
def put_definition(request, code: str):
    procedure = _authored_procedure(request, code)
    version = services.save_draft(
        source=_definition_source(request),
        actor=actor_for(request.auth, channel="api"),
        user=request.auth,
        procedure_code=procedure.code,
    )
    return _version(version, with_document=True)


@router.post(
    "/services/{code}/versions/{number}/publish",
    response=VersionOut,
    tags=[SERVICES],
    summary="Publish a draft version (the published one is retired; running cases keep theirs)",
)
@refusals
def publish_version(request, code: str, number: int):
    procedure = _authored_procedure(request, code)
    service = selectors.service_for(procedure.code)
    version = selectors.version_number(service, number) if service else None
    if version is None:
        raise Http404(_("The service %(code)s has no version %(n)s.") % {"code": code, "n": number})
    published = services.publish(
        version=version, actor=actor_for(request.auth, channel="api"), user=request.auth
    )
    return _version(published)


# --- Applications --------------------------------------------------------------------------------------------


def _subject(user) -> str:
    return f"user:{user.public_id}"


def _state_label(case: Case, workflow) -> str:
    if case.stage == Case.Stage.DRAFT or not case.state:
        return str(case.get_stage_display())
    state = workflow.states.get(case.state)
    return bilingual(state.label) if state else case.state


def _application(request, case: Case) -> dict:
    workflow = selectors.definition_of(case.version).workflow
    own = f"/api/v1/applications/{case.reference}"
    is_draft = case.stage == Case.Stage.DRAFT
    return {
        "reference": case.reference,
        "service": case.version.service.procedure.code,
        "institution": case.institution.code,
        "stage": case.stage,
        "stage_label": str(case.get_stage_display()),
        "state": case.state,
        "state_label": _state_label(case, workflow),
        "outcome": case.outcome,
        "created_at": case.created_at,
        "submitted_at": case.submitted_at,
        "state_due_at": case.state_due_at,
        "case_due_at": case.case_due_at,
        "links": {
            "self": request.build_absolute_uri(own),
            "web": request.build_absolute_uri(f"/solicitudes/{case.reference}/"),
            "submit": request.build_absolute_uri(f"{own}/submit") if is_draft else None,
            "evidence": request.build_absolute_uri(f"{own}/evidence") if is_draft else None,
        },
    }


def _event(event: CaseEvent, *, for_official: bool) -> dict:
    return {
        "at": event.at,
        "kind": event.kind,
        "kind_label": str(event.get_kind_display()),
        "by_applicant": event.by_applicant,
        "actor": event.actor_label if for_official else None,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "text": event.text,
        "internal": not event.visible_to_applicant,
    }


def _evidence(case: Case) -> list[dict]:
    return [
        {
            "id": str(item.id),
            "field": item.field_key,
            "requirement": item.requirement_slug,
            "name": item.name,
            "content_type": item.content_type,
            "size": item.size,
            "sha256": item.sha256,
            "uploaded_at": item.uploaded_at,
            "in_response": item.in_response,
        }
        for item in selectors.evidence_of(case)
    ]


def _application_detail(request, case: Case) -> dict:
    state = selectors.definition_of(case.version).workflow.states.get(case.state)
    return {
        **_application(request, case),
        "answers": case.answers,
        "what_next": bilingual(state.description) if state and case.stage != Case.Stage.CLOSED else "",
        "evidence": _evidence(case),
        "history": [
            _event(event, for_official=False) for event in selectors.history(case, for_applicant=True)
        ],
    }


def _token_may_handle(version: ServiceVersion) -> None:
    """A personal API token proves a password-level sign-in at most: services that ask for a second factor or
    an identity checked in person are used from the website, where the session's level is known."""
    level = version.resolved.get("sign_in_level") or version.service.procedure.sign_in_level
    if level not in ("none", "low"):
        raise PermissionDenied(
            _(
                "This service needs a sign-in at level %(level)s, which an API token does not prove: use it "
                "from the website."
            )
            % {"level": level}
        )


def _mine(request, reference: str) -> Case:
    case = selectors.case_for_subject(_subject(request.auth), reference)
    if case is None:
        raise Http404(
            _("You have no application with the reference %(reference)s.") % {"reference": reference}
        )
    _token_may_handle(case.version)
    return case


def _as_json(schema: type[Schema], data: dict) -> dict:
    """The answer as stored for an Idempotency-Key replay."""
    return schema(**data).model_dump(mode="json")


def _start(request, body: ApplicationIn) -> dict:
    user = request.auth
    version = selectors.recently_published_version(body.service)
    if version is None:
        message = _("There is no published online service for the procedure %(code)s.") % {
            "code": body.service
        }
        raise services.CaseError(message, {"service": message})
    if version.document.get("applicant") == "business":
        message = _("This service is for businesses: apply from the web, acting for the business.")
        raise services.CaseError(message, {"service": message})
    _token_may_handle(version)
    actor = actor_for(user, channel="api")
    who = {"subject": _subject(user), "subject_label": str(user), "applicant": user, "filed_by": user}
    if body.submit:
        case = services.start_and_submit(version=version, answers=body.answers or {}, actor=actor, **who)
    else:
        # The Idempotency-Key (see core.idempotency.respond) makes a repeated request one case; no start_key needed.
        case, _created = services.start_case(version=version, start_key="", actor=actor, **who)
        if body.answers:
            case = services.update_answers(case=case, answers=body.answers, actor=actor)
    return _as_json(ApplicationOut, _application(request, case))


@router.post(
    "/applications",
    response={201: ApplicationOut},
    tags=[APPLICATIONS],
    summary="Start an application (and, with submit: true, answer and send it in one request)",
    description=(
        "Send an `Idempotency-Key` header: a retried request with the same key and body gets the first answer "
        "and makes no second application; the same key with another body is refused."
    ),
)
@refusals
def start_application(
    request, body: ApplicationIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    return idempotency.respond(
        owner=_subject(request.auth),
        scope="cases.start",
        key=idempotency_key,
        body=body.model_dump(),
        status=201,
        produce=lambda: _start(request, body),
    )


@router.get("/applications", response=ApplicationPage, tags=[APPLICATIONS], summary="Your applications")
def list_applications(
    request, page: int = Query(1, ge=1, le=10000), page_size: int = Query(20, ge=1, le=100)
):
    offset = (page - 1) * page_size
    rows = list(selectors.cases_of(_subject(request.auth))[offset : offset + page_size + 1])
    return {
        "page": page,
        "page_size": page_size,
        "has_next": len(rows) > page_size,
        "items": [_application(request, case) for case in rows[:page_size]],
    }


@router.get(
    "/applications/{reference}",
    response=ApplicationDetailOut,
    tags=[APPLICATIONS],
    summary="One of your applications: status, deadlines, answers, files and history",
)
def get_application(request, reference: str):
    return _application_detail(request, _mine(request, reference))


@router.patch(
    "/applications/{reference}",
    response=ApplicationDetailOut,
    tags=[APPLICATIONS],
    summary="Answer questions of a draft (merged into the answers given so far)",
)
@refusals
def answer_application(request, reference: str, body: AnswersIn):
    case = services.update_answers(
        case=_mine(request, reference), answers=body.answers, actor=actor_for(request.auth, channel="api")
    )
    return _application_detail(request, case)


@router.post(
    "/applications/{reference}/evidence",
    response={201: EvidenceCreated},
    tags=[APPLICATIONS],
    summary="Upload a file for a file question; then give its id as that question's answer",
)
@refusals
def add_evidence(request, reference: str, field: Form[str], file: File[UploadedFile]):
    evidence = services.add_evidence(
        case=_mine(request, reference),
        field_key=field,
        upload=file,
        actor=actor_for(request.auth, channel="api"),
        user=request.auth,
    )
    return Status(
        201,
        {
            "id": str(evidence.id),
            "field": evidence.field_key,
            "name": evidence.name,
            "content_type": evidence.content_type,
            "size": evidence.size,
        },
    )


@router.post(
    "/applications/{reference}/submit",
    response=ApplicationOut,
    tags=[APPLICATIONS],
    summary="Send a draft application (sending it again returns it unchanged)",
)
@refusals
def submit_application(
    request, reference: str, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    case = _mine(request, reference)

    def produce():
        sent = services.submit(case=case, actor=actor_for(request.auth, channel="api"))
        return _as_json(ApplicationOut, _application(request, sent))

    return idempotency.respond(
        owner=_subject(request.auth),
        scope="cases.submit",
        key=idempotency_key,
        body={"reference": reference},
        status=200,
        produce=produce,
    )


@router.post(
    "/applications/{reference}/withdraw",
    response=ApplicationOut,
    tags=[APPLICATIONS],
    summary="Withdraw an application",
)
@refusals
def withdraw_application(request, reference: str, body: WithdrawIn):
    case = services.withdraw(
        case=_mine(request, reference),
        reason=body.reason,
        actor=actor_for(request.auth, channel="api"),
        user=request.auth,
    )
    return _application(request, case)


@router.post(
    "/applications/{reference}/messages",
    response={201: MessageOut},
    tags=[APPLICATIONS],
    summary="Write to the institution about a sent application",
)
@refusals
def write_message(request, reference: str, body: TextIn):
    event = services.post_message(
        case=_mine(request, reference),
        text=body.text,
        by_applicant=True,
        actor=actor_for(request.auth, channel="api"),
        user=request.auth,
    )
    return Status(201, {"at": event.at, "text": event.text})


# --- Back office ---------------------------------------------------------------------------------------------


def _queue_item(case: Case, workflow=None) -> dict:
    workflow = workflow or selectors.definition_of(case.version).workflow
    state = workflow.states.get(case.state)
    now = timezone.now()
    return {
        "reference": case.reference,
        "service": case.version.service.procedure.code,
        "state": case.state,
        "state_label": bilingual(state.label) if state else case.state,
        "queue_role": case.queue_role,
        "assigned_to": case.assigned_to.get_username() if case.assigned_to_id else None,
        "subject_label": case.subject_label,
        "submitted_at": case.submitted_at,
        "state_due_at": case.state_due_at,
        "case_due_at": case.case_due_at,
        "escalated": case.escalated,
        "late": case.escalated or bool(case.state_due_at and case.state_due_at < now),
    }


def _official_case(request, reference: str) -> Case:
    case = selectors.case_for_official(request.auth, reference)
    if case is None:
        raise Http404(
            _("No case with the reference %(reference)s is handled where you hold a role.")
            % {"reference": reference}
        )
    return case


def _back_office_case(case: Case, user) -> dict:
    workflow = selectors.definition_of(case.version).workflow
    roles = selectors.roles_of(user, case.institution_id)
    actions = (
        engine.available_actions(workflow, case.state, roles=roles, answers=case.answers)
        if case.stage == Case.Stage.OPEN
        else []
    )
    return {
        **_queue_item(case, workflow),
        "stage": case.stage,
        "outcome": case.outcome,
        "institution": case.institution.code,
        "answers": case.answers,
        "evidence": _evidence(case),
        "history": [
            _event(event, for_official=True) for event in selectors.history(case, for_applicant=False)
        ],
        "actions": [
            {
                "key": action.key,
                "label": bilingual(action.label),
                "kind": action.kind,
                "inputs": [
                    {
                        "key": item.key,
                        "type": item.type,
                        "label": bilingual(item.label),
                        "required": item.required,
                    }
                    for item in action.inputs
                ],
            }
            for action in actions
        ],
    }


def _queue_institution(user, code: str | None):
    held = selectors.institutions_of(user)
    if not held:
        raise PermissionDenied(_("You hold no role in any institution's back office."))
    if code:
        for institution, roles in held:
            if institution.code == code:
                return institution, roles
        raise Http404(_("You hold no role in an institution with the code %(code)s.") % {"code": code})
    if len(held) > 1:
        message = _("You work for several institutions: say which one with `institution`.")
        raise services.CaseError(message, {"institution": message})
    return held[0]


def _cursor_out(cursor: str | None) -> str | None:
    """Opaque and URL-safe (the selector's cursor holds a timestamp with a "+")."""
    return base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=") if cursor else None


def _cursor_in(after: str | None) -> str | None:
    if not after:
        return None
    try:
        cursor = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
        match = CURSOR.match(cursor)
        datetime.fromisoformat(match["due"])
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        message = _("This is not a cursor this API gave: pass the `next` value of the previous page.")
        raise services.CaseError(message, {"after": message}) from None
    return cursor


@router.get(
    "/back-office/cases",
    response=QueuePageOut,
    tags=[BACK_OFFICE],
    summary="Open cases of your institution for your roles, most urgent first (cursor paging)",
)
@refusals
def back_office_queue(
    request,
    institution: str | None = Query(None, max_length=40),
    role: str | None = Query(None, max_length=60),
    state: str | None = Query(None, max_length=60),
    late: bool = False,
    mine: bool = False,
    service: str | None = Query(None, max_length=80),
    after: str | None = Query(None, max_length=100),
    limit: int = Query(selectors.PAGE_SIZE, ge=1, le=100),
):
    where, roles = _queue_institution(request.auth, institution)
    page = selectors.queue(
        institution=where,
        roles=roles,
        user=request.auth,
        role=role or None,
        state=state or None,
        breached=late,
        mine=mine,
        service=service or None,
        after=_cursor_in(after),
        limit=limit,
    )
    return {"items": [_queue_item(case) for case in page.cases], "next": _cursor_out(page.next_cursor)}


@router.get(
    "/back-office/cases/{reference}",
    response=BackOfficeCaseOut,
    tags=[BACK_OFFICE],
    summary="A case of your institution: answers, files, the whole history with notes, what you may do",
)
def back_office_case(request, reference: str):
    return _back_office_case(_official_case(request, reference), request.auth)


@router.post(
    "/back-office/cases/{reference}/actions/{action}",
    response=BackOfficeCaseOut,
    tags=[BACK_OFFICE],
    summary="Take an action of the case's workflow (409 when the case moved on since `expected_state`)",
)
@refusals
def back_office_act(request, reference: str, action: str, body: ActionIn):
    case = services.act(
        case=_official_case(request, reference),
        action_key=action,
        inputs=body.inputs,
        official=request.auth,
        actor=actor_for(request.auth, channel="api"),
        expected_state=body.expected_state,
    )
    return _back_office_case(case, request.auth)


@router.post(
    "/back-office/cases/{reference}/notes",
    response={201: EventSchema},
    tags=[BACK_OFFICE],
    summary="Add an internal note (officials see it; the applicant does not)",
)
@refusals
def back_office_note(request, reference: str, body: TextIn):
    event = services.add_note(
        case=_official_case(request, reference),
        text=body.text,
        official=request.auth,
        actor=actor_for(request.auth, channel="api"),
    )
    return Status(201, _event(event, for_official=True))


@router.post(
    "/back-office/cases/{reference}/messages",
    response={201: EventSchema},
    tags=[BACK_OFFICE],
    summary="Write to the applicant (it shows on their case, and they can answer)",
)
@refusals
def back_office_message(request, reference: str, body: TextIn):
    event = services.post_message(
        case=_official_case(request, reference),
        text=body.text,
        by_applicant=False,
        actor=actor_for(request.auth, channel="api"),
        user=request.auth,
    )
    return Status(201, _event(event, for_official=True))
