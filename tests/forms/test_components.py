from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from ventanilla.forms.components import REGISTRY, FieldError, component
from ventanilla.forms.definition import TYPE_SETTINGS, load_form

from .conftest import text

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60


def field(kind, **settings):
    data = {"key": "answer", "type": kind, "label": text(settings.pop("label", "Your answer")), **settings}
    if kind == "declaration":
        data.setdefault("text", text("All of this is true."))
    return load_form({"pages": [{"key": "p", "title": text("P"), "fields": [data]}]}).pages[0].fields[0]


def post(query: str = "", **values) -> QueryDict:
    data = QueryDict(query, mutable=True)
    for name, value in values.items():
        data[name.replace("__", "-")] = value
    return data


def clean(question, files=None, **values):
    return component(question.type).clean(question, post(**values), files)


def error_of(call) -> str:
    with pytest.raises(FieldError) as caught:
        call()
    return caught.value.message or caught.value.errors


def test_every_type_of_the_definition_format_is_registered():
    assert set(REGISTRY) == set(TYPE_SETTINGS)
    assert all(component(kind).template == f"forms/components/{kind}.html" for kind in REGISTRY)


def test_text():
    question = field(
        "text",
        label="Trade name",
        min_length=2,
        max_length=10,
        pattern="^[A-Z ]+$",
        pattern_message=text("Use capital letters"),
    )
    assert clean(question, answer="  ACME  ") == "ACME"
    assert error_of(lambda: clean(question, answer="")) == "Enter trade name"
    assert error_of(lambda: clean(question, answer="A")) == "Trade name must be 2 characters or more"
    assert (
        error_of(lambda: clean(question, answer="ABCDEFGHIJK")) == "Trade name must be 10 characters or fewer"
    )
    assert error_of(lambda: clean(question, answer="acme")) == "Use capital letters"
    assert component("text").clean(field("text", required=False), post(), None) is None


def test_textarea_keeps_line_breaks():
    question = field("textarea", label="Description")
    assert clean(question, answer="one\r\ntwo") == "one\ntwo"
    assert len(error_of(lambda: clean(question, answer="x" * 5001))) > 0


def test_number():
    question = field("number", label="Employees", integer=True, min=1, max=500)
    assert clean(question, answer="1,20") == 120
    assert clean(question, answer="12") == 12
    assert error_of(lambda: clean(question, answer="twelve")) == "Employees must be a number"
    assert error_of(lambda: clean(question, answer="1.5")) == "Employees must be a whole number"
    assert error_of(lambda: clean(question, answer="0")) == "Employees must be 1 or more"
    assert error_of(lambda: clean(question, answer="501")) == "Employees must be 500 or less"
    assert component("number").clean_value(field("number"), "12.50") == "12.5"
    assert component("number").clean_value(field("number"), 7) == 7


def test_money_is_decimal_with_two_places_at_most():
    question = field("money", label="Capital", max=100000)
    assert clean(question, answer="$1,250.5") == {"amount": "1250.50", "currency": "USD"}
    assert error_of(lambda: clean(question, answer="12.345")) == (
        "Capital must not have more than 2 decimal places, like 193.54"
    )
    assert (
        error_of(lambda: clean(question, answer="lots"))
        == "Capital must be an amount of money, like 600 or 193.54"
    )
    assert error_of(lambda: clean(question, answer="-5")) == "Capital must be 0 or more"
    money = component("money")
    assert money.clean_value(question, {"amount": "10", "currency": "USD"}) == {
        "amount": "10.00",
        "currency": "USD",
    }
    assert "as text" in error_of(lambda: money.clean_value(question, {"amount": 10.1}))
    assert money.display(question, {"amount": "1250.50", "currency": "USD"}) == "$1,250.50"


def test_date_in_three_boxes():
    question = field("date", label="Date of birth", max_date="today", min_date="1900-01-01")
    assert clean(question, answer__day="5", answer__month="3", answer__year="1990") == "1990-03-05"
    assert error_of(lambda: clean(question)) == "Enter date of birth"
    assert error_of(lambda: clean(question, answer__day="5", answer__year="1990")) == (
        "Date of birth must include a month"
    )
    assert error_of(lambda: clean(question, answer__day="31", answer__month="2", answer__year="1990")) == (
        "Date of birth must be a real date"
    )
    tomorrow = date.today() + timedelta(days=2)
    assert (
        error_of(
            lambda: clean(
                question,
                answer__day=str(tomorrow.day),
                answer__month=str(tomorrow.month),
                answer__year=str(tomorrow.year),
            )
        )
        == "Date of birth must be today or in the past"
    )
    assert error_of(
        lambda: clean(question, answer__day="1", answer__month="1", answer__year="1850")
    ).startswith("Date of birth must be on or after")
    dates = component("date")
    assert dates.clean_value(question, "1990-03-05") == "1990-03-05"
    assert "YYYY-MM-DD" in error_of(lambda: dates.clean_value(question, "05/03/1990"))
    assert dates.to_raw(question, "1990-03-05", "answer") == {
        "answer-day": "5",
        "answer-month": "3",
        "answer-year": "1990",
    }


