"""Every write to the catalogue. Keyword-only, one transaction each; each records an audit entry and emits events."""

from datetime import date
from pathlib import Path

import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core import audit, events
from ventanilla.core.actor import Actor
from ventanilla.core.references import new_reference

from . import search, selectors
from .models import (
    CatalogueRole,
    ChangeLogEntry,
    ChangeRequest,
    Fee,
    Institution,
    LegalBasis,
    Office,
    Procedure,
    Requirement,
    SimplificationPlanItem,
    Step,
    Topic,
    UnlistedDocumentReport,
)
from .schemas import ProcedureDoc

PROCEDURE_CHANGED = "catalogue.procedure_changed"
REPORT_FILED = "catalogue.unlisted_document_reported"

# ---------------------------------------------------------------------------------------------------------------
# Applying a procedure document (shared by reference data, the generator and approved change requests)


def _resolve_codes(doc: ProcedureDoc) -> tuple[Institution, dict[str, Institution], list[Topic]]:
    issuer_codes = {r.issuer for r in doc.requirements if r.issuer}
    institutions = {i.code: i for i in Institution.objects.filter(code__in=issuer_codes | {doc.institution})}
    errors = {}
    if doc.institution not in institutions:
        errors["institution"] = _("There is no institution with the code %(code)s.") % {
            "code": doc.institution
        }
    if missing := sorted(issuer_codes - institutions.keys()):
        errors["requirements"] = _("Unknown issuing institution: %(codes)s.") % {"codes": ", ".join(missing)}
    topics = list(Topic.objects.filter(code__in=doc.topics))
    if missing := sorted(set(doc.topics) - {t.code for t in topics}):
        errors["topics"] = _("Unknown topic: %(codes)s.") % {"codes": ", ".join(missing)}
    if errors:
        raise ValidationError(errors)
    return institutions[doc.institution], institutions, topics


def _procedure_fields(doc: ProcedureDoc, institution: Institution) -> dict:
    audience = "both" if len(set(doc.audience)) > 1 else doc.audience[0]
    return {
        "institution": institution,
        "title_es": doc.title_es,
        "title_en": doc.title_en,
        "description_es": doc.description_es,
        "description_en": doc.description_en,
        "audience": audience,
        "channels": list(dict.fromkeys(doc.channels)),
        "sign_in_level": doc.sign_in_level,
        "typical_days": doc.processing_time.typical,
        "max_days": doc.processing_time.max,
        "time_unit": doc.processing_time.unit,
        "silence_rule": doc.silence.rule,
        "silence_es": doc.silence.es,
        "silence_en": doc.silence.en,
        "output_es": doc.output.es,
        "output_en": doc.output.en,
        "validity_es": doc.output.validity_es,
        "validity_en": doc.output.validity_en,
        "appeal_es": doc.appeal.es,
        "appeal_en": doc.appeal.en,
        "level": doc.level,
        "reengineering_planned": doc.reengineering_planned,
        "languages": list(dict.fromkeys(doc.languages)),
        "illustrative": doc.illustrative,
    }


def _children(doc: ProcedureDoc, procedure: Procedure, issuers: dict[str, Institution]):
    requirements = [
        Requirement(
            procedure=procedure,
            position=n,
            kind=r.kind,
            name_es=r.name_es,
            name_en=r.name_en,
            format_es=r.format_es,
            format_en=r.format_en,
            issuer=issuers.get(r.issuer) if r.issuer else None,
            held_by_state=r.held_by_state,
        )
        for n, r in enumerate(doc.requirements)
    ]
    fees = [
        Fee(
            procedure=procedure,
            position=n,
            amount=f.amount,
            currency=f.currency,
            conditions_es=f.conditions_es,
            conditions_en=f.conditions_en,
        )
        for n, f in enumerate(doc.fees)
    ]
    bases = [
        LegalBasis(procedure=procedure, position=n, instrument=b.instrument, article=b.article)
        for n, b in enumerate(doc.legal_basis)
    ]
    steps = [
        Step(procedure=procedure, position=n, text_es=s.es, text_en=s.en) for n, s in enumerate(doc.steps)
    ]
    return requirements, fees, bases, steps


