"""The engine's rules as officials and applicants meet them: deadlines in Panama's working days, escalation,
the clock paused while the applicant answers, stale actions, idempotent sending."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from ventanilla.cases import selectors, services
from ventanilla.cases.models import Case, CaseEvent
from ventanilla.core.models import Event
from ventanilla.identity.selectors import actor_for

PANAMA = ZoneInfo("America/Panama")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=PANAMA)


@pytest.fixture
def frozen(monkeypatch):
    """frozen(datetime) sets what the engine believes "now" is."""

    def freeze(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return freeze


def test_a_submitted_case_enters_the_first_state_with_deadlines_in_working_days(submitted_case, frozen):
    frozen(at(2026, 12, 17, 10, 0))  # Thursday; Monday 21 December 2026 is the observed day of mourning
    case = submitted_case()
    assert (case.stage, case.state, case.queue_role) == ("open", "received", "clerk")
    # Two working days: Friday 18, (weekend, holiday Monday 21), Tuesday 22.
    assert timezone.localtime(case.state_due_at, PANAMA).date().isoformat() == "2026-12-22"
    assert case.case_due_at > case.state_due_at


def test_sending_twice_changes_nothing(submitted_case, system_actor):
    case = submitted_case()
    again = services.submit(case=case, actor=system_actor)
    assert again.submitted_at == case.submitted_at
    assert CaseEvent.objects.filter(case=case, kind="submitted").count() == 1
    assert Event.objects.filter(name=services.SUBMITTED).count() == 1


def test_requirements_the_state_holds_are_marked_for_fetching(submitted_case):
    case = submitted_case()
    event = Event.objects.get(name=services.SUBMITTED)
    assert event.payload["fetch"] == ["cedula-del-propietario"]
    assert event.subject == case.subject


def test_an_incomplete_application_is_refused_with_the_questions_to_fix(permit_service, make_citizen):
    citizen = make_citizen()
    case, _ = services.start_case(
        version=permit_service,
        subject=f"user:{citizen.public_id}",
        subject_label=str(citizen),
        applicant=citizen,
        filed_by=citizen,
        start_key="",
        actor=actor_for(citizen),
    )
    with pytest.raises(services.CaseError) as refused:
        services.submit(case=case, actor=actor_for(citizen))
    assert "plans" in refused.value.errors and "description" in refused.value.errors
    assert Case.objects.get(id=case.id).stage == "draft"


def test_a_late_case_is_escalated_once_to_the_supervisors(submitted_case, official, frozen):
    frozen(at(2026, 12, 17, 10, 0))
    case = submitted_case()
    supervisor = official("supervisor")
    assert services.escalate_overdue(now=at(2026, 12, 22, 12, 0)) == 0, "not late before the deadline"
    assert services.escalate_overdue(now=at(2026, 12, 23, 9, 0)) == 1
    assert services.escalate_overdue(now=at(2026, 12, 23, 10, 0)) == 0, "escalated once per state"
    case.refresh_from_db()
    assert case.escalated and case.breached_at is not None
    queue = selectors.queue(
        institution=case.institution, roles=selectors.roles_of(supervisor, case.institution)
    )
    assert [c.reference for c in queue.cases] == [case.reference]
    assert Event.objects.filter(name=services.SLA_BREACHED, subject=case.subject).count() == 1
    escalation = CaseEvent.objects.get(case=case, kind="escalated")
    assert not escalation.visible_to_applicant


def test_moving_on_clears_the_escalation_and_sets_the_next_deadline(submitted_case, official, system_actor):
    case = submitted_case()
    clerk = official("clerk")
    services.escalate_overdue(now=case.state_due_at.replace(year=case.state_due_at.year + 1))
    case = services.act(case=case, action_key="accept", inputs={}, official=clerk, actor=actor_for(clerk))
    assert (case.state, case.queue_role, case.escalated) == ("review", "reviewer", False)


def test_an_official_without_the_role_cannot_act(submitted_case, official):
    case = submitted_case()
    reviewer = official("reviewer")
    with pytest.raises(services.CaseError):
        services.act(case=case, action_key="accept", inputs={}, official=reviewer, actor=actor_for(reviewer))


def test_an_official_of_another_institution_cannot_act(submitted_case, official, permit_procedure):
    case = submitted_case()
    outsider = official("clerk", institution=permit_procedure["other"])
    with pytest.raises(services.CaseError):
        services.act(case=case, action_key="accept", inputs={}, official=outsider, actor=actor_for(outsider))


def test_an_action_on_a_case_someone_else_moved_is_refused(submitted_case, official):
    case = submitted_case()
    clerk, other_clerk = official("clerk"), official("clerk")
    services.act(case=case, action_key="accept", inputs={}, official=clerk, actor=actor_for(clerk))
    with pytest.raises(services.CaseError, match="moved on"):
        services.act(
            case=case,
            action_key="ask_for_information",
            inputs={"reason": "Falta el plano"},
            official=other_clerk,
            actor=actor_for(other_clerk),
            expected_state="received",
        )


def test_a_decision_needs_a_reason_and_closes_the_case(submitted_case, official):
    case = submitted_case()
    clerk, reviewer = official("clerk"), official("reviewer")
    services.act(case=case, action_key="accept", inputs={}, official=clerk, actor=actor_for(clerk))
    with pytest.raises(services.CaseError) as refused:
        services.act(case=case, action_key="approve", inputs={}, official=reviewer, actor=actor_for(reviewer))
    assert "reason" in refused.value.errors
    case = services.act(
        case=case,
        action_key="approve",
        inputs={"reason": "Cumple"},
        official=reviewer,
        actor=actor_for(reviewer),
    )
    assert (case.stage, case.outcome) == ("closed", "approved")
    decided = Event.objects.get(name=services.DECIDED)
    assert decided.payload["outcome"] == "approved" and decided.payload["reason"] == "Cumple"


def test_the_time_with_the_applicant_does_not_count_against_the_institution(submitted_case, official, frozen):
    frozen(at(2026, 12, 1, 9, 0))
    case = submitted_case()
    clerk = official("clerk")
    due_before = case.case_due_at
    frozen(at(2026, 12, 2, 9, 0))
    case = services.act(
        case=case,
        action_key="ask_for_information",
        inputs={"reason": "Adjunte los planos firmados"},
        official=clerk,
        actor=actor_for(clerk),
    )
    assert (case.stage, case.state, case.state_due_at) == ("with_applicant", "more_information", None)
    frozen(at(2026, 12, 9, 9, 0))  # a week later (five working days, 8 December is a holiday)
    applicant = case.applicant
    case = services.respond(
        case=case, message="Adjunto", uploads={}, actor=actor_for(applicant), user=applicant
    )
    assert (case.stage, case.state, case.queue_role) == ("open", "received", "clerk")
    assert case.case_due_at > due_before


def test_withdrawing_closes_the_case_and_tells_the_institution(submitted_case):
    case = submitted_case()
    applicant = case.applicant
    case = services.withdraw(
        case=case, reason="Ya no lo necesito", actor=actor_for(applicant), user=applicant
    )
    assert (case.stage, case.state, case.outcome) == ("closed", "withdrawn", "withdrawn")
    assert Event.objects.filter(name=services.WITHDRAWN_EVENT).count() == 1
    with pytest.raises(services.CaseError):
        services.withdraw(case=case, reason="", actor=actor_for(applicant), user=applicant)


def test_internal_notes_stay_with_the_officials(submitted_case, official):
    case = submitted_case()
    clerk = official("clerk")
    services.add_note(case=case, text="Llamar al arquitecto", official=clerk, actor=actor_for(clerk))
    services.post_message(
        case=case, text="Recibimos su solicitud", by_applicant=False, actor=actor_for(clerk), user=clerk
    )
    seen_by_applicant = [event.text for event in selectors.history(case, for_applicant=True)]
    assert "Recibimos su solicitud" in seen_by_applicant
    assert "Llamar al arquitecto" not in seen_by_applicant
    assert "Llamar al arquitecto" in [event.text for event in selectors.history(case, for_applicant=False)]
