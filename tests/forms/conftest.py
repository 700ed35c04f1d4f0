import pytest
from django.utils import translation

from ventanilla.forms.definition import load_form


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def text(en: str) -> dict:
    return {"es": en, "en": en}


def business_form_data() -> dict:
    """Three pages, the second only for companies, with a repeating group and an upload."""
    return {
        "pages": [
            {
                "key": "about",
                "title": text("About you"),
                "fields": [
                    {
                        "key": "kind",
                        "type": "choice",
                        "label": text("Who is applying"),
                        "options": [
                            {"value": "person", "label": text("A person")},
                            {"value": "company", "label": text("A company")},
                        ],
                    },
                    {
                        "key": "full_name",
                        "type": "text",
                        "label": text("Full name"),
                        "prefill": "applicant.name",
                    },
                    {
                        "key": "email",
                        "type": "email",
                        "label": text("Email address"),
                        "prefill": "applicant.email",
                        "required": False,
                    },
                ],
            },
            {
                "key": "company",
                "title": text("The company"),
                "show_if": "kind == 'company'",
                "fields": [
                    {"key": "trade_name", "type": "text", "label": text("Trade name")},
                    {
                        "key": "owners",
                        "type": "repeat",
                        "label": text("Owner"),
                        "max_items": 3,
                        "fields": [
                            {"key": "name", "type": "text", "label": text("Name")},
                            {"key": "cedula", "type": "cedula", "label": text("Cédula")},
                        ],
                    },
                ],
            },
            {
                "key": "premises",
                "title": text("The premises"),
                "fields": [
                    {"key": "address", "type": "address", "label": text("Address of the premises")},
                    {
                        "key": "employees",
                        "type": "number",
                        "label": text("Number of employees"),
                        "integer": True,
                        "min": 0,
                    },
                    {
                        "key": "plan",
                        "type": "file",
                        "label": text("Floor plan"),
                        "requirement": "plano-del-local",
                    },
                    {
                        "key": "opened_on",
                        "type": "date",
                        "label": text("Date of opening"),
                        "max_date": "today",
                        "required": False,
                        "show_if": "employees > 0",
                        "validate": [
                            {
                                "rule": "days_since(opened_on) < 3650",
                                "message": text("Must be within 10 years"),
                            }
                        ],
                    },
                ],
            },
        ],
        "declaration": text("I declare that this is true."),
    }


@pytest.fixture
def form_data():
    return business_form_data()


@pytest.fixture
def form(form_data):
    return load_form(form_data)
