"""Open data: the published catalogue as JSON, CSV and CPSV-AP 3.2.0 (JSON-LD, Turtle), checked against the
official SHACL shapes."""

import csv
import io
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib import namespace as ns

from ventanilla.catalogue import opendata, services
from ventanilla.catalogue.models import (
    Fee,
    Institution,
    LegalBasis,
    Office,
    Procedure,
    Requirement,
    Step,
    Topic,
)
from ventanilla.core.actor import Actor

pytestmark = [
    pytest.mark.django_db,
    # rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
]

BASE = "https://tramites.example.org"
CPSV = Namespace("http://purl.org/vocab/cpsv#")
CV = Namespace("http://data.europa.eu/m8g/")
REPO_ROOT = Path(__file__).resolve().parents[2]


def standards_dir() -> Path:
    """The official CPSV-AP 3.2.0 files: in shared/ beside the repository checkout (as on CI), else in it."""
    candidates = [
        Path(settings.BASE_DIR).parents[2] / "shared" / "standards" / "cpsv-ap-3.2.0",
        REPO_ROOT.parent / "shared" / "standards" / "cpsv-ap-3.2.0",
        REPO_ROOT / "standards" / "cpsv-ap-3.2.0",
    ]
    for candidate in candidates:
        if (candidate / "cpsv-ap-SHACL.ttl").is_file():
            return candidate
    pytest.skip(
        "The official CPSV-AP 3.2.0 files are not available; looked in " + ", ".join(map(str, candidates))
    )


def export(writer, **kwargs) -> bytes:
    stream = io.BytesIO()
    writer(stream, **kwargs)
    return stream.getvalue()


def shacl_violations(data: Graph) -> tuple[int, str]:
    from pyshacl import validate

    shapes = Graph().parse(standards_dir() / "cpsv-ap-SHACL.ttl", format="turtle")
    conforms, results, text = validate(data, shacl_graph=shapes, inference="none", advanced=False)
    violations = len(list(results.subjects(ns.SH.resultSeverity, ns.SH.Violation)))
    return (0 if conforms else max(violations, 1)), text


