"""Service definitions: reading the document an institution wrote, checking it against its JSON Schema and
against the catalogue (the catalogue is the contract), and fixing what a published version depends on."""

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from ventanilla.core.definitions import DefinitionError
from ventanilla.forms.definition import FORM_SCHEMA, Form, check_form, load_form, requirement_slug
from ventanilla.workflow.definition import WORKFLOW_SCHEMA, Workflow, check_workflow, load_workflow

FORMAT = "ventanilla.service/1"
MAX_SOURCE_BYTES = 512 * 1024


class _Loader(yaml.SafeLoader):
    """Plain YAML 1.2 scalars: only true/false are booleans (YAML 1.1 also reads on/off/yes/no as booleans,
    which would turn the `on:` key of an output into True), and dates stay text, as in JSON."""


_NOT_PLAIN = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NOT_PLAIN]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class InvalidDefinition(Exception):
    def __init__(self, errors: list[DefinitionError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


@cache
def service_schema() -> dict:
    """The complete published JSON Schema: the service document with the form and workflow schemas inside."""
    schema = json.loads((Path(__file__).parent / "service.schema.json").read_text())
    # Embedded whole: each keeps its own $id, so the $refs inside it still resolve against itself.
    schema["$defs"]["form"] = copy.deepcopy(FORM_SCHEMA)
    schema["$defs"]["workflow"] = copy.deepcopy(WORKFLOW_SCHEMA)
    return schema


@cache
def _top_level_validator() -> Draft202012Validator:
    schema = copy.deepcopy(json.loads((Path(__file__).parent / "service.schema.json").read_text()))
    schema["properties"]["form"] = {"type": "object"}
    schema["properties"]["workflow"] = {"type": "object"}
    return Draft202012Validator(schema)


def parse_source(source: str) -> dict:
    """The document from YAML or JSON text (JSON is YAML), with an error that says where it broke."""
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise InvalidDefinition([DefinitionError("", _("The definition is larger than 512 KB."))])
    try:
        document = yaml.load(source, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = (
            _("line %(line)s, column %(column)s") % {"line": mark.line + 1, "column": mark.column + 1}
            if mark
            else "?"
        )
        problem = getattr(error, "problem", None) or str(error)
        raise InvalidDefinition(
            [
                DefinitionError(
                    "",
                    _("This is not valid YAML or JSON (%(where)s): %(problem)s.")
                    % {"where": where, "problem": problem},
                )
            ]
        ) from error
    if not isinstance(document, dict):
        raise InvalidDefinition(
            [DefinitionError("", _("The definition must be a mapping of keys to values."))]
        )
    return document


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class CatalogueFacts:
    """What the catalogue says about the procedure, as the checks need it."""

    requirements: dict  # slug → {"id", "name_es", "name_en", "held_by_state", "issuer"}
    fees: list  # [{"amount", "currency", "conditions_es", "conditions_en"}]
    sign_in_level: str
    declared_level: int
    institution: str

    @property
    def slugs(self) -> set[str]:
        return set(self.requirements)

    @property
    def held_by_state(self) -> set[str]:
        return {slug for slug, requirement in self.requirements.items() if requirement["held_by_state"]}


def catalogue_facts(procedure) -> CatalogueFacts:
    requirements = {}
    for requirement in procedure.requirements.all():
        if requirement.kind != "document":
            continue
        requirements[requirement_slug(requirement.name_es)] = {
            "id": str(requirement.id),
            "name_es": requirement.name_es,
            "name_en": requirement.name_en,
            "held_by_state": requirement.held_by_state,
            "issuer": requirement.issuer.code if requirement.issuer_id else "",
        }
    fees = [
        {
            "amount": str(fee.amount),
            "currency": fee.currency,
            "conditions_es": fee.conditions_es,
            "conditions_en": fee.conditions_en,
        }
        for fee in procedure.fees.all()
    ]
    return CatalogueFacts(
        requirements=requirements,
        fees=fees,
        sign_in_level=procedure.sign_in_level,
        declared_level=procedure.level,
        institution=procedure.institution.code,
    )


def check(document: dict, *, procedure) -> list[DefinitionError]:
    """Every problem with a definition for `procedure`, in document order; an empty list means it may be
    published."""
    errors = [
        DefinitionError(_path(error.absolute_path), error.message)
        for error in sorted(_top_level_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        return errors
    if procedure is None:
        return [DefinitionError("procedure", _("There is no procedure with this code in the catalogue."))]
    if document["procedure"] != procedure.code:
        return [DefinitionError("procedure", _("The definition is for another procedure."))]
    facts = catalogue_facts(procedure)
    errors += check_form(document["form"], requirement_slugs=facts.slugs, held_by_state=facts.held_by_state)
    if errors:
        return errors
    form = load_form(document["form"])
    errors += check_workflow(
        document["workflow"],
        field_keys=_field_keys(form),
        requirement_slugs=facts.slugs - facts.held_by_state,
    )
    if procedure.sign_in_level == "none":
        errors.append(
            DefinitionError(
                "procedure",
                _(
                    "The catalogue says this procedure needs no sign-in; an online service files a case for "
                    "someone, so set the procedure's sign-in level in the catalogue first."
                ),
            )
        )
    return errors


def _field_keys(form: Form) -> set[str]:
    return {field.key for page in form.pages for field in page.fields}


@dataclass(frozen=True)
class Definition:
    """A checked document, parsed once per published version (versions never change once published)."""

    document: dict
    form: Form
    workflow: Workflow


def load(document: dict) -> Definition:
    return Definition(
        document=document, form=load_form(document["form"]), workflow=load_workflow(document["workflow"])
    )


def resolved_for_publication(document: dict, *, procedure) -> dict:
    facts = catalogue_facts(procedure)
    return {
        "requirements": facts.requirements,
        "fetch": sorted(facts.held_by_state),
        "fees": facts.fees,
        "sign_in_level": facts.sign_in_level,
        "declared_level": facts.declared_level,
    }
