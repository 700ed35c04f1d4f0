"""Public and staff pages, as people meet them: both languages, clear errors, no double submissions."""

import re

import pytest

from tests.identity.helpers import sign_in_with_second_factor
from ventanilla.catalogue.models import CatalogueRole, UnlistedDocumentReport

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("prefix", "lang", "heading"),
    [("", "es", "Renovación de cédula"), ("/en", "en", "Identity card renewal")],
)
def test_the_procedure_page_tells_everything_before_sign_in(client, small_catalogue, prefix, lang, heading):
    response = client.get(f"{prefix}/tramites/TE-CEDULA-RENOVACION/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in html and heading in html
    assert "B/. 5.00" in html  # fee, exact
    expected = {
        "es": [
            "Lo que necesita",
            "Pasos",
            "Si la institución no responde a tiempo",
            "Si no está de acuerdo",
            "Base legal",
            "Idiomas",
            "Pagar",
            "Iniciar sesión",
        ],
        "en": [
            "What you need",
            "Steps",
            "If the institution does not answer in time",
            "If you disagree",
            "Legal basis",
            "Languages",
            "Paying",
            "Signing in",
        ],
    }[lang]
    for section in expected:
        if section in ("Pasos", "Steps"):
            continue  # shown only when the procedure has steps
        assert section in html, section


def test_search_page_works_without_javascript(client, small_catalogue):
    html = client.get("/tramites/", {"q": "construccion"}).content.decode()
    assert "Permiso de construcción" in html and "1 trámite encontrado" in html
    html = client.get("/en/tramites/", {"q": "zzzz"}).content.decode()
    assert "No procedure matches" in html


def test_invalid_filters_do_not_break_the_search_page(client, small_catalogue):
    response = client.get("/tramites/", {"level": "nine", "page": "-3"})
    assert response.status_code == 200


def test_the_language_switch_links_to_the_same_page(client, small_catalogue):
    html = client.get("/tramites/TE-CEDULA-RENOVACION/").content.decode()
    assert 'href="/en/tramites/TE-CEDULA-RENOVACION/"' in html
    html = client.get("/en/tramites/TE-CEDULA-RENOVACION/").content.decode()
    assert 'href="/tramites/TE-CEDULA-RENOVACION/"' in html


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/no-existe/", "Página no encontrada"),
        ("/en/no-such-page/", "Page not found"),
        ("/tramites/NOPE/", "Página no encontrada"),
    ],
)
def test_not_found_pages_in_both_languages(client, url, text):
    response = client.get(url)
    assert response.status_code == 404 and text in response.content.decode()


def report_form(client, prefix=""):
    html = client.get(f"{prefix}/tramites/TE-CEDULA-RENOVACION/documento-no-listado/").content.decode()
    return re.search(r'name="submission_key" value="([0-9a-f]+)"', html).group(1)


def test_reporting_an_unlisted_document_twice_files_one_report(client, small_catalogue):
    key = report_form(client)
    data = {
        "office": "Regional de David",
        "document": "Carta del empleador",
        "asked_on": "2026-02-03",
        "submission_key": key,
    }
    first = client.post("/tramites/TE-CEDULA-RENOVACION/documento-no-listado/", data)
    second = client.post("/tramites/TE-CEDULA-RENOVACION/documento-no-listado/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    confirmation = client.get(first["Location"]).content.decode()
    report = UnlistedDocumentReport.objects.get()
    assert report.reference in confirmation and "Reporte enviado" in confirmation


def test_report_errors_are_listed_in_the_page_language(client, small_catalogue):
    key = report_form(client, "/en")
    html = client.post(
        "/en/tramites/TE-CEDULA-RENOVACION/documento-no-listado/",
        {"office": "", "document": "Carta", "asked_on": "3026-01-01", "submission_key": key},
    ).content.decode()
    assert "There is a problem" in html
    assert "Say at which office you were asked for the document." in html
    assert "The date cannot be in the future." in html
    assert not UnlistedDocumentReport.objects.exists()


def test_an_institution_answers_its_reports_and_the_count_is_public(client, make_user, small_catalogue):
    key = report_form(client)
    client.post(
        "/tramites/TE-CEDULA-RENOVACION/documento-no-listado/",
        {
            "office": "Sede central",
            "document": "Paz y salvo",
            "asked_on": "2026-02-03",
            "submission_key": key,
        },
    )
    reference = UnlistedDocumentReport.objects.get().reference

    outsider = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["mupa"])
    sign_in_with_second_factor(outsider, client=client)
    assert client.get(f"/gestion/reportes/{reference}/").status_code == 404
    assert reference not in client.get("/gestion/reportes/").content.decode()

    official = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["te"])
    sign_in_with_second_factor(official, client=client)
    assert reference in client.get("/gestion/reportes/").content.decode()
    response = client.post(
        f"/gestion/reportes/{reference}/", {"answer": "The office was instructed not to ask for it again."}
    )
    assert response.status_code == 302
    public = client.get("/en/documentos-no-listados/").content.decode()
    assert re.search(r"Electoral Tribunal</a></th><td class=\"num\">1</td><td class=\"num\">1</td>", public)


def test_staff_pages_need_sign_in(client, small_catalogue):
    for url in ["/gestion/reportes/", "/gestion/cambios/", "/gestion/cambios/nuevo/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/entrar/?next=")


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/en/",
        "/instituciones/",
        "/instituciones/TE/",
        "/temas/",
        "/niveles/",
        "/simplificacion/",
        "/instituciones/TE/simplificacion/",
        "/datos-abiertos/",
        "/accesibilidad/",
        "/en/tramites/TE-CEDULA-RENOVACION/cambios/",
        "/documentos-no-listados/",
    ],
)
def test_public_pages_answer(client, small_catalogue, url):
    assert client.get(url).status_code == 200


def test_healthz(client):
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("prefix", "text"),
    [("", "hay un problema con el servicio"), ("/en", "there is a problem with the service")],
)
def test_an_unexpected_error_shows_a_calm_page_in_the_right_language(client, monkeypatch, prefix, text):
    from ventanilla.web import views

    def broken():
        raise RuntimeError("database on fire")

    monkeypatch.setattr(views.catalogue, "level_summary", broken)
    client.raise_request_exception = False
    response = client.get(f"{prefix}/")
    assert response.status_code == 500
    assert text in response.content.decode()
    assert "database on fire" not in response.content.decode()


def test_the_reference_data_gives_every_institution_a_page_and_a_plan(client, system_actor, settings):
    from ventanilla.catalogue import services

    counts = services.load_reference_data(path=settings.VENTANILLA_REFERENCE_DATA, actor=system_actor)
    assert counts["institutions"] >= 46 + 77 and counts["procedures"] >= 150 and counts["plan_items"] > 0
    html = client.get("/en/instituciones/MICI/simplificacion/").content.decode()
    assert "Simplification plan" in html and '<td class="num">4</td>' in html
