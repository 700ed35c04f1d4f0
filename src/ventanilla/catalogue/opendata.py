"""The published catalogue as open data: JSON, CSV and CPSV-AP 3.2.0 (JSON-LD and Turtle).

Every writer streams: procedures are read in chunks of CHUNK_SIZE with their children (a fixed number of queries
per chunk, never one per procedure), and each chunk is written out before the next is read, so memory stays
flat at 100,000 procedures. `snapshot()` writes all four files in one pass over the catalogue and swaps them in
atomically. Writers take binary or text streams (open text files with newline="").

CPSV-AP 3.2.0: each chunk becomes a list of RDF nodes (subject, classes, predicate → objects), written out as
Turtle and as JSON-LD by the small serializers at the end of this module. They write what rdflib's would, ten
times faster (measured: ~4.5 µs of CPU per triple to build and write, against ~45 µs for an rdflib Graph and its
Turtle serializer, which is 4–5 minutes for the ~6 million triples of 100,000 procedures). The tests parse
both files back with rdflib, check that they hold the same triples and validate them with pyshacl against the
official SHACL shapes. Nodes shared between procedures (institutions, topics, code-list concepts, legal
resources) are described once, in the chunk that first needs them, so each triple is written exactly once.

Mapping (the official shapes decide where they are stricter than the CPSV-AP prose):
- a Procedure is a cpsv:PublicService at {base}/procedures/{code}; an Institution a cv:PublicOrganisation at
  {base}/institutions/{code}, with dct:spatial the country (EU country table) as a dct:Location, and a
  cv:ContactPoint (email, telephone, contact page, opening hours of the head office as time:TemporalEntity);
- cv:hasValue is xsd:double (as the shapes require), written with the exact lexical form of the amount
  ("12.50"); the currency is the EU currency table concept;
- document requirements are cpsv:hasInput → cv:Evidence; conditions are cv:holdsRequirement → cv:Requirement,
  also typed cv:Criterion (the CCCEV subclass for conditions);
- topics are cv:isClassifiedBy → skos:Concept; life events cv:isGroupedBy → cv:LifeEvent (and cv:Event);
- code-list values (channel types, audiences, currencies, languages, status) are typed skos:Concept with
  skos:inScheme, languages also dct:LinguisticSystem; EU authority tables for languages, currencies, country.
"""

from __future__ import annotations

import csv
import functools
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

from . import selectors
from .models import Fee, Institution, LegalBasis, Procedure, Requirement, Step, Topic

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
CHUNK_SIZE = 500
RELATIONS = ("requirements", "fees", "legal_basis", "steps", "topics")
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

