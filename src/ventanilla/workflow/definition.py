"""Workflow definitions: the states a case goes through and the actions officials take to move it, read from
the `workflow:` part of a service definition and checked so that an author learns every mistake at once, with
the place to fix it."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from ventanilla.core.definitions import DefinitionError
from ventanilla.core.i18n import current_language
from ventanilla.forms import expressions

WITHDRAWN = "withdrawn"
SUPERVISOR = "supervisor"
MAX_INPUT_LENGTH = 5000

WORKFLOW_SCHEMA: dict = json.loads((Path(__file__).parent / "workflow.schema.json").read_text())
_VALIDATOR = Draft202012Validator(WORKFLOW_SCHEMA)

WITHDRAWN_LABEL = {"es": "Retirada por el solicitante", "en": "Withdrawn by the applicant"}
# A decision is explained to the applicant and a send-back tells them what is missing: both always carry a
# reason, declared or not.
REASON_LABELS = {
    "decision": {"es": "Motivo de la decisión", "en": "Reason for the decision"},
    "send_back": {"es": "Qué debe aportar el solicitante", "en": "What the applicant must provide"},
}
TARGET_KIND = {"normal": "active", "send_back": "applicant", "decision": "outcome"}


class Option(NamedTuple):
    value: str
    label: dict


@dataclass(frozen=True)
class Input:
    key: str
    type: str  # text | textarea | choice
    label: dict
    required: bool
    options: tuple[Option, ...]


@dataclass(frozen=True)
class State:
    key: str
    label: dict
    kind: str  # active | applicant | outcome
    outcome: str | None  # approved | rejected | withdrawn, for outcome states
    role: str | None
    sla_days: int | None
    description: dict | None


@dataclass(frozen=True)
class Action:
    key: str
    label: dict
    kind: str  # normal | send_back | decision
    roles: tuple[str, ...]
    sources: tuple[str, ...]
    target: str
    guard: str | None
    inputs: tuple[Input, ...]
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class Workflow:
    initial: str
    states: dict[str, State]
    actions: dict[str, Action]
    case_sla_days: int | None
    escalation_role: str


def text(label: dict | None, language: str) -> str:
    """A bilingual text in `language`, falling back to Spanish."""
    if not label:
        return ""
    return label.get(language) or label.get("es", "")


WITHDRAWN_STATE = State(
    key=WITHDRAWN,
    label=WITHDRAWN_LABEL,
    kind="outcome",
    outcome=WITHDRAWN,
    role=None,
    sla_days=None,
    description=None,
)


def _state_kind(data: dict) -> str:
    return "outcome" if data.get("outcome") else data.get("kind", "active")


def _reason_input(kind: str) -> Input:
    return Input(key="reason", type="textarea", label=REASON_LABELS[kind], required=True, options=())


def _load_input(data: dict) -> Input:
    return Input(
        key=data["key"],
        type=data["type"],
        label=data["label"],
        required=data.get("required", True),
        options=tuple(Option(option["value"], option["label"]) for option in data.get("options", ())),
    )


def _load_action(data: dict) -> Action:
    kind = data.get("kind", "normal")
    inputs = tuple(_load_input(item) for item in data.get("inputs", ()))
    if kind in REASON_LABELS and not any(item.key == "reason" for item in inputs):
        inputs = (_reason_input(kind), *inputs)
    guard = (data.get("guard") or "").strip() or None
    return Action(
        key=data["key"],
        label=data["label"],
        kind=kind,
        roles=tuple(data["roles"]),
        sources=tuple(data["from"]),
        target=data["to"],
        guard=guard,
        inputs=inputs,
        requirements=tuple(data.get("requirements", ())),
    )


def load_workflow(data: dict) -> Workflow:
    """The workflow of a checked definition (see check_workflow)."""
    states = {
        item["key"]: State(
            key=item["key"],
            label=item["label"],
            kind=_state_kind(item),
            outcome=item.get("outcome"),
            role=item.get("role"),
            sla_days=item.get("sla_days"),
            description=item.get("description"),
        )
        for item in data["states"]
    }
    states.setdefault(WITHDRAWN, WITHDRAWN_STATE)
    return Workflow(
        initial=data["initial"],
        states=states,
        actions={item["key"]: _load_action(item) for item in data["actions"]},
        case_sla_days=data.get("case_sla_days"),
        escalation_role=data.get("escalation_role", SUPERVISOR),
    )


# --- checking ------------------------------------------------------------------------------------------------


def _path(parts) -> str:
    path = "workflow"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _schema_at(error) -> dict:
    return error.schema if isinstance(error.schema, dict) else {}


_TYPE_MESSAGES = {
    "string": lambda: _("Should be text."),
    "integer": lambda: _("Should be a whole number."),
    "boolean": lambda: _("Should be true or false."),
    "array": lambda: _("Should be a list."),
    "object": lambda: _("Should be a mapping of settings (key: value)."),
}


def _schema_errors(data) -> list[DefinitionError]:
    """JSON Schema errors said plainly, each at the place the author has to change."""
    found: list[DefinitionError] = []
    for error in _VALIDATOR.iter_errors(data):
        parts, kind, value = list(error.absolute_path), error.validator, error.validator_value
        instance = error.instance
        if kind == "required":
            found += [
                DefinitionError(_path([*parts, name]), _("This is required."))
                for name in value
                if isinstance(instance, dict) and name not in instance
            ]
            continue
        if kind == "additionalProperties":
            known = _schema_at(error).get("properties", {})
            found += [
                DefinitionError(
                    _path([*parts, name]),
                    _("'%(name)s' is not a setting here; check the spelling.") % {"name": name},
                )
                for name in instance
                if name not in known
            ]
            continue
        if kind == "type":
            message = _TYPE_MESSAGES.get(value, lambda: _("This value is not valid here."))()
        elif kind == "enum":
            message = _("Should be one of: %(options)s.") % {"options": ", ".join(str(v) for v in value)}
        elif kind == "pattern":
            message = _(
                "Use lowercase letters, digits and underscores, starting with a letter (for example "
                "'in_review')."
            )
        elif kind == "minimum":
            message = _("Should be %(n)s or more.") % {"n": value}
        elif kind == "minItems":
            message = _("Give at least %(n)s.") % {"n": value}
        elif kind == "minLength":
            message = _("Should not be empty.")
        elif kind == "uniqueItems":
            message = _("Each value should appear only once.")
        else:
            message = _("This value is not valid here.")
        found.append(DefinitionError(_path(parts), message))
    unique: dict[tuple[str, str], DefinitionError] = {}
    for item in found:
        unique.setdefault((item.path, item.message), item)
    return list(unique.values())


def check_workflow(
    data: dict, *, field_keys: set[str], requirement_slugs: set[str] | None = None
) -> list[DefinitionError]:
    """Every problem with the `workflow:` part of a definition; an empty list means load_workflow may read it.

    `field_keys` are the form's field keys (guards may use only those); `requirement_slugs`, when given, are
    the requirements an applicant may be asked to upload when a case is sent back."""
    errors = _schema_errors(data)
    if errors:
        return errors
    return _Checker(data, field_keys=field_keys, requirement_slugs=requirement_slugs).run()


class _Checker:
    def __init__(self, data: dict, *, field_keys: set[str], requirement_slugs: set[str] | None):
        self.data = data
        self.field_keys = field_keys
        self.requirement_slugs = requirement_slugs
        self.errors: list[DefinitionError] = []
        self.state_index: dict[str, int] = {}
        self.kinds: dict[str, str] = {WITHDRAWN: "outcome"}
        self.labels: dict[str, dict] = {WITHDRAWN: WITHDRAWN_LABEL}

    def error(self, parts, message: str) -> None:
        self.errors.append(DefinitionError(_path(parts), message))

    def name(self, state_key: str) -> str:
        return text(self.labels.get(state_key), current_language()) or state_key

    def run(self) -> list[DefinitionError]:
        self.check_states()
        self.check_initial()
        self.check_actions()
        if not self.errors:
            # The graph checks only make sense once every state and action is sound.
            self.check_graph()
        return self.errors

    def check_states(self) -> None:
        for index, state in enumerate(self.data["states"]):
            key, kind = state["key"], state.get("kind")
            if key in self.state_index:
                self.error(
                    ["states", index, "key"],
                    _("Another state is already called '%(key)s'; each state needs its own key.")
                    % {"key": key},
                )
                continue
            self.state_index[key] = index
            self.kinds[key] = _state_kind(state)
            self.labels[key] = state["label"]
            outcome = state.get("outcome")
            if key == WITHDRAWN and outcome != WITHDRAWN:
                self.error(
                    ["states", index, "outcome"],
                    _(
                        "'withdrawn' is the built-in state of applications the applicant withdrew; declare it "
                        "only with outcome: withdrawn."
                    ),
                )
            elif outcome == WITHDRAWN and key != WITHDRAWN:
                self.error(
                    ["states", index, "outcome"],
                    _("Only the built-in state 'withdrawn' has the outcome 'withdrawn'."),
                )
            if outcome and kind in ("active", "applicant"):
                self.error(
                    ["states", index, "kind"],
                    _("A state with an outcome ends the case; it cannot also be '%(kind)s'.")
                    % {"kind": kind},
                )
            elif kind == "outcome" and not outcome:
                self.error(
                    ["states", index, "outcome"], _("Say which outcome this state is: approved or rejected.")
                )
            self.check_state_role(index, state)

    def check_state_role(self, index: int, state: dict) -> None:
        kind = _state_kind(state)
        if kind == "applicant" and state.get("role"):
            self.error(
                ["states", index, "role"],
                _(
                    "While a case waits for the applicant it is in no official's queue; remove 'role' from "
                    "this state."
                ),
            )
        elif kind == "active" and not state.get("role"):
            self.error(
                ["states", index, "role"],
                _("Say whose queue the case is in while in '%(state)s': add a 'role'.")
                % {"state": self.name(state["key"])},
            )
        elif kind == "active" and state["role"] == self.data.get("escalation_role", SUPERVISOR):
            self.error(
                ["states", index, "role"],
                _(
                    "'%(role)s' is the role that receives the cases that missed a deadline; give this state the "
                    "role of the officials who work on it."
                )
                % {"role": state["role"]},
            )

    def check_initial(self) -> None:
        initial = self.data["initial"]
        if initial not in self.kinds:
            self.error(["initial"], _("There is no state called '%(key)s'.") % {"key": initial})
        elif self.kinds[initial] != "active":
            self.error(
                ["initial"],
                _(
                    "A submitted case first goes to a state where officials work on it; '%(state)s' is not "
                    "one (it is an outcome or waits for the applicant)."
                )
                % {"state": self.name(initial)},
            )

    def check_actions(self) -> None:
        seen: set[str] = set()
        for index, action in enumerate(self.data["actions"]):
            key = action["key"]
            if key in seen:
                self.error(
                    ["actions", index, "key"],
                    _("Another action is already called '%(key)s'; each action needs its own key.")
                    % {"key": key},
                )
            seen.add(key)
            self.check_sources(index, action)
            self.check_target(index, action)
            self.check_guard(index, action)
            self.check_inputs(index, action)
            self.check_requirements(index, action)

    def check_sources(self, index: int, action: dict) -> None:
        for position, source in enumerate(action["from"]):
            if source not in self.kinds:
                self.error(
                    ["actions", index, "from", position],
                    _("There is no state called '%(key)s'.") % {"key": source},
                )
            elif self.kinds[source] == "outcome":
                self.error(
                    ["actions", index, "from", position],
                    _(
                        "'%(state)s' is an outcome: a case that ends there is finished and no action leaves it."
                    )
                    % {"state": self.name(source)},
                )

    def check_target(self, index: int, action: dict) -> None:
        target, kind = action["to"], action.get("kind", "normal")
        where = ["actions", index, "to"]
        if target not in self.kinds:
            self.error(where, _("There is no state called '%(key)s'.") % {"key": target})
            return
        if target == WITHDRAWN:
            self.error(
                where, _("Only the applicant withdraws an application; no action can lead to 'withdrawn'.")
            )
            return
        target_kind = self.kinds[target]
        if target_kind == TARGET_KIND[kind]:
            return
        if kind == "send_back":
            message = _(
                "A send-back leads to a state where the case waits for the applicant (kind: applicant); "
                "'%(state)s' is not one."
            )
        elif kind == "decision":
            message = _("A decision leads to an outcome (approved or rejected); '%(state)s' is not one.")
        elif target_kind == "outcome":
            message = _("'%(state)s' ends the case, so the action that leads to it must be kind: decision.")
        else:
            message = _(
                "'%(state)s' waits for the applicant, so the action that leads to it must be kind: send_back."
            )
        self.error(where, message % {"state": self.name(target)})

    def check_guard(self, index: int, action: dict) -> None:
        guard = action.get("guard")
        if guard is None:
            return
        where = ["actions", index, "guard"]
        try:
            expressions.parse(guard)
            names = expressions.references(guard)
        except expressions.ExpressionError as error:
            self.error(
                where,
                _("The condition cannot be read (column %(column)s): %(message)s")
                % {"column": error.column, "message": error.message},
            )
            return
        for name in sorted(names):
            if name.split(".")[0] not in self.field_keys:
                self.error(
                    where,
                    _("The condition uses '%(name)s', which is not a question of the form.") % {"name": name},
                )

    def check_inputs(self, index: int, action: dict) -> None:
        seen: set[str] = set()
        for position, item in enumerate(action.get("inputs", ())):
            where = ["actions", index, "inputs", position]
            if item["key"] in seen:
                self.error(
                    [*where, "key"],
                    _("Another input of this action is already called '%(key)s'.") % {"key": item["key"]},
                )
            seen.add(item["key"])
            if item["type"] == "choice":
                values = [option["value"] for option in item.get("options", ())]
                if not values:
                    self.error([*where, "options"], _("A choice needs options to choose from."))
                elif len(set(values)) != len(values):
                    self.error([*where, "options"], _("Each option of a choice needs its own value."))
            elif "options" in item:
                self.error([*where, "options"], _("Only an input of type choice has options."))
            if (
                item["key"] == "reason"
                and action.get("kind") in REASON_LABELS
                and not item.get("required", True)
            ):
                self.error(
                    [*where, "required"],
                    _("A decision or a send-back always records a reason, so 'reason' must be required."),
                )

    def check_requirements(self, index: int, action: dict) -> None:
        requirements = action.get("requirements", ())
        if not requirements:
            return
        if action.get("kind", "normal") != "send_back":
            self.error(
                ["actions", index, "requirements"],
                _("Only a send-back action can ask the applicant for documents."),
            )
            return
        if self.requirement_slugs is None:
            return
        for position, slug in enumerate(requirements):
            if slug not in self.requirement_slugs:
                self.error(
                    ["actions", index, "requirements", position],
                    _(
                        "The catalogue does not list '%(slug)s' among the documents the applicant provides for "
                        "this procedure."
                    )
                    % {"slug": slug},
                )

    def check_graph(self) -> None:
        """Every state can be reached from the initial one, every unfinished case can finish, and one way
        ends in approval."""
        workflow = load_workflow(self.data)
        forward = successors(workflow)
        reachable = _reachable(forward, workflow.initial)
        if not any(workflow.states[key].outcome == "approved" for key in reachable):
            self.error(
                [],
                _(
                    "No approved outcome can be reached from '%(state)s': add a state with outcome: approved "
                    "and a decision that leads to it."
                )
                % {"state": self.name(workflow.initial)},
            )
        for key, state in workflow.states.items():
            if key == WITHDRAWN:
                continue
            where = ["states", self.state_index[key]]
            if key not in reachable:
                self.error(
                    where,
                    _("No path of actions leads from '%(initial)s' to '%(state)s', so no case can get there.")
                    % {"initial": self.name(workflow.initial), "state": self.name(key)},
                )
            if state.kind == "outcome":
                continue
            if not forward[key]:
                self.error(
                    where,
                    _("No action leads out of '%(state)s', so a case there would be stuck.")
                    % {"state": self.name(key)},
                )
            elif not any(workflow.states[other].kind == "outcome" for other in _reachable(forward, key)):
                self.error(
                    where,
                    _("A case in '%(state)s' can never end: no path of actions leads from it to an outcome.")
                    % {"state": self.name(key)},
                )


def successors(workflow: Workflow) -> dict[str, list[str]]:
    """Where a case can go from each state, in declaration order. A case waiting for the applicant goes back to
    the state that sent it when the applicant answers, so those returns count as ways out."""
    forward: dict[str, list[str]] = {key: [] for key in workflow.states}
    for action in workflow.actions.values():
        for source in action.sources:
            if source not in forward:
                continue
            if action.target not in forward[source]:
                forward[source].append(action.target)
            if workflow.states[action.target].kind == "applicant" and source not in forward[action.target]:
                forward[action.target].append(source)
    return forward


def _reachable(forward: dict[str, list[str]], start: str) -> set[str]:
    seen, pending = {start}, [start]
    while pending:
        for following in forward[pending.pop()]:
            if following not in seen:
                seen.add(following)
                pending.append(following)
    return seen
