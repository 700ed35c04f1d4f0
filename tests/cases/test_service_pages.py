"""The public page of an online service: the workflow drawn and told in words, what the form asks, documents
asked and fetched, fees, and the level it delivers beside the catalogue's; the diagram as an image; the way in
from the catalogue's procedure page."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.identity.helpers import sign_in_with_second_factor
from ventanilla.catalogue.models import Procedure


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def english(name: str, *args) -> str:
    with translation.override("en"):
        return reverse(name, args=args)


CODE = "MUN-PRUEBA-PERMISO"


def test_the_service_page_draws_the_workflow_and_tells_it_in_words(client, paid_permit_service):
    response = client.get(english("cases:service", CODE))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and 'role="img"' in html
    assert "Building permit" in html and english("cases:start", CODE) in html
    assert english("catalogue:procedure", CODE) in html
    # The states with their deadlines, and the actions.
    assert "Technical review" in html and "At most 5 working days." in html
    assert "Waits for the applicant" in html and "Ask for more information" in html
    assert "at most 15 working days" in html
    # What the form asks, and documents asked vs fetched.
    assert "About you" in html and "The company" in html and "Only in some cases" in html
    assert "Area (m²)" in html and "Plans of the works" in html
    assert "Owner&#x27;s identity card" in html and "held by Test Municipality" in html
    assert "B/. 25.00" in html
    assert "level-mismatch" not in html, "the catalogue's level is the one delivered"
    assert "Versions (for the institution" not in html


def test_a_level_the_catalogue_misstates_is_flagged(client, permit_service):
    Procedure.objects.filter(code=CODE).update(level=3)
    html = client.get(english("cases:service", CODE)).content.decode()
    assert (
        "The catalogue declares level 3; this online service delivers level 4. "
        "The institution should update the catalogue."
    ) in html


def test_officials_of_the_institution_also_see_the_versions(permit_service, official):
    browser = sign_in_with_second_factor(official("clerk"))
    html = browser.get(english("cases:service", CODE)).content.decode()
    assert "Versions (for the institution" in html and "Published" in html


def test_a_procedure_without_a_published_service_has_no_service_page(client, permit_procedure):
    assert client.get(english("cases:service", CODE)).status_code == 404
    assert client.get(english("cases:diagram", CODE)).status_code == 404
    assert client.get(english("cases:service", "NO-EXISTE")).status_code == 404


def test_the_diagram_is_an_svg_image_revalidated_by_its_etag(client, permit_service):
    response = client.get(english("cases:diagram", CODE))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response.content.startswith(b"<svg")
    etag = response["ETag"]
    assert etag.startswith('"') and "max-age" in response["Cache-Control"]
    again = client.get(english("cases:diagram", CODE), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    with translation.override("es"):
        spanish = client.get(reverse("cases:diagram", args=[CODE]))
    assert spanish["ETag"] != etag, "each language is its own image"
    assert "En revisión técnica".encode() in spanish.content and b"Technical review" in response.content


def test_the_catalogue_page_leads_into_the_online_service(client, permit_procedure):
    html = client.get(english("catalogue:procedure", CODE)).content.decode()
    assert english("cases:start", CODE) not in html, "no service published yet"


def test_the_catalogue_page_offers_to_start_and_shows_both_levels(client, permit_service):
    Procedure.objects.filter(code=CODE).update(level=3)
    html = client.get(english("catalogue:procedure", CODE)).content.decode()
    assert "Start now" in html and english("cases:start", CODE) in html
    assert english("cases:service", CODE) in html
    assert "The catalogue declares level 3; this online service delivers level 4." in html
