from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from ventanilla.forms import flow

from .test_components import PDF

EVIDENCE = "0b8e2b9c-7f6a-4a55-9d7e-3f1f2c9f0a11"
PERSON = {"kind": "person", "full_name": "Ana Pérez"}
COMPANY = {"kind": "company", "full_name": "Ana Pérez"}
ADDRESS = {"province": "8", "district": "8-4", "corregimiento": "8-4-7", "line": "Calle 50"}


def keys(pages):
    return [page.key for page in pages]


def test_a_conditional_page_is_skipped_both_ways(form):
    assert keys(flow.visible_pages(form, PERSON)) == ["about", "premises"]
    assert keys(flow.visible_pages(form, COMPANY)) == ["about", "company", "premises"]
    assert flow.next_page(form, "about", PERSON).key == "premises"
    assert flow.previous_page(form, "premises", PERSON).key == "about"
    assert flow.next_page(form, "about", COMPANY).key == "company"
    assert flow.next_page(form, "premises", COMPANY) is None
    assert flow.first_page(form, {}).key == "about"
    # From a page that has just become hidden, the next visible one.
    assert flow.next_page(form, "company", PERSON).key == "premises"


def test_answers_of_a_skipped_page_are_pruned(form):
    answers = {**COMPANY, "trade_name": "ACME", "owners": [{"name": "Ana"}], "unknown": 1}
    assert flow.prune(form, answers) == {**COMPANY, "trade_name": "ACME", "owners": [{"name": "Ana"}]}
    answers["kind"] = "person"
    assert flow.prune(form, answers) == PERSON


def test_clean_page_continue(form):
    data = QueryDict("kind=company&full_name=Ana+P%C3%A9rez&email=ANA@EXAMPLE.COM")
    result = flow.clean_page(form, "about", data, None, {})
    assert result.errors == {}
    assert result.action == "continue"
    assert result.values == {"kind": "company", "full_name": "Ana Pérez", "email": "ana@example.com"}


def test_clean_page_errors_keyed_by_question(form):
    result = flow.clean_page(form, "about", QueryDict("email=nope"), None, {})
    assert result.errors == {
        "kind": "Select an option: Who is applying",
        "full_name": "Enter full name",
        "email": "Enter an email address in the correct format, like name@example.com",
    }
    assert result.data["email"] == "nope"


def test_a_cleared_optional_answer_is_removed(form):
    result = flow.clean_page(
        form, "about", QueryDict("kind=person&full_name=Ana&email="), None, {"email": "old@example.com"}
    )
    assert "email" in result.removed
    assert "email" not in result.merge({"email": "old@example.com"})


def test_hidden_question_is_not_checked_and_its_answer_removed(form):
    data = QueryDict(
        "address-province=8&address-district=8-4&address-corregimiento=8-4-7&address-line=Calle+50"
        "&employees=0&opened_on-day=99"
    )
    result = flow.clean_page(form, "premises", data, None, {"plan": [EVIDENCE], "opened_on": "2020-01-01"})
    assert result.errors == {}
    assert result.values == {"address": ADDRESS, "employees": 0, "plan": [EVIDENCE]}
    assert "opened_on" in result.removed
    shown = flow.clean_page(
        form,
        "premises",
        QueryDict(data.urlencode().replace("employees=0", "employees=3")),
        None,
        {"plan": [EVIDENCE]},
    )
    assert shown.errors == {"opened_on": "Date of opening must include a month and a year"}


def test_validate_rules(form):
    data = QueryDict(
        "address-province=8&address-district=8-4&address-corregimiento=8-4-7&address-line=Calle+50"
        "&employees=3&opened_on-day=1&opened_on-month=1&opened_on-year=1990"
    )
    result = flow.clean_page(form, "premises", data, None, {"plan": [EVIDENCE]})
    assert result.errors == {"opened_on": "Must be within 10 years"}


def test_uploads_come_back_for_the_caller_to_store(form):
    data = QueryDict(
        "address-province=8&address-district=8-4&address-corregimiento=8-4-7&address-line=Calle+50&employees=0"
    )
    pdf = SimpleUploadedFile("plan.pdf", PDF)
    result = flow.clean_page(form, "premises", data, MultiValueDict({"plan": [pdf]}), {"plan": [EVIDENCE]})
    assert result.errors == {}
    assert result.uploads == {"plan": [pdf]}
    assert "plan" not in result.values


