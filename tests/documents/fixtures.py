"""Documents' fixtures: an issuing institution with a supervisor and an integrator, and a way to issue a document
(a driving licence unless told otherwise) to a person."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ventanilla.catalogue.models import Institution
from ventanilla.documents import services

LICENCE_FIELDS = [
    {"key": "vehicle_categories", "label_es": "Categorías", "label_en": "Categories", "value": ["B"]},
    {
        "key": "birthdate",
        "label_es": "Fecha de nacimiento",
        "label_en": "Date of birth",
        "value": "1990-04-12",
    },
    {
        "key": "address",
        "label_es": "Dirección",
        "label_en": "Address",
        "value": "Calle 50, Edificio Las Palmas, Apto. 4B, Ciudad de Panamá",
    },
]


@pytest.fixture
def attt(db):
    return Institution.objects.create(
        code="ATTT",
        kind="other",
        name_es="Autoridad de Tránsito y Transporte Terrestre",
        name_en="Land Transport and Transit Authority",
    )


@pytest.fixture
def issue(attt, system_actor):
    """issue(citizen, **overrides) → a signed document issued to `citizen` (a driving licence by default)."""
    counter = {"n": 0}

    def make(citizen, *, institution=None, **overrides):
        counter["n"] += 1
        data = {
            "kind": "licence",
            "holder": f"user:{citizen.public_id}",
            "holder_name": citizen.get_full_name(),
            "holder_identifier": citizen.document_number,
            "title_es": "Licencia de conducir",
            "title_en": "Driving licence",
            "source": f"LIC-{counter['n']}",
            "fields": LICENCE_FIELDS,
            "expires_at": timezone.now() + timedelta(days=4 * 365),
            **overrides,
        }
        document, _created = services.issue_document(
            institution=institution or attt, data=services.DocumentIn(**data), actor=system_actor
        )
        return document

    return make
