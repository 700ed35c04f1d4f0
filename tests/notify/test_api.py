"""The notifications API as an institution's developer meets it."""

import pytest
from django.test import Client

from ventanilla.notify.models import Message

URL = "/api/v1/notify/messages"
REMINDER = {
    "template": "recordatorio",
    "to": "vecina@example.org",
    "personalisation": {"name": "Ana", "due": "5 de mayo"},
    "reference": "IMP-2026-0001",
}


@pytest.fixture
def client_for(api_key):
    def make(service, kind="live", language="en"):
        _key, secret = api_key(service, kind=kind)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE=language)

    return make


@pytest.fixture
def padron(reminder):
    return reminder.template.service


def _send(client, body=REMINDER, **headers):
    return client.post(URL, body, content_type="application/json", **headers)


def test_without_a_key_the_answer_says_how_to_authenticate(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="es").post(URL, REMINDER, content_type="application/json")
    assert response.status_code == 401 and "token" in response.json()["detail"]
    response = Client(HTTP_AUTHORIZATION="Bearer ntf_live_nope_nope").post(
        URL, REMINDER, content_type="application/json"
    )
    assert response.status_code == 401


def test_a_message_is_accepted_filled_in_and_followed_by_its_id(padron, client_for):
    client = client_for(padron)
    response = _send(client)
    assert response.status_code == 201
    sent = response.json()
    assert sent["status"] == "created" and sent["status_description"] == "Queued"
    assert sent["subject"] == "Recordatorio para Ana" and "vence el 5 de mayo" in sent["body"]
    assert client.get(f"{URL}/{sent['id']}").json()["reference"] == "IMP-2026-0001"
    english = _send(client, {**REMINDER, "language": "en"}).json()
    assert english["subject"] == "Reminder for Ana"


def test_the_same_idempotency_key_sends_once_and_a_different_body_is_refused(padron, client_for):
    client = client_for(padron)
    first = _send(client, HTTP_IDEMPOTENCY_KEY="imp-0001")
    again = _send(client, HTTP_IDEMPOTENCY_KEY="imp-0001")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = _send(client, {**REMINDER, "to": "otra@example.org"}, HTTP_IDEMPOTENCY_KEY="imp-0001")
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "english", "spanish"),
    [
        ({"to": "not an address"}, "to", "email address", "correo"),
        ({"personalisation": {"name": "Ana"}}, "personalisation", "due", "due"),
        ({"template": "no-such-template"}, "template", "no template", "plantilla"),
    ],
)
def test_a_wrong_request_is_told_what_to_fix_in_its_language(
    padron, client_for, change, field, english, spanish
):
    for language, expected in (("en", english), ("es", spanish)):
        response = _send(client_for(padron, language=language), {**REMINDER, **change})
        assert response.status_code == 422, response.content
        assert expected in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == field
    assert not Message.objects.exists()


def test_a_service_sees_only_its_own_messages_and_templates(padron, sending_service, client_for):
    message_id = _send(client_for(padron)).json()["id"]
    stranger = client_for(sending_service(slug="otra"))
    assert stranger.get(f"{URL}/{message_id}").status_code == 404
    assert stranger.get(URL).json()["items"] == []
    assert stranger.get("/api/v1/notify/templates/recordatorio").status_code == 404
    assert _send(stranger).status_code == 422


def test_messages_are_listed_newest_first_in_pages_with_filters(padron, client_for):
    client = client_for(padron)
    sent = [_send(client, {**REMINDER, "reference": f"R{n}"}).json()["id"] for n in range(5)]
    first = client.get(URL, {"page_size": 2}).json()
    second = client.get(URL, {"page_size": 2, "after": first["next"]}).json()
    third = client.get(URL, {"page_size": 2, "after": second["next"]}).json()
    listed = [item["id"] for page in (first, second, third) for item in page["items"]]
    assert listed == sent[::-1] and third["next"] is None
    assert [item["id"] for item in client.get(URL, {"reference": "R3"}).json()["items"]] == [sent[3]]
    assert client.get(URL, {"status": "delivered"}).json()["items"] == []
    assert client.get(URL, {"after": "nonsense"}).status_code == 422


def test_templates_can_be_read_and_previewed_without_sending(padron, client_for):
    client = client_for(padron)
    [template] = client.get("/api/v1/notify/templates").json()
    assert template["name"] == "recordatorio" and template["placeholders"] == ["name", "due"]
    preview = client.post(
        "/api/v1/notify/templates/recordatorio/preview",
        {"personalisation": {"name": "Ana", "due": "lunes"}, "language": "en"},
        content_type="application/json",
    ).json()
    assert preview["subject"] == "Reminder for Ana" and '<html lang="en">' in preview["html"]
    missing = client.post(
        "/api/v1/notify/templates/recordatorio/preview", {}, content_type="application/json"
    )
    assert missing.status_code == 422
    assert not Message.objects.exists()


def test_a_receipt_with_a_bad_signature_is_refused(db):
    response = Client().post("/api/v1/notify/receipts/sandbox", b"{}", content_type="application/json")
    assert response.status_code == 400
    assert (
        Client()
        .post("/api/v1/notify/receipts/no-such-provider", b"{}", content_type="application/json")
        .status_code
        == 400
    )
