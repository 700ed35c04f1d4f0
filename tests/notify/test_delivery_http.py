"""Messages reach real servers: a mail server process, the sandbox SMS provider process, and the platform's own
`ventanilla serve` with its worker (see live.py) — once each, in the person's language, also when a server is
down for a while."""

import json
import time
import uuid

import pytest

from tests.cases.live import ANSWERS, SERVICE
from ventanilla.core import callbacks
from ventanilla.notify import sandbox_sms

from .live import SMS_SECRET, MailServer, Platform, SandboxSms, wait_for

# Starts real server processes (the marker's meaning); runs in the default run all the same.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    server = MailServer(tmp_path_factory.mktemp("mail")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sms():
    provider = SandboxSms().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def platform(mail, sms):
    server = Platform(mail, sms).start(worker=True)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def sms_provider_behaves(sms):
    yield
    sms.control(mode="normal", duplicate_receipts=False, drop_receipts=False)


# --- Helpers ---------------------------------------------------------------------------------------------------


def submit_case(platform, person: dict) -> str:
    status, _, case = platform.call(
        "POST",
        "/api/v1/applications",
        {"service": SERVICE, "answers": ANSWERS, "submit": True},
        token=person["token"],
    )
    assert status == 201, case
    return case["reference"]


def approve(platform, reference: str) -> None:
    path = f"/api/v1/back-office/cases/{reference}/actions"
    token = platform.notify["official"]
    status, _, case = platform.call("POST", f"{path}/accept", {"inputs": {}}, token=token)
    assert status == 200, case
    status, _, case = platform.call("POST", f"{path}/approve", {"inputs": {"reason": "OK"}}, token=token)
    assert status == 200 and case["outcome"] == "approved", case


def messages_about(platform, reference: str) -> list[dict]:
    rows = platform.query(
        "SELECT id, channel, status, attempts FROM notify_message WHERE reference = %s", reference
    )
    return [
        {"id": uuid.UUID(str(row[0])), "channel": row[1], "status": row[2], "attempts": row[3]}
        for row in rows
    ]


def message_ids(received) -> list[uuid.UUID]:
    """The platform's message id in each email's Message-ID header (<id@domain>)."""
    return [uuid.UUID(message["Message-ID"].strip("<>").split("@")[0]) for message in received]


def send(platform, service: str, body: dict, *, kind="live", **headers):
    return platform.call(
        "POST", "/api/v1/notify/messages", body, token=platform.notify[service][kind], **headers
    )


def notice(number: str, to: str = "vecino@example.org", template: str = "aviso") -> dict:
    return {"template": template, "to": to, "personalisation": {"number": number}, "reference": number}


def status_of(platform, message_id: str) -> dict:
    status, _, message = platform.call(
        "GET", f"/api/v1/notify/messages/{message_id}", token=platform.notify["padron"]["live"]
    )
    assert status == 200, message
    return message


# --- A case decision tells the applicant ----------------------------------------------------------------------


def test_a_decision_reaches_the_applicant_once_by_email_and_by_text_in_their_language(platform, mail, sms):
    english, spanish = platform.notify["en"], platform.notify["es"]
    references = {"en": submit_case(platform, english), "es": submit_case(platform, spanish)}
    for reference in references.values():
        approve(platform, reference)

    def settled(reference):
        """Received and approved, each in the account, by email and by text (its status from the receipt)."""
        messages = messages_about(platform, reference)
        on_their_way = [m for m in messages if m["status"] != "delivered"]
        return len(messages) == 6 and not on_their_way and messages

    for reference in references.values():
        messages = wait_for(lambda r=reference: settled(r), what=f"every message about {reference} delivered")
        assert {m["channel"] for m in messages} == {"inbox", "email", "sms"}

    received = mail.received()
    texts = sms.received()
    expected = {
        "en": ("Your application {} was approved", "Hello Mary", "for Building permit was approved"),
        "es": ("Su solicitud {} fue aprobada", "Hola, María", "de Permiso de construcción fue aprobada"),
    }
    for language, person in (("en", english), ("es", spanish)):
        reference = references[language]
        subject, greeting, sms_words = expected[language]
        about_case = [message for message in received if reference in message["Subject"]]
        assert len(about_case) == 2, "one email when it was received, one when it was decided"
        [decision] = [message for message in about_case if message["Subject"] == subject.format(reference)]
        assert decision["To"] == person["email"] and decision["From"] == "avisos@ventanilla.test"
        assert decision.get_content_type() == "multipart/alternative"
        plain = decision.get_body(("plain",)).get_content()
        html = decision.get_body(("html",)).get_content()
        assert greeting in plain and reference in plain and "<p>" not in plain
        assert f'<html lang="{language}">' in html and reference in html

        to_phone = [text for text in texts if text["to"] == person["phone"] and reference in text["body"]]
        assert len(to_phone) == 2, "one text when it was received, one when it was decided"
        [decided] = [text for text in to_phone if sms_words in text["body"]]
        assert decided["status"] == "delivered"

        [inbox] = platform.query(
            "SELECT subject, status FROM notify_message WHERE channel = 'inbox' AND recipient = %s "
            "AND reference = %s AND subject = %s",
            person["person"],
            reference,
            subject.format(reference),
        )
        assert inbox[1] == "delivered"
    ids = message_ids(received)
    assert len(ids) == len(set(ids)), "no email arrived twice"


