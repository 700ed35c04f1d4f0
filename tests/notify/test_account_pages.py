"""The person's side: messages in the account, how they hear from us, confirming a mobile number."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.identity.helpers import sign_in
from ventanilla.notify.models import Message, PhoneCheck


@pytest.fixture
def applicant(make_citizen, submitted_case, run_tasks_immediately):
    """A citizen whose case was received, so one message waits in their account."""
    citizen = make_citizen(language="en")
    case = submitted_case(citizen)
    citizen.case = case
    return citizen


def _sent_code(citizen) -> str:
    body = (
        Message.objects.filter(recipient=f"user:{citizen.public_id}", channel="sms").latest("created_at").body
    )
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_messages_need_a_signed_in_person(db):
    response = Client().get("/cuenta/mensajes/")
    assert response.status_code == 302 and response["Location"].startswith("/entrar/")


def test_a_person_reads_their_messages_and_the_unread_count_drops(applicant):
    client = sign_in(applicant)
    account = client.get("/en/cuenta/").content.decode()
    assert "1 new" in account
    inbox = client.get("/en/cuenta/mensajes/").content.decode()
    assert f"We received your application {applicant.case.reference}" in inbox and "New" in inbox
    message = Message.objects.get(recipient=f"user:{applicant.public_id}", channel="inbox")
    page = client.get(f"/en/cuenta/mensajes/{message.id}/").content.decode()
    assert f'href="http://127.0.0.1:8000/en/solicitudes/{applicant.case.reference}/"' in page
    assert "1 new" not in client.get("/en/cuenta/").content.decode()
    message.refresh_from_db()
    assert message.read_at is not None


def test_a_person_cannot_read_another_persons_message(applicant, make_citizen):
    message = Message.objects.get(recipient=f"user:{applicant.public_id}", channel="inbox")
    stranger = sign_in(make_citizen())
    assert stranger.get(f"/cuenta/mensajes/{message.id}/").status_code == 404
    assert applicant.case.reference not in stranger.get("/cuenta/mensajes/").content.decode()
    message.refresh_from_db()
    assert message.read_at is None


def test_spanish_by_default_english_under_en(applicant):
    client = sign_in(applicant)
    assert "Mensajes" in client.get("/cuenta/mensajes/").content.decode()
    assert "How you hear from us" in client.get("/en/cuenta/avisos/").content.decode()


def test_preferences_are_saved_and_change_what_is_sent(
    make_citizen, submitted_case, with_phone, run_tasks_immediately, sms_outbox
):
    citizen = with_phone(make_citizen(language="en"))
    client = sign_in(citizen)
    response = client.post("/en/cuenta/avisos/", {"channels": "email"})
    assert response.status_code == 302
    assert "Your choices have been saved" in client.get(response["Location"]).content.decode()
    submitted_case(citizen)
    channels = sorted(
        Message.objects.filter(recipient=f"user:{citizen.public_id}").values_list("channel", flat=True)
    )
    assert channels == ["email", "inbox"]
    assert sms_outbox.sent == []


def test_a_preference_form_without_a_choice_says_what_to_do(make_citizen):
    client = sign_in(make_citizen())
    page = client.post("/en/cuenta/avisos/", {}).content.decode()
    assert "Choose how you want to hear from us" in page and "error-summary" in page


def test_a_mobile_number_is_confirmed_with_the_code_texted_to_it(
    make_citizen, sms_outbox, run_tasks_immediately
):
    citizen = make_citizen(language="en")
    citizen.phone = "+50761112233"
    citizen.save(update_fields=["phone"])
    client = sign_in(citizen)
    assert "Not confirmed" in client.get("/en/cuenta/avisos/").content.decode()
    response = client.post("/en/cuenta/avisos/codigo/")
    assert response["Location"] == "/en/cuenta/avisos/confirmar-celular/"
    [sent] = sms_outbox.sent
    assert sent["to"] == "+50761112233" and "your code to confirm this number" in sent["text"]
    code = _sent_code(citizen)
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(response["Location"], {"code": wrong}).content.decode()
    assert "That is not the code we sent" in page
    response = client.post("/en/cuenta/avisos/confirmar-celular/", {"code": f"{code[:3]} {code[3:]}"})
    assert response["Location"] == "/en/cuenta/avisos/"
    citizen.refresh_from_db()
    assert citizen.phone_verified_at is not None


def test_an_expired_code_or_too_many_wrong_ones_need_a_new_code(
    make_citizen, sms_outbox, run_tasks_immediately
):
    citizen = make_citizen(language="en")
    citizen.phone = "+50761112233"
    citizen.save(update_fields=["phone"])
    client = sign_in(citizen)
    client.post("/en/cuenta/avisos/codigo/")
    code = _sent_code(citizen)
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(5):
        client.post("/en/cuenta/avisos/confirmar-celular/", {"code": wrong})
    page = client.post("/en/cuenta/avisos/confirmar-celular/", {"code": code}).content.decode()
    assert "Too many wrong codes" in page
    client.post("/en/cuenta/avisos/codigo/")
    PhoneCheck.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.post("/en/cuenta/avisos/confirmar-celular/", {"code": _sent_code(citizen)}).content.decode()
    assert "This code has expired" in page
    client.post("/en/cuenta/avisos/codigo/")
    third = client.post("/en/cuenta/avisos/codigo/", follow=True).content.decode()
    assert "codes in the last hour" in third, "three codes an hour at most"
    citizen.refresh_from_db()
    assert citizen.phone_verified_at is None