def _write_procedure(
    doc: ProcedureDoc, *, status: str, existing: Procedure | None = None, reindex: bool = True
) -> Procedure:
    institution, issuers, topics = _resolve_codes(doc)
    fields = _procedure_fields(doc, institution)
    if existing is None:
        procedure = Procedure.objects.create(code=doc.code, status=status, **fields)
    else:
        procedure = existing
        for name, value in fields.items():
            setattr(procedure, name, value)
        procedure.status = status
        procedure.save()
        for related in (procedure.requirements, procedure.fees, procedure.legal_basis, procedure.steps):
            related.all().delete()
    requirements, fees, bases, steps = _children(doc, procedure, issuers)
    Requirement.objects.bulk_create(requirements)
    Fee.objects.bulk_create(fees)
    LegalBasis.objects.bulk_create(bases)
    Step.objects.bulk_create(steps)
    procedure.topics.set(topics)
    if reindex:
        search.reindex([procedure.id])
    return procedure


# ---------------------------------------------------------------------------------------------------------------
# Reference data


# libyaml's parser when the wheel has it: the pure-Python one takes seconds on the reference data.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=YAML_LOADER) or []  # noqa: S506 (a safe loader)


def _upsert_institution(row: dict) -> Institution:
    fields = {
        "kind": row["kind"],
        "acronym": row.get("acronym", ""),
        "name_es": row["name_es"],
        "name_en": row["name_en"],
        "description_es": row.get("description_es", ""),
        "description_en": row.get("description_en", ""),
        "website": row.get("website", ""),
        "email": row.get("email", ""),
        "phone": str(row.get("phone", "")),
        "province": row.get("province", ""),
        "channels": row.get("channels", []),
        "illustrative": bool(row.get("illustrative", False)),
    }
    institution, _created = Institution.objects.update_or_create(code=row["code"], defaults=fields)
    institution.offices.all().delete()
    Office.objects.bulk_create(
        Office(
            institution=institution,
            position=n,
            name_es=o["name_es"],
            name_en=o["name_en"],
            address=o.get("address", ""),
            hours_es=o.get("hours_es", ""),
            hours_en=o.get("hours_en", ""),
            phone=str(o.get("phone", "")),
        )
        for n, o in enumerate(row.get("offices", []))
    )
    return institution


@transaction.atomic
def load_reference_data(*, path: Path, actor: Actor) -> dict[str, int]:
    """Load (or refresh) institutions, topics and procedures from the reference data folder. Idempotent."""
    institutions = [
        _upsert_institution(row)
        for name in ("institutions.yaml", "municipalities.yaml")
        if (path / name).exists()
        for row in _load_yaml(path / name)
    ]
    for row in _load_yaml(path / "topics.yaml"):
        Topic.objects.update_or_create(
            code=row["code"],
            defaults={"kind": row["kind"], "name_es": row["name_es"], "name_en": row["name_en"]},
        )
    existing = {p.code: p for p in Procedure.objects.all()}
    written = [
        _write_procedure(
            doc, status=Procedure.Status.PUBLISHED, existing=existing.get(doc.code), reindex=False
        ).id
        for file in sorted((path / "procedures").glob("*.yaml"))
        for doc in (ProcedureDoc.model_validate(row) for row in _load_yaml(file))
    ]
    search.reindex(written)
    planned = _plan_reengineering(Procedure.objects.filter(id__in=written, reengineering_planned=True))
    counts = {
        "institutions": len(institutions),
        "topics": Topic.objects.count(),
        "procedures": len(written),
        "plan_items": planned,
    }
    audit.record(
        actor=actor,
        action="catalogue.reference_data_loaded",
        object_type="catalogue",
        object_id=str(path.name),
        data=counts,
    )
    events.emit(PROCEDURE_CHANGED, subject="catalogue:all", payload={"reason": "reference data loaded"})
    return counts


def _plan_reengineering(procedures) -> int:
    """An illustrative simplification plan for this year: each procedure marked for re-engineering aims at
    level 4 (done online), or stays where it is if already there. Institutions replace it with their own."""
    year = timezone.localdate().year
    for procedure in procedures:
        SimplificationPlanItem.objects.update_or_create(
            procedure=procedure,
            year=year,
            defaults={
                "current_level": procedure.level,
                "target_level": max(procedure.level, 4),
                "reengineering": True,
            },
        )
    return SimplificationPlanItem.objects.filter(year=year).count()


# ---------------------------------------------------------------------------------------------------------------
# Change control: nothing published changes without a justified request approved by a second person


def _diff(before: dict | None, after: dict) -> list[dict]:
    before = before or {}
    return [
        {"field": key, "before": before.get(key), "after": after.get(key)}
        for key in after
        if before.get(key) != after.get(key)
    ]


