import pytest
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError

from tests.conftest import PASSWORD
from ventanilla.identity.models import DocumentType, User
from ventanilla.identity.passwords import KnownPasswordValidator, PersonalContextValidator


@pytest.fixture
def person():
    return User(
        username="8-123-456",
        email="maria.perez@example.org",
        first_name="María José",
        last_name="Pérez Díaz",
        document_type=DocumentType.CEDULA,
        document_number="8-123-456",
        nationality="PAN",
    )


def refusals(password, user=None):
    """The codes of every rule the password breaks under settings.AUTH_PASSWORD_VALIDATORS."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        return {e.code for e in error.error_list}
    return set()


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "gato violeta",  # exactly 12 characters
        "el río de mi infancia, 1987",
        "día de lluvia en la montaña ☔",  # any Unicode
        "839271946183",  # no composition rules: digits alone are fine if unpredictable
        "tres tristes tigres comen trigo",
        (
            "la lluvia de la tarde cae sobre los techos de zinc mientras el perro duerme junto a la puerta "
            "y yo leo cuentos viejos de mi abuela"
        )[
            # 128 characters
            :128
        ],
    ],
)
def test_long_unpredictable_passwords_are_accepted(password, person):
    assert refusals(password, person) == set()


def test_shorter_than_12_characters_is_refused(person):
    assert refusals("gatovioleta", person) == {"password_too_short"}


def test_longer_than_128_characters_is_refused_with_the_limit(person):
    password = "cielo de colores " * 8  # 136 characters

    with pytest.raises(ValidationError) as refused:
        validate_password(password, person)

    assert "at most 128 characters" in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    "password",
    [
        "contraseña2024",
        "Contraseña 2024!",
        "CONTRASENA123456",
        "realmadrid2024",
        "2024 Panamá 2024",
        "iloveyou2024!!!",
        "te amo mucho 2020",
        "password1234",
    ],
)
def test_common_passwords_are_refused_even_with_numbers_case_accents_or_spaces(password, person):
    assert "password_too_common" in refusals(password, person)


@pytest.mark.parametrize(
    ("password", "word"),
    [
        ("Juega vivo 2024!", "juegavivo"),
        ("quesopues123456", "quesopues"),
        ("Diosteama 1990", "diosteama"),
        ("marea roja 2018", "marearoja"),
    ],
)
def test_our_own_list_of_spanish_and_panamanian_passwords_counts_too(password, word):
    assert word not in CommonPasswordValidator().passwords

    with pytest.raises(ValidationError):
        KnownPasswordValidator().validate(password)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("mi número es 8-123-456 ok", "document number"),
        ("clave secreta 8123456 aqui", "document number"),
        ("la casa de maria en la playa", "name"),
        ("PEREZ fue a la tienda hoy", "name"),
        ("josé y la luna del verano", "name"),
        ("mi correo maria.perez todo el dia", "name"),
        ("ventanilla unica del estado", "name of this site"),
        ("Panamá en Línea es muy buena", "name of this site"),
    ],
)
def test_passwords_with_the_persons_details_or_the_sites_name_are_refused(password, message, person):
    with pytest.raises(ValidationError) as refused:
        PersonalContextValidator().validate(password, person)

    assert message in refused.value.messages[0]


def test_the_email_address_counts_when_it_is_not_the_name(person):
    person.email = "tigrillo77@example.org"

    with pytest.raises(ValidationError, match="email address"):
        PersonalContextValidator().validate("el tigrillo77 de la selva", person)


def test_a_passport_number_counts_as_the_document(person):
    person.document_type, person.document_number = DocumentType.PASSPORT, "XA7294613"

    with pytest.raises(ValidationError, match="document number"):
        PersonalContextValidator().validate("viaje con xa7294613 a roma", person)


def test_a_staff_username_counts(person):
    person.username = "editor.aig"

    with pytest.raises(ValidationError, match="username"):
        PersonalContextValidator().validate("soy editoraig desde hace años", person)


def test_short_names_are_not_searched_inside_other_words(person):
    person.first_name, person.last_name = "Ana", "Li"

    PersonalContextValidator().validate("banana split con limones", person)


def test_without_a_person_only_the_sites_name_is_checked():
    validator = PersonalContextValidator()

    validator.validate("la casa de maria en la playa", None)
    with pytest.raises(ValidationError):
        validator.validate("mi ventanilla favorita 2026", None)


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "123456789012",
        "987654321098",
        "qwertyuiop12",
        "asdfghjklñ12",
        "holaholahola",
        "abc abc abc abc",
        "zzzzzz111111",
        "abcdefghijklmno",
        " " * 12,
    ],
)
def test_repeated_characters_and_sequences_are_refused(password, person):
    assert "password_too_predictable" in refusals(password, person)


def test_every_rule_explains_itself_before_the_password_is_typed():
    help_text = " ".join(password_validators_help_texts())

    for words in ("12", "128", "commonly used", "document number", "aaaa, 1234 or qwerty"):
        assert words in help_text
