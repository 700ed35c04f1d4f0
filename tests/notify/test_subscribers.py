"""A case that changes tells its applicant: once, in their language, by the channels they have and prefer."""

from django.core import mail

from ventanilla.cases import services as cases
from ventanilla.core.actor import Actor
from ventanilla.identity.selectors import actor_for
from ventanilla.notify import services
from ventanilla.notify.models import Message


def _messages(citizen, **filters):
    return Message.objects.filter(recipient=f"user:{citizen.public_id}", **filters)


def _decide(case, official, action_key, reason="Cumple con todo"):
    clerk = official("clerk", "reviewer")
    case = cases.act(case=case, action_key="accept", inputs={}, official=clerk, actor=actor_for(clerk))
    return cases.act(
        case=case, action_key=action_key, inputs={"reason": reason}, official=clerk, actor=actor_for(clerk)
    )


def test_a_submitted_case_tells_the_applicant_in_their_account_and_by_email_in_their_language(
    submitted_case, make_citizen, run_tasks_immediately
):
    citizen = make_citizen(language="en")
    case = submitted_case(citizen)
    inbox = _messages(citizen, channel="inbox").get()
    email = _messages(citizen, channel="email").get()
    assert inbox.status == email.status == "delivered"
    assert inbox.subject == email.subject == f"We received your application {case.reference}"
    assert "Hello María" in email.body and "Test Municipality" in email.body
    assert f"/en/solicitudes/{case.reference}/" in email.body
    [sent] = mail.outbox
    assert sent.to == [citizen.email] and sent.subject == email.subject
    html = sent.alternatives[0][0]
    assert (
        '<html lang="en">' in html
        and f'href="http://127.0.0.1:8000/en/solicitudes/{case.reference}/"' in html
    )
    assert not _messages(citizen, channel="sms").exists(), "no confirmed mobile number, no SMS"


def test_a_spanish_speaker_hears_in_spanish(submitted_case, make_citizen, run_tasks_immediately):
    citizen = make_citizen(language="es")
    case = submitted_case(citizen)
    assert _messages(citizen, channel="email").get().subject == f"Recibimos su solicitud {case.reference}"
    assert "Hola, María" in mail.outbox[0].body


def test_a_confirmed_mobile_number_gets_a_short_text_too(
    submitted_case, make_citizen, with_phone, run_tasks_immediately, sms_outbox
):
    citizen = with_phone(make_citizen(language="en"), "+50761112222")
    case = submitted_case(citizen)
    sms = _messages(citizen, channel="sms").get()
    assert sms.status == "sending", "handed to the provider, waiting for its delivery receipt"
    [sent] = sms_outbox.sent
    assert sent["to"] == "+50761112222" and sent["message_id"] == str(sms.id)
    assert sent["text"].startswith(f"Panamá en Línea: we received your application {case.reference}")
    assert "\n" not in sent["text"]


def test_an_unconfirmed_mobile_number_gets_nothing(submitted_case, make_citizen, run_tasks_immediately):
    citizen = make_citizen()
    citizen.phone = "+50761112222"
    citizen.save(update_fields=["phone"])
    submitted_case(citizen)
    assert not _messages(citizen, channel="sms").exists()


def test_approval_and_rejection_each_send_their_own_message_with_the_reason(
    submitted_case, official, make_citizen, run_tasks_immediately
):
    approved_for = make_citizen(language="en")
    _decide(submitted_case(approved_for), official, "approve", reason="All in order")
    rejected_for = make_citizen(language="en")
    _decide(submitted_case(rejected_for), official, "reject", reason="The plans are not signed")
    approval = _messages(approved_for, channel="email", subject__contains="approved").get()
    assert "All in order" in approval.body
    rejection = _messages(rejected_for, channel="email", subject__startswith="Decision").get()
    assert "The plans are not signed" in rejection.body
    assert not _messages(rejected_for, subject__contains="approved").exists()


def test_a_send_back_asks_for_what_is_missing(submitted_case, official, make_citizen, run_tasks_immediately):
    citizen = make_citizen(language="es")
    clerk = official("clerk")
    cases.act(
        case=submitted_case(citizen),
        action_key="ask_for_information",
        inputs={"reason": "Falta la firma del arquitecto"},
        official=clerk,
        actor=actor_for(clerk),
    )
    message = _messages(citizen, channel="email", subject__contains="necesita algo").get()
    assert "Falta la firma del arquitecto" in message.body


def test_an_event_delivered_twice_makes_each_message_once(
    submitted_case, make_citizen, with_phone, run_tasks_immediately, sms_outbox
):
    from ventanilla.core.models import Event
    from ventanilla.notify.subscribers import tell_applicant

    citizen = with_phone(make_citizen())
    submitted_case(citizen)
    event = Event.objects.get(name="cases.submitted", subject=f"user:{citizen.public_id}")
    tell_applicant(event)
    tell_applicant(event)
    assert sorted(_messages(citizen).values_list("channel", flat=True)) == ["email", "inbox", "sms"]


def test_preferences_choose_the_channel_and_fall_back_to_the_one_the_person_has(
    submitted_case, make_citizen, with_phone, run_tasks_immediately, sms_outbox
):
    person = make_citizen()
    services.set_preference(
        person=f"user:{person.public_id}", channels="sms", non_essential=True, actor=Actor.system("tests")
    )
    submitted_case(person)
    assert sorted(_messages(person).values_list("channel", flat=True)) == ["email", "inbox"], (
        "SMS only was asked for, but there is no confirmed number: email rather than silence"
    )
    with_phone(person)
    submitted_case(person)
    assert _messages(person, channel="sms").count() == 1 and _messages(person, channel="email").count() == 1


def test_an_unknown_or_inactive_person_is_not_messaged(db):
    assert (
        services.notify_person(
            person="user:00000000-0000-0000-0000-000000000000",
            template_key="case-submitted",
            values_for=lambda language: {},
            cause="tests",
        )
        == []
    )
    assert (
        services.notify_person(person="business:x", template_key="case-submitted", values_for=dict, cause="t")
        == []
    )