PREFIXES = {
    "adms": "http://www.w3.org/ns/adms#",
    "cpsv": "http://purl.org/vocab/cpsv#",
    "cv": "http://data.europa.eu/m8g/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "eli": "http://data.europa.eu/eli/ontology#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "locn": "http://www.w3.org/ns/locn#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "time": "http://www.w3.org/2006/time#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
# ISO 639-1 (as stored on procedures) → the EU Language authority table; other codes get a concept of our own.
EU_LANGUAGE_CODES = {
    "es": "SPA",
    "en": "ENG",
    "fr": "FRA",
    "pt": "POR",
    "de": "DEU",
    "it": "ITA",
    "zh": "ZHO",
}
ADMS_STATUS_SCHEME = "http://purl.org/adms/status/1.0"
ADMS_COMPLETED = "http://purl.org/adms/status/Completed"

# Class names of the official CPSV-AP 3.2.0 JSON-LD context (cpsv-ap.jsonld), so "@type" reads as in the
# official examples. The rest of the official context (one term per class and property, such as
# "PublicService.name") is ambiguous for compaction, so properties are written as compact IRIs with the
# prefixes above, as the official examples do. A test checks these names against the official file.
JSONLD_CLASS_TERMS = {
    "Address": "locn:Address",
    "BusinessEvent": "cv:BusinessEvent",
    "Channel": "cv:Channel",
    "Concept": "skos:Concept",
    "ContactPoint": "cv:ContactPoint",
    "Cost": "cv:Cost",
    "Document": "foaf:Document",
    "Event": "cv:Event",
    "Evidence": "cv:Evidence",
    "LegalResource": "eli:LegalResource",
    "LifeEvent": "cv:LifeEvent",
    "LinguisticSystem": "dct:LinguisticSystem",
    "Location": "dct:Location",
    "Output": "cv:Output",
    "PublicOrganization": "cv:PublicOrganisation",
    "PublicService": "cpsv:PublicService",
    "Requirement": "cv:Requirement",
    "TemporalEntity": "time:TemporalEntity",
}
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


def expand(curie: str) -> str:
    """cv:Cost → http://data.europa.eu/m8g/Cost"""
    prefix, local = curie.split(":", 1)
    return PREFIXES[prefix] + local


JSONLD_CONTEXT = {**PREFIXES, **{term: expand(curie) for term, curie in JSONLD_CLASS_TERMS.items()}}
_TYPE_TERM = {curie: term for term, curie in JSONLD_CLASS_TERMS.items()}


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


def snapshot(
    directory: Path, base_url: str = DEFAULT_BASE_URL, formats: Iterable[str] = tuple(FILENAMES)
) -> dict[str, Path]:
    """Write catalogue.json/.csv/.jsonld/.ttl (or only the formats given) into directory in one pass, each
    atomically (temporary file in the same directory, fsync, os.replace), so readers never see a half-written file.

    Returns {format: path}."""
    wanted = {fmt: FILENAMES[fmt] for fmt in formats}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    temporary: dict[str, Path] = {}
    handles = {}
    try:
        for fmt, name in wanted.items():
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
        for fmt, name in wanted.items():
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

    def chunks(self, relations: Iterable[str] = RELATIONS) -> Iterator[list[Procedure]]:
        """Published procedures by code, CHUNK_SIZE at a time, each chunk with the relations asked for (some of
        requirements, fees, legal_basis, steps, topics): one query per relation per chunk, whatever its size.

        The children are read with one plain query per relation and handed to each procedure as its prefetched
        objects, as prefetch_related does, but without the queryset prefetch_related clones per procedure and
        relation (most of its time). Institutions and topics are the ones loaded once for the whole export.
        A relation not asked for is not prefetched (reading it would query, not return nothing)."""
        relations = [name for name in RELATIONS if name in set(relations)]
        topics_by_id = {t.id: t for t in self.topics}
        procedures = selectors.published_procedures().order_by("code").iterator(chunk_size=CHUNK_SIZE)
        while chunk := list(itertools.islice(procedures, CHUNK_SIZE)):
            by_id = {}
            for procedure in chunk:
                by_id[procedure.id] = procedure
                procedure._prefetched_objects_cache = {name: _Prefetched() for name in relations}
                if institution := self.institutions.get(procedure.institution_id):
                    procedure.institution = institution
            for name in relations:
                if name == "topics":
                    links = Procedure.topics.through.objects.filter(procedure_id__in=by_id)
                    for procedure_id, topic_id in links.values_list("procedure_id", "topic_id"):
                        by_id[procedure_id]._prefetched_objects_cache[name].append(topics_by_id[topic_id])
                    for procedure in chunk:
                        procedure._prefetched_objects_cache[name].sort(key=lambda topic: topic.code)
                    continue
                for child in (
                    _CHILDREN[name].objects.filter(procedure_id__in=by_id).order_by("position", "pk")
                ):
                    if name == "requirements" and child.issuer_id in self.institutions:
                        child.issuer = self.institutions[child.issuer_id]
                    by_id[child.procedure_id]._prefetched_objects_cache[name].append(child)
            yield chunk


class _Prefetched(list):
    """Prefetched related objects: what procedure.<relation>.all() returns during an export."""

    def all(self):
        return self

    def count(self) -> int:
        return len(self)

    def exists(self) -> bool:
        return bool(self)


_CHILDREN = {"requirements": Requirement, "fees": Fee, "legal_basis": LegalBasis, "steps": Step}


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
    relations = set().union(*(writer.RELATIONS for writer in writers))
    if rdf:
        relations |= _RdfBuilder.RELATIONS
    shared = rdf.shared_nodes() if rdf else None
    for writer in writers:
        writer.begin(shared)
    for chunk in catalogue.chunks(relations):
        nodes = rdf.chunk_nodes(chunk) if rdf else None
        for writer in writers:
            writer.chunk(chunk, nodes)
    for writer in writers:
        writer.end()
        writer.out.flush()


class _JsonWriter:
    RELATIONS = frozenset(RELATIONS)

    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue, self.first = out, catalogue, True

    def begin(self, _nodes) -> None:
        head = {"generated_at": self.catalogue.generated_at, "licence": _licence()}
        self.out.write(_dumps(head)[:-1] + ',\n"procedures":[')

    def chunk(self, procedures: list[Procedure], _nodes) -> None:
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
    return settings.VENTANILLA_OPEN_DATA_LICENCE


class _CsvWriter:
    RELATIONS = frozenset({"requirements", "fees"})

    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue = out, catalogue
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def begin(self, _nodes) -> None:
        self.csv.writerow(CSV_COLUMNS)
        self._drain()

    def chunk(self, procedures: list[Procedure], _nodes) -> None:
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
# CPSV-AP 3.2.0: nodes


class _Node:
    """One RDF subject: its IRI, its classes (CURIEs) and predicate (CURIE) → objects, in insertion order and
    without repeats. An object is ("@id", iri) or (text, language or None, datatype CURIE or None)."""

    __slots__ = ("iri", "props", "types")

    def __init__(self, iri: str, *types: str):
        self.iri, self.types, self.props = iri, list(types), {}

    def add(self, predicate: str, value: tuple) -> None:
        self.props.setdefault(predicate, {})[value] = None

    def link(self, predicate: str, iri: str) -> None:
        self.add(predicate, ("@id", iri))

    def literal(self, predicate: str, text, datatype: str | None = None) -> None:
        self.add(predicate, (str(text), None, datatype))

    def texts(self, predicate: str, es: str, en: str) -> None:
        """The Spanish and English versions of a text, each only when there is one."""
        for text, language in ((es, "es"), (en, "en")):
            if text and (text := text.strip()):
                self.add(predicate, (text, language, None))


_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _iri(value: str) -> str:
    """An IRI as it may appear in Turtle and JSON-LD alike: characters IRIs forbid are percent-encoded."""
    if _IRI_UNSAFE.search(value):
        return _IRI_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), value)
    return value


