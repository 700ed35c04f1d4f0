"""The cases API: services and their definitions, a person's applications, and the back office — what each
endpoint gives, and what it refuses."""

import json

import pytest
from django.test import Client

from tests.cases.fixtures import ANSWERS, DEFINITION, PDF
from ventanilla.cases.definitions import parse_source
from ventanilla.catalogue.models import CatalogueRole
from ventanilla.identity.models import StaffRole

SERVICE = "MUN-PRUEBA-PERMISO"
NO_FILES_ANSWERS = {key: value for key, value in ANSWERS.items()}


def no_files_definition() -> dict:
    """The test service without its documents page: it can be started and sent in one request."""
    document = parse_source(DEFINITION.read_text())
    document["form"]["pages"] = [page for page in document["form"]["pages"] if page["key"] != "documents"]
    return document


@pytest.fixture
def quick_service(permit_service, system_actor):
    from ventanilla.cases import services

    version = services.save_draft(source=json.dumps(no_files_definition()), actor=system_actor)
    return services.publish(version=version, actor=system_actor)


def post_json(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def errors_of(response) -> dict:
    return {error["field"]: error["message"] for error in response.json().get("errors", [])}


# --- Online services ------------------------------------------------------------------------------------------


def test_published_services_are_listed_with_levels_and_fees(paid_permit_service):
    services = Client().get("/api/v1/services").json()
    assert [s["procedure"] for s in services] == [SERVICE]
    service = services[0]
    assert service["version"] == 1
    assert service["declared_level"] == 4
    assert service["computed_level"] in (3, 4, 5)
    assert service["sign_in_level"] == "low"
    assert service["fees"][0]["amount"] == "25.00"
    assert service["institution"] == "MUN-PRUEBA"


def test_one_service_comes_with_its_definition(permit_service):
    response = Client().get(f"/api/v1/services/{SERVICE}")
    assert response.status_code == 200
    assert response.json()["definition"]["workflow"]["initial"] == "received"
    assert Client().get("/api/v1/services/NO-SUCH").status_code == 404


def test_the_json_schema_is_public(db):
    response = Client().get("/api/v1/services/schema.json")
    assert response.status_code == 200
    assert "properties" in response.json()


def test_the_published_definition_and_a_version_by_number(permit_service):
    current = Client().get(f"/api/v1/services/{SERVICE}/definition").json()
    assert current["version"] == 1 and current["status"] == "published"
    assert current["document"]["procedure"] == SERVICE
    assert Client().get(f"/api/v1/services/{SERVICE}/definition?version=1").json()["version"] == 1
    assert Client().get(f"/api/v1/services/{SERVICE}/definition?version=9").status_code == 404
    assert Client().get(f"/api/v1/services/{SERVICE}/definition?version=x").status_code == 422


@pytest.fixture
def integrator(make_user, permit_procedure):
    user = make_user()
    StaffRole.objects.create(
        user=user, role=StaffRole.Role.INTEGRATOR, institution=permit_procedure["institution"]
    )
    return user


def test_an_integrator_saves_a_draft_and_publishes_it(permit_service, integrator, api_client_for):
    client = api_client_for(integrator)
    document = parse_source(DEFINITION.read_text())
    document["workflow"]["case_sla_days"] = 10
    response = client.put(
        f"/api/v1/services/{SERVICE}/definition", json.dumps(document), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response.json()["status"] == "draft"
    # The draft is not public, but its authors see it.
    assert Client().get(f"/api/v1/services/{SERVICE}/definition?version=2").status_code == 404
    assert client.get(f"/api/v1/services/{SERVICE}/definition?version=2").status_code == 200
    assert Client().get(f"/api/v1/services/{SERVICE}").json()["version"] == 1

    response = client.post(f"/api/v1/services/{SERVICE}/versions/2/publish")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    assert Client().get(f"/api/v1/services/{SERVICE}").json()["version"] == 2
    again = client.post(f"/api/v1/services/{SERVICE}/versions/2/publish")
    assert again.status_code == 409
    assert client.post(f"/api/v1/services/{SERVICE}/versions/7/publish").status_code == 404


def test_a_definition_can_be_sent_as_yaml(permit_service, make_user, permit_procedure, api_client_for):
    editor = make_user(
        role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=permit_procedure["institution"]
    )
    response = api_client_for(editor).put(
        f"/api/v1/services/{SERVICE}/definition", DEFINITION.read_text(), content_type="application/yaml"
    )
    assert response.status_code == 200, response.content
    assert response.json()["source"].startswith("# A compact service")


def test_a_wrong_definition_is_refused_with_the_paths_of_its_problems(
    permit_service, integrator, api_client_for
):
    client = api_client_for(integrator)
    document = parse_source(DEFINITION.read_text())
    document["form"]["pages"][3]["fields"][0]["requirement"] = "not-in-the-catalogue"
    response = client.put(
        f"/api/v1/services/{SERVICE}/definition", json.dumps(document), content_type="application/json"
    )
    assert response.status_code == 422
    assert "form.pages[3].fields[0].requirement" in errors_of(response)

    broken = client.put(
        f"/api/v1/services/{SERVICE}/definition", "{not json", content_type="application/json"
    )
    assert broken.status_code == 422
    assert "line 1" in broken.json()["detail"]
    bad_yaml = client.put(
        f"/api/v1/services/{SERVICE}/definition", "a: [1, 2", content_type="application/yaml"
    )
    assert bad_yaml.status_code == 422
    other = {**document, "procedure": "OTRO"}
    assert (
        client.put(
            f"/api/v1/services/{SERVICE}/definition", json.dumps(other), content_type="application/json"
        ).status_code
        == 422
    )


def test_only_authors_of_the_institution_may_change_a_service(
    permit_service, make_user, make_citizen, permit_procedure, api_client_for
):
    source = DEFINITION.read_text()
    path = f"/api/v1/services/{SERVICE}/definition"
    assert Client().put(path, source, content_type="application/yaml").status_code == 401
    assert (
        api_client_for(make_citizen()).put(path, source, content_type="application/yaml").status_code == 403
    )
    elsewhere = make_user()
    StaffRole.objects.create(
        user=elsewhere, role=StaffRole.Role.INTEGRATOR, institution=permit_procedure["other"]
    )
    refused = api_client_for(elsewhere).put(path, source, content_type="application/yaml")
    assert refused.status_code == 403
    assert "MUN-PRUEBA" in refused.json()["detail"]
    assert api_client_for(elsewhere).post(f"/api/v1/services/{SERVICE}/versions/1/publish").status_code == 403
    operator = make_user()
    operator.is_superuser = True
    operator.save()
    assert api_client_for(operator).put(path, source, content_type="application/yaml").status_code == 200
    assert api_client_for(operator).put("/api/v1/services/NO-SUCH/definition", source).status_code == 404


# --- Applications ---------------------------------------------------------------------------------------------


def test_start_answer_upload_and_submit(permit_service, make_citizen, api_client_for):
    client = api_client_for(make_citizen())
    response = post_json(client, "/api/v1/applications", {"service": SERVICE}, HTTP_IDEMPOTENCY_KEY="start-1")
    assert response.status_code == 201, response.content
    case = response.json()
    reference = case["reference"]
    assert case["stage"] == "draft" and case["links"]["submit"].endswith(f"/applications/{reference}/submit")
    assert case["links"]["web"].endswith(f"/solicitudes/{reference}/")

    answered = patch_json(client, f"/api/v1/applications/{reference}", {"answers": ANSWERS})
    assert answered.status_code == 200, answered.content
    assert answered.json()["answers"]["cost"] == {"amount": "15000.00", "currency": "USD"}

    upload = client.post(
        f"/api/v1/applications/{reference}/evidence",
        {"field": "plans", "file": _pdf()},
    )
    assert upload.status_code == 201, upload.content
    evidence_id = upload.json()["id"]
    assert upload.json()["content_type"] == "application/pdf"
    patch_json(client, f"/api/v1/applications/{reference}", {"answers": {"plans": [evidence_id]}})

    sent = client.post(f"/api/v1/applications/{reference}/submit", HTTP_IDEMPOTENCY_KEY="send-1")
    assert sent.status_code == 200, sent.content
    assert sent.json()["stage"] == "open" and sent.json()["state"] == "received"
    assert sent.json()["state_label"] == "Received"
    assert sent.json()["state_due_at"] and sent.json()["case_due_at"]

    detail = client.get(f"/api/v1/applications/{reference}").json()
    assert [event["kind"] for event in detail["history"]] == ["started", "submitted"]
    assert detail["evidence"][0]["id"] == evidence_id
    assert detail["what_next"] == "We check the application is complete."
    assert client.get("/api/v1/applications").json()["items"][0]["reference"] == reference


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("plans.pdf", PDF, content_type="application/pdf")


def test_start_and_submit_in_one_request(quick_service, make_citizen, api_client_for):
    from ventanilla.cases.models import Case

    client = api_client_for(make_citizen())
    response = post_json(
        client,
        "/api/v1/applications",
        {"service": SERVICE, "answers": NO_FILES_ANSWERS, "submit": True},
        HTTP_IDEMPOTENCY_KEY="one-go",
    )
    assert response.status_code == 201, response.content
    assert response.json()["stage"] == "open"
    assert Case.objects.get().version == quick_service


def test_a_refused_submission_leaves_no_case_behind(permit_service, make_citizen, api_client_for):
    from ventanilla.cases.models import Case

    client = api_client_for(make_citizen())
    body = {"service": SERVICE, "answers": ANSWERS, "submit": True}
    response = post_json(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 422
    assert "plans" in errors_of(response)
    assert not Case.objects.exists()


def test_the_same_key_and_body_make_one_application(quick_service, make_citizen, api_client_for):
    from ventanilla.cases.models import Case

    client = api_client_for(make_citizen())
    body = {"service": SERVICE, "answers": NO_FILES_ANSWERS, "submit": True}
    first = post_json(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="same")
    second = post_json(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == second.status_code == 201
    assert first.json()["reference"] == second.json()["reference"]
    assert second["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1

    changed = post_json(
        client, "/api/v1/applications", {**body, "submit": False}, HTTP_IDEMPOTENCY_KEY="same"
    )
    assert changed.status_code == 422
    assert "Idempotency-Key" in errors_of(changed)
    assert Case.objects.count() == 1
    too_long = post_json(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert too_long.status_code == 400
    # Without a key, every request is a new application.
    post_json(client, "/api/v1/applications", body)
    assert Case.objects.count() == 2


def test_submitting_twice_returns_the_same_case(permit_service, submitted_case, make_citizen, api_client_for):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    client = api_client_for(citizen)
    first = client.post(f"/api/v1/applications/{case.reference}/submit", HTTP_IDEMPOTENCY_KEY="x")
    second = client.post(f"/api/v1/applications/{case.reference}/submit")
    assert first.status_code == second.status_code == 200
    assert first.json()["submitted_at"] == second.json()["submitted_at"]


def test_answers_of_the_wrong_shape_are_refused_with_their_paths(
    permit_service, make_citizen, api_client_for
):
    client = api_client_for(make_citizen())
    reference = post_json(client, "/api/v1/applications", {"service": SERVICE}).json()["reference"]
    response = patch_json(
        client,
        f"/api/v1/applications/{reference}",
        {"answers": {"owner_kind": "martian", "floors": [{"area": "lots"}], "cost": "lots"}},
    )
    assert response.status_code == 422
    fields = errors_of(response)
    assert "owner_kind" in fields and "cost" in fields
    assert any(field.startswith("floors[0]") for field in fields), fields
    someone_elses = patch_json(
        client, f"/api/v1/applications/{reference}", {"answers": {"plans": [str(_uuid())]}}
    )
    assert someone_elses.status_code == 422


def _uuid():
    import uuid

    return uuid.uuid4()


def test_a_sent_application_cannot_be_changed(submitted_case, make_citizen, api_client_for):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    client = api_client_for(citizen)
    response = patch_json(client, f"/api/v1/applications/{case.reference}", {"answers": {"description": "x"}})
    assert response.status_code == 409
    upload = client.post(
        f"/api/v1/applications/{case.reference}/evidence", {"field": "plans", "file": _pdf()}
    )
    assert upload.status_code == 409


def test_evidence_is_checked_by_content_and_question(permit_service, make_citizen, api_client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = api_client_for(make_citizen())
    reference = post_json(client, "/api/v1/applications", {"service": SERVICE}).json()["reference"]
    path = f"/api/v1/applications/{reference}/evidence"
    fake = SimpleUploadedFile("plans.pdf", b"just text, not a PDF", content_type="application/pdf")
    assert client.post(path, {"field": "plans", "file": fake}).status_code == 422
    assert client.post(path, {"field": "full_name", "file": _pdf()}).status_code == 422
    assert client.post(path, {"field": "plans"}).status_code == 422


def test_messages_and_withdrawal(submitted_case, make_citizen, api_client_for):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    client = api_client_for(citizen)
    message = post_json(client, f"/api/v1/applications/{case.reference}/messages", {"text": "¿Cuándo?"})
    assert message.status_code == 201
    assert (
        post_json(client, f"/api/v1/applications/{case.reference}/messages", {"text": " "}).status_code == 422
    )
    withdrawn = post_json(client, f"/api/v1/applications/{case.reference}/withdraw", {"reason": "Ya no"})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["outcome"] == "withdrawn"
    assert post_json(client, f"/api/v1/applications/{case.reference}/withdraw", {}).status_code == 409
    kinds = [
        event["kind"] for event in client.get(f"/api/v1/applications/{case.reference}").json()["history"]
    ]
    assert kinds == ["started", "submitted", "message", "withdrawn"]


def test_a_citizen_cannot_see_or_touch_anothers_application(submitted_case, make_citizen, api_client_for):
    case = submitted_case()
    stranger = api_client_for(make_citizen())
    path = f"/api/v1/applications/{case.reference}"
    assert stranger.get(path).status_code == 404
    assert patch_json(stranger, path, {"answers": {}}).status_code == 404
    assert stranger.post(f"{path}/submit").status_code == 404
    assert post_json(stranger, f"{path}/messages", {"text": "hola"}).status_code == 404
    assert post_json(stranger, f"{path}/withdraw", {}).status_code == 404
    assert stranger.post(f"{path}/evidence", {"field": "plans", "file": _pdf()}).status_code == 404
    assert stranger.get("/api/v1/applications").json()["items"] == []
    assert Client().get(path).status_code == 401


def test_bad_requests_are_answered_never_with_a_500(permit_service, make_citizen, api_client_for):
    client = api_client_for(make_citizen())
    malformed = client.post("/api/v1/applications", "{oops", content_type="application/json")
    assert 400 <= malformed.status_code < 500
    wrong_types = post_json(
        client, "/api/v1/applications", {"service": SERVICE, "answers": "x", "submit": "maybe"}
    )
    assert wrong_types.status_code == 422
    assert {"answers", "submit"} <= set(errors_of(wrong_types))
    unknown = post_json(client, "/api/v1/applications", {"service": "NO-SUCH"})
    assert unknown.status_code == 422 and "service" in errors_of(unknown)
    assert client.get("/api/v1/applications/SOL-0000-0000").status_code == 404
    assert client.get("/api/v1/applications?page=0").status_code == 422
    assert patch_json(client, "/api/v1/applications/NOPE", {"answers": []}).status_code == 422


def test_errors_speak_the_callers_language(make_citizen, api_client_for, permit_service):
    spanish = api_client_for(make_citizen(), language="es")
    response = post_json(spanish, "/api/v1/applications", {"service": SERVICE, "submit": "quizás"})
    assert response.json()["detail"] == "Algunos valores no son válidos."


# --- Back office ----------------------------------------------------------------------------------------------


def test_an_official_works_the_queue(submitted_case, official, api_client_for):
    first, second = submitted_case(), submitted_case()
    clerk = api_client_for(official("clerk"))
    queue = clerk.get("/api/v1/back-office/cases").json()
    assert {item["reference"] for item in queue["items"]} == {first.reference, second.reference}
    assert queue["next"] is None
    paged = clerk.get("/api/v1/back-office/cases?limit=1").json()
    assert len(paged["items"]) == 1 and paged["next"]
    rest = clerk.get(f"/api/v1/back-office/cases?limit=1&after={paged['next']}").json()
    assert rest["items"][0]["reference"] != paged["items"][0]["reference"]
    assert clerk.get("/api/v1/back-office/cases?after=garbage").status_code == 422
    assert clerk.get("/api/v1/back-office/cases?state=review").json()["items"] == []
    assert len(clerk.get("/api/v1/back-office/cases?institution=MUN-PRUEBA&role=clerk").json()["items"]) == 2

    case = clerk.get(f"/api/v1/back-office/cases/{first.reference}").json()
    assert case["answers"]["description"] == ANSWERS["description"]
    assert len(case["evidence"]) == 1
    assert [action["key"] for action in case["actions"]] == ["accept", "ask_for_information"]

    moved = post_json(
        clerk,
        f"/api/v1/back-office/cases/{first.reference}/actions/accept",
        {"expected_state": "received"},
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["state"] == "review" and moved.json()["queue_role"] == "reviewer"
    again = post_json(
        clerk, f"/api/v1/back-office/cases/{first.reference}/actions/accept", {"expected_state": "received"}
    )
    assert again.status_code == 409


def test_actions_refuse_what_the_workflow_does_not_allow(submitted_case, official, api_client_for):
    case = submitted_case()
    clerk = api_client_for(official("clerk"))
    path = f"/api/v1/back-office/cases/{case.reference}/actions"
    assert post_json(clerk, f"{path}/fly", {}).status_code == 404
    missing_reason = post_json(clerk, f"{path}/ask_for_information", {"inputs": {}})
    assert missing_reason.status_code == 422
    assert "reason" in errors_of(missing_reason)
    wrong_role = post_json(api_client_for(official("reviewer")), f"{path}/accept", {})
    assert wrong_role.status_code == 403


def test_notes_are_for_officials_only(submitted_case, official, make_citizen, api_client_for):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    clerk = api_client_for(official("clerk"))
    note = post_json(clerk, f"/api/v1/back-office/cases/{case.reference}/notes", {"text": "Revisar planos"})
    assert note.status_code == 201 and note.json()["internal"] is True
    history = clerk.get(f"/api/v1/back-office/cases/{case.reference}").json()["history"]
    assert history[-1]["text"] == "Revisar planos"
    seen_by_applicant = (
        api_client_for(citizen).get(f"/api/v1/applications/{case.reference}").json()["history"]
    )
    assert all(event["kind"] != "note" for event in seen_by_applicant)


def test_an_official_and_the_applicant_write_to_each_other(
    submitted_case, official, make_citizen, api_client_for
):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    clerk = api_client_for(official("clerk"))
    path = f"/api/v1/back-office/cases/{case.reference}/messages"
    assert post_json(clerk, path, {"text": "Falta la firma del ingeniero"}).status_code == 201
    applicant = api_client_for(citizen)
    history = applicant.get(f"/api/v1/applications/{case.reference}").json()["history"]
    assert history[-1]["text"] == "Falta la firma del ingeniero"
    reply = post_json(applicant, f"/api/v1/applications/{case.reference}/messages", {"text": "La envío hoy"})
    assert reply.status_code == 201
    assert (
        clerk.get(f"/api/v1/back-office/cases/{case.reference}").json()["history"][-1]["text"]
        == "La envío hoy"
    )
    assert post_json(clerk, path, {"text": "  "}).status_code == 422


def test_an_official_of_another_institution_sees_nothing(
    submitted_case, official, permit_procedure, make_citizen, api_client_for
):
    case = submitted_case()
    outsider = api_client_for(official("clerk", "supervisor", institution=permit_procedure["other"]))
    path = f"/api/v1/back-office/cases/{case.reference}"
    assert outsider.get(path).status_code == 404
    assert post_json(outsider, f"{path}/actions/accept", {}).status_code == 404
    assert post_json(outsider, f"{path}/notes", {"text": "x"}).status_code == 404
    assert outsider.get("/api/v1/back-office/cases?institution=MUN-PRUEBA").status_code == 404
    assert outsider.get("/api/v1/back-office/cases").json()["items"] == []
    citizen = api_client_for(make_citizen())
    assert citizen.get("/api/v1/back-office/cases").status_code == 403
    assert citizen.get(path).status_code == 404


def test_an_official_in_several_institutions_says_which(
    submitted_case, official, permit_procedure, system_actor
):
    from ventanilla.cases import services

    user = official("clerk")
    services.grant_role(user=user, institution=permit_procedure["other"], role="clerk", actor=system_actor)
    submitted_case()
    from ventanilla.identity import services as identity

    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {identity.issue_api_token(user=user, name='t', actor=system_actor)}"
    )
    response = client.get("/api/v1/back-office/cases")
    assert response.status_code == 422 and "institution" in errors_of(response)
    assert len(client.get("/api/v1/back-office/cases?institution=MUN-PRUEBA").json()["items"]) == 1


def test_a_service_that_needs_a_second_factor_is_not_for_api_tokens(
    permit_service, submitted_case, make_citizen, api_client_for
):
    citizen = make_citizen(level="substantial")
    case = submitted_case(citizen=citizen)
    permit_service.resolved = {**permit_service.resolved, "sign_in_level": "substantial"}
    permit_service.save(update_fields=["resolved"])
    client = api_client_for(citizen)
    refused = post_json(client, "/api/v1/applications", {"service": "MUN-PRUEBA-PERMISO"})
    assert refused.status_code == 403 and "use it from the website" in refused.json()["detail"]
    assert client.get(f"/api/v1/applications/{case.reference}").status_code == 403
