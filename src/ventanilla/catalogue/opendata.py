"""The published catalogue as open data: JSON, CSV and CPSV-AP 3.2.0 (JSON-LD and Turtle).

Every writer streams: procedures are read in chunks of CHUNK_SIZE with their children prefetched (a fixed
number of queries per chunk, never one per procedure), and each chunk is written out before the next is read,
so memory stays flat at 100,000 procedures. The CPSV-AP graph is built with rdflib one chunk at a time; nodes
shared between procedures (institutions, topics, code-list concepts, legal resources) are described once, in
the chunk that first needs them, so the Turtle and JSON-LD files hold each triple exactly once.

`snapshot()` writes all four files in one pass (one read of the catalogue, one graph per chunk for both RDF
formats) and swaps them in atomically. Writers accept binary or text streams; open text files with newline="".

CPSV-AP choices (the official SHACL shapes decide; see tests/catalogue/test_opendata.py):
- a Procedure is a cpsv:PublicService at {base}/procedures/{code}; an Institution a cv:PublicOrganisation at
  {base}/institutions/{code}, with dct:spatial the country (EU country table) as a dct:Location;
- cv:hasValue is xsd:double (the shapes say so), written with the exact lexical form of the amount ("12.50");
- document requirements are cpsv:hasInput → cv:Evidence; conditions are cv:holdsRequirement → cv:Requirement
  (also typed cv:Criterion, the CCCEV subclass for conditions);
- code-list values (channel types, audiences, currencies, languages, status, topics) are typed skos:Concept,
  languages also dct:LinguisticSystem; EU authority tables are used for languages, currencies and the country.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from rdflib.plugins.serializers.turtle import TurtleSerializer

from . import selectors
from .models import Fee, Institution, LegalBasis, Procedure, Requirement, Step, Topic

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
CHUNK_SIZE = 500
_CODE_MARK = "CODE-MARK-0"  # a valid code, replaced by each real one in the page address
FILENAMES = {
    "json": "catalogue.json",
    "csv": "catalogue.csv",
    "jsonld": "catalogue.jsonld",
    "ttl": "catalogue.ttl",
}
CSV_COLUMNS = [
    "code",
    "institution_code",
    "institution_name_es",
    "institution_name_en",
    "title_es",
    "title_en",
    "audience",
    "level",
    "channels",
    "fee_total",
    "fee_currency",
    "typical_days",
    "max_days",
    "time_unit",
    "silence_rule",
    "requirement_count",
    "url",
    "illustrative",
]

CPSV = Namespace("http://purl.org/vocab/cpsv#")
CV = Namespace("http://data.europa.eu/m8g/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
TIME = Namespace("http://www.w3.org/2006/time#")
DCT = DCTERMS
PREFIXES = {
    "adms": ADMS,
    "cpsv": CPSV,
    "cv": CV,
    "dcat": DCAT,
    "dct": DCT,
    "eli": ELI,
    "foaf": FOAF,
    "locn": LOCN,
    "rdf": RDF,
    "skos": SKOS,
    "time": TIME,
    "xsd": XSD,
}

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_LANGUAGES = URIRef(EU_AUTHORITY + "language")
EU_CURRENCIES = URIRef(EU_AUTHORITY + "currency")
EU_COUNTRIES = URIRef(EU_AUTHORITY + "country")
# ISO 639-1 (as stored on procedures) → the EU Language authority table.
EU_LANGUAGE_CODES = {
    "es": "SPA",
    "en": "ENG",
    "fr": "FRA",
    "pt": "POR",
    "de": "DEU",
    "it": "ITA",
    "zh": "ZHO",
}
ADMS_STATUS = URIRef("http://purl.org/adms/status/1.0")
ADMS_COMPLETED = URIRef("http://purl.org/adms/status/Completed")

# Class names of the official CPSV-AP 3.2.0 JSON-LD context (cpsv-ap.jsonld), so "@type" reads as in the
# official examples. The rest of the official context (one term per class and property, such as
# "PublicService.name") is ambiguous for compaction, so properties are written as compact IRIs with the
# prefixes above, as the official examples do. A test checks these names against the official file.
JSONLD_CLASS_TERMS = {
    "Address": str(LOCN.Address),
    "BusinessEvent": str(CV.BusinessEvent),
    "Channel": str(CV.Channel),
    "Concept": str(SKOS.Concept),
    "ContactPoint": str(CV.ContactPoint),
    "Cost": str(CV.Cost),
    "Document": str(FOAF.Document),
    "Event": str(CV.Event),
    "Evidence": str(CV.Evidence),
    "LegalResource": str(ELI.LegalResource),
    "LifeEvent": str(CV.LifeEvent),
    "LinguisticSystem": str(DCT.LinguisticSystem),
    "Location": str(DCT.Location),
    "Output": str(CV.Output),
    "PublicOrganization": str(CV.PublicOrganisation),
    "PublicService": str(CPSV.PublicService),
    "Requirement": str(CV.Requirement),
    "TemporalEntity": str(TIME.TemporalEntity),
}
JSONLD_CONTEXT = {**{prefix: str(ns) for prefix, ns in PREFIXES.items()}, **JSONLD_CLASS_TERMS}
_CLASS_TERM = {iri: term for term, iri in JSONLD_CLASS_TERMS.items()}
_PN_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(?<!\.)")

CHANNEL_LABELS = {
    "online": ("En línea", "Online"),
    "office": ("En una oficina", "At an office"),
    "phone311": ("Por teléfono (311)", "By phone (311)"),
    "infoplaza": ("En una InfoPlaza", "At an InfoPlaza"),
}
AUDIENCE_LABELS = {"citizen": ("Personas", "People"), "business": ("Empresas", "Businesses")}
SCHEME_LABELS = {
    "channel-types": ("Tipos de canal", "Channel types"),
    "audiences": ("Destinatarios", "Audiences"),
    "topics": ("Temas", "Topics"),
    "languages": ("Idiomas", "Languages"),
}


# ------------------------------------------------------------------------------------------------------------
# Public API


def write_json(stream, *, base_url: str = DEFAULT_BASE_URL) -> None:
    """{"generated_at", "licence", "procedures": [procedure documents + url + institution names],
    "institutions", "topics"} in UTF-8."""
    _export(base_url, json=stream)


def write_csv(stream, *, base_url: str = DEFAULT_BASE_URL) -> None:
    """One row per published procedure (CSV_COLUMNS): UTF-8 without BOM, RFC 4180 quoting, CRLF line ends."""
    _export(base_url, csv=stream)


def write_jsonld(stream, *, base_url: str = DEFAULT_BASE_URL) -> None:
    """The catalogue in CPSV-AP 3.2.0 as JSON-LD ({"@context", "@graph"}), UTF-8."""
    _export(base_url, jsonld=stream)


def write_turtle(stream, *, base_url: str = DEFAULT_BASE_URL) -> None:
    """The catalogue in CPSV-AP 3.2.0 as Turtle, UTF-8."""
    _export(base_url, ttl=stream)


def snapshot(directory: Path, base_url: str = DEFAULT_BASE_URL) -> dict[str, Path]:
    """Write catalogue.json/.csv/.jsonld/.ttl into directory in one pass, each atomically (temporary file in
    the same directory, fsync, os.replace), so readers never see a half-written file.

    Returns {format: path}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    temporary: dict[str, Path] = {}
    handles = {}
    try:
        for fmt, name in FILENAMES.items():
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, after the one-pass export)
                mode="wb", dir=directory, prefix=f".{name}.", suffix=".tmp", delete=False
            )
            handles[fmt], temporary[fmt] = handle, Path(handle.name)
        _export(base_url, **handles)
        for handle in handles.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        paths = {}
        for fmt, name in FILENAMES.items():
            temporary[fmt].chmod(0o644)
            os.replace(temporary[fmt], directory / name)
            paths[fmt] = directory / name
        return paths
    finally:
        for handle in handles.values():
            handle.close()
        for path in temporary.values():
            path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------------------
