import jsonschema
import pytest
from django.utils import translation

from ventanilla.workflow.definition import (
    WITHDRAWN,
    WORKFLOW_SCHEMA,
    check_workflow,
    load_workflow,
)

from .samples import FIELD_KEYS, REQUIREMENT_SLUGS, action, permit, state


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def problems(document, **kwargs) -> dict[str, str]:
    kwargs.setdefault("field_keys", FIELD_KEYS)
    kwargs.setdefault("requirement_slugs", REQUIREMENT_SLUGS)
    return {error.path: error.message for error in check_workflow(document, **kwargs)}


def test_the_permit_workflow_is_sound_and_loads_with_the_built_in_withdrawn_state():
    document = permit()
    assert check_workflow(document, field_keys=FIELD_KEYS, requirement_slugs=REQUIREMENT_SLUGS) == []
    workflow = load_workflow(document)
    assert list(workflow.states) == [
        "received",
        "review",
        "more_information",
        "approved",
        "rejected",
        WITHDRAWN,
    ]
    withdrawn = workflow.states[WITHDRAWN]
    assert (withdrawn.kind, withdrawn.outcome) == ("outcome", "withdrawn")
    assert withdrawn.label == {"es": "Retirada por el solicitante", "en": "Withdrawn by the applicant"}
    assert workflow.states["more_information"].kind == "applicant"
    assert workflow.states["approved"].kind == "outcome"
    assert workflow.states["received"].kind == "active"
    assert (workflow.case_sla_days, workflow.escalation_role) == (20, "supervisor")
    ask = workflow.actions["ask_for_information"]
    assert (ask.kind, ask.sources, ask.target, ask.requirements) == (
        "send_back",
        ("review",),
        "more_information",
        ("plano-de-construccion",),
    )
    ground = workflow.actions["reject"].inputs[1]
    assert [(option.value, option.label["en"]) for option in ground.options] == [
        ("zoning", "Zoning"),
        ("incomplete", "Incomplete"),
    ]


def test_a_decision_always_asks_for_a_reason_even_when_the_author_forgot():
    workflow = load_workflow(permit())
    reason = workflow.actions["approve"].inputs[0]
    assert (reason.key, reason.type, reason.required) == ("reason", "textarea", True)
    assert [item.key for item in workflow.actions["reject"].inputs] == ["reason", "ground", "note"]
    assert workflow.actions["accept"].inputs == ()


def test_the_schema_is_published_as_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(WORKFLOW_SCHEMA)
    assert WORKFLOW_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_errors_say_where_and_what_plainly():
    document = permit()
    action(document, "accept")["to"] = 5
    del state(document, "review")["label"]
    state(document, "received")["colour"] = "blue"
    state(document, "approved")["key"] = "Approved"
    state(document, "received")["sla_days"] = 0
    assert problems(document) == {
        "workflow.actions[0].to": "Should be text.",
        "workflow.states[1].label": "This is required.",
        "workflow.states[0].colour": "'colour' is not a setting here; check the spelling.",
        "workflow.states[3].key": (
            "Use lowercase letters, digits and underscores, starting with a letter (for example 'in_review')."
        ),
        "workflow.states[0].sla_days": "Should be 1 or more.",
    }


def test_the_whole_case_sla_must_be_at_least_one_working_day():
    document = permit()
    document["case_sla_days"] = 0
    assert problems(document) == {"workflow.case_sla_days": "Should be 1 or more."}


def test_a_workflow_that_is_not_a_mapping_is_refused():
    assert problems(["received"]) == {"workflow": "Should be a mapping of settings (key: value)."}


def test_state_and_action_keys_are_unique():
    document = permit()
    document["states"].append({"key": "review", "label": {"es": "Otra", "en": "Other"}, "role": "clerk"})
    document["actions"].append(action(permit(), "accept"))
    assert problems(document) == {
        "workflow.states[5].key": "Another state is already called 'review'; each state needs its own key.",
        "workflow.actions[5].key": "Another action is already called 'accept'; each action needs its own key.",
    }


def test_the_initial_state_must_exist():
    document = permit()
    document["initial"] = "inbox"
    assert problems(document) == {"workflow.initial": "There is no state called 'inbox'."}


def test_the_initial_state_must_be_one_where_officials_work():
    document = permit()
    document["initial"] = "more_information"
    assert problems(document)["workflow.initial"] == (
        "A submitted case first goes to a state where officials work on it; 'More information needed' is not "
        "one (it is an outcome or waits for the applicant)."
    )


