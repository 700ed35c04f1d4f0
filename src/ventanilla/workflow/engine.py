"""Moving a case through its workflow: which actions an official may take now, and taking one.

Pure functions over a loaded Workflow: the caller (cases) locks the case row, passes its current state and
saves the result, so two officials acting at once cannot both move the same case."""

import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ventanilla.core.i18n import current_language
from ventanilla.forms import expressions

from .definition import MAX_INPUT_LENGTH, Action, Workflow, text

logger = logging.getLogger(__name__)


class TransitionError(Exception):
    """Why an action cannot be taken, said so the official knows what to do next.

    `code` lets an API choose its status: unknown_action (404), stale_state (409), forbidden (403),
    not_allowed (409: the application's answers rule the action out), invalid_input (422, see `errors`)."""

    def __init__(self, message: str, *, code: str = "not_allowed", errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.errors: dict[str, str] = errors or {}


@dataclass(frozen=True)
class Transition:
    action: Action
    source: str  # state key the case leaves
    target: str  # state key the case enters
    inputs_cleaned: dict


def _guard_holds(action: Action, answers: dict) -> bool:
    if action.guard is None:
        return True
    try:
        return expressions.truthy(expressions.evaluate(action.guard, answers))
    except expressions.ExpressionError:
        # A published guard was checked; if it still fails on unusual answers the action is simply not offered.
        logger.warning("workflow guard of action %r failed to evaluate", action.key, exc_info=True)
        return False


def available_actions(workflow: Workflow, state_key: str, *, roles: set[str], answers: dict) -> list[Action]:
    """The actions, in the order the definition lists them, that someone holding `roles` may take on a case in
    `state_key` with these answers."""
    return [
        action
        for action in workflow.actions.values()
        if state_key in action.sources and roles.intersection(action.roles) and _guard_holds(action, answers)
    ]


def _state_name(workflow: Workflow, state_key: str) -> str:
    state = workflow.states.get(state_key)
    return text(state.label, current_language()) if state else state_key


def _clean_inputs(action: Action, given: dict) -> dict:
    cleaned, errors = {}, {}
    language = current_language()
    for item in action.inputs:
        raw = given.get(item.key)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            errors[item.key] = _("Write text here.")
            continue
        value = raw.strip()
        label = text(item.label, language)
        if not value:
            if item.required:
                errors[item.key] = (
                    _("Choose an option for '%(label)s'.")
                    if item.type == "choice"
                    else _("Fill in '%(label)s'.")
                ) % {"label": label}
            cleaned[item.key] = ""
            continue
        if item.type == "choice":
            if value not in {option.value for option in item.options}:
                errors[item.key] = _("Choose one of the options for '%(label)s'.") % {"label": label}
                continue
        elif len(value) > MAX_INPUT_LENGTH:
            errors[item.key] = _("'%(label)s' can be at most %(n)s characters; it has %(count)s.") % {
                "label": label,
                "n": MAX_INPUT_LENGTH,
                "count": len(value),
            }
            continue
        cleaned[item.key] = value
    if errors:
        raise TransitionError(_("Check what you wrote and try again."), code="invalid_input", errors=errors)
    return cleaned


def transition(
    workflow: Workflow, *, action_key: str, state_key: str, roles: set[str], answers: dict, inputs: dict
) -> Transition:
    """Check that `action_key` may be taken now on a case in `state_key` and return where it leads, with the
    official's inputs trimmed and checked; otherwise raise TransitionError."""
    action = workflow.actions.get(action_key)
    if action is None:
        raise TransitionError(
            _("This service has no action '%(action)s'. Reload the case to see the actions you can take.")
            % {"action": action_key},
            code="unknown_action",
        )
    label = text(action.label, current_language())
    if state_key not in action.sources:
        # The page the official acted from showed the case in a state the action leaves; it has moved since.
        current = _state_name(workflow, state_key)
        if len(action.sources) == 1:
            message = _(
                "This case is no longer in '%(expected)s': it was moved to '%(current)s' by someone else. "
                "Reload the case."
            ) % {"expected": _state_name(workflow, action.sources[0]), "current": current}
        else:
            message = _(
                "'%(action)s' can no longer be done: someone else moved this case to '%(current)s'. "
                "Reload the case."
            ) % {"action": label, "current": current}
        raise TransitionError(message, code="stale_state")
    if not roles.intersection(action.roles):
        raise TransitionError(
            _("Only an official with the role %(roles)s can '%(action)s'. Ask a colleague who has it.")
            % {"roles": ", ".join(f"'{role}'" for role in action.roles), "action": label},
            code="forbidden",
        )
    if not _guard_holds(action, answers):
        raise TransitionError(
            _("'%(action)s' does not apply to this application: its answers do not meet the conditions.")
            % {"action": label},
            code="not_allowed",
        )
    return Transition(
        action=action, source=state_key, target=action.target, inputs_cleaned=_clean_inputs(action, inputs)
    )


def is_terminal(workflow: Workflow, state_key: str) -> bool:
    return workflow.states[state_key].kind == "outcome"


def outcome_of(workflow: Workflow, state_key: str) -> str | None:
    """approved, rejected or withdrawn for a finished case; None while it is open."""
    return workflow.states[state_key].outcome