def _require_justification(justification: str) -> str:
    justification = (justification or "").strip()
    if len(justification) < 20:
        raise ValidationError(
            {
                "justification": _(
                    "Explain why this change is needed, in at least 20 characters: the catalogue is a contract and every "
                    "change must be justified."
                )
            }
        )
    return justification


@transaction.atomic
def submit_change(
    *,
    user,
    actor: Actor,
    doc: ProcedureDoc | None = None,
    withdraw_code: str | None = None,
    justification: str,
) -> ChangeRequest:
    """Propose a new procedure, a change to one (doc) or its withdrawal (withdraw_code)."""
    justification = _require_justification(justification)
    code = doc.code if doc else withdraw_code
    procedure = selectors.procedure_detail(code, include_unpublished=True)
    if doc is None:
        if procedure is None:
            raise ValidationError(
                {"code": _("There is no procedure with the code %(code)s.") % {"code": code}}
            )
        kind, proposed, institution = (
            ChangeRequest.Kind.WITHDRAW,
            selectors.procedure_document(procedure),
            procedure.institution,
        )
    else:
        institution, _issuers, _topics = _resolve_codes(doc)
        if (
            procedure is not None
            and procedure.institution_id != institution.id
            and not selectors.can_edit(user, procedure.institution)
        ):
            raise PermissionDenied(_("You cannot edit procedures of this institution."))
        kind = ChangeRequest.Kind.UPDATE if procedure else ChangeRequest.Kind.CREATE
        proposed = doc.as_json()
    if not selectors.can_edit(user, institution):
        raise PermissionDenied(_("You cannot edit procedures of this institution."))
    before = selectors.procedure_document(procedure) if procedure else None
    changes = (
        [{"field": "status", "before": "published", "after": "withdrawn"}]
        if doc is None
        else _diff(before, proposed)
    )
    if not changes:
        raise ValidationError({"__all__": _("The proposal is identical to the published procedure.")})
    change = ChangeRequest.objects.create(
        kind=kind,
        procedure=procedure,
        institution=institution,
        proposed=proposed,
        changes=changes,
        justification=justification,
        submitted_by=user,
    )
    audit.record(
        actor=actor,
        action="catalogue.change_submitted",
        object_type="change_request",
        object_id=change.id,
        data={"kind": kind, "code": code, "fields": [c["field"] for c in changes]},
    )
    return change


@transaction.atomic
def review_change(*, change_id, user, actor: Actor, approve: bool, note: str = "") -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().filter(id=change_id).first()
    if change is None:
        raise ValidationError({"change": _("There is no such change request.")})
    if not selectors.can_review(user):
        raise PermissionDenied(_("Only a reviewer of the catalogue authority can approve or reject changes."))
    if change.submitted_by_id == user.id:
        raise PermissionDenied(_("A change must be reviewed by a second person, not by who proposed it."))
    if change.status != ChangeRequest.Status.PENDING:
        raise ValidationError({"__all__": _("This change request has already been reviewed.")})
    if not approve and len(note.strip()) < 5:
        raise ValidationError({"note": _("Say why the change is rejected, so the proposer can correct it.")})
    now = timezone.now()
    change.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REJECTED
    change.reviewed_by, change.reviewed_at, change.review_note = user, now, note.strip()
    change.save()
    if approve:
        if change.kind == ChangeRequest.Kind.WITHDRAW:
            procedure = change.procedure
            procedure.status = Procedure.Status.WITHDRAWN
            procedure.save(update_fields=["status", "updated_at"])
            search.reindex([procedure.id])
        else:
            doc = ProcedureDoc.model_validate(change.proposed)
            procedure = _write_procedure(doc, status=Procedure.Status.PUBLISHED, existing=change.procedure)
            change.procedure = procedure
            change.save(update_fields=["procedure"])
        ChangeLogEntry.objects.create(
            procedure=procedure,
            change_request=change,
            at=now,
            summary=change.changes,
            justification=change.justification,
        )
        audit.record(
            actor=actor,
            action="catalogue.procedure_published",
            object_type="procedure",
            object_id=procedure.id,
            data={"code": procedure.code, "change_request": str(change.id)},
        )
        events.emit(
            PROCEDURE_CHANGED,
            subject=f"institution:{procedure.institution.code}",
            payload={"code": procedure.code, "kind": change.kind},
        )
    audit.record(
        actor=actor,
        action="catalogue.change_approved" if approve else "catalogue.change_rejected",
        object_type="change_request",
        object_id=change.id,
        data={"note": change.review_note},
    )
    return change