# Reading the catalogue


@dataclass
class _Catalogue:
    base_url: str
    generated_at: str
    institutions: dict  # id → Institution, offices prefetched
    topics: list[Topic]
    page_templates: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, base_url: str) -> _Catalogue:
        base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        institutions = Institution.objects.prefetch_related("offices").order_by("code")
        with translation.override(settings.LANGUAGE_CODE):  # pages of the default language carry no prefix
            templates = {
                name: base_url + reverse(f"catalogue:{name}", kwargs={"code": _CODE_MARK})
                for name in ("procedure", "institution")
            }
        return cls(
            base_url=base_url,
            generated_at=timezone.now().replace(microsecond=0).isoformat(),
            institutions={i.id: i for i in institutions},
            topics=list(Topic.objects.order_by("kind", "code")),
            page_templates=templates,
        )

    def procedure_page(self, code: str) -> str:
        return self.page_templates["procedure"].replace(_CODE_MARK, code)

    def institution_page(self, code: str) -> str:
        return self.page_templates["institution"].replace(_CODE_MARK, code)

    def chunks(self) -> Iterator[list[Procedure]]:
        """Published procedures by code, CHUNK_SIZE at a time, each chunk with its requirements, fees, legal
        basis, steps and topics: five queries per chunk, whatever its size.

        The children are read with one plain query per relation and handed to each procedure as its prefetched
        objects, as prefetch_related does, but without the queryset prefetch_related clones per procedure and
        relation (most of its time). Institutions and topics are the ones loaded once for the whole export."""
        topics_by_id = {t.id: t for t in self.topics}
        procedures = selectors.published_procedures().order_by("code").iterator(chunk_size=CHUNK_SIZE)
        while chunk := list(itertools.islice(procedures, CHUNK_SIZE)):
            by_id = {}
            for procedure in chunk:
                by_id[procedure.id] = procedure
                procedure._prefetched_objects_cache = {name: _Prefetched() for name in (*_CHILDREN, "topics")}
                if institution := self.institutions.get(procedure.institution_id):
                    procedure.institution = institution
            for name, model in _CHILDREN.items():
                for child in model.objects.filter(procedure_id__in=by_id).order_by("position", "pk"):
                    if name == "requirements" and child.issuer_id in self.institutions:
                        child.issuer = self.institutions[child.issuer_id]
                    by_id[child.procedure_id]._prefetched_objects_cache[name].append(child)
            links = Procedure.topics.through.objects.filter(procedure_id__in=by_id)
            for procedure_id, topic_id in links.values_list("procedure_id", "topic_id"):
                by_id[procedure_id]._prefetched_objects_cache["topics"].append(topics_by_id[topic_id])
            for procedure in chunk:
                procedure._prefetched_objects_cache["topics"].sort(key=lambda topic: topic.code)
            yield chunk


