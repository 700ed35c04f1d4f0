"""The officials' pages: the queue of their institution and roles, one case with everything needed to decide it,
actions with their inputs, claiming and assigning, internal notes the applicant never sees, escalation to the
supervisors. Officials of another institution find nothing; citizens are turned away."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.identity.helpers import sign_in, sign_in_with_second_factor
from ventanilla.cases import selectors, services
from ventanilla.cases.models import Case
from ventanilla.cases.views import officials as official_views
from ventanilla.identity.selectors import actor_for


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def english(name: str, *args) -> str:
    with translation.override("en"):
        return reverse(name, args=args)


def spanish(name: str, *args) -> str:
    with translation.override("es"):
        return reverse(name, args=args)


def page(client, name: str, *args, **query) -> str:
    response = client.get(english(name, *args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def accept(case, official) -> Case:
    return services.act(
        case=case, action_key="accept", inputs={}, official=official, actor=actor_for(official)
    )


# --- Who gets in -------------------------------------------------------------------------------------------


def test_the_inbox_needs_a_signed_in_official_with_a_second_factor(client, official):
    response = client.get(spanish("cases:inbox"))
    assert response.status_code == 302 and response["Location"].startswith(spanish("identity:sign-in"))
    clerk = official("clerk")
    browser = sign_in(clerk)
    response = browser.get(spanish("cases:inbox"))
    assert response.status_code == 302 and response["Location"].startswith(spanish("identity:step-up"))


def test_an_official_finds_the_queue_from_the_account_page(official):
    browser = sign_in_with_second_factor(official("clerk"))
    assert reverse("cases:inbox") in browser.get("/en/cuenta/").content.decode()


def test_a_citizen_is_told_the_inbox_is_not_for_them_and_whom_to_ask(make_citizen):
    browser = sign_in_with_second_factor(make_citizen(level="substantial"))
    response = browser.get(english("cases:inbox"))
    assert response.status_code == 403
    assert "ask a supervisor of your institution or the platform operator" in response.content.decode()


def test_an_official_of_another_institution_finds_nothing(submitted_case, official, permit_procedure):
    case = submitted_case()
    evidence = selectors.evidence_of(case).get()
    stranger = sign_in_with_second_factor(
        official("clerk", "reviewer", institution=permit_procedure["other"])
    )
    assert case.reference not in page(stranger, "cases:inbox")
    assert stranger.get(english("cases:work", case.reference)).status_code == 404
    assert stranger.get(english("cases:act", case.reference, "accept")).status_code == 404
    assert stranger.post(english("cases:act", case.reference, "accept")).status_code == 404
    assert stranger.post(english("cases:note", case.reference), {"note": "hola"}).status_code == 404
    assert stranger.post(english("cases:claim", case.reference)).status_code == 404
    assert stranger.get(english("cases:evidence", case.reference, evidence.id)).status_code == 404
    assert not selectors.history(case, for_applicant=False).filter(kind="note").exists()


def test_an_application_not_sent_yet_is_not_the_institutions_to_see(permit_service, official, make_citizen):
    citizen = make_citizen()
    draft, _created = services.start_case(
        version=permit_service,
        subject=f"user:{citizen.public_id}",
        subject_label=str(citizen),
        applicant=citizen,
        filed_by=citizen,
        start_key="",
        actor=actor_for(citizen),
    )
    browser = sign_in_with_second_factor(official("clerk"))
    assert browser.get(english("cases:work", draft.reference)).status_code == 404
    assert draft.reference not in page(browser, "cases:inbox")


# --- The queue ---------------------------------------------------------------------------------------------


def test_the_queue_shows_the_institutions_cases_for_the_officials_roles(submitted_case, official):
    waiting, in_review = submitted_case(), submitted_case()
    in_review = accept(in_review, official("clerk"))

    clerk_page = page(sign_in_with_second_factor(official("clerk")), "cases:inbox")
    assert waiting.reference in clerk_page and in_review.reference not in clerk_page
    assert (
        waiting.subject_label in clerk_page and "Building permit" in clerk_page and "Received" in clerk_page
    )
    assert english("cases:work", waiting.reference) in clerk_page

    reviewer_page = page(sign_in_with_second_factor(official("reviewer")), "cases:inbox")
    assert in_review.reference in reviewer_page and waiting.reference not in reviewer_page
    assert "Technical review" in reviewer_page


def test_the_queue_filters_by_state_lateness_and_what_is_mine(submitted_case, official):
    both = official("clerk", "reviewer")
    received, reviewed, late = submitted_case(), accept(submitted_case(), both), submitted_case()
    Case.objects.filter(id=late.id).update(state_due_at=timezone.now() - timedelta(hours=1))
    services.assign(case=received, to=both, official=both, actor=actor_for(both))
    browser = sign_in_with_second_factor(both)

    everything = page(browser, "cases:inbox")
    assert all(case.reference in everything for case in (received, reviewed, late))

    in_review = page(browser, "cases:inbox", state="review")
    assert reviewed.reference in in_review and received.reference not in in_review

    overdue = page(browser, "cases:inbox", late="1")
    assert late.reference in overdue and received.reference not in overdue and "Late" in overdue

    mine = page(browser, "cases:inbox", mine="1")
    assert received.reference in mine and late.reference not in mine and reviewed.reference not in mine

    only_reviewer_queue = page(browser, "cases:inbox", role="reviewer")
    assert reviewed.reference in only_reviewer_queue and late.reference not in only_reviewer_queue


def test_the_queue_goes_page_by_page_without_counting(submitted_case, official, monkeypatch):
    monkeypatch.setattr(official_views, "PAGE_SIZE", 2)
    cases = [submitted_case() for _ in range(3)]
    browser = sign_in_with_second_factor(official("clerk"))
    response = browser.get(english("cases:inbox"))
    first = response.content.decode()
    assert sum(case.reference in first for case in cases) == 2 and "Next page" in first

    cursor = response.context["next_cursor"]
    second = page(browser, "cases:inbox", after=cursor)
    assert sum(case.reference in second for case in cases) == 1 and "Next page" not in second
    assert not any(case.reference in second for case in cases if case.reference in first)
    assert "First page" in second

    broken = page(browser, "cases:inbox", after="not-a-cursor")
    assert sum(case.reference in broken for case in cases) == 2, "a mangled cursor shows the first page"


def test_a_late_case_reaches_the_supervisors_queue_marked_late(submitted_case, official):
    case = submitted_case()
    supervisor = sign_in_with_second_factor(official("supervisor"))
    assert case.reference not in page(supervisor, "cases:inbox")

    assert services.escalate_overdue(now=timezone.now() + timedelta(days=60)) == 1
    html = page(supervisor, "cases:inbox")
    assert case.reference in html and "Late" in html and "Escalated" in html
    assert "Late" in page(supervisor, "cases:work", case.reference)


def test_an_official_in_several_institutions_chooses_one(
    submitted_case, official, permit_procedure, system_actor
):
    case = submitted_case()
    clerk = official("clerk")
    services.grant_role(user=clerk, institution=permit_procedure["other"], role="clerk", actor=system_actor)
    browser = sign_in_with_second_factor(clerk)
    assert case.reference in page(browser, "cases:inbox", institution="MUN-PRUEBA")
    html = page(browser, "cases:inbox", institution="OTRA")
    assert case.reference not in html and "Other body" in html


# --- One case ----------------------------------------------------------------------------------------------


def test_the_case_page_has_what_an_official_needs_to_decide(submitted_case, official):
    case = submitted_case()
    evidence = selectors.evidence_of(case).get()
    html = page(sign_in_with_second_factor(official("clerk")), "cases:work", case.reference)
    assert case.subject_label in html and "Received" in html
    assert "María Pérez" in html and "Ampliación de una planta" in html, "the answers"
    assert english("cases:evidence", case.reference, evidence.id) in html
    assert "Owner&#x27;s identity card" in html and "Test Municipality" in html, "what the state fetches"
    assert english("cases:act", case.reference, "accept") in html
    assert english("cases:act", case.reference, "approve") not in html, "not a clerk's action"


def test_the_evidence_downloads_for_an_official_of_the_institution(submitted_case, official):
    case = submitted_case()
    evidence = selectors.evidence_of(case).get()
    response = sign_in_with_second_factor(official("clerk")).get(
        english("cases:evidence", case.reference, evidence.id)
    )
    assert response.status_code == 200


def test_claiming_assigning_and_releasing(submitted_case, official):
    case = submitted_case()
    clerk, colleague = official("clerk"), official("clerk")
    browser = sign_in_with_second_factor(clerk)

    response = browser.post(english("cases:claim", case.reference))
    assert response["Location"].endswith(english("cases:work", case.reference))
    case.refresh_from_db()
    assert case.assigned_to == clerk
    assert "The case is yours now." in page(browser, "cases:work", case.reference)

    browser.post(english("cases:assign", case.reference), {"to": str(colleague.public_id)})
    case.refresh_from_db()
    assert case.assigned_to == colleague

    browser.post(english("cases:assign", case.reference), {"to": ""})
    case.refresh_from_db()
    assert case.assigned_to is None

    browser.post(english("cases:assign", case.reference), {"to": "not-an-official"})
    case.refresh_from_db()
    assert case.assigned_to is None
    assert "Choose an official of this institution." in page(browser, "cases:work", case.reference)
    assert browser.get(english("cases:claim", case.reference)).status_code == 405


def test_an_internal_note_is_for_officials_only(submitted_case, official, make_citizen):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    browser = sign_in_with_second_factor(official("clerk"))
    response = browser.post(english("cases:note", case.reference), {"note": "Llamar al ingeniero"})
    assert response.status_code == 302
    html = page(browser, "cases:work", case.reference)
    assert "Llamar al ingeniero" in html and "Internal" in html

    assert not selectors.history(case, for_applicant=True).filter(text="Llamar al ingeniero").exists()
    applicant_page = sign_in(citizen).get(spanish("cases:detail", case.reference))
    assert applicant_page.status_code == 200 and "Llamar al ingeniero" not in applicant_page.content.decode()

    empty = browser.post(english("cases:note", case.reference), {"note": "  "})
    assert empty.status_code == 400 and "There is a problem" in empty.content.decode()


def test_an_official_writes_to_the_applicant_who_reads_it_on_the_case(submitted_case, official, make_citizen):
    citizen = make_citizen()
    case = submitted_case(citizen=citizen)
    browser = sign_in_with_second_factor(official("clerk"))
    sent = browser.post(
        english("cases:message-to-applicant", case.reference), {"message": "Su plano llegó bien"}
    )
    assert sent.status_code == 302
    applicant_page = sign_in(citizen).get(spanish("cases:detail", case.reference)).content.decode()
    assert "Su plano llegó bien" in applicant_page
    empty = browser.post(english("cases:message-to-applicant", case.reference), {"message": ""})
    assert empty.status_code == 400 and "There is a problem" in empty.content.decode()


# --- Actions -----------------------------------------------------------------------------------------------


def test_an_action_page_says_what_will_happen_and_moves_the_case(submitted_case, official):
    case = submitted_case()
    browser = sign_in_with_second_factor(official("clerk"))
    html = page(browser, "cases:act", case.reference, "accept")
    assert "The case will move to “Technical review”" in html
    assert 'name="expected_state" value="received"' in html

    response = browser.post(english("cases:act", case.reference, "accept"), {"expected_state": "received"})
    assert response["Location"].endswith(english("cases:work", case.reference))
    case.refresh_from_db()
    assert (case.state, case.queue_role) == ("review", "reviewer")
    assert "The case is now “Technical review”" in page(browser, "cases:work", case.reference)


def test_a_decision_records_the_reason(submitted_case, official):
    reviewer = official("reviewer")
    case = accept(submitted_case(), official("clerk"))
    browser = sign_in_with_second_factor(reviewer)
    html = page(browser, "cases:act", case.reference, "approve")
    assert "be finished" in html and "Reason" in html
    browser.post(
        english("cases:act", case.reference, "approve"),
        {"expected_state": "review", "reason": "Cumple con todo."},
    )
    case.refresh_from_db()
    assert (case.stage, case.outcome) == ("closed", "approved")
    decision = selectors.history(case, for_applicant=True).get(action="approve")
    assert decision.text == "Cumple con todo."


def test_a_decision_without_a_reason_is_refused_with_an_error_summary(submitted_case, official):
    case = accept(submitted_case(), official("clerk"))
    browser = sign_in_with_second_factor(official("reviewer"))
    response = browser.post(
        english("cases:act", case.reference, "reject"), {"expected_state": "review", "reason": " "}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        "There is a problem" in html
        and "Fill in &#x27;Reason&#x27;" in html
        and 'href="#input-reason"' in html
    )
    case.refresh_from_db()
    assert case.state == "review"


def test_an_action_on_a_page_gone_stale_is_refused_clearly(submitted_case, official):
    case = submitted_case()
    first, second = official("clerk"), official("clerk")
    browser = sign_in_with_second_factor(first)
    assert 'value="received"' in page(browser, "cases:act", case.reference, "ask_for_information")

    accept(case, second)  # meanwhile, a colleague moves it on
    response = browser.post(
        english("cases:act", case.reference, "ask_for_information"),
        {"expected_state": "received", "reason": "Falta la firma"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This case has moved on since you opened it" in html and "Technical review" in html
    case.refresh_from_db()
    assert case.state == "review" and case.stage == "open"


def test_an_action_the_official_cannot_take_now_sends_them_back_to_the_case(submitted_case, official):
    case = submitted_case()
    browser = sign_in_with_second_factor(official("clerk"))
    response = browser.get(english("cases:act", case.reference, "approve"))
    assert response["Location"].endswith(english("cases:work", case.reference))
    assert browser.get(english("cases:act", case.reference, "no_such_action")).status_code == 404