@pytest.fixture
def catalogue(db):
    """Two institutions, a topic and a life event, five published procedures, one draft and one withdrawn."""
    te = Institution.objects.create(
        code="TE",
        kind="other",
        acronym="TE",
        name_es="Tribunal Electoral",
        name_en="Electoral Tribunal",
        website="https://www.tribunal-electoral.gob.pa",
        email="info@te.example.org",
        phone="+507 507-8000",
        province="Panamá",
        channels=["office", "online"],
    )
    Office.objects.create(
        institution=te,
        name_es="Sede central",
        name_en="Head office",
        address="Ancón, Ciudad de Panamá",
        hours_es="Lunes a viernes, 8:00 a. m. – 4:00 p. m.",
        hours_en="Monday to Friday, 8:00 a.m. – 4:00 p.m.",
    )
    mupa = Institution.objects.create(
        code="MUN-PANAMA",
        kind="municipality",
        name_es="Municipio de Panamá",
        name_en="Municipality of Panamá",
    )
    identity = Topic.objects.create(code="identity", kind="topic", name_es="Identidad", name_en="Identity")
    baby = Topic.objects.create(
        code="having-a-baby", kind="life_event", name_es="Tener un bebé", name_en="Having a baby"
    )

    def make(code, institution, *, status="published", fees=(), **fields):
        values = {
            "title_es": f"Trámite {code}",
            "title_en": f"Procedure {code}",
            "description_es": "Una descripción.",
            "description_en": "A description.",
            "audience": "citizen",
            "channels": ["office"],
            "level": 2,
            "languages": ["es"],
            **fields,
        }
        procedure = Procedure.objects.create(code=code, institution=institution, status=status, **values)
        for n, (amount, currency) in enumerate(fees):
            Fee.objects.create(
                procedure=procedure,
                position=n,
                amount=Decimal(amount),
                currency=currency,
                conditions_es="Por solicitud",
                conditions_en="Per application",
            )
        return procedure

    cedula = make(
        "TE-CEDULA",
        te,
        fees=[("12.50", "USD")],
        title_es='Renovación de cédula, "duplicado"',
        title_en="Identity card renewal,\nduplicate",
        channels=["online", "office", "phone311"],
        languages=["es", "en", "ngb"],
        typical_days=5,
        max_days=10,
        output_es="Cédula",
        output_en="Identity card",
        validity_es="Diez años",
        validity_en="Ten years",
        illustrative=True,
    )
    cedula.topics.set([identity, baby])
    Requirement.objects.create(
        procedure=cedula,
        position=0,
        name_es="Cédula vencida",
        name_en="Expired card",
        format_es="Original",
        format_en="Original",
        issuer=te,
        held_by_state=True,
    )
    Requirement.objects.create(
        procedure=cedula, position=1, kind="condition", name_es="Ser mayor de edad", name_en="Be of age"
    )
    LegalBasis.objects.create(procedure=cedula, position=0, instrument="Ley 31 de 2006", article="Artículo 5")
    LegalBasis.objects.create(procedure=cedula, position=1, instrument="Ley 31 de 2006")
    Step.objects.create(procedure=cedula, text_es="Vaya a la oficina.", text_en="Go to the office.")
    make(
        "MUN-PANAMA-PERMISO",
        mupa,
        audience="both",
        fees=[("1000000.05", "USD"), ("10.00", "USD")],
        max_days=30,
        time_unit="calendar",
    )
    make("MUN-PANAMA-PAZ-Y-SALVO", mupa, fees=[("5.00", "USD"), ("5.00", "PAB")])
    make("TE-CERTIFICADO", te, audience="business", channels=["online", "infoplaza"])
    make("TE-EN-LINEA", te, channels=["online"], level=5)
    make("TE-BORRADOR", te, status="draft")
    make("TE-RETIRADO", te, status="withdrawn")
    return {
        "published": {
            "TE-CEDULA",
            "MUN-PANAMA-PERMISO",
            "MUN-PANAMA-PAZ-Y-SALVO",
            "TE-CERTIFICADO",
            "TE-EN-LINEA",
        }
    }


@pytest.fixture
def reference_catalogue(db):
    counts = services.load_reference_data(path=Path(settings.VENTANILLA_REFERENCE_DATA), actor=Actor.system())
    assert counts["procedures"] > 0, "the reference data holds no procedures"
    return counts


# JSON -------------------------------------------------------------------------------------------------------


def test_json_lists_every_published_procedure_and_never_a_draft_or_withdrawn_one(catalogue):
    data = json.loads(export(opendata.write_json, base_url=BASE).decode("utf-8"))

    assert list(data)[:4] == ["generated_at", "licence", "procedures", "institutions"]
    codes = [p["code"] for p in data["procedures"]]
    assert codes == sorted(catalogue["published"])
    cedula = next(p for p in data["procedures"] if p["code"] == "TE-CEDULA")
    assert cedula["url"] == f"{BASE}/tramites/TE-CEDULA/"
    assert (cedula["institution_name_es"], cedula["institution_name_en"]) == (
        "Tribunal Electoral",
        "Electoral Tribunal",
    )
    assert cedula["requirements"][0]["issuer"] == "TE"
    assert cedula["topics"] == ["having-a-baby", "identity"]
    assert {i["code"] for i in data["institutions"]} == {"TE", "MUN-PANAMA"}
    te = next(i for i in data["institutions"] if i["code"] == "TE")
    assert te["offices"][0]["hours_en"].startswith("Monday") and te["url"] == f"{BASE}/instituciones/TE/"


