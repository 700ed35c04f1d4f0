"""Every write of the transaction engine: service definitions (draft → published), and cases from the first
answer to the outcome. Each function is one transaction, audited, and announces what happened as an event."""

import hashlib
import os
import re
from datetime import datetime, timedelta
from decimal import Decimal

import filetype
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core import audit, events
from ventanilla.core.actor import Actor
from ventanilla.core.definitions import DefinitionError
from ventanilla.core.i18n import bilingual
from ventanilla.core.references import new_reference
from ventanilla.forms import flow
from ventanilla.forms.components import FieldError, component
from ventanilla.workflow import calendar, engine
from ventanilla.workflow.definition import WITHDRAWN

from . import definitions, levels, selectors
from .models import Case, CaseEvent, Evidence, OfficialRole, Service, ServiceVersion

# Events other apps subscribe to (notify, payments, documents, performance, the contact timeline).
SUBMITTED = "cases.submitted"
MOVED = "cases.moved"
SENT_BACK = "cases.sent_back"
RESPONDED = "cases.responded"
DECIDED = "cases.decided"
WITHDRAWN_EVENT = "cases.withdrawn"
MESSAGE_TO_APPLICANT = "cases.message_to_applicant"
MESSAGE_FROM_APPLICANT = "cases.message_from_applicant"
SLA_BREACHED = "cases.sla_breached"
SERVICE_PUBLISHED = "cases.service_published"
LEVEL_MISMATCH = "cases.level_mismatch"
FEE_REQUESTED = "cases.fee_requested"
FEE_PAID = "cases.fee_paid"

DEFAULT_CASE_DAYS = 30  # working days, when neither the definition nor the catalogue gives a maximum


class CaseError(Exception):
    """A request the case's situation does not allow, said so a person can act on it."""

    def __init__(self, message: str, errors: dict | None = None, *, code: str = ""):
        super().__init__(message)
        self.errors = errors or {}
        # Lets an API choose its status: "conflict" (the case moved on), or a workflow TransitionError code.
        self.code = code


# --- Service definitions -------------------------------------------------------------------------------------


def _check_or_raise(document: dict, procedure) -> None:
    errors = definitions.check(document, procedure=procedure)
    if errors:
        raise definitions.InvalidDefinition(errors)


@transaction.atomic
def save_draft(*, source: str, actor: Actor, user=None, procedure_code: str | None = None) -> ServiceVersion:
    """Check a definition and keep it as its service's draft (the one draft is replaced). Raises
    InvalidDefinition with every problem found."""
    document = definitions.parse_source(source)
    if procedure_code is not None and document.get("procedure") != procedure_code:
        raise definitions.InvalidDefinition(
            [
                DefinitionError(
                    "procedure",
                    _("The definition names procedure %(code)s.") % {"code": document.get("procedure")},
                )
            ]
        )
    procedure = selectors.procedure(str(document.get("procedure", "")))
    _check_or_raise(document, procedure)
    service, _created = Service.objects.get_or_create(procedure=procedure)
    service = Service.objects.select_for_update().get(id=service.id)
    version = selectors.draft_version(service)
    if version is None:
        last = service.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = ServiceVersion(service=service, number=last + 1, created_by=user)
    version.document, version.source = document, source
    version.save()
    audit.record(
        actor=actor,
        action="cases.definition_saved",
        object_type="service",
        object_id=procedure.code,
        data={"version": version.number},
    )
    return version