class _Prefetched(list):
    """Prefetched related objects: what procedure.<relation>.all() returns during an export."""

    def all(self):
        return self

    def count(self) -> int:
        return len(self)

    def exists(self) -> bool:
        return bool(self)


_CHILDREN = {
    "requirements": Requirement,
    "fees": Fee,
    "legal_basis": LegalBasis,
    "steps": Step,
}


# ------------------------------------------------------------------------------------------------------------
# Output streams


class _Text:
    """Buffered text output to a binary (UTF-8) or text stream."""

    def __init__(self, stream, buffer_chars: int = 1 << 16):
        self._stream = stream
        self._binary = _is_binary(stream)
        self._parts: list[str] = []
        self._size = 0
        self._limit = buffer_chars

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._limit:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            data = "".join(self._parts)
            self._stream.write(data.encode("utf-8") if self._binary else data)
            self._parts, self._size = [], 0


def _is_binary(stream) -> bool:
    if isinstance(stream, io.TextIOBase):
        return False
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        return True
    mode = getattr(stream, "mode", None)
    if isinstance(mode, str):
        return "b" in mode
    try:
        stream.write(b"")
    except TypeError:
        return False
    return True


# ------------------------------------------------------------------------------------------------------------
# One pass over the catalogue, any subset of the four formats


def _export(base_url: str, **streams) -> None:
    catalogue = _Catalogue.load(base_url)
    writers = []
    rdf = _RdfBuilder(catalogue) if {"jsonld", "ttl"} & streams.keys() else None
    if "json" in streams:
        writers.append(_JsonWriter(_Text(streams["json"]), catalogue))
    if "csv" in streams:
        writers.append(_CsvWriter(_Text(streams["csv"]), catalogue))
    if "jsonld" in streams:
        writers.append(_JsonLdWriter(_Text(streams["jsonld"]), catalogue))
    if "ttl" in streams:
        writers.append(_TurtleWriter(_Text(streams["ttl"]), catalogue))
    shared = rdf.shared_graph() if rdf else None
    for writer in writers:
        writer.begin(shared)
    for chunk in catalogue.chunks():
        graph = rdf.chunk_graph(chunk) if rdf else None
        for writer in writers:
            writer.chunk(chunk, graph)
    for writer in writers:
        writer.end()
        writer.out.flush()