# --- The mail server goes down for a while ---------------------------------------------------------------------


def test_mail_sent_while_the_mail_server_is_down_arrives_once_when_it_is_back(platform, mail):
    mail.stop()
    try:
        references = [submit_case(platform, platform.notify["en"]) for _ in range(3)]
        for number in ("AV-1", "AV-2", "AV-3"):
            status, _, sent = send(platform, "padron", notice(number))
            assert status == 201, sent
            references.append(number)

        def emails():
            return [m for r in references for m in messages_about(platform, r) if m["channel"] == "email"]

        waiting = wait_for(
            lambda: len(emails()) == 6 and all(m["attempts"] >= 2 for m in emails()) and emails(),
            what="each email tried at least twice",
        )
        assert {m["status"] for m in waiting} == {"created"}, "queued again, not given up"
    finally:
        mail.start()

    delivered = wait_for(
        lambda: all(m["status"] == "delivered" for m in emails()) and emails(),
        timeout=20,
        what="every email delivered once the mail server is back",
    )
    received = message_ids(mail.received())
    for message in delivered:
        assert received.count(message["id"]) == 1, f"email {message['id']} arrived once"
    assert len(received) == len(set(received)), "no email arrived twice"


# --- The SMS provider fails, repeats itself, is impersonated ---------------------------------------------------


def test_texts_are_retried_while_the_provider_fails_then_delivered_once(platform, sms):
    sms.control(mode="fail")
    status, _, sent = send(platform, "padron", notice("SMS-1", "+507 6222-0001", "aviso-sms"))
    assert status == 201 and sent["status"] == "created"
    wait_for(
        lambda: messages_about(platform, "SMS-1")[0]["attempts"] >= 2,
        what="the text tried at least twice",
    )
    assert status_of(platform, sent["id"])["status"] == "created"
    assert not [text for text in sms.received() if text["reference"] == sent["id"]]

    sms.control(mode="normal")
    wait_for(lambda: status_of(platform, sent["id"])["status"] == "delivered", what="the text delivered")
    [text] = [text for text in sms.received() if text["reference"] == sent["id"]]
    assert text["to"] == "+50762220001" and text["body"] == "Padrón: su aviso SMS-1 está listo."


def test_a_receipt_sent_twice_changes_nothing_the_second_time(platform, sms):
    sms.control(duplicate_receipts=True)
    status, _, sent = send(platform, "padron", notice("SMS-2", "+50762220002", "aviso-sms"))
    assert status == 201
    first = wait_for(
        lambda: (message := status_of(platform, sent["id"]))["status"] == "delivered" and message,
        what="the text delivered",
    )
    time.sleep(0.6)  # the copy of the receipt comes 0.2 s after the first
    again = status_of(platform, sent["id"])
    assert again["status"] == "delivered" and again["completed_at"] == first["completed_at"]
    assert len([text for text in sms.received() if text["reference"] == sent["id"]]) == 1


