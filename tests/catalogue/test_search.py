"""Search as a person using it notices it: in Spanish or English, with or without accents, half-typed words,
plurals, filters, and whatever they type into the box."""

import pytest

from ventanilla.catalogue import search
from ventanilla.catalogue.models import Institution, Procedure, Requirement, Topic


@pytest.fixture
def catalogue(db):
    apap = Institution.objects.create(
        code="APAP",
        kind="authority",
        acronym="APAP",
        name_es="Autoridad de Pasaportes",
        name_en="Passport Authority",
    )
    attt = Institution.objects.create(
        code="ATTT",
        kind="authority",
        acronym="ATTT",
        name_es="Autoridad del Tránsito",
        name_en="Transit Authority",
    )
    david = Institution.objects.create(
        code="MUN-DAVID",
        kind="municipality",
        acronym="David",
        name_es="Municipio de David",
        name_en="Municipality of David",
    )
    travel = Topic.objects.create(code="travel-migration", kind="topic", name_es="Viajes", name_en="Travel")
    driving = Topic.objects.create(code="driving", kind="life_event", name_es="Conducir", name_en="Driving")
    made = {}

    def make(
        code,
        institution,
        title_es,
        title_en,
        description_es="Un trámite.",
        description_en="A procedure.",
        *,
        status="published",
        level=1,
        audience="citizen",
        topics=(),
        requirements=(),
    ):
        made[code] = procedure = Procedure.objects.create(
            code=code,
            institution=institution,
            title_es=title_es,
            title_en=title_en,
            description_es=description_es,
            description_en=description_en,
            audience=audience,
            channels=["office"],
            level=level,
            status=status,
            languages=["es"],
        )
        procedure.topics.set(topics)
        for n, (name_es, name_en) in enumerate(requirements):
            Requirement.objects.create(procedure=procedure, position=n, name_es=name_es, name_en=name_en)
        return procedure

    make("APAP-PASAPORTE", apap, "Pasaporte ordinario", "Ordinary passport", level=3, topics=[travel])
    make(
        "APAP-PASAPORTE-MENOR",
        apap,
        "Pasaporte para menores de edad",
        "Passport for minors",
        level=2,
        topics=[travel],
        requirements=[("Certificado de nacimiento", "Birth certificate")],
    )
    make(
        "ATTT-LICENCIA",
        attt,
        "Licencia de conducir",
        "Driving licence",
        level=4,
        topics=[driving],
        requirements=[("Pasaporte o cédula vigente", "Valid passport or identity card")],
    )
    make(
        "ATTT-REVISADO",
        attt,
        "Revisado vehicular",
        "Vehicle inspection",
        "Revisión anual del vehículo. Se pide la licencia de conducir y el registro del vehículo; sin licencia "
        "vigente no hay revisado. La licencia debe estar al día.",
        "Yearly vehicle check. The driving licence and the vehicle registration are needed.",
        level=2,
        audience="both",
        topics=[driving],
    )
    make(
        "MUN-DAVID-CONSTRUCCION",
        david,
        "Permiso de construcción",
        "Building permit",
        "Para construir, ampliar o remodelar. Las viviendas para la jubilación también lo necesitan.",
        "To build, extend or refurbish.",
        level=1,
        audience="both",
    )
    make(
        "MUN-DAVID-LICENCIA-COMERCIAL",
        david,
        "Licencias comerciales",
        "Business licences",
        level=2,
        audience="business",
    )
    make("APAP-BORRADOR", apap, "Pasaporte diplomático", "Diplomatic passport", status="draft")
    make("APAP-RETIRADO", apap, "Pasaporte oficial", "Official passport", status="withdrawn")
    search.reindex()
    return made


def codes(page: search.SearchPage) -> list[str]:
    by_id = dict(Procedure.objects.filter(id__in=page.ids).values_list("id", "code"))
    return [by_id[i] for i in page.ids]


def found(q: str, **filters) -> list[str]:
    return codes(search.search(q=q, **filters))


def test_accents_and_case_do_not_matter(catalogue):
    expected = found("pasaporte")
    assert {"APAP-PASAPORTE", "APAP-PASAPORTE-MENOR"} <= set(expected)
    for typed in ["PASAPÓRTE", "Pasaporte", "pasapórte"]:
        assert found(typed) == expected
    assert found("construccion") == found("CONSTRUCCIÓN") == ["MUN-DAVID-CONSTRUCCION"]


