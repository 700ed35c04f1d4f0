from django.http import QueryDict
from django.template import Context, Template

from ventanilla.forms import flow

from .conftest import text

TEMPLATE = Template(
    "{% load form_fields %}{% form_error_summary page errors %}{% form_fields page values errors answers=answers %}"
)


def render(page, values, errors=None, answers=None):
    return TEMPLATE.render(
        Context({"page": page, "values": values, "errors": errors or {}, "answers": answers})
    )


def test_a_page_with_errors(form):
    posted = QueryDict("email=nope")
    result = flow.clean_page(form, "about", posted, None, {})
    html = render(form.page("about"), result.data, result.errors)
    assert "There is a problem" in html
    assert '<a href="#f-kind-0">Select an option: Who is applying</a>' in html
    assert '<label class="label" for="f-full_name">Full name</label>' in html
    assert "Email address (optional)" in html
    assert 'type="email"' in html and 'autocomplete="email"' in html and 'value="nope"' in html
    assert 'aria-describedby="f-email-error"' in html
    assert '<span class="visually-hidden">Error:</span> Enter an email address in the correct format' in html
    assert '<legend class="label">Who is applying</legend>' in html
    assert 'type="radio" id="f-kind-0" name="kind" value="person"' in html
    assert 'autocomplete="name"' in html


def test_stored_answers_fill_the_inputs(form):
    answers = {
        "kind": "person",
        "address": {"province": "8", "district": "8-4", "corregimiento": "8-4-7", "line": "Calle 50"},
        "employees": 3,
        "plan": ["0b8e2b9c-7f6a-4a55-9d7e-3f1f2c9f0a11"],
        "opened_on": "2024-02-01",
    }
    html = render(
        form.page("premises"),
        answers,
        answers=answers,
    )
    assert '<option value="8-4-7" selected>Bella Vista</option>' in html
    assert '<optgroup label="Panamá Oeste">' in html  # every district is listed: works without JavaScript
    assert 'inputmode="numeric"' in html and 'value="3"' in html
    assert 'type="file"' in html and 'accept=".pdf,application/pdf' in html
    assert "Uploaded" in html and "choose another file to replace it" in html
    assert 'name="opened_on-day"' in html and 'value="2024"' in html
    assert '<legend class="label">Date of opening (optional)</legend>' in html


def test_hidden_questions_are_not_rendered():
    from ventanilla.forms.definition import load_form

    form = load_form(
        {
            "pages": [
                {
                    "key": "one",
                    "title": text("One"),
                    "fields": [{"key": "kind", "type": "yesno", "label": text("Kind")}],
                },
                {
                    "key": "two",
                    "title": text("Two"),
                    "fields": [
                        {"key": "later", "type": "text", "label": text("Only for yes"), "show_if": "kind"},
                        {"key": "same", "type": "yesno", "label": text("Same page")},
                        {"key": "revealed", "type": "text", "label": text("Revealed"), "show_if": "same"},
                    ],
                },
            ]
        }
    )
    html = render(form.page("two"), {"kind": False})
    assert "Only for yes" not in html
    # A question that depends on one of its own page shows (the page cannot know the answer yet) and is
    # checked only when its condition turns out true.
    assert "Revealed" in html
    assert "Only for yes" in render(form.page("two"), {"kind": True})


def test_repeat_items_have_add_and_remove_buttons(form):
    html = render(form.page("company"), {"owners": [{"name": "Ana"}, {"name": "Bea"}]})
    assert 'name="owners-1-name"' in html and 'value="Bea"' in html
    assert 'value="remove:owners:1"' in html
    assert 'value="add:owners"' in html
    assert 'name="action" value="continue"' in html  # Enter in a box continues, never removes
    assert '<input type="hidden" name="owners-count" value="2">' in html


def test_every_component_renders(form):
    from ventanilla.forms.definition import load_form

    kinds = [
        "text",
        "textarea",
        "number",
        "money",
        "date",
        "yesno",
        "cedula",
        "ruc",
        "email",
        "phone",
        "address",
        "declaration",
    ]
    fields = [{"key": kind, "type": kind, "label": text(f"Question {kind}")} for kind in kinds]
    fields[-1]["text"] = text("All true.")
    fields.append(
        {
            "key": "multi",
            "type": "multichoice",
            "label": text("Pick"),
            "options": [{"value": "a", "label": text("A")}],
        }
    )
    page = load_form({"pages": [{"key": "p", "title": text("P"), "fields": fields}]}).pages[0]
    html = render(page, {})
    for kind in kinds:
        assert f"Question {kind}" in html
    assert 'type="tel"' in html and 'type="checkbox"' in html and "<textarea" in html
    assert 'name="ruc-dv"' in html and 'name="money"' in html and 'name="yesno"' in html