@transaction.atomic
def publish(*, version: ServiceVersion, actor: Actor, user=None) -> ServiceVersion:
    """Publish a draft: checked again against today's catalogue, its catalogue facts fixed, the previous
    version retired (cases already running on it keep it)."""
    version = (
        ServiceVersion.objects.select_for_update().select_related("service__procedure").get(id=version.id)
    )
    if version.status != ServiceVersion.Status.DRAFT:
        raise CaseError(
            _("Only a draft can be published; this version is already %(status)s.")
            % {"status": version.get_status_display()}
        )
    procedure = selectors.procedure(version.service.procedure.code)
    _check_or_raise(version.document, procedure)
    ServiceVersion.objects.filter(service=version.service, status=ServiceVersion.Status.PUBLISHED).update(
        status=ServiceVersion.Status.RETIRED
    )
    version.status = ServiceVersion.Status.PUBLISHED
    version.resolved = definitions.resolved_for_publication(version.document, procedure=procedure)
    version.computed_level = levels.computed_level(definitions.load(version.document))
    version.published_at, version.published_by = timezone.now(), user
    version.save()
    selectors.forget_recent_versions()
    audit.record(
        actor=actor,
        action="cases.service_published",
        object_type="service",
        object_id=procedure.code,
        data={
            "version": version.number,
            "computed_level": version.computed_level,
            "declared": procedure.level,
        },
    )
    payload = {
        "procedure": procedure.code,
        "version": version.number,
        "computed_level": version.computed_level,
        "declared_level": procedure.level,
    }
    subject = f"institution:{procedure.institution.code}"
    events.emit(SERVICE_PUBLISHED, subject=subject, payload=payload)
    if version.computed_level != procedure.level:
        events.emit(LEVEL_MISMATCH, subject=subject, payload=payload)
    return version


def import_definition(*, source: str, actor: Actor, user=None, publish_now: bool = True) -> ServiceVersion:
    """`ventanilla services import`: save as draft and, unless asked not to, publish. Importing a document
    identical to the published version changes nothing."""
    document = definitions.parse_source(source)
    current = selectors.published_version(str(document.get("procedure", "")))
    if current is not None and current.document == document:
        return current
    with transaction.atomic():
        version = save_draft(source=source, actor=actor, user=user)
        if publish_now:
            version = publish(version=version, actor=actor, user=user)
    return version


# --- Cases: the applicant's side -----------------------------------------------------------------------------


def applicant_context(case: Case) -> dict:
    """What expressions and prefills may read about the applicant."""
    person = case.applicant
    context = {
        "name": person.get_full_name(),
        "email": person.email,
        "phone": person.phone,
        "document_number": person.document_number,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
    }
    if case.subject.startswith("business:"):
        context["business_name"] = case.subject_label
    return context


def _event(case: Case, kind: str, actor: Actor, user=None, **fields) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, kind=kind, actor=user, actor_label=actor.label, channel=actor.channel, **fields
    )


def _payload(case: Case, **extra) -> dict:
    return {
        "reference": case.reference,
        "procedure": case.version.service.procedure.code,
        "institution": case.institution.code,
        "state": case.state,
        "stage": case.stage,
        "applicant": f"user:{case.applicant.public_id}",
        "language": case.applicant.preferred_language,
        **extra,
    }


def _new_case(*, version, subject, subject_label, applicant, filed_by, actor, start_key: str = "") -> Case:
    """An unsaved draft with the answers its form prefills from the applicant's account."""
    if version.status != ServiceVersion.Status.PUBLISHED:
        raise CaseError(_("This service is not open for applications."))
    case = Case(
        version=version,
        institution=version.service.procedure.institution,
        subject=subject,
        subject_label=subject_label[:200],
        applicant=applicant,
        filed_by=filed_by,
        channel=actor.channel,
        start_key=start_key,
    )
    case.answers = flow.initial_answers(selectors.definition_of(version).form, applicant_context(case))
    return case


def _insert(case: Case) -> None:
    """Save a new case under a fresh random reference (drawing again in the rare event one is taken). An
    IntegrityError from anything else (a repeated start_key) is raised."""
    for _attempt in range(5):
        case.reference = new_reference("SOL")
        try:
            with transaction.atomic():
                case.save(force_insert=True)
            return
        except IntegrityError:
            if not Case.objects.filter(reference=case.reference).exists():
                raise
    raise CaseError(_("The case could not be created. Try again."))