def test_unaccented_words_find_accented_ones_in_descriptions_too(catalogue):
    # "jubilación" and "jubilacion" have different Snowball stems; both must find the description.
    assert found("jubilacion") == found("jubilación") == found("JUBILACIONES") == ["MUN-DAVID-CONSTRUCCION"]


def test_plural_and_singular_find_each_other(catalogue):
    assert {"ATTT-LICENCIA", "MUN-DAVID-LICENCIA-COMERCIAL"} <= set(found("licencias"))
    assert {"ATTT-LICENCIA", "MUN-DAVID-LICENCIA-COMERCIAL"} <= set(found("licencia"))
    assert found("permisos") == ["MUN-DAVID-CONSTRUCCION"]


def test_a_half_typed_word_finds_the_whole_word(catalogue):
    assert {"APAP-PASAPORTE", "APAP-PASAPORTE-MENOR"} <= set(found("pasapo"))
    assert found("constru") == ["MUN-DAVID-CONSTRUCCION"]


def test_english_queries_find_by_the_english_title(catalogue):
    assert found("driving licence")[0] == "ATTT-LICENCIA"
    assert found("building permits") == ["MUN-DAVID-CONSTRUCCION"]
    assert found("passports")[:2] == ["APAP-PASAPORTE", "APAP-PASAPORTE-MENOR"]


def test_a_title_match_ranks_above_a_description_only_match(catalogue):
    # The vehicle inspection mentions "licencia" three times in its description; the licence has it once, in its
    # title.
    results = found("licencia")
    assert results.index("ATTT-LICENCIA") < results.index("ATTT-REVISADO")
    assert found("passport")[-1] == "ATTT-LICENCIA"  # only a requirement mentions it


def test_every_word_must_match(catalogue):
    assert found("licencia conducir")[0] == "ATTT-LICENCIA"
    assert set(found("licencia conducir")) == {"ATTT-LICENCIA", "ATTT-REVISADO"}
    assert found("pasaporte menores") == ["APAP-PASAPORTE-MENOR"]
    assert found("pasaporte construcción") == []


def test_filters(catalogue):
    assert found("pasaporte", institution="APAP") == ["APAP-PASAPORTE", "APAP-PASAPORTE-MENOR"]
    assert found("pasaporte", institution="ATTT") == ["ATTT-LICENCIA"]
    assert found("pasaporte", institution="NOPE") == []
    assert found("pasaporte", level=3) == ["APAP-PASAPORTE"]
    assert found("licencia", topic="driving") == ["ATTT-LICENCIA", "ATTT-REVISADO"]
    assert found("licencia", topic="travel-migration") == []


def test_the_audience_filter_includes_procedures_for_both(catalogue):
    assert set(found("", audience="citizen")) == {
        "APAP-PASAPORTE",
        "APAP-PASAPORTE-MENOR",
        "ATTT-LICENCIA",
        "ATTT-REVISADO",
        "MUN-DAVID-CONSTRUCCION",
    }
    assert set(found("licencia", audience="business")) == {"ATTT-REVISADO", "MUN-DAVID-LICENCIA-COMERCIAL"}
    assert (
        found("permiso", audience="citizen")
        == found("permiso", audience="business")
        == ["MUN-DAVID-CONSTRUCCION"]
    )


def test_drafts_and_withdrawn_procedures_are_never_returned(catalogue):
    for q in ["pasaporte", "diplomático", "oficial", "diplomatic passport", ""]:
        result = set(found(q)) | {s["code"] for s in search.suggest(q=q or "pas")}
        assert not result & {"APAP-BORRADOR", "APAP-RETIRADO"}, q


