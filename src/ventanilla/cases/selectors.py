"""Reads of services and cases, with the rule of who may see what built in: an applicant sees the cases filed
for whom they act; an official sees the cases of the institutions where they hold a role."""

import threading
import time
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from ventanilla.catalogue import selectors as catalogue

from . import definitions
from .models import Case, CaseEvent, Evidence, OfficialRole, Service, ServiceVersion

SUPERVISOR = "supervisor"
PAGE_SIZE = (
    25  # a queue page: the most urgent cases first; light enough for a phone and for a million-case queue
)

_loaded: dict = {}
_loaded_lock = threading.Lock()


def definition_of(version: ServiceVersion) -> definitions.Definition:
    """The parsed definition of a version. Published versions never change, so they are parsed once per
    process; drafts are parsed each time."""
    if version.status == ServiceVersion.Status.DRAFT:
        return definitions.load(version.document)
    loaded = _loaded.get(version.id)
    if loaded is None:
        loaded = definitions.load(version.document)
        with _loaded_lock:
            _loaded[version.id] = loaded
    return loaded


# --- Services ------------------------------------------------------------------------------------------------


def service_for(procedure_code: str) -> Service | None:
    return (
        Service.objects.select_related("procedure__institution")
        .filter(procedure__code=procedure_code)
        .first()
    )


def published_version(procedure_code: str) -> ServiceVersion | None:
    return (
        ServiceVersion.objects.select_related("service__procedure__institution")
        .filter(service__procedure__code=procedure_code, status=ServiceVersion.Status.PUBLISHED)
        .first()
    )


# What the busiest pages and writes need about services changes only when a version is published: each process
# remembers it for a few seconds (and forgets at once when it publishes), instead of asking the database on
# every request. Versions never change once published; a new one is seen by every process within seconds,
# and cases started meanwhile are on the previous one, which versioning allows.
RECENT_SECONDS = 5.0
NAMES_SECONDS = 60.0  # a service's name in a queue row may lag a catalogue edit by a minute
_recent: dict[tuple, tuple[float, object]] = {}


def _recently(key: tuple, load):
    now = time.monotonic()
    remembered = _recent.get(key)
    if remembered is not None and now - remembered[0] < RECENT_SECONDS:
        return remembered[1]
    value = load()
    with _loaded_lock:
        _recent[key] = (now, value)
    return value


def forget_recent_versions() -> None:
    """Called on publication, so this process sees a new version at once (others within seconds)."""
    with _loaded_lock:
        _recent.clear()


def recently_published_version(procedure_code: str) -> ServiceVersion | None:
    """published_version, as the API's submissions look it up."""
    return _recently(("published", procedure_code), lambda: published_version(procedure_code))


def published_versions():
    return (
        ServiceVersion.objects.select_related("service__procedure__institution")
        .filter(status=ServiceVersion.Status.PUBLISHED)
        .order_by("service__procedure__code")
    )


def _published_versions_of(institution):
    # The filters need names and states (definition_of keeps parsed definitions): not the documents themselves.
    return (
        ServiceVersion.objects.select_related("service__procedure")
        .filter(status=ServiceVersion.Status.PUBLISHED, service__procedure__institution=institution)
        .order_by("service__procedure__code")
        .only(*SERVICE_NAME_FIELDS)
    )


def published_versions_of(institution) -> list[ServiceVersion]:
    """The published version of each online service of an institution (for the back office's filters)."""
    return _recently(("of", institution.pk), lambda: list(_published_versions_of(institution)))


def service_names(version_ids) -> dict:
    """Versions by id with the names of their services (the queue's rows): for what is not remembered yet,
    one small query."""
    found, missing = {}, []
    for version_id in version_ids:
        remembered = _recent.get(("name", version_id))
        if remembered is not None and time.monotonic() - remembered[0] < NAMES_SECONDS:
            found[version_id] = remembered[1]
        else:
            missing.append(version_id)
    if missing:
        loaded = ServiceVersion.objects.select_related("service__procedure").only(*SERVICE_NAME_FIELDS)
        now = time.monotonic()
        with _loaded_lock:
            for version_id, version in loaded.in_bulk(missing).items():
                _recent[("name", version_id)] = (now, version)
                found[version_id] = version
    return found


def versions_of(service: Service):
    return service.versions.select_related("created_by", "published_by").order_by("-number")


def draft_version(service: Service) -> ServiceVersion | None:
    return service.versions.filter(status=ServiceVersion.Status.DRAFT).first()


def version_number(service: Service, number: int) -> ServiceVersion | None:
    return service.versions.filter(number=number).first()


def procedure(code: str):
    return catalogue.procedure_detail(code, include_unpublished=True)


# --- Officials -----------------------------------------------------------------------------------------------


def roles_of(user, institution) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    institution_id = getattr(institution, "id", institution)
    return set(
        OfficialRole.objects.filter(user=user, institution_id=institution_id).values_list("role", flat=True)
    )