def start_case(
    *,
    version: ServiceVersion,
    subject: str,
    subject_label: str,
    applicant,
    filed_by,
    start_key: str,
    actor: Actor,
) -> tuple[Case, bool]:
    """A draft case (no answers yet beyond prefills). The same `start_key` from the same person (a double
    click, a retried request) returns the first case. Returns (case, created)."""
    existing = Case.objects.filter(filed_by=filed_by, start_key=start_key).first() if start_key else None
    if existing is not None:
        return existing, False
    case = _new_case(
        version=version,
        subject=subject,
        subject_label=subject_label,
        applicant=applicant,
        filed_by=filed_by,
        actor=actor,
        start_key=start_key,
    )
    try:
        with transaction.atomic():
            _insert(case)
            _event(case, CaseEvent.Kind.STARTED, actor, filed_by, by_applicant=True)
            audit.record(actor=actor, action="cases.started", object_type="case", object_id=case.reference)
    except IntegrityError:
        # The same start_key committed by a concurrent request (a double click): that case is the one.
        return Case.objects.get(filed_by=filed_by, start_key=start_key), False
    return case, True


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("version__service__procedure", "institution", "applicant")
        .get(id=case.id)
    )


def _require_draft(case: Case) -> None:
    if case.stage != Case.Stage.DRAFT:
        raise CaseError(_("This application has already been sent; it can no longer be changed."))


def store_upload(*, case: Case, field_key: str, upload, user, in_response: bool = False) -> Evidence:
    """Keep one uploaded file as evidence of the requirement its question names."""
    definition = selectors.definition_of(case.version)
    slug = _requirement_of(definition, field_key)
    requirement = case.version.resolved.get("requirements", {}).get(slug, {})
    digest, size = hashlib.sha256(), 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    head = upload.read(261)
    upload.seek(0)
    kind = filetype.guess(head)
    evidence = Evidence(
        case=case,
        field_key=field_key,
        requirement_slug=slug,
        requirement_id=requirement.get("id"),
        name=os.path.basename(upload.name or "file")[:200],
        content_type=kind.mime if kind else "application/octet-stream",
        size=size,
        sha256=digest.hexdigest(),
        uploaded_by=user,
        in_response=in_response,
    )
    evidence.file.save(str(evidence.id), upload, save=False)
    evidence.save(force_insert=True)
    return evidence


def _requirement_of(definition, field_key: str) -> str:
    for page in definition.form.pages:
        for field in page.fields:
            if field.key == field_key and field.type == "file":
                return field.options["requirement"]
    for action in definition.workflow.actions.values():
        if field_key in action.requirements:
            return field_key
    raise CaseError(_("There is no question for documents called %(key)s.") % {"key": field_key})


@transaction.atomic
def save_page(
    *,
    case: Case,
    page_key: str,
    values: dict,
    uploads: dict,
    actor: Actor,
    user,
    resume_at: str | None = None,
) -> Case:
    """Keep the answers of one page (already cleaned by forms.flow.clean_page) and its new files. The draft
    continues at the next page, or at `resume_at` (saved to come back later: the same page)."""
    case = _locked(case)
    _require_draft(case)
    definition = selectors.definition_of(case.version)
    answers = dict(case.answers)
    answers.update(values)
    for field_key, files in uploads.items():
        ids = [
            str(store_upload(case=case, field_key=field_key, upload=upload, user=user).id) for upload in files
        ]
        kept = answers.get(field_key) or [] if _allows_several(definition, field_key) else []
        answers[field_key] = [*kept, *ids] if ids else kept
    case.answers = flow.prune(definition.form, answers)
    following = flow.next_page(definition.form, page_key, case.answers)
    case.current_page = resume_at if resume_at is not None else following.key if following else ""
    case.save(update_fields=["answers", "current_page", "updated_at"])
    return case


def _allows_several(definition, field_key: str) -> bool:
    for page in definition.form.pages:
        for field in page.fields:
            if field.key == field_key:
                return bool(field.options.get("multiple"))
    return False


