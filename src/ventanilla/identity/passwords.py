"""Password rules after NIST SP 800-63B: long enough (Django's MinimumLengthValidator, 12), not so long that
hashing becomes a burden (128), any characters including spaces, no composition rules and no periodic change;
refused when known to be weak — common or breached, built from the person's details or the site's name, or
mostly repeated characters and sequences. Each rule is a Django password validator (settings.AUTH_PASSWORD_VALIDATORS)."""

import re
import unicodedata
from itertools import pairwise
from pathlib import Path

from django.conf import settings
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

OWN_LIST = Path(__file__).resolve().parent / "data" / "common-passwords-es.txt"


def _plain(text: str) -> str:
    """Lower case without accents, for comparing words: "Contraseña" → "contrasena"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _compact(text: str) -> str:
    """Only the letters and digits of _plain(text): "Te amo-2024!" → "teamo2024"."""
    return re.sub(r"[^a-z0-9]", "", _plain(text))


class MaximumLengthValidator:
    def __init__(self, max_length=128):
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                _("This password is too long. Use at most %(max_length)d characters."),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self):
        return _("Your password can have up to %(max_length)d characters.") % {"max_length": self.max_length}


class KnownPasswordValidator:
    """Django's list of 20,000 common passwords plus our own of Spanish and Panamanian ones, compared without
    case, accents, spaces and punctuation, and also with the digits at either end removed ("Panamá 2024!")."""

    def __init__(self, own_list_path=OWN_LIST):
        self.passwords = set(CommonPasswordValidator().passwords)
        with open(own_list_path, encoding="utf-8") as lines:
            self.passwords |= {line.strip() for line in lines if line.strip() and not line.startswith("#")}

    def validate(self, password, user=None):
        compact = _compact(password)
        variants = {_plain(password).strip(), compact, compact.strip("0123456789")} - {""}
        if variants & self.passwords:
            raise ValidationError(
                _(
                    "This password is on lists of common or stolen passwords that attackers try first, even "
                    "with numbers or a year added. Try a few words that mean something only to you."
                ),
                code="password_too_common",
            )

    def get_help_text(self):
        return _("Your password can’t be a commonly used or previously stolen password.")


class PersonalContextValidator:
    """Refuses a password containing the site's name, or the person's document number (its digits), names,
    email address (or a word of it) or username."""

    SITE_WORDS = ("ventanilla", "panamaenlinea")
    SHORTEST_WORD = 4  # shorter names and email parts ("Ana", "jo") are too common inside other words

    def _site_words(self):
        return {_compact(getattr(settings, "VENTANILLA_SITE_NAME", "")), *self.SITE_WORDS} - {""}

    def _words(self, *values):
        """Each value's words, and the value itself without separators ("maria.perez" → maria, perez, mariaperez)."""
        words = {_compact(value or "") for value in values}
        words |= {_compact(word) for value in values for word in re.split(r"[\s._+\-]+", value or "")}
        return {word for word in words if len(word) >= self.SHORTEST_WORD}

    def _problem(self, password, user):
        compact, digits = _compact(password), re.sub(r"\D", "", password)
        if any(word in compact for word in self._site_words()):
            return _("Your password must not contain the name of this site.")
        if user is None:
            return None
        document = getattr(user, "document_number", "") or ""
        document_digits = re.sub(r"\D", "", document)
        if (len(document_digits) >= 5 and document_digits in digits) or (
            len(_compact(document)) >= 5 and _compact(document) in compact
        ):
            return _("Your password must not contain your document number.")
        username = _compact(getattr(user, "username", "") or "")  # whole: a cédula's parts are short numbers
        checks = (
            (
                self._words(getattr(user, "first_name", ""), getattr(user, "last_name", "")),
                _("Your password must not contain your name."),
            ),
            (
                self._words((getattr(user, "email", "") or "").rpartition("@")[0]),
                _("Your password must not contain your email address or a part of it."),
            ),
            (
                {username} if len(username) >= self.SHORTEST_WORD else set(),
                _("Your password must not contain your username."),
            ),
        )
        for words, problem in checks:
            if any(word in compact for word in words):
                return problem
        return None

    def validate(self, password, user=None):
        if problem := self._problem(password, user):
            raise ValidationError(problem, code="password_has_personal_details")

    def get_help_text(self):
        return _(
            "Your password can’t contain your name, email address, document number or the name of this site."
        )


class RepetitionValidator:
    """Refuses a password that is one piece repeated ("holaholahola") or mostly runs of three or more repeated
    or consecutive characters: alphabet, digits (9 wraps to 0) and keyboard rows, either way ("aaaa", "4321",
    "qwerty")."""

    SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjklñ", "zxcvbnm")
    SHORTEST_RUN = 3

    def _predictable_step(self, a, b):
        return a == b or any(f"{a}{b}" in sequence or f"{b}{a}" in sequence for sequence in self.SEQUENCES)

    def _predictable_characters(self, text):
        count, run = 0, 1
        for previous, current in pairwise(text):
            if self._predictable_step(previous, current):
                run += 1
                continue
            count += run if run >= self.SHORTEST_RUN else 0
            run = 1
        return count + (run if run >= self.SHORTEST_RUN else 0)

    def validate(self, password, user=None):
        text = re.sub(r"\s", "", password.casefold())
        repeated_piece = text in (text + text)[1:-1]
        if not text or repeated_piece or self._predictable_characters(text) * 2 > len(text):
            raise ValidationError(
                _(
                    "This password is mostly repeated characters or a sequence, such as aaaa, 1234 or qwerty. "
                    "Try a few words that mean something only to you."
                ),
                code="password_too_predictable",
            )

    def get_help_text(self):
        return _(
            "Your password can’t be mostly repeated characters or sequences such as aaaa, 1234 or qwerty."
        )