class _RdfBuilder:
    """Turns procedures into nodes, chunk by chunk; shared nodes are described once per export."""

    RELATIONS = frozenset({"requirements", "fees", "legal_basis", "topics"})

    def __init__(self, catalogue: _Catalogue):
        self.catalogue = catalogue
        self.base = _iri(catalogue.base_url)
        self.described: set[str] = set()
        self.nodes: list[_Node] = []  # collected for the chunk being built
        self.country = f"{EU_AUTHORITY}country/{settings.VENTANILLA_COUNTRY}"
        self.contact_points: dict = {}

    def iri(self, *parts: str) -> str:
        return "/".join((self.base, *parts))

    def institution_iri(self, code: str) -> str:
        return self.iri("institutions", code)

    def topic_iri(self, topic: Topic) -> str:
        return self.iri("life-events" if topic.kind == Topic.Kind.LIFE_EVENT else "topics", topic.code)

    def node(self, iri: str, *types: str) -> _Node:
        node = _Node(iri, *types)
        self.nodes.append(node)
        return node

    def once(self, iri: str) -> bool:
        """True the first time a shared node comes up in this export: describe it now."""
        if iri in self.described:
            return False
        self.described.add(iri)
        return True

    def take(self) -> list[_Node]:
        nodes, self.nodes = self.nodes, []
        return nodes

    # Shared nodes
    def shared_nodes(self) -> list[_Node]:
        for institution in self.catalogue.institutions.values():
            self.add_institution(institution)
        for topic in self.catalogue.topics:
            self.add_topic(topic)
        return self.take()

    def add_institution(self, institution: Institution) -> str:
        iri = self.institution_iri(institution.code)
        if not self.once(iri):
            return iri
        node = self.node(iri, "cv:PublicOrganisation")
        node.literal("dct:identifier", institution.code)
        node.texts("skos:prefLabel", institution.name_es, institution.name_en)
        if institution.acronym and institution.acronym not in (institution.name_es, institution.name_en):
            node.literal("skos:altLabel", institution.acronym)
        node.texts("dct:description", institution.description_es, institution.description_en)
        node.link("dct:spatial", self.add_country())
        if institution.website:
            node.link("foaf:homepage", self.add_document(institution.website))
        offices = list(institution.offices.all())
        head = offices[0] if offices else None
        if head and head.address:
            address = self.node(f"{iri}#address", "locn:Address")
            node.link("locn:address", address.iri)
            address.texts("locn:fullAddress", head.address, "")
            address.texts("locn:adminUnitL2", institution.province, "")
        if contact := self.contact_point_iri(institution):
            point = self.node(contact, "cv:ContactPoint")
            if institution.email:
                point.literal("cv:email", institution.email)
            if phone := institution.phone or (head.phone if head else ""):
                point.literal("cv:telephone", phone)
            if institution.website:
                point.link("cv:contactPage", self.add_document(institution.website))
            if head and (head.hours_es or head.hours_en):
                hours = self.node(f"{iri}#opening-hours", "time:TemporalEntity")
                hours.texts("dct:description", head.hours_es, head.hours_en)
                point.link("cv:openingHours", hours.iri)
        return iri

    def contact_point_iri(self, institution: Institution) -> str | None:
        if institution.id not in self.contact_points:
            offices = list(institution.offices.all())
            head = offices[0] if offices else None
            has_hours = bool(head and (head.hours_es or head.hours_en))
            phone = institution.phone or (head.phone if head else "")
            reachable = institution.email or phone or has_hours or institution.website
            self.contact_points[institution.id] = (
                f"{self.institution_iri(institution.code)}#contact-point" if reachable else None
            )
        return self.contact_points[institution.id]

    def add_document(self, url: str) -> str:
        iri = _iri(url)
        if self.once(iri):
            self.node(iri, "foaf:Document")
        return iri

    def add_country(self) -> str:
        if self.once(self.country):
            self.node(self.country, "dct:Location", "skos:Concept").link(
                "skos:inScheme", EU_AUTHORITY + "country"
            )
        return self.country

    def add_scheme(self, scheme: str) -> str:
        iri = self.iri("vocabularies", scheme)
        if self.once(iri):
            self.node(iri, "skos:ConceptScheme").texts(
                "skos:prefLabel", *SCHEME_LABELS.get(scheme, (scheme, scheme))
            )
        return iri

    def add_concept(self, scheme: str, code: str, labels: tuple[str, str] | None, *types: str) -> str:
        iri = self.iri("vocabularies", scheme, _slug(code))
        if self.once(iri):
            node = self.node(iri, *types, "skos:Concept")
            node.link("skos:inScheme", self.add_scheme(scheme))
            node.literal("skos:notation", code)
            node.texts("skos:prefLabel", *(labels or (code, code)))
        return iri

    def add_topic(self, topic: Topic) -> str:
        iri = self.topic_iri(topic)
        if not self.once(iri):
            return iri
        if topic.kind == Topic.Kind.LIFE_EVENT:
            node = self.node(iri, "cv:Event", "cv:LifeEvent")
            node.literal("dct:identifier", topic.code)
            node.texts("dct:title", topic.name_es, topic.name_en)
        else:
            node = self.node(iri, "skos:Concept")
            node.link("skos:inScheme", self.add_scheme("topics"))
            node.literal("skos:notation", topic.code)
            node.texts("skos:prefLabel", topic.name_es, topic.name_en)
        return iri

    def add_language(self, code: str) -> str:
        if not (
            eu_code := EU_LANGUAGE_CODES.get(code.lower())
        ):  # our own concept rather than a guessed EU code
            return self.add_concept("languages", code, None, "dct:LinguisticSystem")
        iri = f"{EU_AUTHORITY}language/{eu_code}"
        if self.once(iri):
            self.node(iri, "dct:LinguisticSystem", "skos:Concept").link(
                "skos:inScheme", EU_AUTHORITY + "language"
            )
        return iri

    def add_currency(self, code: str) -> str:
        iri = f"{EU_AUTHORITY}currency/{_slug(code).upper()}"
        if self.once(iri):
            self.node(iri, "skos:Concept").link("skos:inScheme", EU_AUTHORITY + "currency")
        return iri

    def add_status(self) -> str:
        if self.once(ADMS_COMPLETED):
            self.node(ADMS_COMPLETED, "skos:Concept").link("skos:inScheme", ADMS_STATUS_SCHEME)
        return ADMS_COMPLETED

    def add_legal_resource(self, instrument: str, article: str) -> str:
        law = self.iri("legal-resources", _slug(instrument))
        if self.once(law):
            self.node(law, "eli:LegalResource").texts("eli:title", instrument, "")
        if not article:
            return law
        iri = f"{law}/{_slug(article)}"
        if self.once(iri):
            node = self.node(iri, "eli:LegalResource")
            node.texts("eli:title", f"{instrument}, {article}", "")
            node.link("eli:is_part_of", law)
        return iri

    # Procedures
    def chunk_nodes(self, procedures: Iterable[Procedure]) -> list[_Node]:
        for procedure in procedures:
            self.add_procedure(procedure)
        return self.take()

    def add_procedure(self, procedure: Procedure) -> None:
        code = procedure.code
        iri = self.iri("procedures", code)
        node = self.node(iri, "cpsv:PublicService")
        node.literal("dct:identifier", code)
        node.texts("dct:title", procedure.title_es, procedure.title_en)
        node.texts("dct:description", procedure.description_es, procedure.description_en)
        node.link("cv:hasCompetentAuthority", self.add_institution(procedure.institution))
        if contact_point := self.contact_point_iri(procedure.institution):
            node.link("cv:contactPoint", contact_point)
        node.link("dcat:landingPage", self.add_document(self.catalogue.procedure_page(code)))
        node.link("adms:status", self.add_status())
        for audience in ["citizen", "business"] if procedure.audience == "both" else [procedure.audience]:
            node.link("dct:audience", self.add_concept("audiences", audience, AUDIENCE_LABELS.get(audience)))
        for language in procedure.languages:
            node.link("dct:language", self.add_language(language))
        days = procedure.typical_days if procedure.typical_days is not None else procedure.max_days
        if days is not None:
            node.literal("cv:processingTime", f"P{days}D", "xsd:duration")
        for topic in procedure.topics.all():
            predicate = "cv:isGroupedBy" if topic.kind == Topic.Kind.LIFE_EVENT else "cv:isClassifiedBy"
            node.link(predicate, self.add_topic(topic))
        for channel_code in procedure.channels:
            channel = self.node(f"{iri}#channel-{_slug(channel_code)}", "cv:Channel")
            node.link("cv:hasChannel", channel.iri)
            channel.literal("dct:identifier", f"{code}/channel/{channel_code}")
            channel.link(
                "dct:type", self.add_concept("channel-types", channel_code, CHANNEL_LABELS.get(channel_code))
            )
        for n, fee in enumerate(procedure.fees.all(), start=1):
            cost = self.node(f"{iri}#cost-{n}", "cv:Cost")
            node.link("cv:hasCost", cost.iri)
            cost.literal("dct:identifier", f"{code}/cost/{n}")
            cost.literal("cv:hasValue", f"{fee.amount:.2f}", "xsd:double")  # the shapes want a double
            cost.link("cv:currency", self.add_currency(fee.currency))
            cost.texts("dct:description", fee.conditions_es, fee.conditions_en)
        for basis in procedure.legal_basis.all():
            node.link("cv:hasLegalResource", self.add_legal_resource(basis.instrument, basis.article))
        for n, requirement in enumerate(procedure.requirements.all(), start=1):
            if requirement.kind == Requirement.Kind.DOCUMENT:
                item = self.node(f"{iri}#evidence-{n}", "cv:Evidence")
                node.link("cpsv:hasInput", item.iri)
                item.literal("dct:identifier", f"{code}/evidence/{n}")
            else:
                item = self.node(f"{iri}#requirement-{n}", "cv:Requirement", "cv:Criterion")
                node.link("cv:holdsRequirement", item.iri)
                item.literal("dct:identifier", f"{code}/requirement/{n}")
            item.texts("dct:title", requirement.name_es, requirement.name_en)
            item.texts("dct:description", requirement.format_es, requirement.format_en)
        if procedure.output_es.strip() or procedure.output_en.strip():
            output = self.node(f"{iri}#output", "cv:Output")
            node.link("cpsv:produces", output.iri)
            output.literal("dct:identifier", f"{code}/output")
            output.texts("dct:title", procedure.output_es, procedure.output_en)
            output.texts("dct:description", procedure.validity_es, procedure.validity_en)