@transaction.atomic
def add_evidence(*, case: Case, field_key: str, upload, actor: Actor, user) -> Evidence:
    """The API's way to give a file: checked against its question (type by content, size) and kept as
    evidence of the draft; the answers name it by id afterwards (update_answers)."""
    case = _locked(case)
    _require_draft(case)
    field = selectors.definition_of(case.version).form.field(field_key)
    if field is None or field.type != "file":
        raise CaseError(
            _("There is no question for documents called %(key)s.") % {"key": field_key},
            {"field": _("Give the key of a file question of this service.")},
        )
    try:
        component("file").check_upload(field, upload)
    except FieldError as error:
        raise CaseError(error.message, {"file": error.message}) from error
    evidence = store_upload(case=case, field_key=field_key, upload=upload, user=user)
    audit.record(
        actor=actor,
        action="cases.evidence_added",
        object_type="case",
        object_id=case.reference,
        data={"evidence": str(evidence.id), "field": field_key, "sha256": evidence.sha256},
    )
    return evidence


@transaction.atomic
def update_answers(*, case: Case, answers: dict, actor: Actor) -> Case:
    """The API's way to answer: merge JSON values into the draft (validated in full at submission; values
    of the wrong shape are refused now)."""
    case = _locked(case)
    _require_draft(case)
    definition = selectors.definition_of(case.version)
    merged = {**case.answers, **answers}
    values, errors = flow.normalized_answers(definition.form, merged, applicant=applicant_context(case))
    given = {key for key, value in answers.items() if value is not None}
    # Questions not answered yet are for the submission to insist on; what was sent now must be right.
    refused = {path: message for path, message in errors.items() if re.split(r"[.\[]", path)[0] in given}
    if refused:
        raise CaseError(_("Some answers are not valid."), refused)
    own = {str(evidence_id) for evidence_id in case.evidence.values_list("id", flat=True)}
    for field_key, evidence_id in _evidence_answers(definition, merged):
        if evidence_id not in own:
            raise CaseError(
                _("Some answers are not valid."),
                {field_key: _("Upload the file to this application first, then give its id.")},
            )
    case.answers = {**merged, **{key: values[key] for key in given if key in values}}
    case.save(update_fields=["answers", "updated_at"])
    return case


def _evidence_answers(definition, answers: dict):
    return [
        (field_key, evidence_id)
        for field_key, _slug, evidence_id in flow.evidence_ids(definition.form, answers)
    ]


def _deadline(start: datetime, days: int | None, *, cap: datetime | None) -> datetime | None:
    if not days:
        return cap
    due = calendar.add_working_days(start, days)
    return min(due, cap) if cap else due


@transaction.atomic
def submit(*, case: Case, actor: Actor) -> Case:
    """Send the application. Sending it again (a double click, a retry) changes nothing and returns it."""
    case = _locked(case)
    if case.stage != Case.Stage.DRAFT:
        if case.outcome == WITHDRAWN and not case.submitted_at:
            raise CaseError(_("This application was withdrawn before it was sent."))
        return case
    definition = selectors.definition_of(case.version)
    _send(case, definition, case.answers)
    case.current_page = ""
    case.save()
    fetch = case.version.resolved.get("fetch", [])
    _event(
        case,
        CaseEvent.Kind.SUBMITTED,
        actor,
        case.filed_by,
        by_applicant=True,
        to_state=case.state,
        data={"fetch": fetch},
    )
    audit.record(actor=actor, action="cases.submitted", object_type="case", object_id=case.reference)
    events.emit(SUBMITTED, subject=case.subject, payload=_payload(case, fetch=fetch, channel=case.channel))
    _request_fee(case)
    return case