def test_amounts_are_exact_decimals_in_every_format(catalogue):
    data = json.loads(export(opendata.write_json, base_url=BASE))
    fees = {p["code"]: [f["amount"] for f in p["fees"]] for p in data["procedures"]}
    assert fees["TE-CEDULA"] == ["12.50"]
    assert fees["MUN-PANAMA-PERMISO"] == ["1000000.05", "10.00"]

    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(export(opendata.write_csv).decode("utf-8")))}
    assert (rows["TE-CEDULA"]["fee_total"], rows["TE-CEDULA"]["fee_currency"]) == ("12.50", "USD")
    assert rows["MUN-PANAMA-PERMISO"]["fee_total"] == "1000010.05"
    assert (rows["TE-CERTIFICADO"]["fee_total"], rows["TE-CERTIFICADO"]["fee_currency"]) == ("0.00", "")
    # amounts in two currencies do not add up
    assert (rows["MUN-PANAMA-PAZ-Y-SALVO"]["fee_total"], rows["MUN-PANAMA-PAZ-Y-SALVO"]["fee_currency"]) == (
        "",
        "PAB;USD",
    )

    turtle = export(opendata.write_turtle, base_url=BASE).decode("utf-8")
    assert '"12.50"^^xsd:double' in turtle
    assert '"1000000.05"^^xsd:double' in turtle  # rdflib's own shorthand would write 1e+06
    jsonld = export(opendata.write_jsonld, base_url=BASE).decode("utf-8")
    assert '{"@value":"12.50","@type":"xsd:double"}' in jsonld
    graph = Graph().parse(data=turtle, format="turtle")
    values = {Decimal(str(v)) for v in graph.objects(None, CV.hasValue)}
    assert {Decimal("12.50"), Decimal("1000000.05"), Decimal("10.00"), Decimal("5.00")} == values


# CSV --------------------------------------------------------------------------------------------------------


