from datetime import date, datetime

from ninja import Field, Schema


class ObligationIn(Schema):
    institution: str = Field(..., max_length=40, description="The institution's code, e.g. MUN-PANAMA.")
    reference: str = Field(
        ..., max_length=60, description="Your own reference: unique within your institution."
    )
    debtor: str = Field(
        ...,
        max_length=80,
        description='Who owes it: a cédula ("8-123-4567"), a RUC ("155612345-2-2021 DV 45"), or "user:<id>".',
    )
    debtor_name: str = Field("", max_length=200, description="The name to show on the receipt.")
    kind: str = Field("other", description="fee | fine | tax | municipal | other")
    concept_es: str = Field(..., max_length=300)
    concept_en: str = Field(..., max_length=300)
    amount: str = Field(..., max_length=20, description='A decimal as text, e.g. "25.00": never a float.')
    currency: str = Field("USD", max_length=3)
    due_date: date | None = None
    legal_basis: str = Field("", max_length=300)


class ChangeIn(Schema):
    amount: str = Field(..., max_length=20)
    reason: str = Field(..., max_length=2000)


class CancelIn(Schema):
    reason: str = Field(..., max_length=2000)


class ChangeOut(Schema):
    kind: str
    amount_before: str | None
    amount_after: str | None
    reason: str
    by: str
    at: datetime


class ObligationOut(Schema):
    id: str
    institution: str
    reference: str
    debtor: str
    debtor_name: str
    kind: str
    concept_es: str
    concept_en: str
    amount: str
    currency: str
    due_date: date | None
    legal_basis: str
    source: str
    status: str
    cancel_reason: str
    paid_at: datetime | None
    payment: str | None = Field(None, description="The reference of the payment that paid it.")
    receipt: str | None
    created_at: datetime


class ObligationDetailOut(ObligationOut):
    history: list[ChangeOut]


class ObligationPage(Schema):
    items: list[ObligationOut]
    next: str | None


class ImportLineError(Schema):
    line: int
    field: str
    message: str


class ImportOut(Schema):
    created: int
    unchanged: int


class PaymentIn(Schema):
    obligations: list[str] = Field(
        ..., min_length=1, max_length=50, description="Ids of obligations you owe."
    )
    provider: str = Field("sandbox", description="How to pay: one of GET /payments/providers.")
    return_url: str = Field("", max_length=1000, description="Where the provider sends the payer back.")


class ItemOut(Schema):
    obligation: str
    reference: str
    institution: str
    concept_es: str
    concept_en: str
    amount: str
    refunded: str
    duplicate: bool


class PaymentOut(Schema):
    id: str
    reference: str
    status: str
    status_description: str
    error_code: str
    error_message: str
    retry: bool = Field(description="Whether paying again, perhaps another way, can succeed.")
    amount: str
    currency: str
    refunded: str
    provider: str
    channel: str
    next_url: str | None = Field(None, description="Send the payer here to pay (while started).")
    receipt: str | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime
    items: list[ItemOut]


class PaymentPage(Schema):
    items: list[PaymentOut]
    next: str | None


class RefundIn(Schema):
    obligation: str = Field(..., description="The obligation (of your institution) in the payment to refund.")
    amount: str = Field(..., max_length=20)
    reason: str = Field(..., max_length=2000)


class RefundOut(Schema):
    id: str
    reference: str
    payment: str
    obligation: str
    amount: str
    status: str
    error_code: str
    reason: str
    created_at: datetime
    finished_at: datetime | None


class DayOut(Schema):
    day: date
    currency: str
    payments: int
    collected: str
    refunded: str
    net: str


class WebhookIn(Schema):
    institution: str = Field(..., max_length=40)
    url: str = Field(..., max_length=500, description="An https URL (http only for 127.0.0.1 and localhost).")


class WebhookOut(Schema):
    institution: str
    url: str
    secret: str = Field(description="Shown once: checks the X-Ventanilla-Signature of each callback.")


class ProviderOut(Schema):
    name: str
    channel: str
