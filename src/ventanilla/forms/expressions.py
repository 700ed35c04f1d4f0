"""The small, safe expression language of definitions: conditional pages and questions (`show_if`), extra
validation rules (`validate`) and workflow guards.

    kind == 'company' and employees > 10
    'construction' in activities
    age(birth_date) >= 18 or not empty(guardian_name)
    applicant.document_type == 'cedula'

A hand-written tokenizer and recursive-descent parser build a tree of frozen dataclasses; `evaluate` walks it.
Nothing is ever handed to Python's eval, exec or ast, and values are looked up only as keys of plain dicts, so
there is no attribute access to abuse. The language is null-safe: an unanswered question is `null`; comparing
null with anything is false (except `x == null` / `x != null`, which test for it), arithmetic with null gives
null, and nothing fails at run time: a type mismatch is false or null. Unknown names of functions and
malformed text are caught when parsing, with the column where the problem is.

Precedence, lowest first: `or`, `and`, `not`, comparisons (`== != < <= > >= in`, `not in`; not chained),
`+ -`, `* /`, unary minus, then literals, references, calls and parentheses.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, DivisionByZero, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

MAX_LENGTH = 500
MAX_DEPTH = 30
APPLICANT = "applicant"

# name → (minimum, maximum) number of arguments
FUNCTIONS = {
    "len": (1, 1),
    "today": (0, 0),
    "age": (1, 1),
    "days_since": (1, 1),
    "empty": (1, 1),
    "number": (1, 1),
}
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


class ExpressionError(ValueError):
    """A malformed expression. `column` counts from 1."""

    def __init__(self, message: str, column: int):
        self.message = message
        self.column = column
        super().__init__(message)

    def __str__(self) -> str:
        return _("%(message)s (at column %(column)s)") % {"message": self.message, "column": self.column}


# --- Tree --------------------------------------------------------------------------------------------------


class Expression:
    """A node of the tree; every node is a frozen dataclass."""


@dataclass(frozen=True)
class Literal(Expression):
    value: Any


@dataclass(frozen=True)
class Reference(Expression):
    path: tuple[str, ...]  # ("address", "province"); ("applicant", "email")


@dataclass(frozen=True)
class ListLiteral(Expression):
    items: tuple[Expression, ...]


@dataclass(frozen=True)
class Not(Expression):
    operand: Expression


@dataclass(frozen=True)
class Negative(Expression):
    operand: Expression


@dataclass(frozen=True)
class Logical(Expression):
    operator: str  # "and" | "or"
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Comparison(Expression):
    operator: str  # one of COMPARISONS, "in", "not in"
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Arithmetic(Expression):
    operator: str  # + - * /
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Call(Expression):
    function: str
    arguments: tuple[Expression, ...]


# --- Tokens ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "number" | "string" | "name" | "op" | "end"
    text: str
    column: int
    value: Any = None


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".")


def _tokenize(source: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(source):
        char = source[position]
        column = position + 1
        if char.isspace():
            position += 1
        elif match := _NUMBER.match(source, position):
            text = match.group()
            value = Decimal(text) if "." in text else int(text)
            tokens.append(Token("number", text, column, value))
            position = match.end()
        elif match := _NAME.match(source, position):
            text = match.group()
            if text.startswith("_"):
                raise ExpressionError(
                    _("Names cannot start with an underscore: “%(name)s”.") % {"name": text}, column
                )
            tokens.append(Token("name", text, column))
            position = match.end()
        elif char in "'\"":
            end = source.find(char, position + 1)
            if end < 0:
                raise ExpressionError(_("This text is not closed: add the closing quote."), column)
            text = source[position + 1 : end]
            tokens.append(Token("string", source[position : end + 1], column, text))
            position = end + 1
        else:
            for operator in _OPERATORS:
                if source.startswith(operator, position):
                    tokens.append(Token("op", operator, column))
                    position += len(operator)
                    break
            else:
                if char == "=":
                    message = _("Use “==” to compare, not “=”.")
                else:
                    message = _("“%(char)s” is not allowed here.") % {"char": char}
                raise ExpressionError(message, column)
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


# --- Parser ------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str):
        self.tokens = _tokenize(source)
        self.position = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.token
        return token.kind == kind and (text is None or token.text == text)

    def at_keyword(self, word: str) -> bool:
        return self.at("name", word)

    def expect(self, text: str) -> Token:
        if not self.at("op", text):
            raise ExpressionError(_("Expected “%(text)s” here.") % {"text": text}, self.token.column)
        return self.advance()

    def nested(self):
        """Counts how deep the expression goes, so a pathological one is refused before it exhausts the
        stack."""
        parser = self

        class _Level:
            def __enter__(self):
                parser.depth += 1
                if parser.depth > MAX_DEPTH:
                    raise ExpressionError(
                        _("The expression is nested too deeply (at most %(n)s levels).") % {"n": MAX_DEPTH},
                        parser.token.column,
                    )

            def __exit__(self, *exc):
                parser.depth -= 1

        return _Level()

    def parse(self) -> Expression:
        if self.at("end"):
            raise ExpressionError(_("The expression is empty."), 1)
        expression = self.disjunction()
        if not self.at("end"):
            raise ExpressionError(
                _("Unexpected “%(text)s”: an operator such as “and” may be missing.")
                % {"text": self.token.text},
                self.token.column,
            )
        return expression

    def disjunction(self) -> Expression:
        left = self.conjunction()
        while self.at_keyword("or"):
            self.advance()
            left = Logical("or", left, self.conjunction())
        return left

    def conjunction(self) -> Expression:
        left = self.negation()
        while self.at_keyword("and"):
            self.advance()
            left = Logical("and", left, self.negation())
        return left

    def negation(self) -> Expression:
        if self.at_keyword("not"):
            self.advance()
            with self.nested():
                return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Expression:
        left = self.sum()
        operator = None
        if self.token.kind == "op" and self.token.text in COMPARISONS:
            operator = self.advance().text
        elif self.at_keyword("in"):
            self.advance()
            operator = "in"
        elif self.at_keyword("not") and self.tokens[self.position + 1].text == "in":
            self.position += 2
            operator = "not in"
        if operator is None:
            return left
        right = self.sum()
        if (self.token.kind == "op" and self.token.text in COMPARISONS) or self.at_keyword("in"):
            raise ExpressionError(
                _("Comparisons cannot be chained: join them with “and”."), self.token.column
            )
        return Comparison(operator, left, right)

    def sum(self) -> Expression:
        left = self.product()
        while self.at("op", "+") or self.at("op", "-"):
            operator = self.advance().text
            left = Arithmetic(operator, left, self.product())
        return left

    def product(self) -> Expression:
        left = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            operator = self.advance().text
            left = Arithmetic(operator, left, self.unary())
        return left

    def unary(self) -> Expression:
        if self.at("op", "-"):
            self.advance()
            with self.nested():
                return Negative(self.unary())
        return self.primary()

    def primary(self) -> Expression:
        token = self.token
        if token.kind in ("number", "string"):
            self.advance()
            return Literal(token.value)
        if self.at("op", "("):
            self.advance()
            with self.nested():
                expression = self.disjunction()
            self.expect(")")
            return expression
        if self.at("op", "["):
            return self.list_literal()
        if token.kind == "name":
            return self.name()
        if token.kind == "end":
            raise ExpressionError(
                _("The expression ends too early: something is missing at the end."), token.column
            )
        raise ExpressionError(_("Unexpected “%(text)s”.") % {"text": token.text}, token.column)

    def list_literal(self) -> Expression:
        self.expect("[")
        items = []
        with self.nested():
            while not self.at("op", "]"):
                items.append(self.disjunction())
                if not self.at("op", ","):
                    break
                self.advance()
        self.expect("]")
        return ListLiteral(tuple(items))

    def name(self) -> Expression:
        token = self.advance()
        word = token.text
        if word in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[word])
        if word in KEYWORDS:
            raise ExpressionError(_("“%(word)s” cannot be used here.") % {"word": word}, token.column)
        if self.at("op", "("):
            return self.call(token)
        path = [word]
        while self.at("op", "."):
            self.advance()
            part = self.token
            if part.kind != "name" or part.text in KEYWORDS:
                raise ExpressionError(_("Expected a name after the dot."), part.column)
            path.append(self.advance().text)
        if path[0] == APPLICANT and len(path) == 1:
            raise ExpressionError(
                _("Say which detail of the applicant, for example applicant.email."), token.column
            )
        return Reference(tuple(path))

    def call(self, token: Token) -> Expression:
        if token.text not in FUNCTIONS:
            raise ExpressionError(
                _("There is no function “%(name)s”. Use one of: %(names)s.")
                % {"name": token.text, "names": ", ".join(sorted(FUNCTIONS))},
                token.column,
            )
        self.expect("(")
        arguments = []
        with self.nested():
            while not self.at("op", ")"):
                arguments.append(self.disjunction())
                if not self.at("op", ","):
                    break
                self.advance()
        self.expect(")")
        low, high = FUNCTIONS[token.text]
        if not low <= len(arguments) <= high:
            raise ExpressionError(
                _("%(name)s() takes %(n)s argument(s).") % {"name": token.text, "n": high}, token.column
            )
        return Call(token.text, tuple(arguments))


@lru_cache(maxsize=2048)
def parse(source: str) -> Expression:
    """The tree of an expression; raises ExpressionError. Cached: definitions are evaluated on every
    request."""
    if not isinstance(source, str):
        raise ExpressionError(_("An expression must be text."), 1)
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            _("The expression is too long (at most %(n)s characters).") % {"n": MAX_LENGTH}, MAX_LENGTH + 1
        )
    return _Parser(source).parse()


def references(source: str) -> set[str]:
    """The answer keys an expression reads (the first part of a dotted name; never applicant details)."""
    found = set()

    def walk(node: Expression):
        if isinstance(node, Reference):
            if node.path[0] != APPLICANT:
                found.add(node.path[0])
        elif isinstance(node, ListLiteral | Call):
            for child in node.items if isinstance(node, ListLiteral) else node.arguments:
                walk(child)
        elif isinstance(node, Not | Negative):
            walk(node.operand)
        elif isinstance(node, Logical | Comparison | Arithmetic):
            walk(node.left)
            walk(node.right)

    walk(parse(source))
    return found


# --- Evaluation --------------------------------------------------------------------------------------------


def truthy(value) -> bool:
    """Whether a value counts as true: null, false, 0, "" and empty lists or objects do not."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _as_number(value) -> Decimal | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if re.fullmatch(r"-?[0-9]+", text) and len(text) < 30:
            return int(text)
        if re.fullmatch(r"-?[0-9]*\.[0-9]+", text) and len(text) < 40:
            return Decimal(text)
        return None
    if isinstance(value, dict) and "amount" in value:  # a money answer
        return _as_number(value["amount"])
    return None


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _comparable(left, right):
    """Both values as one comparable kind (numbers, dates, text, booleans), or None when they are not."""
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, date) or isinstance(right, date):
        left, right = _as_date(left), _as_date(right)
        return None if left is None or right is None else (left, right)
    if isinstance(left, int | Decimal | float) or isinstance(right, int | Decimal | float):
        left, right = _as_number(left), _as_number(right)
        return None if left is None or right is None else (left, right)
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    if isinstance(left, list | dict) and type(left) is type(right):
        return left, right
    return None