def _send(case: Case, definition, answers: dict) -> None:
    """Check the answers in full and put the case in its workflow's first state, with its deadlines (the case
    is saved by the caller). Raises CaseError listing every answer to fix."""
    values, errors = flow.normalized_answers(definition.form, answers, applicant=applicant_context(case))
    if errors:
        raise CaseError(_("Some answers are missing or need correcting before you can send this."), errors)
    workflow = definition.workflow
    initial = workflow.states[workflow.initial]
    case.answers = values  # as stored: canonical identifiers, E.164 phones, only the questions that count
    case.state, case.queue_role = initial.key, initial.role or ""
    case.submitted_at = timezone.now()
    if due_fee(case.version):
        # Nobody works on it, and no deadline runs, until the fee is paid (see fee_paid).
        case.stage, case.state_entered_at = Case.Stage.AWAITING_PAYMENT, case.submitted_at
        return
    _start_processing(case, workflow, case.submitted_at)


def _start_processing(case: Case, workflow, now: datetime) -> None:
    """Put a sent (and, when it has a fee, paid) case in its first state's queue, with its deadlines."""
    initial = workflow.states[workflow.initial]
    case_days = workflow.case_sla_days or case.version.service.procedure.max_days or DEFAULT_CASE_DAYS
    case.stage, case.state_entered_at = Case.Stage.OPEN, now
    case.case_due_at = calendar.add_working_days(now, case_days)
    case.state_due_at = _deadline(now, initial.sla_days, cap=case.case_due_at)


def due_fee(version: ServiceVersion) -> dict | None:
    """The fee asked for when an application is sent: the catalogue procedure's first fee, when it is more than
    zero. Fees after the first are conditional (stamps, extra copies) and are settled by the institution."""
    fees = version.resolved.get("fees") or []
    return fees[0] if fees and Decimal(fees[0]["amount"]) > 0 else None


def _request_fee(case: Case) -> None:
    """Ask payments for the fee of a case that waits for it (payments raises the obligation the applicant pays)."""
    if case.stage != Case.Stage.AWAITING_PAYMENT:
        return
    fee = due_fee(case.version)
    events.emit(
        FEE_REQUESTED,
        subject=case.subject,
        payload=_payload(
            case, amount=fee["amount"], currency=fee["currency"], subject_label=case.subject_label
        ),
    )


@transaction.atomic
def fee_paid(*, reference: str, receipt: str, actor: Actor) -> Case | None:
    """The case's fee was paid: it goes to its first state's queue and its deadlines start. Only a case waiting
    for payment moves, so a payment announced twice moves it once."""
    case = Case.objects.filter(reference=reference).first()
    if case is None:
        return None
    case = _locked(case)
    if case.stage != Case.Stage.AWAITING_PAYMENT:
        return case
    _start_processing(case, selectors.definition_of(case.version).workflow, timezone.now())
    case.save()
    _event(case, CaseEvent.Kind.PAID, actor, to_state=case.state, text=receipt)
    audit.record(
        actor=actor,
        action="cases.fee_paid",
        object_type="case",
        object_id=case.reference,
        data={"receipt": receipt},
    )
    events.emit(FEE_PAID, subject=case.subject, payload=_payload(case, receipt=receipt))
    return case


@transaction.atomic(savepoint=False)  # one transaction with the caller's (the API's idempotency record)
def start_and_submit(
    *,
    version: ServiceVersion,
    subject: str,
    subject_label: str,
    applicant,
    filed_by,
    answers: dict,
    actor: Actor,
) -> Case:
    """Start, answer and send an application in one go (the API's one-request submission): the same checks and
    records as start_case + update_answers + submit, in one transaction and a third of the queries: the case
    is written once, already sent."""
    definition = selectors.definition_of(version)
    case = _new_case(
        version=version,
        subject=subject,
        subject_label=subject_label,
        applicant=applicant,
        filed_by=filed_by,
        actor=actor,
    )
    merged = {**case.answers, **answers}
    if _evidence_answers(definition, merged):
        # Files are uploaded to a started application first; one request cannot carry them.
        raise CaseError(
            _("Some answers are not valid."),
            {
                key: _("Upload the file to this application first, then give its id.")
                for key, _i in _evidence_answers(definition, merged)
            },
        )
    _send(case, definition, merged)
    fetch = version.resolved.get("fetch", [])
    _insert(case)
    common = {"case": case, "actor": filed_by, "actor_label": actor.label, "channel": actor.channel}
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(kind=CaseEvent.Kind.STARTED, by_applicant=True, **common),
            CaseEvent(
                kind=CaseEvent.Kind.SUBMITTED,
                by_applicant=True,
                to_state=case.state,
                data={"fetch": fetch},
                **common,
            ),
        ]
    )
    events.emit(SUBMITTED, subject=case.subject, payload=_payload(case, fetch=fetch, channel=case.channel))
    _request_fee(case)
    audit.record(
        actor=actor,
        action="cases.submitted",
        object_type="case",
        object_id=case.reference,
        data={"started": True},
    )
    return case


