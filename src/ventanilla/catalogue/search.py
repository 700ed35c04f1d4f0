"""Full-text search of published procedures: one interface, an engine per database.

Spanish and English, accent- and case-insensitive, stemmed, tolerant of prefixes (as you type), words ANDed, a
title match ranked above a description-only match.

- SQLite: an FTS5 index of text analysed here in Python (Snowball stems), with the filters as facet tokens so a
  filtered query stays an index intersection.
- PostgreSQL: tsvectors built with the ventanilla_es / ventanilla_en configurations (unaccent + Snowball),
  weight A for titles and B for the rest, in a GIN index.

The structures are created by migration 0003_search; `reindex()` keeps them in step with the catalogue.
"""

import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from django.db import connection, transaction

from .models import Institution, Procedure, Requirement, Topic

PUBLISHED = Procedure.Status.PUBLISHED
INDEX_TABLE = "catalogue_procedure_search"  # on every database; its shape differs (see the migration)
MAX_TERMS = 8  # words beyond this add cost, not precision
CHUNK = 2000  # procedures per round trip when indexing (well under SQLite's limit on query parameters)

# Dropped from queries (and, on SQLite, from the index) unless the query has nothing else.
STOPWORDS = frozenset(
    [
        "a",
        "al",
        "ante",
        "con",
        "de",
        "del",
        "e",
        "el",
        "en",
        "la",
        "las",
        "lo",
        "los",
        "o",
        "para",
        "por",
        "se",
        "su",
        "sus",
        "u",
        "un",
        "una",
        "y",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "your",
    ]
)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchPage:
    ids: list[uuid.UUID]
    total: int


@dataclass(frozen=True)
class _Filters:
    institution: str | None
    level: int | None
    audience: str | None
    topic: str | None

    def __bool__(self):
        return any(v is not None for v in (self.institution, self.level, self.audience, self.topic))


# ---------------------------------------------------------------------------------------------------------------
# Public interface


def reindex(procedure_ids=None) -> None:
    """Bring the index in step with the catalogue: for the given procedures, or everything (None)."""
    ids = None if procedure_ids is None else list(dict.fromkeys(procedure_ids))
    if ids == []:
        return
    with transaction.atomic():  # also one FTS5 flush instead of one per row in autocommit
        _engine().reindex(ids)


def search(
    *,
    q: str,
    institution: str | None = None,
    level: int | None = None,
    audience: str | None = None,
    topic: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """Published procedures matching q and the filters, best first (by title when q has no words)."""
    filters = _Filters(
        institution or None, None if level in (None, "") else int(level), audience or None, topic or None
    )
    limit, offset = max(0, int(limit)), max(0, int(offset))
    terms = query_terms(q)
    if not terms:
        return _browse(filters, limit, offset)
    if limit == 0:
        return SearchPage([], _engine().count(terms, filters))
    return _engine().search(terms, filters, limit, offset)


def indexed_count() -> int:
    """How many procedures the index holds: less than the published ones means it needs a reindex()."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {INDEX_TABLE}")
        return cursor.fetchone()[0]


def suggest(*, q: str, limit: int = 8) -> list[dict]:
    """Titles of published procedures for as-you-type suggestions."""
    terms = query_terms(q)
    if not terms or limit <= 0:
        return []
    ids = _engine().suggest(terms, limit)
    rows = {
        r["id"]: r
        for r in Procedure.objects.filter(id__in=ids, status=PUBLISHED).values(
            "id", "code", "title_es", "title_en"
        )
    }
    return [{k: rows[i][k] for k in ("code", "title_es", "title_en")} for i in ids if i in rows]


# ---------------------------------------------------------------------------------------------------------------
# Text analysis (shared by the index and the queries on SQLite; PostgreSQL's queries use it to find the words)

_stemmers = threading.local()  # Snowball stemmers keep state between calls: one per thread


def _stem(language: str, word: str) -> str:
    stemmer = getattr(_stemmers, language, None)
    if stemmer is None:
        stemmer = snowballstemmer.stemmer(language)
        setattr(_stemmers, language, stemmer)
    return stemmer.stemWord(word)


def fold(text: str) -> str:
    """Lower case without accents: 'Pasaporte ÑAME' -> 'pasaporte name'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


@lru_cache(maxsize=200_000)
def _index_forms(language: str, word: str) -> tuple[str, ...]:
    """The tokens indexed for a word: the word itself, plus its stem when the stem is not a prefix of it (prefix
    queries on the word cover the stem otherwise: 'licencias' -> 'licencias'; 'families' -> 'families famili')."""
    raw = fold(word)
    if word in STOPWORDS:
        return ()
    stem = fold(_stem(language, word))
    return (raw,) if raw.startswith(stem) else (raw, stem)


@lru_cache(maxsize=100_000)  # catalogue texts repeat a lot (requirements, institutions, topics, templates)
def analyse(text: str, language: str) -> str:
    """Text as the SQLite index holds it: folded words and irregular stems, separated by spaces."""
    return " ".join(token for word in _words(text) for token in _index_forms(language, word))


@lru_cache(maxsize=20_000)
def _query_forms(word: str) -> tuple[str, ...]:
    """Prefixes that find a query word in either language: the word and its Spanish and English stems, keeping
    only the shortest of forms that are prefixes of one another ('licencias' -> 'licenc')."""
    raw = fold(word)
    stems = {fold(_stem(language, word)) for language in ("spanish", "english")}
    forms = {raw} | {s for s in stems if len(s) >= 3}
    return tuple(sorted(f for f in forms if not any(f != g and f.startswith(g) for g in forms)))


def query_terms(q: str) -> list[str]:
    """The words of a query that count: at most MAX_TERMS, stopwords dropped unless there is nothing else."""
    words = list(dict.fromkeys(_words(q or "")))
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:MAX_TERMS]