@functools.lru_cache(maxsize=4096)
def _slug(text: str) -> str:
    return slugify(text)[:100].strip("-") or hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# ------------------------------------------------------------------------------------------------------------
# CPSV-AP 3.2.0: Turtle and JSON-LD


_TURTLE_ESCAPES = {
    **{code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F)},
    ord("\\"): "\\\\",
    ord('"'): '\\"',
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def _turtle_object(value: tuple) -> str:
    if value[0] == "@id":
        return f"<{value[1]}>"
    text, language, datatype = value
    quoted = '"' + text.translate(_TURTLE_ESCAPES) + '"'
    if language:
        return f"{quoted}@{language}"
    return f"{quoted}^^{datatype}" if datatype else quoted


def _turtle(node: _Node) -> str:
    if not (node.types or node.props):
        return ""
    lines = [f"<{node.iri}>" + (" a " + ", ".join(node.types) if node.types else "")]
    for predicate, values in node.props.items():
        lines.append(f"    {predicate} " + ",\n        ".join(_turtle_object(v) for v in values))
    return " ;\n".join(lines) + " .\n\n"


class _TurtleWriter:
    RELATIONS = frozenset()  # what they need, _RdfBuilder reads

    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.catalogue = out, catalogue

    def begin(self, nodes: list[_Node]) -> None:
        self.out.write(
            f"# Public service catalogue of {self.catalogue.base_url} in CPSV-AP 3.2.0.\n"
            f"# Generated at {self.catalogue.generated_at}. Licence: {_licence()}\n\n"
        )
        self.out.write("".join(f"@prefix {prefix}: <{ns}> .\n" for prefix, ns in PREFIXES.items()) + "\n")
        self.chunk(None, nodes)

    def chunk(self, _procedures, nodes: list[_Node]) -> None:
        self.out.write("".join(_turtle(node) for node in nodes))

    def end(self) -> None:
        pass