@transaction.atomic
def respond(*, case: Case, message: str, uploads: dict, actor: Actor, user) -> Case:
    """The applicant answers a request for more information; the case goes back to where it was, and the
    time it waited on the applicant does not count against the institution."""
    case = _locked(case)
    if case.stage != Case.Stage.WITH_APPLICANT:
        raise CaseError(_("Nothing has been asked of you on this case."))
    message = (message or "").strip()
    if not message and not uploads:
        raise CaseError(_("Write an answer or attach a document."), {"message": _("Write your answer.")})
    if len(message) > 5000:
        raise CaseError(_("Write at most 5000 characters."), {"message": _("Write at most 5000 characters.")})
    stored = [
        str(store_upload(case=case, field_key=key, upload=upload, user=user, in_response=True).id)
        for key, files in uploads.items()
        for upload in files
    ]
    workflow = selectors.definition_of(case.version).workflow
    now = timezone.now()
    back_to = workflow.states[case.sent_back_from]
    if case.case_due_at and case.waiting_since:
        case.case_due_at = calendar.deadline_after_pause(case.case_due_at, case.waiting_since, now)
    case.stage, case.state, case.queue_role = Case.Stage.OPEN, back_to.key, back_to.role or ""
    case.state_entered_at, case.waiting_since, case.sent_back_from = now, None, ""
    case.state_due_at = _deadline(now, back_to.sla_days, cap=case.case_due_at)
    case.escalated = False
    case.save()
    _event(
        case,
        CaseEvent.Kind.RESPONDED,
        actor,
        user,
        by_applicant=True,
        to_state=back_to.key,
        text=message,
        data={"evidence": stored},
    )
    audit.record(
        actor=actor,
        action="cases.responded",
        object_type="case",
        object_id=case.reference,
        data={"evidence": stored},
    )
    events.emit(RESPONDED, subject=case.subject, payload=_payload(case))
    return case


@transaction.atomic
def withdraw(*, case: Case, reason: str, actor: Actor, user) -> Case:
    case = _locked(case)
    if case.stage == Case.Stage.CLOSED:
        raise CaseError(_("This case is already finished."))
    was_sent = case.stage != Case.Stage.DRAFT
    previous = case.state
    now = timezone.now()
    case.stage, case.state, case.outcome, case.queue_role = Case.Stage.CLOSED, WITHDRAWN, WITHDRAWN, ""
    case.closed_at = case.state_entered_at = now
    case.state_due_at = None
    case.escalated = False
    case.save()
    _event(
        case,
        CaseEvent.Kind.WITHDRAWN,
        actor,
        user,
        by_applicant=True,
        from_state=previous,
        to_state=WITHDRAWN,
        text=(reason or "").strip()[:5000],
    )
    audit.record(actor=actor, action="cases.withdrawn", object_type="case", object_id=case.reference)
    if was_sent:
        events.emit(WITHDRAWN_EVENT, subject=case.subject, payload=_payload(case, outcome=WITHDRAWN))
    return case


