import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from pydantic import BaseModel, field_validator

from ventanilla.core.identifiers import (
    InvalidIdentifier,
    normalize_passport,
    parse_cedula,
    parse_ruc,
    ruc_check_digits,
    validate_country,
)


@pytest.fixture(autouse=True)
def english_messages():
    """The messages are checked in English; their Spanish is checked with every other string."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("typed", "canonical", "kind", "province", "tomo", "asiento"),
    [
        ("8-123-456", "8-123-456", "provincial", 8, 123, 456),
        ("1-1-1", "1-1-1", "provincial", 1, 1, 1),
        ("10-45-1234", "10-45-1234", "provincial", 10, 45, 1234),  # Guna Yala
        ("11-2-345", "11-2-345", "provincial", 11, 2, 345),  # Emberá-Wounaan
        ("12-789-2345", "12-789-2345", "provincial", 12, 789, 2345),  # Ngäbe-Buglé
        ("13-1234-123456", "13-1234-123456", "provincial", 13, 1234, 123456),  # Panamá Oeste
        ("E-8-123456", "E-8-123456", "foreign_resident", None, 8, 123456),
        ("N-19-1234", "N-19-1234", "naturalised", None, 19, 1234),
        ("PE-9-123", "PE-9-123", "born_abroad", None, 9, 123),
        ("8AV-123-456", "8AV-123-456", "before_validity", 8, 123, 456),
        ("8PI-123-456", "8PI-123-456", "indigenous", 8, 123, 456),
        ("12PI-12-3456", "12PI-12-3456", "indigenous", 12, 12, 3456),
    ],
)
def test_every_form_of_the_cedula_is_read(typed, canonical, kind, province, tomo, asiento):
    cedula = parse_cedula(typed)

    assert (cedula.canonical, cedula.kind, cedula.province, cedula.tomo, cedula.asiento) == (
        canonical,
        kind,
        province,
        tomo,
        asiento,
    )
    assert str(cedula) == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("8 123 456", "8-123-456"),
        ("  8-123-456  ", "8-123-456"),
        ("8 - 123 - 456", "8-123-456"),
        ("8–123–456", "8-123-456"),  # en dash pasted from a document
        ("08-0123-00456", "8-123-456"),  # zero-padded, as some systems print it
        ("e-8-123456", "E-8-123456"),
        ("E 8 123456", "E-8-123456"),
        ("E8-123456", "E-8-123456"),
        ("pe-9-123", "PE-9-123"),
        ("8av-123-456", "8AV-123-456"),
        ("8-AV-123-456", "8AV-123-456"),
        ("8 pi 123 456", "8PI-123-456"),
        ("８-１２３-４５６", "8-123-456"),  # full-width digits from a phone keyboard
    ],
)
def test_the_ways_people_type_a_cedula_give_one_canonical_form(typed, canonical):
    assert parse_cedula(typed).canonical == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "0-123-456",  # no province 0
        "14-123-456",  # nor 14
        "99-1-1",
        "8-123",  # a part missing
        "8--456",
        "8123456",  # parts run together
        "8-123-456-7",
        "E-123456",  # E needs a tomo
        "E--123456",
        "E-8",
        "AV-123-456",  # AV and PI need a province
        "PI-123-456",
        "14AV-1-1",
        "8XX-123-456",  # unknown letters
        "X-1-2",
        "SB-1-2",
        "8E-123-456",
        "8-12a-456",  # letters in the numbers
        "8-ABC-456",
        "8-123-45O",
        "8-0-456",  # zero tomo or asiento
        "8-123-000",
        "8-12345-456",  # tomo of more than 4 digits
        "8-123-1234567",  # asiento of more than 6
        "8/123/456",
        "8.123.456",
        "8-123-456; DROP TABLE",
        "1" * 100,
    ],
)
def test_anything_else_is_refused_with_an_example(typed):
    with pytest.raises(InvalidIdentifier) as refused:
        parse_cedula(typed)

    assert "8-123-456" in str(refused.value)


def test_digits_let_the_number_be_found_in_other_text():
    assert parse_cedula("8-123-456").digits == "8123456"
    assert parse_cedula("E-8-123456").digits == "8123456"
    assert parse_cedula("8PI-12-345").digits == "812345"


def test_an_invalid_identifier_is_a_django_and_a_pydantic_validation_error():
    assert isinstance(InvalidIdentifier("x"), ValidationError)

    class Person(BaseModel):
        cedula: str

        @field_validator("cedula")
        @classmethod
        def canonical(cls, value):
            return parse_cedula(value).canonical

    assert Person(cedula="8 123 456").cedula == "8-123-456"
    with pytest.raises(ValueError, match="8-123-456"):
        Person(cedula="8-123")


# Worked examples of DGI's check digits, from python-stdnum (stdnum/pa/ruc.py), panama-ruc-dv-calculator and
# verification-digit-pty, which follow DGI's "Algoritmo para el cálculo del dígito verificador del RUC".
LEGAL_ENTITIES = [
    ("155587169-2-2014", "09"),
    ("2588017-1-831938", "20"),
    ("15565624-2-2017", "63"),
    ("155720753-2-2022", "39"),
    ("797609-1-493865", "12"),
    ("253-92-57027", "76"),  # old style: tomo below 50000
    ("61302-14-123411", "22"),
    ("1102-85-117211", "95"),
    ("41369-85-283456", "73"),
    ("64296-75-357434", "00"),
]
PEOPLE = [
    ("1-184-921", "49"),
    ("8-442-445", "08"),
    ("PE-10-442", "50"),
    ("N-45-832", "58"),
    ("E-12-342", "10"),
    ("E-8-127702", "16"),  # six-digit asiento
    ("E-8-12770", "72"),
    ("E-1234-12770", "98"),  # four-digit tomo
    ("1AV-432-658", "31"),
    ("8AV-1-196", "90"),
    ("2AV-1234-12345", "26"),
    ("2AV-123-123456", "28"),
    ("4PI-234-123", "31"),
    ("13PI-1-196", "58"),
    ("8PI-1234-1234", "02"),
]
NT_ENTITIES = [
    ("8-NT-1-13656", "43"),
    ("8-NT-1-12607", "01"),
    ("5-NT-478-2351", "94"),
    ("11-NT-958-218210", "73"),  # six-digit asiento
    ("11-NT-958-2182101", "82"),  # seven digits: DGI counts the first five
]


@pytest.mark.parametrize(("ruc", "dv"), LEGAL_ENTITIES + PEOPLE + NT_ENTITIES)
def test_check_digits_match_dgis_worked_examples(ruc, dv):
    assert ruc_check_digits(ruc) == dv
    assert parse_ruc(ruc, dv).dv == dv


@pytest.mark.parametrize(("ruc", "dv"), LEGAL_ENTITIES)
def test_a_legal_entity_is_read_without_leading_zeros(ruc, dv):
    parsed = parse_ruc(f" 0{ruc.replace('-', ' - ')} ", dv)

    assert (parsed.canonical, parsed.kind, parsed.natural_person) == (ruc, "juridica", False)


def test_a_number_that_cannot_be_a_cedula_is_a_legal_entity():
    assert parse_ruc("1234-567-89012").kind == "juridica"
    assert parse_ruc("14-123-456").kind == "juridica"  # no province 14


def test_a_persons_ruc_is_their_cedula_in_canonical_form():
    parsed = parse_ruc("e 8 127702", "16")

    assert (parsed.canonical, parsed.kind, parsed.natural_person, parsed.dv) == (
        "E-8-127702",
        "natural",
        True,
        "16",
    )


def test_an_nt_is_written_canonically_and_read_as_an_entity_unless_the_dv_says_otherwise():
    assert parse_ruc("8nt 1 13656").canonical == "8-NT-1-13656"
    entity = parse_ruc("8-NT-1-13656")
    assert (entity.kind, entity.natural_person, entity.dv) == ("nt", False, "43")

    persons_dv = ruc_check_digits("8-NT-1-13656", natural_person=True)
    assert persons_dv != "43"
    person = parse_ruc("8-NT-1-13656", persons_dv)
    assert (person.kind, person.natural_person) == ("nt", True)


def test_a_cedula_shaped_number_may_be_an_old_registry_number_when_its_dv_says_so():
    as_entity = ruc_check_digits("8-123-4567", natural_person=False)
    assert as_entity != ruc_check_digits("8-123-4567")

    parsed = parse_ruc("8-123-4567", as_entity)

    assert (parsed.canonical, parsed.kind) == ("8-123-4567", "juridica")


def test_without_a_dv_the_dv_is_computed():
    assert parse_ruc("155587169-2-2014").dv == "09"
    assert str(parse_ruc("155587169-2-2014")) == "155587169-2-2014 DV 09"


@pytest.mark.parametrize(
    "typed", ["155587169-2-2014 DV 09", "155587169-2-2014 d.v. 9", "155587169-2-2014:09"]
)
def test_a_dv_pasted_after_the_ruc_is_read(typed):
    assert parse_ruc(typed).dv == "09"


def test_a_one_digit_dv_is_padded():
    assert parse_ruc("155587169-2-2014", " 9 ").dv == "09"


def test_a_wrong_dv_is_refused():
    with pytest.raises(InvalidIdentifier, match="do not match"):
        parse_ruc("155587169-2-2014", "90")
    with pytest.raises(InvalidIdentifier, match="do not match"):
        parse_ruc("155587169-2-2014 DV 10")


@pytest.mark.parametrize("dv", ["123", "A1", "-1", "9.5"])
def test_a_dv_that_is_not_one_or_two_digits_is_refused(dv):
    with pytest.raises(InvalidIdentifier, match="one or two digits"):
        parse_ruc("155587169-2-2014", dv)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "155587169-2",  # a part missing
        "155587169",
        "155587169-2-2014-1",
        "0-0-0",
        "155587169-0-2014",
        "12345678901-2-2014",  # tomo of more than 10 digits
        "155587169-12345-2014",  # folio of more than 4
        "155587169-2-1234567",  # asiento of more than 6
        "ABC-2-2014",
        "14-NT-1-123",  # no province 14
        "8-NT-1234-123",  # NT tomo of more than 3 digits
        "8-NT-1-12345678",
        "8-XX-1-123",
        "E-123456",
    ],
)
def test_a_malformed_ruc_is_refused_with_examples(typed):
    with pytest.raises(InvalidIdentifier) as refused:
        parse_ruc(typed)

    assert "155596713-2-2015" in str(refused.value)
    with pytest.raises(InvalidIdentifier):
        ruc_check_digits(typed)


def test_an_nt_with_a_seven_digit_asiento_belongs_to_an_entity_only():
    with pytest.raises(InvalidIdentifier):
        ruc_check_digits("11-NT-958-2182101", natural_person=True)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("pa1234567", "PA1234567"),
        (" 123 456 789 ", "123456789"),
        ("X-1234-567", "X1234567"),
        ("AB123", "AB123"),
        ("A" * 20, "A" * 20),
    ],
)
def test_a_passport_number_is_stored_upper_case_without_separators(typed, stored):
    assert normalize_passport(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "AB12", "A" * 21, "PA 123/456", "PA.123456", "ÑÑ12345", "PA123456\x00"]
)
def test_a_passport_number_that_is_not_5_to_20_letters_and_digits_is_refused(typed):
    with pytest.raises(InvalidIdentifier, match="5 to 20 letters and digits"):
        normalize_passport(typed)


@pytest.mark.parametrize(
    ("typed", "code"), [("PAN", "PAN"), ("usa", "USA"), (" col ", "COL"), ("CUW", "CUW")]
)
def test_a_country_is_an_iso_alpha_3_code(typed, code):
    assert validate_country(typed) == code


@pytest.mark.parametrize("typed", ["", "PA", "PANA", "XXX", "UK", "EUR", "123"])
def test_anything_but_an_iso_alpha_3_code_is_refused(typed):
    with pytest.raises(InvalidIdentifier, match="PAN"):
        validate_country(typed)
