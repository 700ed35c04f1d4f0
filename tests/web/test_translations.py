"""Spanish is the first language: every string has a translation, and the compiled catalogue is current."""

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES"


def messages(catalog):
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {key(m.id): key(m.string) for m in catalog if m.id and not m.fuzzy}


def test_every_string_is_translated_to_spanish():
    with (LOCALE / "django.po").open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [], f"{len(untranslated)} untranslated strings"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy translations to check"


def test_the_compiled_catalogue_matches_the_source():
    with (LOCALE / "django.po").open("rb") as handle:
        source = messages(read_po(handle))
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = messages(read_mo(handle))
    assert compiled == source, "run `ventanilla compilemessages` (the .mo is stale)"