class _JsonWriter:
    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue, self.first = out, catalogue, True

    def begin(self, _graph) -> None:
        head = {"generated_at": self.catalogue.generated_at, "licence": _licence()}
        self.out.write(_dumps(head)[:-1] + ',\n"procedures":[')

    def chunk(self, procedures: list[Procedure], _graph) -> None:
        for procedure in procedures:
            document = selectors.procedure_document(procedure)
            document["url"] = self.catalogue.procedure_page(procedure.code)
            document["institution_name_es"] = procedure.institution.name_es
            document["institution_name_en"] = procedure.institution.name_en
            self.out.write(("\n" if self.first else ",\n") + _dumps(document))
            self.first = False

    def end(self) -> None:
        catalogue = self.catalogue
        self.out.write('\n],\n"institutions":[')
        self.out.write(",".join("\n" + _dumps(self._institution(i)) for i in catalogue.institutions.values()))
        self.out.write('\n],\n"topics":[')
        self.out.write(
            ",".join(
                "\n" + _dumps({"code": t.code, "kind": t.kind, "name_es": t.name_es, "name_en": t.name_en})
                for t in catalogue.topics
            )
        )
        self.out.write("\n]}\n")

    def _institution(self, institution: Institution) -> dict:
        return {
            "code": institution.code,
            "kind": institution.kind,
            "acronym": institution.acronym,
            "name_es": institution.name_es,
            "name_en": institution.name_en,
            "description_es": institution.description_es,
            "description_en": institution.description_en,
            "website": institution.website,
            "email": institution.email,
            "phone": institution.phone,
            "province": institution.province,
            "channels": list(institution.channels),
            "offices": [
                {
                    "name_es": o.name_es,
                    "name_en": o.name_en,
                    "address": o.address,
                    "hours_es": o.hours_es,
                    "hours_en": o.hours_en,
                    "phone": o.phone,
                }
                for o in institution.offices.all()
            ],
            "illustrative": institution.illustrative,
            "url": self.catalogue.institution_page(institution.code),
        }


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _licence() -> str:
    return getattr(settings, "VENTANILLA_OPEN_DATA_LICENCE", DEFAULT_LICENCE)


class _CsvWriter:
    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue = out, catalogue
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def begin(self, _graph) -> None:
        self.csv.writerow(CSV_COLUMNS)
        self._drain()

    def chunk(self, procedures: list[Procedure], _graph) -> None:
        for procedure in procedures:
            self.csv.writerow(self.row(procedure))
        self._drain()

    def end(self) -> None:
        self._drain()

    def _drain(self) -> None:
        self.out.write(self.buffer.getvalue())
        self.buffer.seek(0)
        self.buffer.truncate()

    def row(self, procedure: Procedure) -> list:
        fees = list(procedure.fees.all())
        currencies = sorted({f.currency for f in fees})
        if not fees:
            total, currency = "0.00", ""
        elif len(currencies) == 1:
            total, currency = f"{sum((f.amount for f in fees), Decimal(0)):.2f}", currencies[0]
        else:  # amounts in different currencies do not add up: leave the total empty, list the currencies
            total, currency = "", ";".join(currencies)
        audience = ["citizen", "business"] if procedure.audience == "both" else [procedure.audience]
        return [
            procedure.code,
            procedure.institution.code,
            procedure.institution.name_es,
            procedure.institution.name_en,
            procedure.title_es,
            procedure.title_en,
            ";".join(audience),
            procedure.level,
            ";".join(procedure.channels),
            total,
            currency,
            "" if procedure.typical_days is None else procedure.typical_days,
            "" if procedure.max_days is None else procedure.max_days,
            procedure.time_unit,
            procedure.silence_rule,
            len(procedure.requirements.all()),
            self.catalogue.procedure_page(procedure.code),
            "true" if procedure.illustrative else "false",
        ]


# ------------------------------------------------------------------------------------------------------------
# CPSV-AP 3.2.0


def _lang(graph: Graph, subject, predicate, es: str, en: str) -> None:
    for text, language in ((es, "es"), (en, "en")):
        if text and text.strip():
            graph.add((subject, predicate, Literal(text.strip(), lang=language)))