def _jsonld_object(value: tuple) -> dict:
    if value[0] == "@id":
        return {"@id": value[1]}
    text, language, datatype = value
    if language:
        return {"@value": text, "@language": language}
    return {"@value": text, "@type": datatype} if datatype else {"@value": text}


def _jsonld(node: _Node) -> dict:
    document: dict = {"@id": node.iri}
    if node.types:
        document["@type"] = [_TYPE_TERM.get(curie, curie) for curie in node.types]
    for predicate, values in node.props.items():
        document[predicate] = [_jsonld_object(v) for v in values]
    return document


class _JsonLdWriter:
    """{"@context", "@graph"} with one node object per subject, one per line. Values are explicit value
    objects, so numbers keep their lexical form and nothing depends on term coercion."""

    RELATIONS = frozenset()  # what they need, _RdfBuilder reads

    def __init__(self, out: _Text, catalogue: _Catalogue):
        self.out, self.first = out, True

    def begin(self, nodes: list[_Node]) -> None:
        self.out.write('{"@context":' + _dumps(JSONLD_CONTEXT) + ',\n"@graph":[')
        self.chunk(None, nodes)

    def chunk(self, _procedures, nodes: list[_Node]) -> None:
        for node in nodes:
            self.out.write(("\n" if self.first else ",\n") + _dumps(_jsonld(node)))
            self.first = False

    def end(self) -> None:
        self.out.write("\n]}\n")
