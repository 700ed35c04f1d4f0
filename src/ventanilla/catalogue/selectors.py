from pathlib import Path

from django.conf import settings
from django.db.models import Count, Prefetch, Q

from .models import (
    CatalogueRole,
    ChangeLogEntry,
    ChangeRequest,
    Institution,
    Procedure,
    Requirement,
    SimplificationPlanItem,
    Topic,
    UnlistedDocumentReport,
)

PUBLISHED = Procedure.Status.PUBLISHED


def published_procedures():
    return Procedure.objects.filter(status=PUBLISHED)


def procedure_detail(code: str, *, include_unpublished: bool = False) -> Procedure | None:
    queryset = Procedure.objects.all() if include_unpublished else published_procedures()
    return (
        queryset.select_related("institution")
        .prefetch_related(
            Prefetch("requirements", queryset=Requirement.objects.select_related("issuer")),
            "fees",
            "legal_basis",
            "steps",
            "topics",
            "institution__offices",
        )
        .filter(code=code)
        .first()
    )


def procedures_by_ids(ids) -> list[Procedure]:
    """Procedures for a page of search results, in the order given."""
    found = {p.id: p for p in Procedure.objects.select_related("institution").filter(id__in=ids)}
    return [found[i] for i in ids if i in found]


def procedure_document(procedure: Procedure) -> dict:
    """The procedure in the document shape of schemas.ProcedureDoc (JSON-ready)."""
    audience = ["citizen", "business"] if procedure.audience == "both" else [procedure.audience]
    return {
        "code": procedure.code,
        "institution": procedure.institution.code,
        "title_es": procedure.title_es,
        "title_en": procedure.title_en,
        "description_es": procedure.description_es,
        "description_en": procedure.description_en,
        "audience": audience,
        "topics": sorted(t.code for t in procedure.topics.all()),
        "requirements": [
            {
                "kind": r.kind,
                "name_es": r.name_es,
                "name_en": r.name_en,
                "format_es": r.format_es,
                "format_en": r.format_en,
                "issuer": r.issuer.code if r.issuer else None,
                "held_by_state": r.held_by_state,
            }
            for r in procedure.requirements.all()
        ],
        "fees": [
            {
                "amount": f"{f.amount:.2f}",
                "currency": f.currency,
                "conditions_es": f.conditions_es,
                "conditions_en": f.conditions_en,
            }
            for f in procedure.fees.all()
        ],
        "legal_basis": [
            {"instrument": b.instrument, "article": b.article} for b in procedure.legal_basis.all()
        ],
        "channels": list(procedure.channels),
        "sign_in_level": procedure.sign_in_level,
        "steps": [{"es": s.text_es, "en": s.text_en} for s in procedure.steps.all()],
        "processing_time": {
            "typical": procedure.typical_days,
            "max": procedure.max_days,
            "unit": procedure.time_unit,
        },
        "silence": {"rule": procedure.silence_rule, "es": procedure.silence_es, "en": procedure.silence_en},
        "output": {
            "es": procedure.output_es,
            "en": procedure.output_en,
            "validity_es": procedure.validity_es,
            "validity_en": procedure.validity_en,
        },
        "appeal": {"es": procedure.appeal_es, "en": procedure.appeal_en},
        "level": procedure.level,
        "reengineering_planned": procedure.reengineering_planned,
        "languages": list(procedure.languages),
        "illustrative": procedure.illustrative,
    }


def institutions_with_counts():
    return Institution.objects.annotate(
        published_count=Count("procedures", filter=Q(procedures__status=PUBLISHED)),
        open_reports=Count("unlisted_reports", filter=Q(unlisted_reports__status="open"), distinct=True),
    ).order_by("kind", "name_es")


def institution_by_code(code: str) -> Institution | None:
    return Institution.objects.prefetch_related("offices").filter(code=code).first()