def test_a_procedure_leaves_the_results_when_withdrawn_and_reindexed(catalogue):
    procedure = catalogue["MUN-DAVID-CONSTRUCCION"]
    procedure.status = Procedure.Status.WITHDRAWN
    procedure.save()
    search.reindex([procedure.id])
    assert found("construcción") == []
    procedure.status = Procedure.Status.PUBLISHED
    procedure.save()
    search.reindex([procedure.id])
    assert found("construcción") == ["MUN-DAVID-CONSTRUCCION"]


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        '"pasaporte',
        "pasaporte*",
        "*",
        "AND",
        "pasaporte AND",
        "OR NOT",
        "-pasaporte",
        "pasaporte -menor",
        "a:b",
        "title:pasaporte",
        "{title}: x",
        "(",
        ")",
        "(pasaporte",
        "&|!",
        "pasaporte & menor | !",
        "<->",
        "NEAR(a b)",
        "^pasaporte",
        "pasaporte:*",
        "\\",
        "%",
        "_",
        "' OR 1=1 --",
        "\x00",
        "🙂",
        "ñ",
        "a" * 500,
        "de la",
        "½ ﬁ ＂ ʺpasaporteʺ ﬀ²",
        "certificado d",
    ],
)
def test_hostile_input_never_breaks_search(catalogue, q):
    page = search.search(q=q)
    assert page.total >= len(page.ids)
    assert isinstance(search.suggest(q=q), list)


def test_only_punctuation_is_an_empty_query(catalogue):
    assert search.search(q="¿?¡!*-:()") == search.search(q="")


def test_an_empty_query_lists_everything_published_by_title(catalogue):
    page = search.search(q="")
    assert page.total == 6
    titles = list(Procedure.objects.filter(id__in=page.ids).values_list("id", "title_es"))
    by_id = dict(titles)
    assert [by_id[i] for i in page.ids] == sorted(by_id.values())
    assert search.search(q="", institution="APAP").total == 2
    assert search.search(q="", level=2, audience="business").total == 2


def test_pages(catalogue):
    everything = search.search(q="pasaporte")
    assert everything.total == 3
    first, second = search.search(q="pasaporte", limit=2), search.search(q="pasaporte", limit=2, offset=2)
    assert first.ids + second.ids == everything.ids
    assert first.total == second.total == 3
    assert search.search(q="pasaporte", offset=10).ids == []


def test_suggestions_are_titles_that_match_what_is_typed(catalogue):
    suggestions = search.suggest(q="pasap")
    assert {s["code"] for s in suggestions} == {"APAP-PASAPORTE", "APAP-PASAPORTE-MENOR"}
    assert suggestions[0] == {
        "code": "APAP-PASAPORTE",
        "title_es": "Pasaporte ordinario",
        "title_en": "Ordinary passport",
    }
    assert [s["code"] for s in search.suggest(q="driving lic")] == ["ATTT-LICENCIA"]
    # The last word may be the start of a word or a whole one, even a stopword; a single letter is not yet a word.
    assert [s["code"] for s in search.suggest(q="licencia de con")] == ["ATTT-LICENCIA"]
    assert "ATTT-LICENCIA" in [s["code"] for s in search.suggest(q="licencia de")]
    assert "ATTT-LICENCIA" in [s["code"] for s in search.suggest(q="licencia c")]
    assert len(search.suggest(q="a", limit=1)) <= 1
    assert search.suggest(q="") == search.suggest(q="?!") == []


@pytest.mark.parametrize("rebuild", [False, True])
def test_reindex_of_everything_and_of_some_agree(catalogue, monkeypatch, rebuild):
    if rebuild:  # SQLite rebuilds its FTS index when many procedures change at once
        monkeypatch.setattr(search._engine(), "REBUILD_MIN", 0, raising=False)
    before = {q: found(q) for q in ["licencia", "pasaporte", "permiso", ""]}
    search.reindex([p.id for p in catalogue.values()])
    assert {q: found(q) for q in before} == before
    assert search.indexed_count() == 6
    assert search.suggest(q="pasap")


def test_broad_queries_put_title_matches_first_and_page_through_both_groups(catalogue, monkeypatch):
    monkeypatch.setattr(search._engine(), "EXACT_RANK_MAX", 0)  # every query counts as broad
    results = found("licencia")
    assert set(results) == {"ATTT-LICENCIA", "ATTT-REVISADO", "MUN-DAVID-LICENCIA-COMERCIAL"}
    assert results[-1] == "ATTT-REVISADO"  # the only one without it in the title
    pages = [codes(search.search(q="licencia", limit=1, offset=n)) for n in range(4)]
    assert pages == [[results[0]], [results[1]], [results[2]], []]
    assert search.search(q="licencia", limit=1, offset=2).total == 3