def test_actions_name_existing_states():
    document = permit()
    action(document, "accept")["from"] = ["inbox"]
    action(document, "accept")["to"] = "reviewing"
    assert problems(document) == {
        "workflow.actions[0].from[0]": "There is no state called 'inbox'.",
        "workflow.actions[0].to": "There is no state called 'reviewing'.",
    }


def test_no_action_leaves_an_outcome():
    document = permit()
    action(document, "reject")["from"] = ["review", "approved"]
    assert problems(document) == {
        "workflow.actions[4].from[1]": (
            "'Approved' is an outcome: a case that ends there is finished and no action leaves it."
        )
    }


def test_a_send_back_goes_to_a_state_that_waits_for_the_applicant():
    document = permit()
    action(document, "ask_for_information")["to"] = "received"
    assert problems(document)["workflow.actions[2].to"] == (
        "A send-back leads to a state where the case waits for the applicant (kind: applicant); 'Received' is "
        "not one."
    )


def test_a_decision_goes_to_an_outcome():
    document = permit()
    action(document, "approve")["to"] = "received"
    assert problems(document)["workflow.actions[3].to"] == (
        "A decision leads to an outcome (approved or rejected); 'Received' is not one."
    )


def test_an_action_that_ends_the_case_is_a_decision():
    document = permit()
    del action(document, "approve")["kind"]
    assert problems(document) == {
        "workflow.actions[3].to": "'Approved' ends the case, so the action that leads to it must be kind: decision."
    }


def test_only_a_send_back_leads_to_a_state_that_waits_for_the_applicant():
    document = permit()
    del action(document, "ask_for_information")["kind"]
    del action(document, "ask_for_information")["requirements"]
    assert problems(document) == {
        "workflow.actions[2].to": (
            "'More information needed' waits for the applicant, so the action that leads to it must be kind: "
            "send_back."
        )
    }


def test_no_action_leads_to_withdrawn_because_only_the_applicant_withdraws():
    document = permit()
    action(document, "reject")["to"] = WITHDRAWN
    assert problems(document)["workflow.actions[4].to"] == (
        "Only the applicant withdraws an application; no action can lead to 'withdrawn'."
    )


def test_the_built_in_withdrawn_state_may_be_relabelled_but_not_repurposed():
    relabelled = permit()
    relabelled["states"].append(
        {"key": WITHDRAWN, "label": {"es": "Desistida", "en": "Abandoned"}, "outcome": "withdrawn"}
    )
    assert problems(relabelled) == {}
    assert load_workflow(relabelled).states[WITHDRAWN].label["en"] == "Abandoned"

    repurposed = permit()
    state(repurposed, "approved")["outcome"] = "withdrawn"
    repurposed["states"].append(
        {"key": WITHDRAWN, "label": {"es": "Otra", "en": "Other"}, "outcome": "approved"}
    )
    assert problems(repurposed) == {
        "workflow.states[3].outcome": "Only the built-in state 'withdrawn' has the outcome 'withdrawn'.",
        "workflow.states[5].outcome": (
            "'withdrawn' is the built-in state of applications the applicant withdrew; declare it only with "
            "outcome: withdrawn."
        ),
    }


def test_a_state_is_either_an_outcome_or_active_or_waiting_for_the_applicant():
    document = permit()
    state(document, "approved")["kind"] = "applicant"
    state(document, "rejected")["kind"] = "outcome"
    del state(document, "rejected")["outcome"]
    assert problems(document) == {
        "workflow.states[3].kind": "A state with an outcome ends the case; it cannot also be 'applicant'.",
        "workflow.states[4].outcome": "Say which outcome this state is: approved or rejected.",
    }


def test_an_approved_outcome_must_be_reachable_from_the_initial_state():
    document = permit()
    document["states"] = [item for item in document["states"] if item["key"] != "approved"]
    document["actions"] = [item for item in document["actions"] if item["key"] not in ("approve", "renew")]
    assert problems(document) == {
        "workflow": (
            "No approved outcome can be reached from 'Received': add a state with outcome: approved and a "
            "decision that leads to it."
        )
    }


def test_every_state_is_reachable_from_the_initial_state():
    document = permit()
    document["states"].append(
        {"key": "archived", "label": {"es": "Archivada", "en": "Archived"}, "outcome": "rejected"}
    )
    assert problems(document) == {
        "workflow.states[5]": "No path of actions leads from 'Received' to 'Archived', so no case can get there."
    }


