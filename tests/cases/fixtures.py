"""A small published service, its institution's officials and an applicant, shared by the cases tests."""

from decimal import Decimal
from pathlib import Path

import pytest

from ventanilla.cases import services
from ventanilla.catalogue.models import Fee, Institution, Procedure, Requirement

DEFINITION = Path(__file__).with_name("permit.yaml")
# The smallest valid PDF a browser opens: enough for the content check.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

ANSWERS = {
    "full_name": "María Pérez",
    "phone": "+50761234567",
    "owner_kind": "person",
    "description": "Ampliación de una planta",
    "cost": {"amount": "15000.00", "currency": "USD"},
    "floors": [{"area": 80}],
}


def create_permit_procedure(*, fee: str | None = None) -> dict:
    """The test municipality and its building permit in the catalogue (a document to upload, one the state
    holds): what tests/cases/permit.yaml is written for. Free unless given a `fee`: a case with a fee waits for
    its payment before anyone works on it, which only the tests about fees want."""
    institution = Institution.objects.create(
        code="MUN-PRUEBA", kind="municipality", name_es="Municipio de Prueba", name_en="Test Municipality"
    )
    procedure = Procedure.objects.create(
        code="MUN-PRUEBA-PERMISO",
        institution=institution,
        title_es="Permiso de construcción",
        title_en="Building permit",
        description_es="Permiso para construir.",
        description_en="Permission to build.",
        audience="both",
        channels=["online"],
        sign_in_level="low",
        max_days=30,
        level=4,
        status="published",
        languages=["es"],
    )
    Requirement.objects.create(procedure=procedure, name_es="Planos de la obra", name_en="Plans of the works")
    Requirement.objects.create(
        procedure=procedure,
        name_es="Cédula del propietario",
        name_en="Owner's identity card",
        issuer=institution,
        held_by_state=True,
        position=1,
    )
    if fee:
        Fee.objects.create(procedure=procedure, amount=Decimal(fee), currency="USD")
    return {"procedure": procedure, "institution": institution}


@pytest.fixture
def permit_procedure(db):
    other = Institution.objects.create(
        code="OTRA", kind="other", name_es="Otra entidad", name_en="Other body"
    )
    return {**create_permit_procedure(), "other": other}


@pytest.fixture
def permit_service(permit_procedure, system_actor):
    """The published version of the test service."""
    return services.import_definition(source=DEFINITION.read_text(), actor=system_actor)


@pytest.fixture
def paid_permit_service(permit_procedure, system_actor):
    """The test service with a fee of B/. 25.00 in the catalogue."""
    Fee.objects.create(procedure=permit_procedure["procedure"], amount=Decimal("25.00"), currency="USD")
    return services.import_definition(source=DEFINITION.read_text(), actor=system_actor)


@pytest.fixture
def official(make_user, permit_procedure, system_actor):
    """make_official("clerk", "reviewer", institution=None) → an official of the test municipality (or
    `institution`) holding those workflow roles, with an authenticator app."""

    def make(*roles, institution=None):
        user = make_user()
        for role in roles:
            services.grant_role(
                user=user,
                institution=institution or permit_procedure["institution"],
                role=role,
                actor=system_actor,
            )
        return user

    return make


@pytest.fixture
def submitted_case(request, make_citizen, system_actor):
    """submitted_case(citizen=None, answers=ANSWERS, version=permit_service) → a case sent through the services
    (with one plan)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ventanilla.identity.selectors import actor_for

    def make(citizen=None, answers=None, version=None):
        citizen = citizen or make_citizen()
        actor = actor_for(citizen)
        case, _created = services.start_case(
            version=version or request.getfixturevalue("permit_service"),
            subject=f"user:{citizen.public_id}",
            subject_label=str(citizen),
            applicant=citizen,
            filed_by=citizen,
            start_key="",
            actor=actor,
        )
        case = services.save_page(
            case=case,
            page_key="documents",
            values=dict(answers or ANSWERS),
            uploads={"plans": [SimpleUploadedFile("plans.pdf", PDF, content_type="application/pdf")]},
            actor=actor,
            user=citizen,
        )
        return services.submit(case=case, actor=actor)

    return make