_ORDER = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(operator: str, left, right, *, null_literal: bool) -> bool:
    if operator in ("in", "not in"):
        if isinstance(right, list | tuple):
            found = any(_compare("==", left, item, null_literal=False) for item in right)
        elif isinstance(right, str) and isinstance(left, str):
            found = left in right
        else:
            return False
        return found if operator == "in" else not found
    if left is None or right is None:
        if null_literal:  # `x == null` and `x != null` test whether something was answered
            return (left is None and right is None) == (operator == "==")
        return False
    pair = _comparable(left, right)
    if operator == "==":
        return pair is not None and pair[0] == pair[1]
    if operator == "!=":
        return pair is None or pair[0] != pair[1]
    if pair is None or isinstance(pair[0], list | dict | bool):
        return False
    return _ORDER[operator](*pair)


def _arithmetic(operator: str, left, right):
    if operator == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    left, right = _as_number(left), _as_number(right)
    if left is None or right is None:
        return None
    try:
        if operator == "+":
            return left + right
        if operator == "-":
            return left - right
        if operator == "*":
            return left * right
        if right == 0:
            return None
        result = Decimal(left) / Decimal(right)
        return int(result) if result == result.to_integral_value() else result
    except (InvalidOperation, DivisionByZero, OverflowError):
        return None


