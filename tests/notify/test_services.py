"""Templates, sending, retrying and delivery receipts, without HTTP (test_delivery_http.py has the real processes)."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ventanilla.core import callbacks
from ventanilla.core.actor import Actor
from ventanilla.notify import rendering, sandbox_sms, services
from ventanilla.notify.models import Message, Preference
from ventanilla.notify.plugins import InvalidReceipt, PermanentFailure, TemporaryFailure

SYSTEM = Actor.system("tests")


def _sms_template(service, **texts):
    return services.save_template(
        service=service,
        slug="cita",
        channel="sms",
        essential=True,
        body_es=texts.get("body_es", "Su cita es el ((day)) a las ((time))."),
        body_en=texts.get("body_en", "Your appointment is on ((day)) at ((time))."),
        actor=SYSTEM,
    )


def _queued_sms(service, to="+50761234567"):
    return services.send(
        version=_sms_template(service),
        channel="sms",
        to=to,
        language="es",
        personalisation={"day": "lunes", "time": "9:00"},
    )


# --- Rendering ---------------------------------------------------------------------------------------------


def test_placeholders_are_filled_and_every_missing_one_is_named():
    rendered = rendering.render(
        subject="Hola ((name))",
        body="Vence el (( due )).",
        personalisation={"name": "Ana", "due": "5 de mayo"},
    )
    assert (rendered.subject, rendered.text) == ("Hola Ana", "Vence el 5 de mayo.")
    with pytest.raises(rendering.MissingPersonalisation) as refused:
        rendering.render(subject="((a))", body="((b)) ((c))", personalisation={"b": "x"})
    assert refused.value.names == ["a", "c"]


def test_the_html_email_escapes_values_links_addresses_and_keeps_lists():
    html = rendering.email_html(
        subject="Aviso",
        text="Hola <script>alert(1)</script>\n\n* uno\n* dos\n\nVea https://example.org/x",
        language="es",
        sender_name="Padrón",
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<li" in html and ">uno</li>" in html
    assert '<a href="https://example.org/x"' in html
    assert '<html lang="es">' in html


def test_sms_length_counts_fragments_as_phones_do():
    assert rendering.sms_length("a" * 160).fragments == 1
    assert rendering.sms_length("a" * 161).fragments == 2
    assert rendering.sms_length("€" * 80).fragments == 1, "an extended GSM character takes two units"
    assert rendering.sms_length("€" * 81).fragments == 2
    assert rendering.sms_length("ó" * 70) == rendering.SmsLength(characters=70, fragments=1, unicode=True)
    assert rendering.sms_length("ó" * 71).fragments == 2


# --- Templates ---------------------------------------------------------------------------------------------


def test_an_edit_makes_a_new_version_and_an_unchanged_save_does_not(sending_service):
    service = sending_service()
    first = _sms_template(service)
    assert _sms_template(service) == first
    second = _sms_template(
        service, body_es="Cita: ((day)), ((time)).", body_en="Appointment: ((day)), ((time))."
    )
    assert (first.number, second.number) == (1, 2)
    assert second.template == first.template


def test_both_languages_must_use_the_same_placeholders(sending_service):
    with pytest.raises(services.NotifyError) as refused:
        _sms_template(sending_service(), body_en="Your appointment is on ((day)).")
    assert "time" in refused.value.errors["body_en"]


def test_an_email_template_needs_a_subject_in_both_languages(sending_service):
    with pytest.raises(services.NotifyError) as refused:
        services.save_template(
            service=sending_service(),
            slug="x",
            channel="email",
            essential=True,
            subject_es="Asunto",
            body_es="Texto",
            body_en="Text",
            actor=SYSTEM,
        )
    assert set(refused.value.errors) == {"subject_en"}


# --- Sending and retrying ----------------------------------------------------------------------------------


def test_a_message_is_saved_with_its_task_before_anything_is_sent(sending_service):
    message = _queued_sms(sending_service())
    assert message.status == "created" and message.body == "Su cita es el lunes a las 9:00."
    assert DBTaskResult.objects.filter(
        task_path="ventanilla.notify.tasks.deliver_message", args_kwargs__kwargs__message_id=str(message.id)
    ).exists()


def test_a_temporary_failure_is_retried_later_with_growing_waits(sending_service, sms_outbox, settings):
    settings.VENTANILLA_NOTIFY_RETRY_SECONDS = 30
    message = _queued_sms(sending_service())
    sms_outbox.failures += [TemporaryFailure("gateway down"), TemporaryFailure("gateway down")]
    assert services.deliver(message_id=str(message.id)) == "retrying"
    message.refresh_from_db()
    first_wait = message.next_attempt_at - timezone.now()
    assert message.status == "created" and message.attempts == 1 and "gateway down" in message.failure
    assert timedelta(seconds=25) < first_wait <= timedelta(seconds=30)
    assert services.deliver(message_id=str(message.id)) == "not due", "a stray task does not jump the wait"
    Message.objects.filter(id=message.id).update(next_attempt_at=timezone.now())
    assert services.deliver(message_id=str(message.id)) == "retrying"
    message.refresh_from_db()
    assert timedelta(seconds=55) < message.next_attempt_at - timezone.now() <= timedelta(seconds=60)
    Message.objects.filter(id=message.id).update(next_attempt_at=timezone.now())
    assert services.deliver(message_id=str(message.id)) == "sending"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.failure) == ("sending", 3, "")
    assert len(sms_outbox.sent) == 1


def test_after_the_last_attempt_the_message_is_a_technical_failure(sending_service, sms_outbox, settings):
    settings.VENTANILLA_NOTIFY_MAX_ATTEMPTS = 1
    message = _queued_sms(sending_service())
    sms_outbox.failures.append(TemporaryFailure("gateway down"))
    assert services.deliver(message_id=str(message.id)) == "technical-failure"
    message.refresh_from_db()
    assert message.status == "technical-failure" and message.completed_at


def test_a_refused_number_is_a_permanent_failure_and_is_not_retried(sending_service, sms_outbox):
    message = _queued_sms(sending_service())
    sms_outbox.failures.append(PermanentFailure("no such number"))
    assert services.deliver(message_id=str(message.id)) == "permanent-failure"
    assert services.deliver(message_id=str(message.id)) == "skipped"
    assert Message.objects.get(id=message.id).status == "permanent-failure"


def test_delivering_twice_sends_once(sending_service, sms_outbox):
    message = _queued_sms(sending_service())
    assert services.deliver(message_id=str(message.id)) == "sending"
    assert services.deliver(message_id=str(message.id)) == "skipped"
    assert len(sms_outbox.sent) == 1


def test_the_sweeper_requeues_lost_tasks_and_settles_what_never_heard_back(sending_service, sms_outbox):
    service = sending_service()
    lost = _queued_sms(service)
    unanswered = _queued_sms(service)
    services.deliver(message_id=str(unanswered.id))
    later = timezone.now() + timedelta(days=4)
    DBTaskResult.objects.all().delete()
    assert services.settle_stuck(now=later) == {"requeued": 1, "no_receipt": 1, "interrupted": 0}
    assert DBTaskResult.objects.filter(args_kwargs__kwargs__message_id=str(lost.id)).exists()
    assert Message.objects.get(id=unanswered.id).status == "temporary-failure"


# --- Delivery receipts -------------------------------------------------------------------------------------


SANDBOX_SECRET = "sandbox-sms-shared-secret"  # the settings' default


def _receipt(message_id, status, *, secret=SANDBOX_SECRET, age=0):
    body = json.dumps({"id": "sbx_1", "reference": str(message_id), "to": "+507", "status": status}).encode()
    timestamp = str(int(time.time()) - age)
    return body, {
        sandbox_sms.TIMESTAMP_HEADER: timestamp,
        sandbox_sms.SIGNATURE_HEADER: callbacks.signature(secret, timestamp, body),
    }


def test_the_first_receipt_settles_the_message_and_later_ones_change_nothing(sending_service, sms_outbox):
    message = _queued_sms(sending_service())
    services.deliver(message_id=str(message.id))
    body, headers = _receipt(message.id, "delivered")
    assert services.record_receipts(provider_name="sandbox", body=body, headers=headers) == 1
    assert services.record_receipts(provider_name="sandbox", body=body, headers=headers) == 0
    late_body, late_headers = _receipt(message.id, "temporary-failure")
    assert services.record_receipts(provider_name="sandbox", body=late_body, headers=late_headers) == 0
    message.refresh_from_db()
    assert message.status == "delivered" and message.provider_reference == "sbx_1"


@pytest.mark.parametrize(
    ("secret", "age"),
    [("someone else's secret", 0), (SANDBOX_SECRET, 3600)],
    ids=["forged", "stale"],
)
def test_a_forged_or_stale_receipt_is_refused(sending_service, sms_outbox, secret, age):
    message = _queued_sms(sending_service())
    services.deliver(message_id=str(message.id))
    body, headers = _receipt(message.id, "delivered", secret=secret, age=age)
    with pytest.raises(InvalidReceipt):
        services.record_receipts(provider_name="sandbox", body=body, headers=headers)
    assert Message.objects.get(id=message.id).status == "sending"


# --- Who may be sent what ----------------------------------------------------------------------------------


def test_a_person_who_opted_out_gets_no_non_essential_message_but_still_essential_ones(
    reminder, make_citizen, sending_service
):
    citizen = make_citizen()
    services.set_preference(
        person=f"user:{citizen.public_id}", channels="both", non_essential=False, actor=SYSTEM
    )
    refused = services.send(
        version=reminder,
        channel="email",
        to=citizen.email.upper(),
        language="es",
        personalisation={"name": "Ana", "due": "lunes"},
    )
    assert (refused.status, refused.failure) == ("permanent-failure", "opted-out")
    assert not DBTaskResult.objects.filter(args_kwargs__kwargs__message_id=str(refused.id)).exists()
    essential = services.save_template(
        service=reminder.template.service,
        slug="aviso",
        channel="email",
        essential=True,
        subject_es="A",
        subject_en="A",
        body_es="Texto",
        body_en="Text",
        actor=SYSTEM,
    )
    sent = services.send(
        version=essential, channel="email", to=citizen.email, language="es", personalisation={}
    )
    assert sent.status == "created"
    assert Preference.objects.get(user=f"user:{citizen.public_id}").non_essential is False


def test_a_service_over_its_rate_limit_is_told_to_wait(sending_service, api_key):
    service = sending_service(rate_limit_per_minute=2)
    _sms_template(service)
    key, _secret = api_key(service)

    def send():
        services.check_rate_limit(service=service)
        return services.send_from_api(
            key=key,
            template_id="cita",
            to="+507 6123-4567",
            personalisation={"day": "1", "time": "2"},
            reference="",
            language="es",
        )

    assert send().to == "+50761234567"
    send()
    with pytest.raises(services.NotifyError) as refused:
        send()
    assert refused.value.status == 429 and "2" in str(refused.value)
    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    ("to", "status"),
    [
        ("+50761234567", "delivered"),
        ("+50761230000", "permanent-failure"),
        ("+50761239999", "temporary-failure"),
    ],
)
def test_a_test_key_sends_nothing_and_reports_as_the_sandbox_would(sending_service, api_key, to, status):
    service = sending_service()
    _sms_template(service)
    key, _secret = api_key(service, kind="test")
    message = services.send_from_api(
        key=key,
        template_id="cita",
        to=to,
        personalisation={"day": "1", "time": "2"},
        reference="r",
        language="en",
    )
    assert message.test and message.status == status
    assert not DBTaskResult.objects.filter(args_kwargs__kwargs__message_id=str(message.id)).exists()


def test_an_api_key_works_until_revoked(sending_service, api_key):
    key, secret = api_key(sending_service())
    assert services.api_key_for(secret) == key
    assert services.api_key_for(secret + "x") is None
    services.revoke_api_key(key=key, actor=SYSTEM)
    assert services.api_key_for(secret) is None


def test_old_emails_and_texts_lose_their_words_but_account_messages_stay(
    submitted_case, make_citizen, run_tasks_immediately
):
    citizen = make_citizen()
    submitted_case(citizen)
    assert services.forget_old_contents() == 0
    assert services.forget_old_contents(now=timezone.now() + timedelta(days=91)) == 1
    email = Message.objects.get(recipient=f"user:{citizen.public_id}", channel="email")
    assert (email.status, email.to, email.body, email.personalisation) == ("delivered", "", "", {})
    assert Message.objects.get(recipient=f"user:{citizen.public_id}", channel="inbox").body