def test_every_unfinished_state_has_a_way_out():
    document = permit()
    document["states"].insert(
        2, {"key": "inspection", "label": {"es": "Inspección", "en": "Inspection"}, "role": "inspector"}
    )
    document["actions"].append(
        {
            "key": "inspect",
            "label": {"es": "Inspeccionar", "en": "Inspect"},
            "roles": ["reviewer"],
            "from": ["review"],
            "to": "inspection",
        }
    )
    assert problems(document) == {
        "workflow.states[2]": "No action leads out of 'Inspection', so a case there would be stuck."
    }


def test_a_loop_that_never_reaches_an_outcome_is_refused():
    document = permit()
    document["states"][2:2] = [
        {"key": "ping", "label": {"es": "Ping", "en": "Ping"}, "role": "clerk"},
        {"key": "pong", "label": {"es": "Pong", "en": "Pong"}, "role": "clerk"},
    ]
    document["actions"] += [
        {
            "key": "to_ping",
            "label": {"es": "A", "en": "A"},
            "roles": ["clerk"],
            "from": ["review", "pong"],
            "to": "ping",
        },
        {
            "key": "to_pong",
            "label": {"es": "B", "en": "B"},
            "roles": ["clerk"],
            "from": ["ping"],
            "to": "pong",
        },
    ]
    assert problems(document) == {
        "workflow.states[2]": "A case in 'Ping' can never end: no path of actions leads from it to an outcome.",
        "workflow.states[3]": "A case in 'Pong' can never end: no path of actions leads from it to an outcome.",
    }


def test_a_state_that_waits_for_the_applicant_needs_no_action_out_because_the_answer_returns_it():
    document = permit()
    assert not any("more_information" in item["from"] for item in document["actions"])
    assert problems(document) == {}


def test_a_guard_must_be_readable():
    document = permit()
    action(document, "renew")["guard"] = "kind == 'renewal' and ("
    found = problems(document)
    assert list(found) == ["workflow.actions[1].guard"]
    assert found["workflow.actions[1].guard"].startswith("The condition cannot be read (column ")


def test_a_guard_uses_only_questions_of_the_form():
    document = permit()
    action(document, "renew")["guard"] = "kind == 'renewal' and floors > 3"
    assert problems(document) == {
        "workflow.actions[1].guard": "The condition uses 'floors', which is not a question of the form."
    }


def test_a_guard_may_use_nested_values_of_a_question():
    document = permit()
    action(document, "renew")["guard"] = "address.province == '8'"
    assert problems(document) == {}


def test_send_back_documents_are_requirements_of_the_procedure():
    document = permit()
    action(document, "ask_for_information")["requirements"] = [
        "plano-de-construccion",
        "certificado-de-bomberos",
    ]
    assert problems(document) == {
        "workflow.actions[2].requirements[1]": (
            "The catalogue does not list 'certificado-de-bomberos' among the documents the applicant provides for "
            "this procedure."
        )
    }
    assert problems(document, requirement_slugs=None) == {}


def test_only_a_send_back_asks_for_documents():
    document = permit()
    action(document, "accept")["requirements"] = ["plano-de-construccion"]
    assert problems(document) == {
        "workflow.actions[0].requirements": "Only a send-back action can ask the applicant for documents."
    }


def test_a_state_that_waits_for_the_applicant_is_in_no_officials_queue():
    document = permit()
    state(document, "more_information")["role"] = "clerk"
    assert problems(document) == {
        "workflow.states[2].role": (
            "While a case waits for the applicant it is in no official's queue; remove 'role' from this state."
        )
    }


def test_an_active_state_says_whose_queue_it_is_in():
    document = permit()
    del state(document, "review")["role"]
    assert problems(document) == {
        "workflow.states[1].role": "Say whose queue the case is in while in 'Review': add a 'role'."
    }


def test_action_inputs_are_sound():
    document = permit()
    inputs = action(document, "reject")["inputs"]
    inputs[0]["required"] = False
    del inputs[1]["options"]
    inputs[2]["options"] = [{"value": "x", "label": {"es": "X", "en": "X"}}]
    inputs.append({"key": "note", "type": "text", "label": {"es": "Otra", "en": "Other"}})
    assert problems(document) == {
        "workflow.actions[4].inputs[0].required": (
            "A decision or a send-back always records a reason, so 'reason' must be required."
        ),
        "workflow.actions[4].inputs[1].options": "A choice needs options to choose from.",
        "workflow.actions[4].inputs[2].options": "Only an input of type choice has options.",
        "workflow.actions[4].inputs[3].key": "Another input of this action is already called 'note'.",
    }