def topics(kind: str | None = None):
    queryset = Topic.objects.annotate(
        published_count=Count("procedures", filter=Q(procedures__status=PUBLISHED))
    )
    return queryset.filter(kind=kind) if kind else queryset


def topic_by_code(code: str) -> Topic | None:
    return Topic.objects.filter(code=code).first()


def change_log(procedure: Procedure):
    return ChangeLogEntry.objects.filter(procedure=procedure).order_by("-at")


def change_requests(*, status: str | None = None, institution: Institution | None = None):
    queryset = ChangeRequest.objects.select_related("institution", "procedure", "submitted_by", "reviewed_by")
    if status:
        queryset = queryset.filter(status=status)
    if institution:
        queryset = queryset.filter(institution=institution)
    return queryset


def roles_of(user) -> list[CatalogueRole]:
    if user is None or not user.is_authenticated:
        return []
    return list(CatalogueRole.objects.filter(user=user).select_related("institution"))


def can_edit(user, institution: Institution) -> bool:
    """Authority editors edit any institution's procedures; institution editors only their own."""
    for role in roles_of(user):
        if role.role == CatalogueRole.Role.AUTHORITY_EDITOR:
            return True
        if role.role == CatalogueRole.Role.INSTITUTION_EDITOR and role.institution_id == institution.id:
            return True
    return False


def can_review(user) -> bool:
    return any(r.role == CatalogueRole.Role.AUTHORITY_REVIEWER for r in roles_of(user))


def institutions_answerable_by(user) -> list[Institution]:
    """Institutions whose unlisted-document reports this user may read and answer."""
    roles = roles_of(user)
    if any(
        r.role in (CatalogueRole.Role.AUTHORITY_EDITOR, CatalogueRole.Role.AUTHORITY_REVIEWER) for r in roles
    ):
        return list(Institution.objects.all())
    return [r.institution for r in roles if r.institution_id]


def unlisted_reports(*, institutions=None, status: str | None = None):
    queryset = UnlistedDocumentReport.objects.select_related("procedure", "institution")
    if institutions is not None:
        queryset = queryset.filter(institution__in=institutions)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def unlisted_report_counts():
    """Public: how many reports each institution received, and how many it has answered."""
    return (
        Institution.objects.annotate(
            reports=Count("unlisted_reports"),
            answered=Count("unlisted_reports", filter=Q(unlisted_reports__status="answered")),
        )
        .filter(reports__gt=0)
        .order_by("-reports", "name_es")
    )


def level_summary():
    """National summary: published procedures per digitalisation level."""
    rows = published_procedures().values("level").annotate(n=Count("id")).order_by("level")
    counts = {row["level"]: row["n"] for row in rows}
    return [(level, counts.get(level, 0)) for level in range(1, 6)]


def institution_level_table():
    """Per institution: procedures per level and the share of its procedures that are published."""
    annotations = {
        f"level_{n}": Count("procedures", filter=Q(procedures__status=PUBLISHED, procedures__level=n))
        for n in range(1, 6)
    }
    return (
        Institution.objects.annotate(
            total=Count("procedures"),
            published=Count("procedures", filter=Q(procedures__status=PUBLISHED)),
            **annotations,
        )
        .filter(total__gt=0)
        .order_by("kind", "name_es")
    )


def plan_items(*, institution: Institution, year: int | None = None):
    queryset = SimplificationPlanItem.objects.filter(procedure__institution=institution).select_related(
        "procedure"
    )
    if year:
        queryset = queryset.filter(year=year)
    return queryset.order_by("-year", "procedure__code")


def plan_years(institution: Institution) -> list[int]:
    return sorted(
        set(
            SimplificationPlanItem.objects.filter(procedure__institution=institution).values_list(
                "year", flat=True
            )
        ),
        reverse=True,
    )


def open_data_directory() -> Path:
    """Where the open data files are kept: under MEDIA_ROOT, which all servers share at scale."""
    return Path(settings.MEDIA_ROOT) / "opendata"