def _length(value):
    if value is None:
        return 0
    if isinstance(value, str | list | tuple | dict):
        return len(value)
    return None


def _whole_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class _Evaluator:
    def __init__(self, answers: dict, applicant: dict | None, today: date | None):
        self.answers = answers or {}
        self.applicant = applicant or {}
        self.today = today or timezone.localdate()

    def lookup(self, path: tuple[str, ...]):
        if path[0] == APPLICANT:
            value, rest = self.applicant, path[1:]
        else:
            value, rest = self.answers.get(path[0]), path[1:]
        for part in rest:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def call(self, name: str, arguments: list):
        if name == "today":
            return self.today
        (value,) = arguments
        if name == "len":
            return _length(value)
        if name == "empty":
            return not truthy(value) and value is not False and value != 0
        if name == "number":
            return _as_number(value)
        day = _as_date(value)
        if day is None:
            return None
        if name == "age":
            return _whole_years(day, self.today)
        return (self.today - day).days  # days_since

    def evaluate(self, node: Expression):
        match node:
            case Literal(value=value):
                return value
            case Reference(path=path):
                return self.lookup(path)
            case ListLiteral(items=items):
                return [self.evaluate(item) for item in items]
            case Not(operand=operand):
                return not truthy(self.evaluate(operand))
            case Negative(operand=operand):
                number = _as_number(self.evaluate(operand))
                return None if number is None else -number
            case Logical(operator="and", left=left, right=right):
                return truthy(self.evaluate(left)) and truthy(self.evaluate(right))
            case Logical(left=left, right=right):
                return truthy(self.evaluate(left)) or truthy(self.evaluate(right))
            case Comparison(operator=operator, left=left, right=right):
                null_literal = Literal(None) in (left, right)
                return _compare(
                    operator, self.evaluate(left), self.evaluate(right), null_literal=null_literal
                )
            case Arithmetic(operator=operator, left=left, right=right):
                return _arithmetic(operator, self.evaluate(left), self.evaluate(right))
            case Call(function=function, arguments=arguments):
                return self.call(function, [self.evaluate(argument) for argument in arguments])
        raise TypeError(f"unknown node {node!r}")


def evaluate(source: str, answers: dict, *, applicant: dict | None = None, today: date | None = None) -> Any:
    """The value of an expression over the answers (and the applicant's details). Raises ExpressionError only
    for a malformed expression; at run time it never fails."""
    return _Evaluator(answers, applicant, today).evaluate(parse(source))