def test_yes_no():
    question = field("yesno", label="Do you rent the premises?")
    assert clean(question, answer="yes") is True
    assert clean(question, answer="no") is False
    assert error_of(lambda: clean(question)) == "Select yes or no: Do you rent the premises?"
    assert component("yesno").clean_value(question, False) is False


def test_choice_and_multichoice():
    options = [{"value": "food", "label": text("Food")}, {"value": "retail", "label": text("Retail")}]
    choice = field("choice", label="Activity", options=options)
    assert clean(choice, answer="food") == "food"
    assert error_of(lambda: clean(choice, answer="bank")) == "Select an option: Activity"
    several = field("multichoice", label="Activities", options=options, min_items=2)
    assert component("multichoice").clean(several, QueryDict("answer=retail&answer=food"), None) == [
        "food",
        "retail",
    ]
    assert error_of(lambda: clean(several, answer="food")) == "Select at least 2 options: Activities"
    assert error_of(lambda: component("multichoice").clean_value(several, ["food", "bank"])) == (
        "Select only the options listed: Activities"
    )
    assert component("multichoice").display(several, ["food", "retail"]) == "Food, Retail"


def test_cedula():
    question = field("cedula", label="Cédula")
    assert clean(question, answer="08-0123-00456") == "8-123-456"
    assert "for example 8-123-456" in error_of(lambda: clean(question, answer="12345"))


def test_ruc_in_two_boxes():
    question = field("ruc", label="RUC of the company")
    assert clean(question, answer__ruc="155596713-2-2015", answer__dv="59") == {
        "ruc": "155596713-2-2015",
        "dv": "59",
    }
    assert "do not match" in error_of(
        lambda: clean(question, answer__ruc="155596713-2-2015", answer__dv="11")
    )
    assert "check digits (DV)" in error_of(lambda: clean(question, answer__ruc="155596713-2-2015"))
    assert error_of(lambda: clean(question)) == "Enter RUC of the company"
    assert component("ruc").clean_value(question, {"ruc": "155596713-2-2015", "dv": "59"})["dv"] == "59"


def test_email():
    question = field("email", label="Email address")
    assert clean(question, answer=" Ana@Example.COM ") == "ana@example.com"
    assert error_of(lambda: clean(question, answer="ana@")) == (
        "Enter an email address in the correct format, like name@example.com"
    )


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("6123-4567", "+50761234567"),
        ("+507 6123 4567", "+50761234567"),
        ("223-4567", "+5072234567"),
        ("00507 223 4567", "+5072234567"),
    ],
)
def test_phone_accepts_panamanian_numbers(typed, stored):
    assert clean(field("phone"), answer=typed) == stored


@pytest.mark.parametrize("typed", ["5123-4567", "+1 202 555 0143", "12345", "61234567890"])
def test_phone_refuses_other_numbers(typed):
    assert "phone number in Panama" in error_of(lambda: clean(field("phone"), answer=typed))


def test_phone_display():
    assert component("phone").display(field("phone"), "+50761234567") == "+507 6123-4567"


def test_address_checks_the_chain():
    question = field("address", label="Address")
    good = {
        "answer__province": "8",
        "answer__district": "8-4",
        "answer__corregimiento": "8-4-7",
        "answer__line": "Calle 50,  Edificio X",
    }
    assert clean(question, **good) == {
        "province": "8",
        "district": "8-4",
        "corregimiento": "8-4-7",
        "line": "Calle 50, Edificio X",
    }
    assert error_of(lambda: clean(question, **{**good, "answer__district": "4-6"})).startswith(
        "The district you selected is not in Panamá"
    )
    assert error_of(lambda: clean(question, **{**good, "answer__corregimiento": "8-1-1"})).startswith(
        "The corregimiento you selected is not in Panamá"
    )
    assert error_of(lambda: clean(question, **{**good, "answer__line": ""})) == (
        "Enter the street, building and house or apartment number"
    )
    assert (
        error_of(lambda: clean(question, **{**good, "answer__province": ""}))
        == "Select the province or comarca"
    )
    assert component("address").display(question, clean(question, **good)) == (
        "Calle 50, Edificio X, Bella Vista, Panamá, Panamá"
    )


