import copy
import json
from pathlib import Path

from ventanilla.forms import definition
from ventanilla.forms.definition import FORM_SCHEMA, check_form, load_form, requirement_slug

from .conftest import business_form_data, text

SLUGS = {"plano-del-local"}


def errors_of(data, **kwargs):
    kwargs.setdefault("requirement_slugs", SLUGS)
    return {error.path: error.message for error in check_form(data, **kwargs)}


def test_a_good_form_has_no_errors_and_loads():
    data = business_form_data()
    assert check_form(data, requirement_slugs=SLUGS, held_by_state=set()) == []
    form = load_form(data)
    assert [page.key for page in form.pages] == ["about", "company", "premises"]
    owners = form.field("owners")
    assert [child.key for child in owners.fields] == ["name", "cedula"]
    assert owners.option("max_items") == 3
    assert form.field("plan").requirement == "plano-del-local"
    assert form.field("full_name").prefill == "applicant.name"
    assert form.declaration_text == "I declare that this is true."
    # A whole service document is accepted too.
    assert check_form({"format": "x", "form": data}, requirement_slugs=SLUGS) == []


def test_the_schema_is_published_as_a_file():
    saved = json.loads((Path(definition.__file__).parent / "form.schema.json").read_text())
    assert saved == FORM_SCHEMA
    assert FORM_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_errors_have_paths_and_plain_messages():
    data = business_form_data()
    data["pages"][1]["fields"][0]["type"] = "signature"
    data["pages"][0]["fields"][1]["key"] = "Full Name"
    del data["pages"][2]["title"]
    data["pages"][0]["fields"][0]["colour"] = "red"
    errors = errors_of(data)
    assert errors["form.pages[1].fields[0].type"].startswith("Use one of: text, textarea")
    assert errors["form.pages[0].fields[1].key"] == (
        "Use lower-case letters, digits and underscores, starting with a letter."
    )
    assert errors["form.pages[2].title"] == "This is required."
    assert errors["form.pages[0].fields[0].colour"] == "This setting is unknown here; check its spelling."


def test_a_file_question_needs_a_requirement_of_the_procedure():
    data = business_form_data()
    del data["pages"][2]["fields"][2]["requirement"]
    assert errors_of(data) == {"form.pages[2].fields[2].requirement": "This is required."}
    data = business_form_data()
    data["pages"][2]["fields"][2]["requirement"] = "escritura-publica"
    assert errors_of(data) == {
        "form.pages[2].fields[2].requirement": (
            "Asks for the document “escritura-publica”, which the catalogue does not list for this procedure; "
            "add it to the procedure in the catalogue first, or remove this question."
        )
    }


def test_a_requirement_the_state_holds_is_not_asked():
    errors = errors_of(business_form_data(), held_by_state={"plano-del-local"})
    assert errors == {
        "form.pages[2].fields[2].requirement": (
            "Asks for “plano-del-local”, which the state already holds: it is fetched, not asked; remove this "
            "question."
        )
    }


def test_expressions_must_parse_and_name_questions_asked_before():
    data = business_form_data()
    data["pages"][1]["show_if"] = "kind = 'company'"
    data["pages"][2]["fields"][3]["show_if"] = "staff > 0"
    data["pages"][0]["fields"][2]["show_if"] = "employees > 0"
    errors = errors_of(data)
    assert errors["form.pages[1].show_if"] == "Use “==” to compare, not “=”. (at column 6)"
    assert (
        errors["form.pages[2].fields[3].show_if"]
        == "Refers to “staff”, which is not a question of this form."
    )
    assert "asked on a later page" in errors["form.pages[0].fields[2].show_if"]


def test_a_page_cannot_depend_on_its_own_questions():
    data = business_form_data()
    data["pages"][1]["show_if"] = "trade_name == 'x'"
    assert "asked on this page or a later one" in errors_of(data)["form.pages[1].show_if"]


def test_keys_and_options_are_unique_and_ranges_make_sense():
    data = business_form_data()
    data["pages"][2]["fields"][1]["key"] = "kind"
    data["pages"][2]["fields"][1]["min"] = 10
    data["pages"][2]["fields"][1]["max"] = 5
    data["pages"][0]["fields"][0]["options"].append({"value": "person", "label": text("Again")})
    data["pages"][1]["fields"][1]["fields"][1]["key"] = "name"
    errors = errors_of(data)
    assert "keys are unique in the form" in errors["form.pages[2].fields[1].key"]
    assert errors["form.pages[2].fields[1].min"] == "“min” is more than “max”."
    assert (
        errors["form.pages[0].fields[0].options[2].value"] == "Another option already has the value “person”."
    )
    assert "of this group" in errors["form.pages[1].fields[1].fields[1].key"]


def test_settings_of_another_type_and_files_inside_groups_are_refused():
    data = business_form_data()
    data["pages"][0]["fields"][1]["options"] = [{"value": "a", "label": text("A")}]
    data["pages"][1]["fields"][1]["fields"].append(
        {"key": "id_copy", "type": "file", "label": text("Copy"), "requirement": "plano-del-local"}
    )
    errors = errors_of(data)
    assert errors["form.pages[0].fields[1].options"] == "“options” does not apply to a question of type text."
    assert (
        errors["form.pages[1].fields[1].fields[2].type"]
        == "A repeating group cannot contain a question of type file."
    )


def test_bad_date_limits_and_patterns():
    data = business_form_data()
    data["pages"][2]["fields"][3]["min_date"] = "2030-01-01"
    data["pages"][0]["fields"][1]["pattern"] = "("
    data["pages"][2]["fields"][3]["validate"][0]["rule"] = "plan_date > 1"
    errors = errors_of(data)
    assert errors["form.pages[2].fields[3].min_date"] == "“min_date” is later than “max_date”."
    assert errors["form.pages[0].fields[1].pattern"].startswith("This is not a valid regular expression")
    assert "plan_date" in errors["form.pages[2].fields[3].validate[0].rule"]
    bad = copy.deepcopy(data)
    bad["pages"][2]["fields"][3]["max_date"] = "yesterday"
    assert "relative date" in errors_of(bad)["form.pages[2].fields[3].max_date"]


def test_requirement_slug():
    assert requirement_slug("Plano del local, firmado por un arquitecto idóneo") == (
        "plano-del-local-firmado-por-un-arquitecto-idoneo"
    )
    assert len(requirement_slug("Copia " * 40)) <= 80
    assert not requirement_slug("Copia " * 40).endswith("-")