def test_csv_has_the_header_and_one_row_per_published_procedure(catalogue):
    raw = export(opendata.write_csv, base_url=BASE)

    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.startswith(",".join(opendata.CSV_COLUMNS) + "\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == opendata.CSV_COLUMNS
    assert sorted(r[0] for r in rows[1:]) == sorted(catalogue["published"])
    cedula = dict(zip(opendata.CSV_COLUMNS, next(r for r in rows if r[0] == "TE-CEDULA"), strict=True))
    # RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled
    assert '"Renovación de cédula, ""duplicado"""' in text
    assert cedula["title_es"] == 'Renovación de cédula, "duplicado"'
    assert cedula["title_en"] == "Identity card renewal,\nduplicate"
    assert cedula["channels"] == "online;office;phone311"
    assert (cedula["typical_days"], cedula["max_days"], cedula["time_unit"]) == ("5", "10", "working")
    assert (cedula["requirement_count"], cedula["illustrative"], cedula["level"]) == ("2", "true", "2")
    assert cedula["url"] == f"{BASE}/tramites/TE-CEDULA/"
    permit = dict(
        zip(opendata.CSV_COLUMNS, next(r for r in rows if r[0] == "MUN-PANAMA-PERMISO"), strict=True)
    )
    assert (permit["audience"], permit["typical_days"], permit["max_days"]) == ("citizen;business", "", "30")


def test_writers_take_text_streams_as_well_as_binary_ones(catalogue, monkeypatch):
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(opendata.timezone, "now", lambda: moment)
    for writer in (opendata.write_json, opendata.write_csv, opendata.write_jsonld, opendata.write_turtle):
        text = io.StringIO(newline="")
        writer(text, base_url=BASE)
        assert text.getvalue().encode("utf-8") == export(writer, base_url=BASE)


# CPSV-AP ----------------------------------------------------------------------------------------------------


def test_cpsv_ap_export_describes_each_published_procedure(catalogue):
    graph = Graph().parse(data=export(opendata.write_turtle, base_url=BASE), format="turtle")

    services_ = {str(s) for s in graph.subjects(ns.RDF.type, CPSV.PublicService)}
    assert services_ == {f"{BASE}/procedures/{code}" for code in catalogue["published"]}
    cedula = URIRef(f"{BASE}/procedures/TE-CEDULA")
    assert graph.value(cedula, CV.hasCompetentAuthority) == URIRef(f"{BASE}/institutions/TE")
    assert graph.value(cedula, CV.processingTime) == Literal("P5D", datatype=ns.XSD.duration)
    assert graph.value(cedula, URIRef("http://www.w3.org/ns/dcat#landingPage")) == URIRef(
        f"{BASE}/tramites/TE-CEDULA/"
    )
    languages = set(graph.objects(cedula, URIRef("http://purl.org/dc/terms/language")))
    assert URIRef("http://publications.europa.eu/resource/authority/language/SPA") in languages
    assert URIRef("http://publications.europa.eu/resource/authority/language/ENG") in languages
    assert len(list(graph.objects(cedula, CV.hasChannel))) == 3
    assert len(list(graph.objects(cedula, CPSV.hasInput))) == 1
    assert len(list(graph.objects(cedula, CV.holdsRequirement))) == 1
    assert graph.value(cedula, CV.isGroupedBy) == URIRef(f"{BASE}/life-events/having-a-baby")
    assert graph.value(cedula, CV.isClassifiedBy) == URIRef(f"{BASE}/topics/identity")
    assert graph.value(cedula, CV.contactPoint) == URIRef(f"{BASE}/institutions/TE#contact-point")
    assert not any("BORRADOR" in str(s) or "RETIRADO" in str(s) for s in graph.subjects())


def test_any_text_survives_turtle_and_jsonld(catalogue):
    tricky = 'Barra \\ invertida, "comillas", tab\t, línea\nnueva, control \x01, emoji 🙂 y <ángulos>'
    Procedure.objects.filter(code="TE-EN-LINEA").update(description_es=tricky)
    Institution.objects.filter(code="TE").update(website="https://example.org/a b|c")
    for writer, fmt in ((opendata.write_turtle, "turtle"), (opendata.write_jsonld, "json-ld")):
        graph = Graph().parse(data=export(writer, base_url=BASE), format=fmt)
        description = URIRef("http://purl.org/dc/terms/description")
        assert Literal(tricky, lang="es") in set(
            graph.objects(URIRef(f"{BASE}/procedures/TE-EN-LINEA"), description)
        )
        homepage = graph.value(
            URIRef(f"{BASE}/institutions/TE"), URIRef("http://xmlns.com/foaf/0.1/homepage")
        )
        assert str(homepage) == "https://example.org/a%20b%7Cc"


def test_jsonld_parses_back_to_the_same_triples_as_turtle(catalogue):
    turtle = Graph().parse(data=export(opendata.write_turtle, base_url=BASE), format="turtle")
    jsonld = Graph().parse(data=export(opendata.write_jsonld, base_url=BASE), format="json-ld")

    assert len(jsonld) == len(turtle) > 0
    assert set(jsonld) == set(turtle)


def test_small_catalogue_conforms_to_the_cpsv_ap_shapes(catalogue):
    graph = Graph().parse(data=export(opendata.write_turtle, base_url=BASE), format="turtle")
    violations, report = shacl_violations(graph)
    assert violations == 0, report


def test_the_shapes_do_catch_a_service_that_breaks_them(catalogue):
    graph = Graph().parse(data=export(opendata.write_turtle, base_url=BASE), format="turtle")
    cedula = URIRef(f"{BASE}/procedures/TE-CEDULA")
    graph.remove((cedula, CV.hasCompetentAuthority, None))  # minCount 1
    graph.add((cedula, CV.processingTime, Literal("5 days")))  # not an xsd:duration, and a second one
    violations, report = shacl_violations(graph)
    assert violations >= 2, report


def test_jsonld_class_names_are_those_of_the_official_context():
    official = json.loads((standards_dir() / "cpsv-ap.jsonld").read_text(encoding="utf-8"))["@context"]
    for term, curie in opendata.JSONLD_CLASS_TERMS.items():
        assert official[term] == opendata.expand(curie), term


def test_chunking_does_not_change_a_byte(catalogue, monkeypatch):
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(opendata.timezone, "now", lambda: moment)
    writers = (opendata.write_json, opendata.write_csv, opendata.write_jsonld, opendata.write_turtle)
    whole = [export(writer, base_url=BASE) for writer in writers]
    monkeypatch.setattr(opendata, "CHUNK_SIZE", 2)
    assert [export(writer, base_url=BASE) for writer in writers] == whole


def test_export_reads_a_fixed_number_of_queries_whatever_the_number_of_procedures(catalogue):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            for writer in (
                opendata.write_json,
                opendata.write_csv,
                opendata.write_jsonld,
                opendata.write_turtle,
            ):
                export(writer, base_url=BASE)
        return len(captured)

    before = queries()
    te = Institution.objects.get(code="TE")
    for n in range(10):
        procedure = Procedure.objects.create(
            code=f"TE-EXTRA-{n}",
            institution=te,
            title_es="Extra",
            title_en="Extra",
            description_es="Extra.",
            description_en="Extra.",
            audience="citizen",
            channels=["office"],
            level=1,
            status="published",
        )
        Requirement.objects.create(procedure=procedure, name_es="Documento", name_en="Document", issuer=te)
        Fee.objects.create(procedure=procedure, amount=Decimal("1.00"))
        procedure.topics.add(Topic.objects.get(code="identity"))
    assert queries() == before


# Snapshot ---------------------------------------------------------------------------------------------------


def test_snapshot_writes_the_four_files_and_replaces_them_atomically(catalogue, tmp_path, monkeypatch):
    directory = tmp_path / "opendata"
    paths = opendata.snapshot(directory, base_url=BASE)

    assert {p.name for p in paths.values()} == {
        "catalogue.json",
        "catalogue.csv",
        "catalogue.jsonld",
        "catalogue.ttl",
    }
    assert sorted(p.name for p in directory.iterdir()) == sorted(p.name for p in paths.values())
    assert len(json.loads(paths["json"].read_bytes())["procedures"]) == len(catalogue["published"])
    assert len(Graph().parse(paths["ttl"], format="turtle")) == len(
        Graph().parse(paths["jsonld"], format="json-ld")
    )

    before = {fmt: path.read_bytes() for fmt, path in paths.items()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(opendata._RdfBuilder, "chunk_nodes", broken)
    with pytest.raises(RuntimeError):
        opendata.snapshot(directory, base_url=BASE)
    assert {fmt: path.read_bytes() for fmt, path in paths.items()} == before  # the old files are untouched
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        p.name for p in paths.values()
    )  # no leftovers


# The whole reference catalogue ------------------------------------------------------------------------------


def test_reference_catalogue_conforms_to_the_cpsv_ap_shapes(reference_catalogue):
    started = time.monotonic()
    turtle = export(opendata.write_turtle)
    exported = time.monotonic()
    graph = Graph().parse(data=turtle, format="turtle")
    violations, report = shacl_violations(graph)
    validated = time.monotonic()

    published = Procedure.objects.filter(status="published").count()
    assert len(set(graph.subjects(ns.RDF.type, CPSV.PublicService))) == published
    print(  # shown with -s: what was validated, how long it took
        f"\nSHACL: {published} procedures, {len(graph)} triples, {violations} violations; "
        f"export {exported - started:.1f} s, validation {validated - exported:.1f} s"
    )
    assert violations == 0, report


def test_reference_catalogue_is_the_same_in_every_format(reference_catalogue):
    published = set(Procedure.objects.filter(status="published").values_list("code", flat=True))

    data = json.loads(export(opendata.write_json))
    assert {p["code"] for p in data["procedures"]} == published
    assert len(data["procedures"]) == len(published)
    rows = list(csv.DictReader(io.StringIO(export(opendata.write_csv).decode("utf-8"), newline="")))
    assert sorted(r["code"] for r in rows) == sorted(published)
    turtle = Graph().parse(data=export(opendata.write_turtle), format="turtle")
    jsonld = Graph().parse(data=export(opendata.write_jsonld), format="json-ld")
    assert len(jsonld) == len(turtle)