def institutions_of(user) -> list:
    """The institutions where `user` holds a case role, with the roles: [(institution, {roles})]."""
    if user is None or not user.is_authenticated:
        return []
    by_institution: dict = {}
    for role in (
        OfficialRole.objects.filter(user=user).select_related("institution").order_by("institution__name_es")
    ):
        by_institution.setdefault(role.institution, set()).add(role.role)
    return list(by_institution.items())


def is_official(user) -> bool:
    return bool(user and user.is_authenticated and OfficialRole.objects.filter(user=user).exists())


def officials_of(institution, *, role: str | None = None):
    from django.contrib.auth import get_user_model

    roles = OfficialRole.objects.filter(institution=institution)
    if role:
        roles = roles.filter(role=role)
    return get_user_model().objects.filter(id__in=roles.values("user_id")).order_by("first_name", "last_name")


# --- Cases: who may see them ---------------------------------------------------------------------------------


def _cases():
    return Case.objects.select_related(
        "version__service__procedure__institution", "institution", "assigned_to", "applicant"
    )


def case_for_subject(subject: str, reference: str) -> Case | None:
    """A case filed for `subject` (identity's principal reference), or None: another person's case is
    answered exactly like a case that does not exist."""
    return _cases().filter(reference=reference, subject=subject).first()


def case_for_official(user, reference: str) -> Case | None:
    """A case of an institution where `user` holds a role, or None."""
    if user is None or not user.is_authenticated:
        return None
    institutions = OfficialRole.objects.filter(user=user).values("institution_id")
    return _cases().filter(reference=reference, institution_id__in=institutions).first()


def cases_of(subject: str):
    return _cases().filter(subject=subject).order_by("-updated_at")


def history(case: Case, *, for_applicant: bool):
    events = CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")
    return events.filter(visible_to_applicant=True) if for_applicant else events


def evidence_of(case: Case):
    return Evidence.objects.filter(case=case).order_by("uploaded_at")


def evidence_item(case: Case, evidence_id) -> Evidence | None:
    return Evidence.objects.filter(case=case, id=evidence_id).first()


# --- Queues --------------------------------------------------------------------------------------------------


QUEUE_ROW_FIELDS = (
    "id",
    "reference",
    "version_id",
    "subject_label",
    "state",
    "queue_role",
    "submitted_at",
    "state_due_at",
    "case_due_at",
    "escalated",
    "assigned_to__id",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)
SERVICE_NAME_FIELDS = (
    "id",
    "status",
    "number",
    "service__id",
    "service__procedure__id",
    "service__procedure__code",
    "service__procedure__title_es",
    "service__procedure__title_en",
)


@dataclass(frozen=True)
class QueuePage:
    cases: list
    next_cursor: str | None


def queue(
    *,
    institution,
    roles: set[str],
    user=None,
    role: str | None = None,
    state: str | None = None,
    breached: bool = False,
    mine: bool = False,
    service: str | None = None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """Open cases of one institution that `roles` may work on, most urgent first (the nearest deadline),
    a page at a time. `after` is the cursor of the previous page; no page needs a count of the whole queue,
    so the first page of a queue of a million cases costs what it costs for a hundred."""
    cases = Case.objects.filter(institution=institution, stage=Case.Stage.OPEN)
    visible = roles if role is None else roles & {role}
    if mine and user is not None:
        cases = cases.filter(assigned_to=user)
    elif visible == {SUPERVISOR}:
        cases = cases.filter(
            escalated=True
        )  # the supervisors' own queue: what went late (no state is theirs)
    elif SUPERVISOR in visible:
        cases = cases.filter(Q(queue_role__in=visible) | Q(escalated=True))
    else:
        cases = cases.filter(queue_role__in=visible)
    if state:
        cases = cases.filter(state=state)
    if breached:
        cases = cases.filter(Q(escalated=True) | Q(state_due_at__lt=timezone.now()))
    if service:
        cases = cases.filter(version__service__procedure__code=service)
    if after:
        due, _, case_id = after.partition("~")
        # "After (due, id)" written so that the first condition is an index range: the next page starts where
        # the last one ended instead of walking past every earlier case again.
        cases = cases.filter(state_due_at__gte=due).filter(Q(state_due_at__gt=due) | Q(id__gt=case_id))
    # A queue row shows a line about the case: read only that (not the answers, nor the definition or the
    # procedure's texts), and the few services the page names in a second, small query. A single query joining
    # them all costs more to plan than to run.
    rows = list(
        cases.select_related("assigned_to")
        .only(*QUEUE_ROW_FIELDS)
        .order_by("state_due_at", "id")[: limit + 1]
    )
    by_id = service_names({case.version_id for case in rows})
    for case in rows:
        case.version = by_id[case.version_id]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = f"{last.state_due_at.isoformat() if last.state_due_at else ''}~{last.id}"
    return QueuePage(cases=rows, next_cursor=next_cursor)