def test_repeat_add_and_remove_without_javascript(form):
    data = QueryDict("trade_name=&owners-0-name=Ana&owners-0-cedula=8-1-1&owners-count=1&action=add:owners")
    added = flow.clean_page(form, "company", data, None, COMPANY)
    assert added.action == "add:owners"
    assert added.errors == {}  # nothing is required while adding
    assert added.values["owners"] == [{"name": "Ana", "cedula": "8-1-1"}, {}]
    assert added.data["owners-count"] == "2"

    data = QueryDict(
        "trade_name=ACME&owners-0-name=Ana&owners-0-cedula=8-1-1&owners-1-name=Bea&owners-1-cedula=8-2-2"
        "&owners-2-name=Cid&owners-2-cedula=8-3-3&owners-count=3&action=remove:owners:1"
    )
    removed = flow.clean_page(form, "company", data, None, COMPANY)
    assert [owner["name"] for owner in removed.values["owners"]] == ["Ana", "Cid"]
    assert removed.data["owners-1-name"] == "Cid"
    assert removed.data["owners-count"] == "2"
    assert "owners-2-name" not in removed.data

    bad = flow.clean_page(
        form, "company", QueryDict("owners-0-name=Ana&owners-0-cedula=123&owners-count=1"), None, COMPANY
    )
    assert set(bad.errors) == {"trade_name", "owners[0].cedula"}


def test_clean_answers_the_api_way(form):
    answers = {
        **COMPANY,
        "trade_name": "ACME",
        "owners": [{"name": "Ana", "cedula": "nope"}],
        "address": {**ADDRESS, "corregimiento": "8-1-1"},
        "employees": "many",
        "plan": [EVIDENCE],
    }
    errors = flow.clean_answers(form, answers)
    assert set(errors) == {"owners[0].cedula", "address", "employees"}
    person = {**PERSON, "trade_name": 5, "address": ADDRESS, "employees": 2, "plan": [EVIDENCE]}
    assert flow.clean_answers(form, person) == {}  # the company page is skipped: its answers do not count
    values, errors = flow.normalized_answers(form, {**person, "full_name": "  Ana  "})
    assert errors == {} and values["full_name"] == "Ana" and "trade_name" not in values


def test_summary(form):
    answers = {
        **COMPANY,
        "trade_name": "ACME",
        "owners": [{"name": "Ana", "cedula": "8-1-1"}, {"name": "Bea", "cedula": "8-2-2"}],
        "address": ADDRESS,
        "employees": 1200,
        "plan": [EVIDENCE],
        "opened_on": "2024-02-01",
    }
    sections = flow.summary(form, answers)
    assert [section.page.key for section in sections] == ["about", "company", "premises"]
    rows = {row.label: row.value_text for section in sections for row in section.rows}
    assert rows["Who is applying"] == "A company"
    assert rows["Email address"] == "Not given"
    assert rows["Owner 1"] == "Name: Ana\nCédula: 8-1-1"
    assert rows["Owner 2"] == "Name: Bea\nCédula: 8-2-2"
    assert rows["Address of the premises"] == "Calle 50, Bella Vista, Panamá, Panamá"
    assert rows["Number of employees"] == "1,200"
    assert rows["Floor plan"] == "1 file uploaded"
    assert rows["Date of opening"] == "Feb. 1, 2024"
    person = flow.summary(form, {**answers, "kind": "person"})
    assert [section.page.key for section in person] == ["about", "premises"]


def test_initial_answers_from_the_profile(form):
    applicant = {"name": "Ana Pérez", "email": "Ana@Example.com"}
    assert flow.initial_answers(form, applicant) == {"full_name": "Ana Pérez", "email": "ana@example.com"}
    assert flow.initial_answers(form, {"email": "not an email"}) == {}


def test_evidence_ids_only_for_answers_that_count(form):
    answers = {**PERSON, "plan": [EVIDENCE]}
    assert flow.evidence_ids(form, answers) == [("plan", "plano-del-local", EVIDENCE)]