class _RdfBuilder:
    """Builds the CPSV-AP graph chunk by chunk. Shared nodes are described once per export (tracked in
    self.described), so concatenating the chunk serialisations never repeats a triple."""

    def __init__(self, catalogue: _Catalogue):
        self.catalogue = catalogue
        self.base = catalogue.base_url
        self.described: set[URIRef] = set()
        self.country = URIRef(f"{EU_AUTHORITY}country/{getattr(settings, 'VENTANILLA_COUNTRY', 'PAN')}")
        self.contact_points: dict = {}

    # IRIs
    def iri(self, *parts: str) -> URIRef:
        return URIRef("/".join((self.base, *parts)))

    def procedure_iri(self, code: str) -> URIRef:
        return self.iri("procedures", code)

    def institution_iri(self, code: str) -> URIRef:
        return self.iri("institutions", code)

    def concept_iri(self, scheme: str, code: str) -> URIRef:
        return self.iri("vocabularies", scheme, slugify(code) or _digest(code))

    def topic_iri(self, topic: Topic) -> URIRef:
        return self.iri("life-events" if topic.kind == Topic.Kind.LIFE_EVENT else "topics", topic.code)

    @staticmethod
    def new_graph() -> Graph:
        graph = Graph(store="SimpleMemory", bind_namespaces="none")
        for prefix, namespace in PREFIXES.items():
            graph.bind(prefix, namespace)
        return graph

    def once(self, node: URIRef) -> bool:
        """True the first time a shared node comes up in this export: describe it now."""
        if node in self.described:
            return False
        self.described.add(node)
        return True

    # Shared nodes
    def shared_graph(self) -> Graph:
        graph = self.new_graph()
        for institution in self.catalogue.institutions.values():
            self.add_institution(graph, institution)
        for topic in self.catalogue.topics:
            self.add_topic(graph, topic)
        return graph

    def add_institution(self, graph: Graph, institution: Institution) -> None:
        node = self.institution_iri(institution.code)
        if not self.once(node):
            return
        graph.add((node, RDF.type, CV.PublicOrganisation))
        graph.add((node, DCT.identifier, Literal(institution.code)))
        _lang(graph, node, SKOS.prefLabel, institution.name_es, institution.name_en)
        if institution.acronym and institution.acronym not in (institution.name_es, institution.name_en):
            graph.add((node, SKOS.altLabel, Literal(institution.acronym)))
        _lang(graph, node, DCT.description, institution.description_es, institution.description_en)
        graph.add((node, DCT.spatial, self.add_country(graph)))
        if institution.website:
            graph.add((node, FOAF.homepage, self.add_document(graph, institution.website)))
        offices = list(institution.offices.all())
        if offices and offices[0].address:
            address = URIRef(f"{node}#address")
            graph.add((node, LOCN.address, address))
            graph.add((address, RDF.type, LOCN.Address))
            graph.add((address, LOCN.fullAddress, Literal(offices[0].address, lang="es")))
            if institution.province:
                graph.add((address, LOCN.adminUnitL2, Literal(institution.province, lang="es")))
        self.add_contact_point(graph, institution, offices)

    def contact_point_iri(self, institution: Institution) -> URIRef | None:
        if institution.id in self.contact_points:
            return self.contact_points[institution.id]
        offices = list(institution.offices.all())
        has_hours = bool(offices and (offices[0].hours_es or offices[0].hours_en))
        phone = institution.phone or (offices[0].phone if offices else "")
        node = None
        if institution.email or phone or has_hours or institution.website:
            node = URIRef(f"{self.institution_iri(institution.code)}#contact-point")
        self.contact_points[institution.id] = node
        return node

    def add_contact_point(self, graph: Graph, institution: Institution, offices) -> None:
        node = self.contact_point_iri(institution)
        if node is None:
            return
        graph.add((node, RDF.type, CV.ContactPoint))
        if institution.email:
            graph.add((node, CV.email, Literal(institution.email)))
        if phone := institution.phone or (offices[0].phone if offices else ""):
            graph.add((node, CV.telephone, Literal(phone)))
        if institution.website:
            graph.add((node, CV.contactPage, self.add_document(graph, institution.website)))
        if offices and (offices[0].hours_es or offices[0].hours_en):
            hours = URIRef(f"{self.institution_iri(institution.code)}#opening-hours")
            graph.add((node, CV.openingHours, hours))
            graph.add((hours, RDF.type, TIME.TemporalEntity))
            _lang(graph, hours, DCT.description, offices[0].hours_es, offices[0].hours_en)

    def add_document(self, graph: Graph, url: str) -> URIRef:
        node = URIRef(url)
        if self.once(node):
            graph.add((node, RDF.type, FOAF.Document))
        return node

    def add_country(self, graph: Graph) -> URIRef:
        if self.once(self.country):
            graph.add((self.country, RDF.type, DCT.Location))
            graph.add((self.country, RDF.type, SKOS.Concept))
            graph.add((self.country, SKOS.inScheme, EU_COUNTRIES))
        return self.country

    def add_scheme(self, graph: Graph, scheme: str) -> URIRef:
        node = self.iri("vocabularies", scheme)
        if self.once(node):
            graph.add((node, RDF.type, SKOS.ConceptScheme))
            es, en = SCHEME_LABELS.get(scheme, (scheme, scheme))
            _lang(graph, node, SKOS.prefLabel, es, en)
        return node

    def add_concept(self, graph: Graph, scheme: str, code: str, labels: tuple[str, str] | None) -> URIRef:
        node = self.concept_iri(scheme, code)
        if self.once(node):
            graph.add((node, RDF.type, SKOS.Concept))
            graph.add((node, SKOS.inScheme, self.add_scheme(graph, scheme)))
            graph.add((node, SKOS.notation, Literal(code)))
            es, en = labels or (code, code)
            _lang(graph, node, SKOS.prefLabel, es, en)
        return node

    def add_topic(self, graph: Graph, topic: Topic) -> URIRef:
        node = self.topic_iri(topic)
        if not self.once(node):
            return node
        if topic.kind == Topic.Kind.LIFE_EVENT:
            graph.add((node, RDF.type, CV.Event))
            graph.add((node, RDF.type, CV.LifeEvent))
            graph.add((node, DCT.identifier, Literal(topic.code)))
            _lang(graph, node, DCT.title, topic.name_es, topic.name_en)
        else:
            graph.add((node, RDF.type, SKOS.Concept))
            graph.add((node, SKOS.inScheme, self.add_scheme(graph, "topics")))
            graph.add((node, SKOS.notation, Literal(topic.code)))
            _lang(graph, node, SKOS.prefLabel, topic.name_es, topic.name_en)
        return node

    def add_language(self, graph: Graph, code: str) -> URIRef:
        eu_code = EU_LANGUAGE_CODES.get(code.lower())
        if eu_code:
            node, scheme = URIRef(f"{EU_AUTHORITY}language/{eu_code}"), EU_LANGUAGES
        else:  # not in our table: a concept of our own rather than a guessed EU code
            node, scheme = self.concept_iri("languages", code), None
        if self.once(node):
            graph.add((node, RDF.type, DCT.LinguisticSystem))
            graph.add((node, RDF.type, SKOS.Concept))
            if scheme is None:
                scheme = self.add_scheme(graph, "languages")
                graph.add((node, SKOS.notation, Literal(code)))
                graph.add((node, SKOS.prefLabel, Literal(code)))
            graph.add((node, SKOS.inScheme, scheme))
        return node

    def add_currency(self, graph: Graph, code: str) -> URIRef:
        node = URIRef(f"{EU_AUTHORITY}currency/{code.upper()}")
        if self.once(node):
            graph.add((node, RDF.type, SKOS.Concept))
            graph.add((node, SKOS.inScheme, EU_CURRENCIES))
        return node

    def add_status(self, graph: Graph) -> URIRef:
        if self.once(ADMS_COMPLETED):
            graph.add((ADMS_COMPLETED, RDF.type, SKOS.Concept))
            graph.add((ADMS_COMPLETED, SKOS.inScheme, ADMS_STATUS))
        return ADMS_COMPLETED

    def add_legal_resource(self, graph: Graph, instrument: str, article: str) -> URIRef:
        law = self.iri("legal-resources", _slug(instrument))
        if self.once(law):
            graph.add((law, RDF.type, ELI.LegalResource))
            graph.add((law, ELI.title, Literal(instrument, lang="es")))
        if not article:
            return law
        node = URIRef(f"{law}/{_slug(article)}")
        if self.once(node):
            graph.add((node, RDF.type, ELI.LegalResource))
            graph.add((node, ELI.title, Literal(f"{instrument}, {article}", lang="es")))
            graph.add((node, ELI.is_part_of, law))
        return node

    # Procedures
    def chunk_graph(self, procedures: Iterable[Procedure]) -> Graph:
        graph = self.new_graph()
        for procedure in procedures:
            self.add_procedure(graph, procedure)
        return graph

    def add_procedure(self, graph: Graph, procedure: Procedure) -> None:
        code = procedure.code
        node = self.procedure_iri(code)
        add = graph.add
        add((node, RDF.type, CPSV.PublicService))
        add((node, DCT.identifier, Literal(code)))
        _lang(graph, node, DCT.title, procedure.title_es, procedure.title_en)
        _lang(graph, node, DCT.description, procedure.description_es, procedure.description_en)
        institution = procedure.institution
        self.add_institution(graph, institution)
        add((node, CV.hasCompetentAuthority, self.institution_iri(institution.code)))
        if contact_point := self.contact_point_iri(institution):
            add((node, CV.contactPoint, contact_point))
        add((node, ADMS.status, self.add_status(graph)))
        add((node, DCAT.landingPage, self.add_document(graph, self.catalogue.procedure_page(code))))
        audience = ["citizen", "business"] if procedure.audience == "both" else [procedure.audience]
        for value in audience:
            add((node, DCT.audience, self.add_concept(graph, "audiences", value, AUDIENCE_LABELS.get(value))))
        for channel_code in procedure.channels:
            channel = URIRef(f"{node}#channel-{slugify(channel_code)}")
            add((node, CV.hasChannel, channel))
            add((channel, RDF.type, CV.Channel))
            add((channel, DCT.identifier, Literal(f"{code}/channel/{channel_code}")))
            concept = self.add_concept(graph, "channel-types", channel_code, CHANNEL_LABELS.get(channel_code))
            add((channel, DCT.type, concept))
        for n, fee in enumerate(procedure.fees.all(), start=1):
            cost = URIRef(f"{node}#cost-{n}")
            add((node, CV.hasCost, cost))
            add((cost, RDF.type, CV.Cost))
            add((cost, DCT.identifier, Literal(f"{code}/cost/{n}")))
            # The shapes want xsd:double; keep the exact lexical form of the decimal amount ("12.50").
            add((cost, CV.hasValue, Literal(f"{fee.amount:.2f}", datatype=XSD.double, normalize=False)))
            add((cost, CV.currency, self.add_currency(graph, fee.currency)))
            _lang(graph, cost, DCT.description, fee.conditions_es, fee.conditions_en)
        for basis in procedure.legal_basis.all():
            add((node, CV.hasLegalResource, self.add_legal_resource(graph, basis.instrument, basis.article)))
        for n, requirement in enumerate(procedure.requirements.all(), start=1):
            if requirement.kind == Requirement.Kind.DOCUMENT:
                item = URIRef(f"{node}#evidence-{n}")
                add((node, CPSV.hasInput, item))
                add((item, RDF.type, CV.Evidence))
                add((item, DCT.identifier, Literal(f"{code}/evidence/{n}")))
            else:
                item = URIRef(f"{node}#requirement-{n}")
                add((node, CV.holdsRequirement, item))
                add((item, RDF.type, CV.Requirement))
                add((item, RDF.type, CV.Criterion))
                add((item, DCT.identifier, Literal(f"{code}/requirement/{n}")))
            _lang(graph, item, DCT.title, requirement.name_es, requirement.name_en)
            _lang(graph, item, DCT.description, requirement.format_es, requirement.format_en)
        if procedure.output_es.strip() or procedure.output_en.strip():
            output = URIRef(f"{node}#output")
            add((node, CPSV.produces, output))
            add((output, RDF.type, CV.Output))
            add((output, DCT.identifier, Literal(f"{code}/output")))
            _lang(graph, output, DCT.title, procedure.output_es, procedure.output_en)
            _lang(graph, output, DCT.description, procedure.validity_es, procedure.validity_en)
        days = procedure.typical_days if procedure.typical_days is not None else procedure.max_days
        if days is not None:
            add((node, CV.processingTime, Literal(f"P{days}D", datatype=XSD.duration)))
        for topic in procedure.topics.all():
            self.add_topic(graph, topic)
            predicate = CV.isGroupedBy if topic.kind == Topic.Kind.LIFE_EVENT else CV.isClassifiedBy
            add((node, predicate, self.topic_iri(topic)))
        for language in procedure.languages:
            add((node, DCT.language, self.add_language(graph, language)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _slug(text: str) -> str:
    return slugify(text)[:100].strip("-") or _digest(text)


class _Turtle(TurtleSerializer):
    """rdflib's Turtle serializer with two changes:
    - xsd:double and xsd:decimal keep their lexical form: rdflib's shorthand (%e) turns 1000000.05 into 1e+06;
    - prefixed names come from PREFIXES by a dictionary look-up: rdflib's own look-up scans a list that grows
      with every namespace it has tried, which is quadratic over a chunk of instance IRIs."""

    def label(self, node, position):
        if isinstance(node, Literal) and node.datatype in (XSD.double, XSD.decimal):
            return node._literal_n3(use_plain=False, qname_callback=lambda dt: self.get_pname(dt, False))
        return super().label(node, position)

    def get_pname(self, uri, gen_prefix: bool = True) -> str | None:
        if not isinstance(uri, URIRef):
            return None
        pname = _PNAMES.get(uri, False)
        if pname is False:
            cut = max(uri.rfind("#"), uri.rfind("/")) + 1
            prefix, local = _NAMESPACE_PREFIX.get(uri[:cut]), uri[cut:]
            pname = f"{prefix}:{local}" if prefix and _PN_LOCAL.fullmatch(local) else None
            if pname is not None:  # only vocabulary terms are remembered: instance IRIs are not worth it
                _PNAMES[uri] = pname
        if pname:
            prefix = pname.split(":", 1)[0]
            self.addNamespace(prefix, PREFIXES[prefix])
        return pname


_NAMESPACE_PREFIX = {str(ns): prefix for prefix, ns in PREFIXES.items()}
_PNAMES: dict[URIRef, str | None] = {}


def _turtle_body(graph: Graph, declared: set[str]) -> str:
    buffer = io.BytesIO()
    _Turtle(graph).serialize(buffer, encoding="utf-8")
    lines = buffer.getvalue().decode("utf-8").split("\n")
    head = []
    n = 0
    while n < len(lines) and lines[n].startswith("@prefix "):
        if lines[n] not in declared:  # a prefix rdflib made up: declare it (allowed between statements)
            declared.add(lines[n])
            head.append(lines[n])
        n += 1
    return "\n".join([*head, *lines[n:]])


class _TurtleWriter:
    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue = out, catalogue
        self.declared = {f"@prefix {prefix}: <{ns}> ." for prefix, ns in PREFIXES.items()}

    def begin(self, graph: Graph) -> None:
        self.out.write(
            f"# Public service catalogue of {self.catalogue.base_url} in CPSV-AP 3.2.0.\n"
            f"# Generated at {self.catalogue.generated_at}. Licence: {_licence()}\n"
        )
        self.out.write("".join(f"@prefix {prefix}: <{ns}> .\n" for prefix, ns in sorted(PREFIXES.items())))
        self.chunk(None, graph)

    def chunk(self, _procedures, graph: Graph) -> None:
        if len(graph):
            self.out.write(_turtle_body(graph, self.declared))

    def end(self) -> None:
        self.out.write("\n")


class _JsonLdWriter:
    """{"@context", "@graph"} with one node object per subject, written chunk by chunk. Values are explicit
    value objects, so numbers keep their lexical form and nothing depends on term coercion."""

    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue, self.first = out, catalogue, True
        self.namespaces = sorted(((str(ns), p) for p, ns in PREFIXES.items()), key=lambda item: -len(item[0]))

    def begin(self, graph: Graph) -> None:
        self.out.write('{"@context":' + _dumps(JSONLD_CONTEXT) + ',\n"@graph":[')
        self.chunk(None, graph)

    def chunk(self, _procedures, graph: Graph) -> None:
        for subject in sorted(set(graph.subjects())):
            self.out.write(("\n" if self.first else ",\n") + _dumps(self.node(graph, subject)))
            self.first = False

    def end(self) -> None:
        self.out.write("\n]}\n")

    def shrink(self, iri: str) -> str:
        for namespace, prefix in self.namespaces:
            if iri.startswith(namespace):
                local = iri[len(namespace) :]
                if _PN_LOCAL.fullmatch(local):
                    return f"{prefix}:{local}"
        return iri

    def node(self, graph: Graph, subject) -> dict:
        node: dict = {"@id": str(subject)}
        types = sorted(str(t) for t in graph.objects(subject, RDF.type))
        if types:
            node["@type"] = [_CLASS_TERM.get(t) or self.shrink(t) for t in types]
        for predicate in sorted(set(graph.predicates(subject))):
            if predicate == RDF.type:
                continue
            values = sorted(graph.objects(subject, predicate), key=_sort_key)
            node[self.shrink(str(predicate))] = [self.value(v) for v in values]
        return node

    def value(self, value):
        if isinstance(value, Literal):
            if value.language:
                return {"@value": str(value), "@language": value.language}
            if value.datatype and value.datatype != XSD.string:
                return {"@value": str(value), "@type": self.shrink(str(value.datatype))}
            return {"@value": str(value)}
        return {"@id": str(value)}


def _sort_key(node) -> tuple:
    language, datatype = getattr(node, "language", None), getattr(node, "datatype", None)
    return (type(node).__name__, str(node), language or "", str(datatype or ""))
