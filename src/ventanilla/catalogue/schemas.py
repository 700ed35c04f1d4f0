"""The procedure document: one shape for the reference data files, the API, change requests and the change log."""

from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field, field_validator

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]*$"
ChannelCode = Literal["online", "office", "phone311", "infoplaza"]


class RequirementDoc(Schema):
    kind: Literal["document", "condition"] = "document"
    name_es: str = Field(min_length=2, max_length=300)
    name_en: str = Field(min_length=2, max_length=300)
    format_es: str = Field("", max_length=200)
    format_en: str = Field("", max_length=200)
    issuer: str | None = Field(None, pattern=CODE_PATTERN, description="Code of the issuing institution.")
    held_by_state: bool = False


class FeeDoc(Schema):
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    conditions_es: str = Field("", max_length=300)
    conditions_en: str = Field("", max_length=300)


class LegalBasisDoc(Schema):
    instrument: str = Field(min_length=3, max_length=300)
    article: str = Field("", max_length=200)


class StepDoc(Schema):
    es: str = Field(min_length=2)
    en: str = Field(min_length=2)


class ProcessingTimeDoc(Schema):
    typical: int | None = Field(None, ge=0, le=3650)
    max: int | None = Field(None, ge=0, le=3650)
    unit: Literal["working", "calendar"] = "working"


class SilenceDoc(Schema):
    rule: Literal["positive", "negative", "none"] = "negative"
    es: str = ""
    en: str = ""


class OutputDoc(Schema):
    es: str = Field("", max_length=300)
    en: str = Field("", max_length=300)
    validity_es: str = Field("", max_length=200)
    validity_en: str = Field("", max_length=200)


class AppealDoc(Schema):
    es: str = ""
    en: str = ""


class ProcedureDoc(Schema):
    code: str = Field(min_length=2, max_length=80, pattern=CODE_PATTERN)
    institution: str = Field(pattern=CODE_PATTERN)
    title_es: str = Field(min_length=3, max_length=250)
    title_en: str = Field(min_length=3, max_length=250)
    description_es: str = Field(min_length=10)
    description_en: str = Field(min_length=10)
    audience: list[Literal["citizen", "business"]] = Field(min_length=1)
    topics: list[str] = []
    requirements: list[RequirementDoc] = []
    fees: list[FeeDoc] = []
    legal_basis: list[LegalBasisDoc] = []
    channels: list[ChannelCode] = Field(min_length=1)
    sign_in_level: Literal["none", "low", "substantial", "high"] = "none"
    steps: list[StepDoc] = []
    processing_time: ProcessingTimeDoc = ProcessingTimeDoc()
    silence: SilenceDoc = SilenceDoc()
    output: OutputDoc = OutputDoc()
    appeal: AppealDoc = AppealDoc()
    level: int = Field(ge=1, le=5)
    reengineering_planned: bool = False
    languages: list[Literal["es", "en"]] = ["es"]
    illustrative: bool = False

    @field_validator("processing_time")
    @classmethod
    def typical_within_max(cls, value: ProcessingTimeDoc) -> ProcessingTimeDoc:
        if value.typical is not None and value.max is not None and value.typical > value.max:
            raise ValueError("the typical time cannot be longer than the maximum time")
        return value

    def as_json(self) -> dict:
        return self.model_dump(mode="json")
