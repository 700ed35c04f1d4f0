from datetime import date
from decimal import Decimal

import pytest

from ventanilla.forms.expressions import ExpressionError, evaluate, parse, references, truthy

TODAY = date(2025, 6, 15)


def value(source, answers=None, **kwargs):
    return evaluate(source, answers or {}, today=TODAY, **kwargs)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("7 / 2", Decimal("3.5")),
        ("-2 * 3", -6),
        ("1 < 2 and 2 < 1 or true", True),
        ("not 1 == 2 and false", False),
        ("not (1 == 2 and false)", True),
        ("1 + 1 == 2", True),
        ("'a' + 'b' == 'ab'", True),
    ],
)
def test_precedence_and_arithmetic(source, expected):
    assert value(source) == expected


def test_references_to_answers_nested_values_and_the_applicant():
    answers = {
        "kind": "company",
        "address": {"province": "8"},
        "fee": {"amount": "1250.50", "currency": "USD"},
    }
    assert value("kind == 'company' and address.province == \"8\"", answers) is True
    assert value("fee.amount > 1000", answers) is True
    assert value("applicant.level >= 2", applicant={"level": 3}) is True
    assert value("applicant.level >= 2") is False


def test_unanswered_questions_are_null_and_comparisons_with_null_are_false():
    assert value("employees > 3") is False
    assert value("employees <= 3") is False
    assert value("kind == 'company'") is False
    assert value("kind != 'company'") is False
    assert value("kind == null") is True
    assert value("kind != null", {"kind": "x"}) is True
    assert value("employees + 1") is None
    assert value("address.province == '8'", {"address": "not a mapping"}) is False


def test_type_mismatches_are_false_not_errors():
    assert value("'abc' > 3") is False
    assert value("true + 1") is None
    assert value("1 / 0") is None
    assert value("number('12.5') * 2") == Decimal("25.0")


def test_in_a_list_literal_and_a_multichoice_answer():
    assert value("kind in ['a', 'b']", {"kind": "b"}) is True
    assert value("kind not in ['a', 'b']", {"kind": "c"}) is True
    assert value("'food' in activities", {"activities": ["food", "retail"]}) is True
    assert value("'food' in activities") is False
    assert value("2 in [1, 2]") is True


def test_functions():
    answers = {"born": "2000-06-16", "owners": [{}, {}], "started": "2025-06-10", "note": "  "}
    assert value("age(born)", answers) == 24
    assert value("age(born) >= 18", answers) is True
    assert value("days_since(started)", answers) == 5
    assert value("len(owners)", answers) == 2
    assert value("len(missing)") == 0
    assert value("empty(note) and empty(missing) and not empty(owners)", answers) is True
    assert value("empty(x)", {"x": False}) is False
    assert value("today() > born", answers) is True
    assert value("age('not a date')") is None


def test_truthy():
    assert [truthy(v) for v in (None, False, 0, "", " ", [], {}, "x", 1, [0], True)] == [
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
    ]


def test_references_are_top_level_answer_keys():
    assert references("address.province == '8' and len(owners) > applicant.level or x in [y]") == {
        "address",
        "owners",
        "x",
        "y",
    }


@pytest.mark.parametrize(
    ("source", "column", "words"),
    [
        ("kind = 'a'", 6, "=="),
        ("kind == 'a", 9, "not closed"),
        ("1 +", 4, "ends too early"),
        ("eval('1')", 1, "no function"),
        ("len(a, b)", 1, "argument"),
        ("a < b < c", 7, "chained"),
        ("a b", 3, "Unexpected"),
        ("kind.__class__", 6, "underscore"),
        ("__import__('os')", 1, "underscore"),
        ("applicant == 1", 1, "applicant"),
        ("a ; b", 3, "not allowed"),
        ("", 1, "empty"),
    ],
)
def test_errors_say_what_and_where(source, column, words):
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert caught.value.column == column
    assert words in caught.value.message
    assert f"column {column}" in str(caught.value)


def test_attribute_tricks_find_nothing():
    # Values are looked up as dict keys only: a Python attribute is not reachable by any spelling.
    assert value("kind.upper == null", {"kind": "a"}) is True
    assert value("x.real", {"x": 5}) is None


def test_huge_inputs_are_refused_quickly():
    with pytest.raises(ExpressionError, match="too long"):
        parse("1 + " * 200 + "1")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * 100 + "1" + ")" * 100)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("not " * 100 + "x")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("-" * 100 + "1")
    assert value("(" * 20 + "1" + ")" * 20) == 1


def test_parsed_expressions_are_cached():
    assert parse("a == 1") is parse("a == 1")