def _clean_text(text: str, *, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CaseError(_("Write a message first."), {field: _("Write a message first.")})
    if len(text) > 5000:
        raise CaseError(_("Write at most 5000 characters."), {field: _("Write at most 5000 characters.")})
    return text


@transaction.atomic
def post_message(*, case: Case, text: str, by_applicant: bool, actor: Actor, user) -> CaseEvent:
    """A message between the applicant and the institution, on the case's history."""
    text = _clean_text(text, field="message")
    case = _locked(case)
    if case.stage == Case.Stage.DRAFT:
        raise CaseError(_("Send the application first; then you can write to the institution about it."))
    event = _event(case, CaseEvent.Kind.MESSAGE, actor, user, by_applicant=by_applicant, text=text)
    case.save(update_fields=["updated_at"])
    audit.record(
        actor=actor,
        action="cases.message",
        object_type="case",
        object_id=case.reference,
        data={"by_applicant": by_applicant},
    )
    events.emit(
        MESSAGE_FROM_APPLICANT if by_applicant else MESSAGE_TO_APPLICANT,
        subject=case.subject,
        payload=_payload(case),
    )
    return event


# --- Cases: the officials' side ------------------------------------------------------------------------------


def _require_official(case: Case, official) -> set[str]:
    roles = selectors.roles_of(official, case.institution_id)
    if not roles:
        raise CaseError(_("You hold no role in the institution that handles this case."))
    return roles


@transaction.atomic
def act(
    *, case: Case, action_key: str, inputs: dict, official, actor: Actor, expected_state: str | None = None
) -> Case:
    """An official's action on a case: moves it along its workflow, sends it back to the applicant, or
    decides it. `expected_state` is the state the official saw: if someone moved the case meanwhile, nothing
    happens and they are told."""
    case = _locked(case)
    roles = _require_official(case, official)
    workflow = selectors.definition_of(case.version).workflow
    if case.stage != Case.Stage.OPEN or (expected_state and case.state != expected_state):
        current = workflow.states.get(case.state)
        raise CaseError(
            _(
                "This case has moved on since you opened it: it is now “%(state)s”. Reload it to see what changed."
            )
            % {"state": bilingual(current.label) if current else case.state},
            code="conflict",
        )
    try:
        transition = engine.transition(
            workflow,
            action_key=action_key,
            state_key=case.state,
            roles=roles,
            answers=case.answers,
            inputs=inputs,
        )
    except engine.TransitionError as error:
        raise CaseError(str(error), error.errors, code=error.code) from error
    action, target = transition.action, workflow.states[transition.target]
    now = timezone.now()
    source = case.state
    case.state, case.state_entered_at, case.escalated = target.key, now, False
    if action.kind == "send_back":
        case.stage, case.queue_role, case.state_due_at = Case.Stage.WITH_APPLICANT, "", None
        case.sent_back_from, case.waiting_since = source, now
        kind, name = CaseEvent.Kind.SENT_BACK, SENT_BACK
    elif target.kind == "outcome":
        case.stage, case.queue_role, case.state_due_at = Case.Stage.CLOSED, "", None
        case.outcome, case.closed_at = target.outcome, now
        kind, name = CaseEvent.Kind.ACTION, DECIDED
    else:
        if target.role != case.queue_role:
            case.assigned_to = None
        case.queue_role = target.role or ""
        case.state_due_at = _deadline(now, target.sla_days, cap=case.case_due_at)
        kind, name = CaseEvent.Kind.ACTION, MOVED
    case.save()
    reason = transition.inputs_cleaned.get("reason", "")
    _event(
        case,
        kind,
        actor,
        official,
        action=action.key,
        from_state=source,
        to_state=target.key,
        text=reason,
        data={"inputs": transition.inputs_cleaned, "requirements": list(action.requirements)},
    )
    audit.record(
        actor=actor,
        action=f"cases.{action.kind}",
        object_type="case",
        object_id=case.reference,
        data={"action": action.key, "from": source, "to": target.key},
    )
    events.emit(
        name,
        subject=case.subject,
        payload=_payload(case, action=action.key, outcome=case.outcome, reason=reason),
    )
    return case


@transaction.atomic
def assign(*, case: Case, to, official, actor: Actor) -> Case:
    """Give the case to an official of its institution (`to=official` is "claim"; `to=None` releases it)."""
    case = _locked(case)
    roles = _require_official(case, official)
    if case.stage != Case.Stage.OPEN:
        raise CaseError(_("Only a case being processed can be assigned."))
    if to is not None and to != official and "supervisor" not in roles and case.queue_role not in roles:
        raise CaseError(
            _("Only a supervisor or an official of this queue can assign the case to someone else.")
        )
    if to is not None and not selectors.roles_of(to, case.institution_id):
        raise CaseError(_("%(name)s holds no role in this institution.") % {"name": to})
    case.assigned_to = to
    case.save(update_fields=["assigned_to", "updated_at"])
    label = str(to) if to else ""
    _event(case, CaseEvent.Kind.ASSIGNED, actor, official, visible_to_applicant=False, data={"to": label})
    audit.record(
        actor=actor,
        action="cases.assigned",
        object_type="case",
        object_id=case.reference,
        data={"to": f"user:{to.public_id}" if to else ""},
    )
    return case


@transaction.atomic
def add_note(*, case: Case, text: str, official, actor: Actor) -> CaseEvent:
    """An internal note: officials of the institution see it, the applicant does not."""
    text = _clean_text(text, field="note")
    case = _locked(case)
    _require_official(case, official)
    event = _event(case, CaseEvent.Kind.NOTE, actor, official, visible_to_applicant=False, text=text)
    audit.record(actor=actor, action="cases.note", object_type="case", object_id=case.reference)
    return event


@transaction.atomic
def grant_role(*, user, institution, role: str, actor: Actor) -> OfficialRole:
    granted, created = OfficialRole.objects.get_or_create(user=user, institution=institution, role=role)
    if created:
        audit.record(
            actor=actor,
            action="cases.role_granted",
            object_type="user",
            object_id=str(user.public_id),
            data={"institution": institution.code, "role": role},
        )
    return granted


@transaction.atomic
def revoke_role(*, user, institution, role: str, actor: Actor) -> bool:
    """Take a workflow role away from an official; the cases assigned to them stay assigned until reassigned.
    Returns whether they held it."""
    deleted, _counts = OfficialRole.objects.filter(user=user, institution=institution, role=role).delete()
    if deleted:
        audit.record(
            actor=actor,
            action="cases.role_revoked",
            object_type="user",
            object_id=str(user.public_id),
            data={"institution": institution.code, "role": role},
        )
    return bool(deleted)


# --- Deadlines -----------------------------------------------------------------------------------------------


def escalate_overdue(*, now: datetime | None = None, batch: int = 500) -> int:
    """Escalate every open case past its state's or its own deadline to the supervisors' queue, once per
    state it is late in. Returns how many cases were escalated."""
    now = now or timezone.now()
    escalated = 0
    while True:
        with transaction.atomic():
            overdue = list(
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("version__service__procedure", "institution", "applicant")
                .filter(stage=Case.Stage.OPEN, escalated=False, state_due_at__lt=now)
                .order_by("state_due_at")[:batch]
            )
            for case in overdue:
                case.escalated = True
                case.breached_at = case.breached_at or now
                case.save(update_fields=["escalated", "breached_at", "updated_at"])
                late = (now - case.state_due_at) if case.state_due_at else timedelta(0)
                _event(
                    case,
                    CaseEvent.Kind.ESCALATED,
                    Actor.system("deadline check"),
                    visible_to_applicant=False,
                    from_state=case.state,
                    data={"due": case.state_due_at.isoformat(), "late_hours": late // timedelta(hours=1)},
                )
                audit.record(
                    actor=Actor.system("deadline check"),
                    action="cases.escalated",
                    object_type="case",
                    object_id=case.reference,
                    data={"state": case.state},
                )
                events.emit(
                    SLA_BREACHED,
                    subject=case.subject,
                    payload=_payload(case, due=case.state_due_at.isoformat()),
                )
            escalated += len(overdue)
        if len(overdue) < batch:
            return escalated
