"""What the cases API takes and gives: online services, a person's applications, and the back office."""

from datetime import datetime

from ninja import Field, Schema


class FeeOut(Schema):
    amount: str
    currency: str
    conditions_es: str = ""
    conditions_en: str = ""


class ServiceOut(Schema):
    procedure: str = Field(description="The catalogue procedure's code: the service's identifier.")
    title_es: str
    title_en: str
    institution: str
    version: int = Field(description="The published version's number.")
    computed_level: int | None = Field(description="The digitalisation level the definition achieves.")
    declared_level: int = Field(description="The level the catalogue declares for the procedure.")
    sign_in_level: str = Field(description="The level of assurance an applicant signs in with.")
    applicant: str = Field(description="Who may apply: person, business or any.")
    fees: list[FeeOut]
    published_at: datetime | None
    url: str


class ServiceDetailOut(ServiceOut):
    definition: dict = Field(description="The published definition document (format ventanilla.service/1).")


class VersionOut(Schema):
    procedure: str
    version: int
    status: str
    computed_level: int | None
    created_at: datetime
    published_at: datetime | None


class DefinitionOut(VersionOut):
    document: dict
    source: str = Field(description="The definition as its author wrote it (YAML or JSON).")


class ApplicationIn(Schema):
    service: str = Field(
        min_length=1, max_length=80, description="The procedure code of a published service."
    )
    answers: dict | None = Field(None, description="Answers keyed by field key (see the service's form).")
    submit: bool = Field(False, description="Also send the application, in the same request.")


class AnswersIn(Schema):
    answers: dict


class WithdrawIn(Schema):
    reason: str = Field("", max_length=5000)


class MessageIn(Schema):
    text: str = Field(max_length=5000)


class ActionIn(Schema):
    inputs: dict = Field({}, description='The action\'s inputs, e.g. {"reason": "..."}.')
    expected_state: str | None = Field(
        None,
        max_length=60,
        description="The state you saw; if the case moved meanwhile nothing happens (409).",
    )


class LinksOut(Schema):
    self: str
    web: str
    submit: str | None = None
    evidence: str | None = None


class EventOut(Schema):
    at: datetime
    kind: str
    kind_label: str
    by_applicant: bool
    actor: str | None = Field(None, description="Who did it (back office only).")
    action: str
    from_state: str
    to_state: str
    text: str
    internal: bool = Field(False, description="An internal note the applicant does not see.")


class EvidenceOut(Schema):
    id: str
    field: str
    requirement: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    in_response: bool


class ApplicationOut(Schema):
    reference: str
    service: str
    institution: str
    stage: str
    stage_label: str
    state: str
    state_label: str
    outcome: str
    created_at: datetime
    submitted_at: datetime | None
    state_due_at: datetime | None = Field(description="When the current step is due (working days).")
    case_due_at: datetime | None = Field(description="When the whole case is due.")
    links: LinksOut


class ApplicationDetailOut(ApplicationOut):
    answers: dict
    what_next: str = Field(description="What happens next, as the definition tells the applicant.")
    evidence: list[EvidenceOut]
    history: list[EventOut]


class ApplicationPage(Schema):
    page: int
    page_size: int
    has_next: bool
    items: list[ApplicationOut]


class EvidenceCreated(Schema):
    id: str
    field: str
    name: str
    content_type: str
    size: int


class MessageOut(Schema):
    at: datetime
    text: str


class QueueItemOut(Schema):
    reference: str
    service: str
    state: str
    state_label: str
    queue_role: str
    assigned_to: str | None
    subject_label: str
    submitted_at: datetime | None
    state_due_at: datetime | None
    case_due_at: datetime | None
    escalated: bool
    late: bool


class QueuePageOut(Schema):
    items: list[QueueItemOut]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page.")


class ActionOut(Schema):
    key: str
    label: str
    kind: str
    inputs: list[dict]


class BackOfficeCaseOut(QueueItemOut):
    stage: str
    outcome: str
    institution: str
    answers: dict
    evidence: list[EvidenceOut]
    history: list[EventOut]
    actions: list[ActionOut] = Field(description="What you may do now, with your roles.")