def _receipt(platform, message_id: str, status: str, secret: str) -> int:
    body = json.dumps({"id": "sbx_forged", "reference": message_id, "to": "+50762220003", "status": status})
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        sandbox_sms.TIMESTAMP_HEADER: timestamp,
        sandbox_sms.SIGNATURE_HEADER: callbacks.signature(secret, timestamp, body.encode()),
    }
    return platform.request("POST", "/api/v1/notify/receipts/sandbox", body, headers)[0]


def test_a_receipt_with_a_wrong_signature_is_refused_and_changes_nothing(platform, sms):
    sms.control(drop_receipts=True)
    status, _, sent = send(platform, "padron", notice("SMS-3", "+50762220003", "aviso-sms"))
    assert status == 201
    wait_for(lambda: status_of(platform, sent["id"])["status"] == "sending", what="the text handed over")

    assert _receipt(platform, sent["id"], "permanent-failure", "not the shared secret") == 400
    assert status_of(platform, sent["id"])["status"] == "sending"
    assert _receipt(platform, sent["id"], "delivered", SMS_SECRET) == 204
    assert status_of(platform, sent["id"])["status"] == "delivered"


def test_a_number_that_does_not_exist_ends_as_a_permanent_failure(platform, sms):
    status, _, sent = send(platform, "padron", notice("SMS-4", "+50762220000", "aviso-sms"))
    assert status == 201
    message = wait_for(
        lambda: (found := status_of(platform, sent["id"]))["status"] not in ("created", "sending") and found,
        what="the receipt",
    )
    assert message["status"] == "permanent-failure"
    assert message["status_description"] == "No entregado: la dirección o el número no existe", (
        "Spanish by default"
    )


# --- The institutions' API -------------------------------------------------------------------------------------


def test_a_retried_request_sends_one_email_and_a_changed_body_is_refused(platform, mail):
    key = str(uuid.uuid4())
    status, _, first = send(platform, "padron", notice("IDEM-1"), **{"Idempotency-Key": key})
    assert status == 201
    status, headers, again = send(platform, "padron", notice("IDEM-1"), **{"Idempotency-Key": key})
    assert status == 201 and headers["Idempotent-Replayed"] == "true" and again["id"] == first["id"]
    status, _, refused = send(platform, "padron", notice("IDEM-2"), **{"Idempotency-Key": key})
    assert status == 422 and "Idempotency-Key" in refused["detail"]

    wait_for(lambda: uuid.UUID(first["id"]) in message_ids(mail.received()), what="the email")
    assert [m["id"] for m in messages_about(platform, "IDEM-1")] == [uuid.UUID(first["id"])]
    assert message_ids(mail.received()).count(uuid.UUID(first["id"])) == 1
    assert not messages_about(platform, "IDEM-2")


def test_a_test_key_reports_delivery_and_sends_nothing(platform, mail):
    status, _, tried = send(platform, "padron", notice("TEST-1", "prueba@example.org"), kind="test")
    assert status == 201 and tried["status"] == "delivered" and tried["test"] is True
    status, _, live = send(platform, "padron", notice("LIVE-1", "prueba@example.org"))
    assert status == 201

    wait_for(lambda: uuid.UUID(live["id"]) in message_ids(mail.received()), what="the live email")
    assert uuid.UUID(tried["id"]) not in message_ids(mail.received())
    assert len([m for m in mail.received() if m["To"] == "prueba@example.org"]) == 1


def test_over_the_rate_limit_the_answer_says_to_wait_in_the_senders_language(platform):
    if time.time() % 60 > 55:  # the limit counts per clock minute: start all of it in the same one
        time.sleep(60 - time.time() % 60)
    for number in range(5):
        status, _, sent = send(platform, "limited", notice(f"LIM-{number}"))
        assert status == 201, sent
    status, _, english = send(platform, "limited", notice("LIM-5"), **{"Accept-Language": "en"})
    assert status == 429
    assert english["detail"] == (
        "Too many messages: this service may send 5 a minute. Wait a minute and send again."
    )
    status, _, spanish = send(platform, "limited", notice("LIM-6"), **{"Accept-Language": "es"})
    assert status == 429 and spanish["detail"].startswith("Demasiados mensajes") and "5" in spanish["detail"]
    assert not messages_about(platform, "LIM-5") and not messages_about(platform, "LIM-6")
