import pytest
from django.utils import translation

from ventanilla.workflow.definition import WITHDRAWN, load_workflow
from ventanilla.workflow.engine import (
    TransitionError,
    available_actions,
    is_terminal,
    outcome_of,
    transition,
)

from .samples import permit

RENEWAL = {"kind": "renewal", "trade_name": "Ferretería El Tornillo"}
NEW_BUILDING = {"kind": "new", "trade_name": "Ferretería El Tornillo"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def workflow():
    return load_workflow(permit())


def keys(actions):
    return [action.key for action in actions]


def test_an_official_sees_the_actions_of_the_state_for_their_roles_whose_conditions_hold(workflow):
    assert keys(available_actions(workflow, "received", roles={"clerk"}, answers=NEW_BUILDING)) == ["accept"]
    assert keys(available_actions(workflow, "received", roles={"clerk"}, answers=RENEWAL)) == [
        "accept",
        "renew",
    ]
    assert keys(available_actions(workflow, "review", roles={"reviewer"}, answers=RENEWAL)) == [
        "ask_for_information",
        "approve",
        "reject",
    ]
    assert keys(available_actions(workflow, "received", roles={"supervisor"}, answers={})) == ["reject"]
    assert available_actions(workflow, "received", roles={"inspector"}, answers={}) == []
    assert (
        available_actions(workflow, "approved", roles={"clerk", "reviewer", "supervisor"}, answers={}) == []
    )


def test_an_unanswered_question_makes_a_guard_false_not_an_error(workflow):
    assert keys(available_actions(workflow, "received", roles={"clerk"}, answers={})) == ["accept"]


def test_a_transition_says_where_the_case_goes_with_the_inputs_trimmed(workflow):
    moved = transition(
        workflow,
        action_key="reject",
        state_key="review",
        roles={"reviewer"},
        answers=NEW_BUILDING,
        inputs={"reason": "  The plot is zoned residential.\n", "ground": "zoning", "ignored": "x"},
    )
    assert (moved.action.key, moved.source, moved.target) == ("reject", "review", "rejected")
    assert moved.inputs_cleaned == {
        "reason": "The plot is zoned residential.",
        "ground": "zoning",
        "note": "",
    }


def test_an_unknown_action_is_refused(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow, action_key="stamp", state_key="review", roles={"reviewer"}, answers={}, inputs={}
        )
    assert caught.value.code == "unknown_action"
    assert (
        str(caught.value)
        == "This service has no action 'stamp'. Reload the case to see the actions you can take."
    )


def test_acting_on_a_case_someone_else_already_moved_says_so(workflow):
    """Two reviewers open the same case; the first approves it, the second one's approve arrives after."""
    transition(
        workflow,
        action_key="approve",
        state_key="review",
        roles={"reviewer"},
        answers={},
        inputs={"reason": "All in order."},
    )
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow,
            action_key="approve",
            state_key="approved",
            roles={"reviewer"},
            answers={},
            inputs={"reason": "All in order."},
        )
    assert caught.value.code == "stale_state"
    assert caught.value.message == (
        "This case is no longer in 'Review': it was moved to 'Approved' by someone else. Reload the case."
    )


def test_an_action_from_several_states_names_the_state_the_case_is_in_now(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow, action_key="reject", state_key=WITHDRAWN, roles={"reviewer"}, answers={}, inputs={}
        )
    assert caught.value.message == (
        "'Reject' can no longer be done: someone else moved this case to 'Withdrawn by the applicant'. "
        "Reload the case."
    )


def test_the_wrong_role_is_refused(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow,
            action_key="approve",
            state_key="review",
            roles={"clerk"},
            answers={},
            inputs={"reason": "Fine."},
        )
    assert caught.value.code == "forbidden"
    assert (
        caught.value.message
        == "Only an official with the role 'reviewer' can 'Approve'. Ask a colleague who has it."
    )


def test_an_action_whose_condition_does_not_hold_is_refused(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow,
            action_key="renew",
            state_key="received",
            roles={"clerk"},
            answers=NEW_BUILDING,
            inputs={"reason": "Renewal."},
        )
    assert caught.value.code == "not_allowed"
    assert caught.value.message == (
        "'Renew without review' does not apply to this application: its answers do not meet the conditions."
    )


def test_missing_and_invalid_inputs_are_reported_per_input(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow,
            action_key="reject",
            state_key="review",
            roles={"reviewer"},
            answers={},
            inputs={"reason": "   ", "ground": "because", "note": "x" * 5001},
        )
    error = caught.value
    assert error.code == "invalid_input"
    assert error.message == "Check what you wrote and try again."
    assert error.errors == {
        "reason": "Fill in 'Reason'.",
        "ground": "Choose one of the options for 'Ground'.",
        "note": "'Note' can be at most 5000 characters; it has 5001.",
    }


def test_a_required_choice_left_empty_asks_to_choose(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow,
            action_key="reject",
            state_key="review",
            roles={"reviewer"},
            answers={},
            inputs={"reason": "Zoning.", "ground": None, "note": ["not", "text"]},
        )
    assert caught.value.errors == {"ground": "Choose an option for 'Ground'.", "note": "Write text here."}


def test_a_decision_needs_its_reason_even_when_the_definition_does_not_declare_it(workflow):
    with pytest.raises(TransitionError) as caught:
        transition(
            workflow, action_key="approve", state_key="review", roles={"reviewer"}, answers={}, inputs={}
        )
    assert caught.value.errors == {"reason": "Fill in 'Reason for the decision'."}


def test_exactly_5000_characters_are_accepted(workflow):
    moved = transition(
        workflow,
        action_key="ask_for_information",
        state_key="review",
        roles={"reviewer"},
        answers={},
        inputs={"reason": "y" * 5000},
    )
    assert (moved.target, len(moved.inputs_cleaned["reason"])) == ("more_information", 5000)


def test_outcomes_are_terminal(workflow):
    assert [key for key in workflow.states if is_terminal(workflow, key)] == [
        "approved",
        "rejected",
        WITHDRAWN,
    ]
    assert [outcome_of(workflow, key) for key in workflow.states] == [
        None,
        None,
        None,
        "approved",
        "rejected",
        "withdrawn",
    ]