# ---------------------------------------------------------------------------------------------------------------
# Empty query: browse by title (the same on every database)


def _filtered(filters: _Filters):
    queryset = Procedure.objects.filter(status=PUBLISHED)
    if filters.institution:
        queryset = queryset.filter(institution__code=filters.institution)
    if filters.level is not None:
        queryset = queryset.filter(level=filters.level)
    if filters.audience:
        queryset = queryset.filter(audience__in=[filters.audience, Procedure.Audience.BOTH])
    if filters.topic:
        queryset = queryset.filter(topics__code=filters.topic)
    return queryset


def _browse(filters: _Filters, limit: int, offset: int) -> SearchPage:
    queryset = _filtered(filters)
    ids = list(queryset.order_by("title_es", "code").values_list("id", flat=True)[offset : offset + limit])
    return SearchPage(ids, queryset.count())


def _keep_published(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The index only holds published procedures; this guards a page against one changed behind its back."""
    published = set(Procedure.objects.filter(id__in=ids, status=PUBLISHED).values_list("id", flat=True))
    return [i for i in ids if i in published]


# ---------------------------------------------------------------------------------------------------------------
# What gets indexed for a procedure (read in bulk)


@dataclass
class _Doc:
    id: uuid.UUID
    title_es: str
    title_en: str
    body_es: list[str]
    body_en: list[str]
    institution: str
    level: int
    audience: str
    topics: list[str]
    generated: bool


def _documents(ids: list[uuid.UUID]) -> list[_Doc]:
    """Published procedures among ids, with everything their index entry needs, in three queries."""
    institutions = {i.id: i for i in Institution.objects.all()}
    topics = {t.id: t for t in Topic.objects.all()}
    docs = {}
    for row in Procedure.objects.filter(id__in=ids, status=PUBLISHED).values_list(
        "id",
        "title_es",
        "title_en",
        "description_es",
        "description_en",
        "institution_id",
        "level",
        "audience",
        "generated",
    ):
        (
            pid,
            title_es,
            title_en,
            description_es,
            description_en,
            institution_id,
            level,
            audience,
            generated,
        ) = row
        inst = institutions[institution_id]
        docs[pid] = _Doc(
            pid,
            title_es,
            title_en,
            [description_es, inst.name_es, inst.acronym],
            [description_en, inst.name_en],
            inst.code,
            level,
            audience,
            [],
            generated,
        )
    for pid, name_es, name_en in Requirement.objects.filter(procedure_id__in=docs).values_list(
        "procedure_id", "name_es", "name_en"
    ):
        docs[pid].body_es.append(name_es)
        docs[pid].body_en.append(name_en)
    for pid, topic_id in Procedure.topics.through.objects.filter(procedure_id__in=docs).values_list(
        "procedure_id", "topic_id"
    ):
        topic = topics[topic_id]
        docs[pid].topics.append(topic.code)
        docs[pid].body_es.append(topic.name_es)
        docs[pid].body_en.append(topic.name_en)
    return list(docs.values())


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _all_published_ids() -> list[uuid.UUID]:
    return list(Procedure.objects.filter(status=PUBLISHED).order_by().values_list("id", flat=True))


# ---------------------------------------------------------------------------------------------------------------
# SQLite: FTS5


def _facet(kind: str, value) -> str:
    # Hex keeps any code (hyphens, accents, hostile input) a single plain token that no query word can hit.
    return kind + str(value).encode().hex()


class _SQLite:
    SIDE, FTS = INDEX_TABLE, "catalogue_procedure_fts"
    # A title hit outweighs many description hits (FTS5's bm25 saturates the weighted frequency).
    RANK = "bm25(0.0, 50.0, 1.0, 0.0)"
    # bm25 costs ~1 µs a row; above this many matches, order by the index's row order instead (see _row_key).
    EXACT_RANK_MAX = 1500
    SEQ_BITS = 40

    # -- indexing

    def _row_key(self, doc: _Doc, seq: int) -> int:
        """The FTS rowid doubles as a static rank for broad queries: curated procedures before generated ones,
        then shorter titles (what bm25 on the title alone would put first), then order of indexing."""
        words = min(len(_words(doc.title_es)), 4095)
        return (int(doc.generated) << 52) | (words << self.SEQ_BITS) | seq

    def _row(self, doc: _Doc, seq: int) -> tuple:
        title = f"{analyse(doc.title_es, 'spanish')} {analyse(doc.title_en, 'english')}"
        body = " ".join(
            [*(analyse(t, "spanish") for t in doc.body_es), *(analyse(t, "english") for t in doc.body_en)]
        )
        audiences = ["citizen", "business", "both"] if doc.audience == "both" else [doc.audience]
        facets = " ".join(
            [
                _facet("l", doc.level),
                _facet("i", doc.institution),
                *(_facet("a", a) for a in audiences),
                *(_facet("t", t) for t in doc.topics),
            ]
        )
        return self._row_key(doc, seq), doc.id.hex, title, body, facets

    def reindex(self, ids: list | None) -> None:
        with connection.cursor() as cursor:
            if ids is None:
                cursor.execute(f"INSERT INTO {self.FTS}({self.FTS}) VALUES ('delete-all')")
                cursor.execute(f"DELETE FROM {self.SIDE}")
                ids, seq = _all_published_ids(), 0
            else:
                for chunk in _chunks(ids, 500):
                    marks = ", ".join(["%s"] * len(chunk))
                    hexes = [i.hex if isinstance(i, uuid.UUID) else uuid.UUID(str(i)).hex for i in chunk]
                    cursor.execute(
                        f"INSERT INTO {self.FTS}({self.FTS}, rowid, procedure_id, title, body, facets) "
                        f"SELECT 'delete', id, procedure_id, title, body, facets FROM {self.SIDE} "
                        f"WHERE procedure_id IN ({marks})",
                        hexes,
                    )
                    cursor.execute(f"DELETE FROM {self.SIDE} WHERE procedure_id IN ({marks})", hexes)
                cursor.execute(f"SELECT coalesce(max(id & {(1 << self.SEQ_BITS) - 1}), 0) FROM {self.SIDE}")
                seq = cursor.fetchone()[0]
            for chunk in _chunks(ids):
                rows = []
                for doc in _documents(chunk):
                    seq += 1
                    rows.append(self._row(doc, seq))
                cursor.executemany(
                    f"INSERT INTO {self.SIDE} (id, procedure_id, title, body, facets) VALUES (%s, %s, %s, %s, %s)",
                    rows,
                )
                cursor.executemany(
                    f"INSERT INTO {self.FTS} (rowid, procedure_id, title, body, facets) VALUES (%s, %s, %s, %s, %s)",
                    rows,
                )
            if len(ids) > 1000:  # merge the index segments a bulk load leaves behind: faster queries
                cursor.execute(f"INSERT INTO {self.FTS}({self.FTS}) VALUES ('optimize')")

    # -- queries

    @staticmethod
    def _terms_expr(terms: list[str]) -> str:
        def term(word):
            forms = _query_forms(word)
            if len(word) == 1:  # a one-letter prefix would expand to half the vocabulary
                return f'"{fold(word)}"'
            return "(" + " OR ".join(f'"{f}"*' for f in forms) + ")"

        return " AND ".join(term(w) for w in terms)

    @staticmethod
    def _facets_expr(filters: _Filters) -> str:
        facets = [
            _facet("i", filters.institution) if filters.institution else None,
            _facet("l", filters.level) if filters.level is not None else None,
            _facet("a", filters.audience) if filters.audience else None,
            _facet("t", filters.topic) if filters.topic else None,
        ]
        return " AND ".join(f'"{f}"' for f in facets if f)

    def _match(self, terms: list[str], filters: _Filters, columns: str = "title body") -> str:
        match = f"{{{columns}}} : ({self._terms_expr(terms)})"
        if filters:
            match = f"({match}) AND {{facets}} : ({self._facets_expr(filters)})"
        return match

    def _count(self, cursor, match: str) -> int:
        cursor.execute(f"SELECT count(*) FROM {self.FTS} WHERE {self.FTS} MATCH %s", [match])
        return cursor.fetchone()[0]

    def _ranked(self, cursor, match: str, limit: int, offset: int) -> list[uuid.UUID]:
        cursor.execute(
            f"SELECT procedure_id FROM {self.FTS} WHERE {self.FTS} MATCH %s AND rank MATCH %s "
            f"ORDER BY rank LIMIT %s OFFSET %s",
            [match, self.RANK, limit, offset],
        )
        return [uuid.UUID(r[0]) for r in cursor.fetchall()]

    def _in_row_order(self, cursor, match: str, limit: int, offset: int) -> list[uuid.UUID]:
        cursor.execute(
            f"SELECT procedure_id FROM {self.FTS} WHERE {self.FTS} MATCH %s ORDER BY rowid LIMIT %s OFFSET %s",
            [match, limit, offset],
        )
        return [uuid.UUID(r[0]) for r in cursor.fetchall()]

    def count(self, terms, filters) -> int:
        with connection.cursor() as cursor:
            return self._count(cursor, self._match(terms, filters))

    def search(self, terms, filters, limit, offset) -> SearchPage:
        match = self._match(terms, filters)
        with connection.cursor() as cursor:
            total = self._count(cursor, match)
            if offset >= total:
                return SearchPage([], total)
            if total <= self.EXACT_RANK_MAX:
                return SearchPage(_keep_published(self._ranked(cursor, match, limit, offset)), total)
            # A broad query: every procedure with all the words in its title, then the rest, each in row order.
            in_title = self._match(terms, filters, columns="title")
            titled = self._count(cursor, in_title)
            ids = self._in_row_order(cursor, in_title, limit, offset) if offset < titled else []
            if len(ids) < limit:
                rest = f"({match}) NOT ({in_title})"
                ids += self._in_row_order(cursor, rest, limit - len(ids), max(0, offset - titled))
            return SearchPage(_keep_published(ids), total)

    def suggest(self, terms, limit) -> list[uuid.UUID]:
        match = self._match(terms, _Filters(None, None, None, None), columns="title")
        with connection.cursor() as cursor:
            if self._count(cursor, match) <= self.EXACT_RANK_MAX:
                return self._ranked(cursor, match, limit, 0)
            return self._in_row_order(cursor, match, limit, 0)


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL: tsvector + GIN


class _PostgreSQL:
    TABLE = INDEX_TABLE
    # ts_rank weights {D, C, B, A}: a title (A) hit counts ten times a body (B) hit, and repeated body hits
    # add less and less, so a title match outranks a description-only one.
    WEIGHTS = "{0, 0, 0.1, 1}"

    def reindex(self, ids: list | None) -> None:
        procedure, institution = Procedure._meta.db_table, Institution._meta.db_table
        requirement, topic = Requirement._meta.db_table, Topic._meta.db_table
        through = Procedure.topics.through._meta.db_table
        with connection.cursor() as cursor:
            if ids is None:
                cursor.execute(f"DELETE FROM {self.TABLE}")
                which, params = "TRUE", []
            else:
                cursor.execute(f"DELETE FROM {self.TABLE} WHERE procedure_id = ANY(%s::uuid[])", [ids])
                which, params = "p.id = ANY(%s::uuid[])", [ids]
            cursor.execute(
                f"""
                INSERT INTO {self.TABLE} (procedure_id, document)
                SELECT p.id,
                       setweight(to_tsvector('ventanilla_es', p.title_es), 'A')
                       || setweight(to_tsvector('ventanilla_en', p.title_en), 'A')
                       || setweight(to_tsvector('ventanilla_es', concat_ws(' ', p.description_es, i.name_es, i.acronym,
                                                                           r.names_es, t.names_es)), 'B')
                       || setweight(to_tsvector('ventanilla_en', concat_ws(' ', p.description_en, i.name_en,
                                                                           r.names_en, t.names_en)), 'B')
                FROM {procedure} p
                JOIN {institution} i ON i.id = p.institution_id
                LEFT JOIN LATERAL (
                    SELECT string_agg(name_es, ' ') AS names_es, string_agg(name_en, ' ') AS names_en
                    FROM {requirement} WHERE procedure_id = p.id
                ) r ON TRUE
                LEFT JOIN LATERAL (
                    SELECT string_agg(tt.name_es, ' ') AS names_es, string_agg(tt.name_en, ' ') AS names_en
                    FROM {through} pt JOIN {topic} tt ON tt.id = pt.topic_id WHERE pt.procedure_id = p.id
                ) t ON TRUE
                WHERE p.status = %s AND {which}
                """,
                [PUBLISHED, *params],
            )

    @staticmethod
    def _tsquery(terms: list[str], weights: str) -> tuple[str, list[str]]:
        # Each word, as a prefix, through both configurations (unaccent + stem), ORed; the words ANDed. Words
        # hold only letters and digits, so they cannot carry tsquery operators.
        sql = " && ".join(
            ["(to_tsquery('ventanilla_es', %s) || to_tsquery('ventanilla_en', %s))"] * len(terms)
        )
        params = [f"'{w}':*{weights}" for w in terms for _ in range(2)]
        return sql, params

    def _where(self, filters: _Filters) -> tuple[str, list]:
        clauses, params = ["p.status = %s"], [PUBLISHED]
        if filters.institution:
            clauses.append(
                f"p.institution_id IN (SELECT id FROM {Institution._meta.db_table} WHERE code = %s)"
            )
            params.append(filters.institution)
        if filters.level is not None:
            clauses.append("p.level = %s")
            params.append(filters.level)
        if filters.audience:
            clauses.append("p.audience IN (%s, %s)")
            params += [filters.audience, Procedure.Audience.BOTH]
        if filters.topic:
            through = Procedure.topics.through._meta.db_table
            clauses.append(
                f"EXISTS (SELECT 1 FROM {through} pt JOIN {Topic._meta.db_table} t ON t.id = pt.topic_id "
                f"WHERE pt.procedure_id = p.id AND t.code = %s)"
            )
            params.append(filters.topic)
        return " AND ".join(clauses), params

    def _query(self, terms, filters, select: str, tail: str = "", weights: str = ""):
        tsquery, query_params = self._tsquery(terms, weights)
        where, where_params = self._where(filters)
        sql = (
            f"WITH q AS (SELECT {tsquery} AS query) SELECT {select} FROM {self.TABLE} s "
            f"JOIN {Procedure._meta.db_table} p ON p.id = s.procedure_id CROSS JOIN q "
            f"WHERE s.document @@ q.query AND {where} {tail}"
        )
        return sql, [*query_params, *where_params]

    def count(self, terms, filters) -> int:
        sql, params = self._query(terms, filters, "count(*)")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def search(self, terms, filters, limit, offset) -> SearchPage:
        tail = (
            f"ORDER BY ts_rank('{self.WEIGHTS}', s.document, q.query) DESC, p.title_es, p.code "
            "LIMIT %s OFFSET %s"
        )
        sql, params = self._query(terms, filters, "p.id", tail)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            ids = [r[0] for r in cursor.fetchall()]
        total = len(ids) + offset if 0 < len(ids) < limit else self.count(terms, filters)
        return SearchPage(ids, total)

    def suggest(self, terms, limit) -> list[uuid.UUID]:
        tail = "ORDER BY ts_rank(s.document, q.query) DESC, length(p.title_es), p.code LIMIT %s"
        sql, params = self._query(terms, _Filters(None, None, None, None), "p.id", tail, weights="A")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit])
            return [r[0] for r in cursor.fetchall()]


_ENGINES = {"sqlite": _SQLite(), "postgresql": _PostgreSQL()}


def _engine():
    try:
        return _ENGINES[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"Search has no engine for {connection.vendor} databases.") from None
