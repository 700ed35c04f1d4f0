import json

import pytest

from ventanilla.catalogue import selectors
from ventanilla.catalogue.models import CatalogueRole, UnlistedDocumentReport

pytestmark = pytest.mark.django_db


def post_json(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_search_lists_published_procedures_with_pagination(client, small_catalogue):
    response = client.get("/api/v1/procedures", {"q": "cedula", "page_size": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["items"][0]["code"] == "TE-CEDULA-RENOVACION"
    assert body["items"][0]["url"].endswith("/tramites/TE-CEDULA-RENOVACION/")
    everything = client.get("/api/v1/procedures", {"page_size": 100}).json()
    assert everything["total"] == 3  # the draft is not public


def test_one_procedure_in_full(client, small_catalogue):
    body = client.get("/api/v1/procedures/TE-CEDULA-RENOVACION").json()
    assert body["fees"] == [{"amount": "5.00", "currency": "USD", "conditions_es": "", "conditions_en": ""}]
    assert body["requirements"][0]["issuer"] == "TE" and body["requirements"][0]["held_by_state"] is True
    assert client.get("/api/v1/procedures/TE-BORRADOR").status_code == 404


@pytest.mark.parametrize(
    ("language", "expected"), [("es", "Debe ser 5 o menos."), ("en", "Must be 5 or less.")]
)
def test_invalid_filters_get_a_clear_error_in_the_callers_language(
    client, small_catalogue, language, expected
):
    response = client.get("/api/v1/procedures", {"level": 9}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "level", "message": expected}]


def test_writes_need_a_token(client, small_catalogue):
    response = post_json(
        client, "/api/v1/change-requests", {"withdraw": "TE-CEDULA-RENOVACION", "justification": "x" * 30}
    )
    assert response.status_code == 401


def test_an_institution_editor_cannot_change_another_institutions_procedure(
    api_client_for, make_user, small_catalogue
):
    editor = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["te"])
    api = api_client_for(editor)
    permit = selectors.procedure_document(small_catalogue["permit"])
    response = post_json(
        api,
        "/api/v1/change-requests",
        {"procedure": {**permit, "level": 4}, "justification": "We want it to be online now."},
    )
    assert response.status_code == 403
    assert "institution" in response.json()["detail"]


def test_propose_then_approve_over_the_api(api_client_for, make_user, small_catalogue):
    editor = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["te"])
    reviewer = make_user(role=CatalogueRole.Role.AUTHORITY_REVIEWER)
    doc = selectors.procedure_document(small_catalogue["cedula"])
    doc["fees"] = [{"amount": "7.50", "currency": "USD", "conditions_es": "", "conditions_en": ""}]
    created = post_json(
        api_client_for(editor),
        "/api/v1/change-requests",
        {"procedure": doc, "justification": "Fee updated by Resolución 12 de 2026."},
    )
    assert created.status_code == 201, created.content
    change_id = created.json()["id"]
    approved = post_json(api_client_for(reviewer), f"/api/v1/change-requests/{change_id}/approve", {})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    log = api_client_for(reviewer).get("/api/v1/procedures/TE-CEDULA-RENOVACION/changes").json()
    assert log[0]["summary"][0]["field"] == "fees"


def test_an_invalid_document_lists_each_problem_by_field(api_client_for, make_user, small_catalogue):
    editor = make_user(role=CatalogueRole.Role.AUTHORITY_EDITOR)
    doc = selectors.procedure_document(small_catalogue["cedula"])
    doc.update(level=7, title_es="", fees=[{"amount": "abc", "currency": "USD"}])
    response = post_json(
        api_client_for(editor, "es"),
        "/api/v1/change-requests",
        {"procedure": doc, "justification": "Una justificación suficientemente larga."},
    )
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert fields["procedure.level"] == "Debe ser 5 o menos."
    assert fields["procedure.title_es"] == "Escriba al menos 3 caracteres."
    assert fields["procedure.fees.0.amount"] == "Escriba un importe como 12.50."


def test_malformed_json_is_a_clear_error_not_a_crash(api_client_for, make_user, small_catalogue):
    editor = make_user(role=CatalogueRole.Role.AUTHORITY_EDITOR)
    response = api_client_for(editor).post(
        "/api/v1/change-requests", "{not json", content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert "detail" in response.json()


def test_reporting_an_unlisted_document_is_idempotent(client, small_catalogue):
    body = {"office": "Sede de Plaza Edison", "document": "Carta de trabajo", "asked_on": "2026-01-15"}
    first = post_json(
        client,
        "/api/v1/procedures/TE-CEDULA-RENOVACION/unlisted-document-reports",
        body,
        HTTP_IDEMPOTENCY_KEY="abc-123",
    )
    again = post_json(
        client,
        "/api/v1/procedures/TE-CEDULA-RENOVACION/unlisted-document-reports",
        body,
        HTTP_IDEMPOTENCY_KEY="abc-123",
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["reference"] == again.json()["reference"]
    assert UnlistedDocumentReport.objects.count() == 1


def test_a_report_dated_in_the_future_is_refused(client, small_catalogue):
    response = post_json(
        client,
        "/api/v1/procedures/TE-CEDULA-RENOVACION/unlisted-document-reports",
        {"office": "Sede", "document": "Carta", "asked_on": "2999-01-01"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "asked_on", "message": "The date cannot be in the future."}
    ]


def test_institutions_and_openapi(client, small_catalogue):
    codes = [i["code"] for i in client.get("/api/v1/institutions").json()]
    assert set(codes) == {"TE", "MUN-PANAMA"}
    assert client.get("/api/v1/institutions/NOPE").status_code == 404
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/procedures" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_editors_see_only_their_institutions_change_requests(api_client_for, make_user, small_catalogue):
    te_editor = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["te"])
    city_editor = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["mupa"])
    doc = selectors.procedure_document(small_catalogue["permit"])
    post_json(
        api_client_for(city_editor),
        "/api/v1/change-requests",
        {"procedure": {**doc, "level": 3}, "justification": "Online start is now available at the city."},
    )
    assert api_client_for(te_editor).get("/api/v1/change-requests").json() == []
    assert len(api_client_for(city_editor).get("/api/v1/change-requests").json()) == 1


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("csv", "TE-CEDULA-RENOVACION"),
        ("ttl", "cpsv:PublicService"),
        ("json", '"procedures"'),
        ("jsonld", '"@context"'),
    ],
)
def test_open_data_downloads_even_before_the_first_snapshot(
    client, small_catalogue, settings, tmp_path, fmt, marker
):
    settings.MEDIA_ROOT = tmp_path
    response = client.get(f"/api/v1/opendata/catalogue.{fmt}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert marker in body and "TE-BORRADOR" not in body
    assert client.get("/api/v1/opendata/catalogue.xml").status_code == 404