def uploads(*files):
    return MultiValueDict({"answer": list(files)})


def test_file_checks_type_by_content_and_size():
    question = field("file", label="Floor plan", requirement="plano", max_size_mb=1)
    pdf = SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")
    assert clean(question, uploads(pdf)) == [pdf]
    disguised = SimpleUploadedFile("plan.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
    assert error_of(lambda: clean(question, uploads(disguised))) == (
        "The selected file plan.pdf must be a PDF or JPG or PNG"
    )
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024), content_type="image/png")
    assert (
        error_of(lambda: clean(question, uploads(big)))
        == "The selected file big.png must be smaller than 1 MB"
    )
    empty = SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf")
    assert error_of(lambda: clean(question, uploads(empty))) == "The selected file empty.pdf is empty"
    assert error_of(lambda: clean(question, uploads())) == "Upload floor plan"
    two = [SimpleUploadedFile(f"{n}.pdf", PDF) for n in "ab"]
    assert error_of(lambda: clean(question, uploads(*two))) == "Select only one file"


def test_file_keeps_what_was_uploaded_before():
    question = field("file", label="Floor plan", requirement="plano")
    kept = ["0b8e2b9c-7f6a-4a55-9d7e-3f1f2c9f0a11"]
    assert component("file").clean(question, post(), MultiValueDict(), existing=kept) == kept
    assert component("file").clean_value(question, kept) == kept
    assert (
        error_of(lambda: component("file").clean_value(question, ["nope"]))
        == "This is not a valid evidence id."
    )


def test_repeat_items_are_checked_with_their_paths():
    question = field(
        "repeat",
        label="Owner",
        max_items=2,
        fields=[
            {"key": "name", "type": "text", "label": text("Name")},
            {"key": "cedula", "type": "cedula", "label": text("Cédula"), "required": False},
        ],
    )
    repeat = component("repeat")
    data = QueryDict(
        "answer-0-name=Ana&answer-0-cedula=8-1-1&answer-1-name=&answer-1-cedula=bad&answer-2-name=&answer-count=3"
    )
    with pytest.raises(FieldError) as caught:
        repeat.clean(question, data, None)
    assert caught.value.errors == {"[1].name": "Enter name", "[1].cedula": caught.value.errors["[1].cedula"]}
    blank_last = QueryDict("answer-0-name=Ana&answer-1-name=&answer-count=2")
    assert repeat.clean(question, blank_last, None) == [{"name": "Ana"}]
    assert (
        error_of(lambda: repeat.clean(question, QueryDict("answer-count=1"), None))
        == "Add at least one: Owner"
    )
    assert repeat.clean_value(question, [{"name": "Bea", "cedula": "8-0001-0002"}]) == [
        {"name": "Bea", "cedula": "8-1-2"}
    ]
    with pytest.raises(FieldError) as caught:
        repeat.clean_value(question, [{"name": "A"}, {"name": "B"}, {"name": "C"}])
    assert caught.value.message == "Add 2 or fewer: Owner"


def test_declaration():
    question = field("declaration", label="Declaration")
    assert clean(question, answer="yes") is True
    assert error_of(lambda: clean(question)) == "Select the box to confirm the declaration"
    assert error_of(lambda: component("declaration").clean_value(question, False)) == (
        "Select the box to confirm the declaration"
    )


def test_required_messages_are_not_raised_while_adding_items():
    assert component("text").clean(field("text"), post(), None, partial=True) is None


def test_spanish_messages_fall_back_to_the_label_in_spanish():
    question = (
        load_form(
            {
                "pages": [
                    {
                        "key": "p",
                        "title": text("P"),
                        "fields": [{"key": "a", "type": "text", "label": {"es": "Nombre comercial"}}],
                    }
                ]
            }
        )
        .pages[0]
        .fields[0]
    )
    assert error_of(lambda: component("text").clean(question, post(), None)) == "Enter nombre comercial"


def test_file_reads_bytes_without_consuming_them():
    question = field("file", label="Plan", requirement="plano")
    pdf = SimpleUploadedFile("plan.pdf", PDF)
    clean(question, uploads(pdf))
    assert pdf.read() == PDF


def test_blank_text_through_the_api_counts_as_unanswered():
    assert error_of(lambda: component("text").clean_value(field("text", label="Name"), "   ")) == "Enter name"