# ---------------------------------------------------------------------------------------------------------------
# "I was asked for a document that is not listed"


def report_unlisted_document(
    *,
    procedure: Procedure,
    office: str,
    document: str,
    asked_on: date,
    contact_email: str = "",
    idempotency_key: str | None = None,
    actor: Actor,
) -> UnlistedDocumentReport:
    """File a report. The same idempotency key (a double submit, a retry) returns the first report."""
    office, document = office.strip(), document.strip()
    errors = {}
    if not office:
        errors["office"] = _("Say at which office you were asked for the document.")
    if not document:
        errors["document"] = _("Say which document you were asked for.")
    if asked_on > timezone.localdate():
        errors["asked_on"] = _("The date cannot be in the future.")
    if errors:
        raise ValidationError(errors)
    if idempotency_key and (
        found := UnlistedDocumentReport.objects.filter(idempotency_key=idempotency_key).first()
    ):
        return found
    try:
        with transaction.atomic():
            report = UnlistedDocumentReport.objects.create(
                reference=new_reference("RD"),
                procedure=procedure,
                institution=procedure.institution,
                office=office,
                document=document,
                asked_on=asked_on,
                contact_email=contact_email,
                idempotency_key=idempotency_key or None,
            )
            audit.record(
                actor=actor,
                action="catalogue.unlisted_document_reported",
                object_type="unlisted_report",
                object_id=report.reference,
                data={"procedure": procedure.code, "institution": procedure.institution.code},
            )
            events.emit(
                REPORT_FILED,
                subject=f"institution:{procedure.institution.code}",
                payload={"reference": report.reference, "procedure": procedure.code},
            )
    except IntegrityError:
        # A concurrent double submit with the same key won the race: answer with its report.
        found = UnlistedDocumentReport.objects.filter(idempotency_key=idempotency_key).first()
        if found is None:
            raise
        return found
    return report


@transaction.atomic
def answer_unlisted_report(*, reference: str, user, actor: Actor, answer: str) -> UnlistedDocumentReport:
    report = (
        UnlistedDocumentReport.objects.select_for_update()
        .select_related("institution")
        .filter(reference=reference)
        .first()
    )
    if report is None or report.institution not in selectors.institutions_answerable_by(user):
        raise PermissionDenied(_("You cannot answer reports for this institution."))
    if len(answer.strip()) < 10:
        raise ValidationError({"answer": _("Write an answer of at least 10 characters.")})
    report.answer, report.status = answer.strip(), UnlistedDocumentReport.Status.ANSWERED
    report.answered_by, report.answered_at = user, timezone.now()
    report.save()
    audit.record(
        actor=actor,
        action="catalogue.unlisted_report_answered",
        object_type="unlisted_report",
        object_id=report.reference,
    )
    return report


# ---------------------------------------------------------------------------------------------------------------
# Simplification plans


@transaction.atomic
def set_plan_item(
    *, user, actor: Actor, procedure: Procedure, year: int, target_level: int, reengineering: bool
) -> SimplificationPlanItem:
    if not selectors.can_edit(user, procedure.institution):
        raise PermissionDenied(_("You cannot plan procedures of this institution."))
    if not 1 <= target_level <= 5:
        raise ValidationError({"target_level": _("The target level must be between 1 and 5.")})
    item, _created = SimplificationPlanItem.objects.update_or_create(
        procedure=procedure,
        year=year,
        defaults={
            "current_level": procedure.level,
            "target_level": target_level,
            "reengineering": reengineering,
        },
    )
    audit.record(
        actor=actor,
        action="catalogue.plan_item_set",
        object_type="procedure",
        object_id=procedure.id,
        data={"year": year, "target_level": target_level, "reengineering": reengineering},
    )
    return item


# ---------------------------------------------------------------------------------------------------------------
# Roles


@transaction.atomic
def grant_role(*, user, role: str, institution: Institution | None = None, actor: Actor) -> CatalogueRole:
    if (role == CatalogueRole.Role.INSTITUTION_EDITOR) != (institution is not None):
        raise ValidationError(
            {"institution": _("An institution editor needs an institution; other roles do not.")}
        )
    granted, _created = CatalogueRole.objects.get_or_create(user=user, role=role, institution=institution)
    audit.record(
        actor=actor,
        action="catalogue.role_granted",
        object_type="user",
        object_id=user.public_id,
        data={"role": role, "institution": institution.code if institution else None},
    )
    return granted
