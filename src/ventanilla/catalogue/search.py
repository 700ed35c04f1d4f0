"""Full-text search of published procedures: one interface, an engine per database.

Spanish and English, accent- and case-insensitive, stemmed, tolerant of prefixes (typing "pasapo" finds
"pasaporte"), the words of a query ANDed, a title match ranked above a description-only match.

- SQLite: an FTS5 index of text analysed here in Python: folded words and their Snowball stems (Spanish stems for
  the _es texts, English for _en), with the filters as facet tokens so a filtered query stays an intersection of
  index lists. Ranked by bm25 with the title weighted over the body.
- PostgreSQL: tsvectors built with the ventanilla_es / ventanilla_en configurations (unaccent, then Snowball),
  weight A for the titles and B for the rest, in a GIN index. Ranked by ts_rank.

The structures are created by migration 0003_search; `reindex()` keeps them in step with the catalogue (the
catalogue's services call it after every write).
"""

import json
import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from django.db import connection, transaction

from .models import Institution, Procedure, Topic

PUBLISHED = Procedure.Status.PUBLISHED
MAX_TERMS = 8  # more words add cost, not precision
CHUNK = 2000  # procedures per round trip when indexing
LANGUAGES = ("spanish", "english")

# Left out of the SQLite index, and of every query that has other words.
_SPANISH_STOPWORDS = (
    "a al ante con de del e el en es la las le les lo los o para por que se si su sus u un una y"
)
_ENGLISH_STOPWORDS = (
    "an and are as at be by can for from in is it its of on or that the this to who with you your"
)
STOPWORDS = frozenset(_SPANISH_STOPWORDS.split() + _ENGLISH_STOPWORDS.split())
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what FTS5's unicode61 tokenizer keeps too


@dataclass(frozen=True)
class SearchPage:
    ids: list[uuid.UUID]
    total: int


@dataclass(frozen=True)
class _Filters:
    institution: str | None = None
    level: int | None = None
    audience: str | None = None
    topic: str | None = None

    def __bool__(self):
        return any(value is not None for value in (self.institution, self.level, self.audience, self.topic))


# ---------------------------------------------------------------------------------------------------------------
# Public interface


def reindex(procedure_ids=None) -> None:
    """Bring the index in step with the catalogue: for the given procedures (any status; the ones no longer
    published leave the index), or for everything (None)."""
    ids = None if procedure_ids is None else list(dict.fromkeys(procedure_ids))
    if ids == []:
        return
    with transaction.atomic():  # on SQLite also one FTS5 flush, not one per row
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
    """Published procedures matching q and the filters: best first, or by title when q has no words."""
    filters = _Filters(
        institution or None, None if level in (None, "") else int(level), audience or None, topic or None
    )
    limit, offset = max(0, int(limit)), max(0, int(offset))
    words = query_words(q)
    if not words:
        return _browse(filters, limit, offset)
    return _engine().search(words, filters, limit, offset)


def suggest(*, q: str, limit: int = 8) -> list[dict]:
    """Published procedures whose title matches what has been typed so far, for as-you-type suggestions."""
    words = query_words(q)
    if not words or limit <= 0:
        return []
    ids = _engine().suggest(words, limit)
    fields = ("id", "status", "code", "title_es", "title_en")
    rows = {r["id"]: r for r in Procedure.objects.filter(id__in=ids).order_by().values(*fields)}
    published = [rows[i] for i in ids if i in rows and rows[i]["status"] == PUBLISHED]
    return [{key: row[key] for key in ("code", "title_es", "title_en")} for row in published]


def indexed_count() -> int:
    """How many procedures the index holds (in a table of this name on every database; its shape differs): fewer
    than are published means it needs a reindex()."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalogue_procedure_search")
        return cursor.fetchone()[0]


# ---------------------------------------------------------------------------------------------------------------
# Text analysis


def fold(text: str) -> str:
    """Lower case without accents: 'Pasaporte ÑAME' -> 'pasaporte name'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    """Lower-case words, accents kept (the stemmers need them: 'licitación' and 'licitaciones' share a stem)."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


_stemmers = threading.local()  # a Snowball stemmer keeps state between calls: one per thread


@lru_cache(maxsize=100_000)
def stem(language: str, word: str) -> str:
    stemmer = getattr(_stemmers, language, None)
    if stemmer is None:
        stemmer = snowballstemmer.stemmer(language)
        setattr(_stemmers, language, stemmer)
    return fold(stemmer.stemWord(word))


def query_words(q: str) -> list[str]:
    """The words of a query that count: stopwords dropped unless there is nothing else, at most MAX_TERMS."""
    words = list(dict.fromkeys(_words(q or "")))
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:MAX_TERMS]


# ---------------------------------------------------------------------------------------------------------------
# Shared by the engines


def _browse(filters: _Filters, limit: int, offset: int) -> SearchPage:
    """No words to search for: every published procedure that passes the filters, by title."""
    queryset = Procedure.objects.filter(status=PUBLISHED)
    if filters.institution:
        queryset = queryset.filter(institution__code=filters.institution)
    if filters.level is not None:
        queryset = queryset.filter(level=filters.level)
    if filters.audience:
        queryset = queryset.filter(audience__in=[filters.audience, Procedure.Audience.BOTH])
    if filters.topic:
        queryset = queryset.filter(topics__code=filters.topic)
    ids = list(queryset.order_by("title_es", "code").values_list("id", flat=True)[offset : offset + limit])
    return SearchPage(ids, queryset.count())


def _keep_published(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Guards a page against a procedure that changed without a reindex. By id only: given the status too,
    SQLite without statistics may prefer the status index and read the whole catalogue."""
    status = dict(Procedure.objects.filter(id__in=ids).order_by().values_list("id", "status"))
    return [i for i in ids if status.get(i) == PUBLISHED]


# ---------------------------------------------------------------------------------------------------------------
# SQLite: FTS5 over text analysed in Python
#
# Columns: title (the folded words of both titles), title_stems (their stems, where a stem differs from its word),
# body (stems only, of the descriptions, requirements, institution and topics) and facets (filter values). A query
# word matches its folded form and its stems exactly: FTS5 reads the list of an exact token lazily, but a prefix
# token ("pasapo"*) first merges the lists of every token it covers unless a prefix index has its length, which
# costs as much as the matches. So only a word found in no title (probably still being typed) is also looked up
# as a prefix of title words.

_SEQ_BITS = 40
# Read with plain SQL: hex ids as SQLite stores them, no per-row conversion (a tenth of the indexing time).
# "+p.status" keeps SQLite (without statistics) on the primary key rather than the status index.
_PROCEDURES = """
    SELECT id, title_es, title_en, description_es, description_en, institution_id, level, audience, generated
    FROM catalogue_procedure p WHERE +p.status = 'published'
"""
_SOME = " AND p.id IN (SELECT value FROM json_each(%s))"
_REQUIREMENTS = """
    SELECT procedure_id, name_es, name_en FROM catalogue_requirement
    WHERE procedure_id IN (SELECT value FROM json_each(%s))
"""
_TOPICS = """
    SELECT procedure_id, topic_id FROM catalogue_procedure_topics
    WHERE procedure_id IN (SELECT value FROM json_each(%s))
"""


_fold_word = lru_cache(maxsize=100_000)(fold)


@lru_cache(maxsize=50_000)  # short texts repeat a lot: titles, requirements, institutions, topics
def _title_tokens(text: str, language: str) -> tuple[str, str]:
    """(folded words, the stems that differ from their word) of a text, stopwords left out."""
    words = [w for w in _words(text) if w not in STOPWORDS]
    folded = [_fold_word(w) for w in words]
    stems = [stem(language, w) for w in words]
    return " ".join(folded), " ".join(s for s, f in zip(stems, folded, strict=True) if s != f)


@lru_cache(maxsize=50_000)
def _body_tokens(text: str, language: str) -> str:
    """The stems of a text, stopwords left out."""
    return " ".join([stem(language, w) for w in _words(text) if w not in STOPWORDS])


@lru_cache(maxsize=10_000)
def _facet(kind: str, value) -> str:
    # Hex turns any code (hyphens, accents, hostile input) into one plain token that no query word can hit.
    return kind + str(value).encode().hex()


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hex(value) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


class _SQLite:
    RANK = "bm25(0, 50, 50, 1, 0)"  # procedure_id, title, title_stems, body, facets
    # bm25 saturates the weighted frequency of a word, so the title weight must be large for a title hit to beat
    # many body hits. It costs about a microsecond a row: above this many matches, order by rowid (_row_key).
    EXACT_RANK_MAX = 1000

    # -- indexing

    def reindex(self, ids: list | None) -> None:
        with connection.cursor() as cursor:
            if ids is None:
                cursor.execute("DELETE FROM catalogue_procedure_search")
                cursor.execute(_PROCEDURES)
                batches, seq = iter(lambda: cursor.fetchmany(CHUNK), []), 0
            else:
                ids = [_hex(i) for i in ids]
                self._remove(cursor, ids)
                mask = (1 << _SEQ_BITS) - 1
                cursor.execute("SELECT coalesce(max(id & %s), 0) FROM catalogue_procedure_search", [mask])
                seq = cursor.fetchone()[0]
                batches = (self._fetch(cursor, _PROCEDURES + _SOME, [json.dumps(c)]) for c in _chunks(ids))
            with connection.cursor() as writer:  # a second cursor: the first may still be reading
                count = self._write(writer, batches, seq, incremental=ids is not None)
                if ids is None:  # index all the stored text in one pass: cheaper than row by row
                    writer.execute(
                        "INSERT INTO catalogue_procedure_fts (catalogue_procedure_fts) VALUES ('rebuild')"
                    )
                if count > 1000:  # merge the segments a bulk load leaves behind: faster queries
                    writer.execute(
                        "INSERT INTO catalogue_procedure_fts (catalogue_procedure_fts) VALUES ('optimize')"
                    )

    def _write(self, cursor, batches, seq: int, *, incremental: bool) -> int:
        institutions = {i.id.hex: i for i in Institution.objects.all()}
        topics = {t.id: t for t in Topic.objects.all()}
        count = 0
        for batch in batches:
            rows = self._rows(cursor, batch, institutions, topics, seq + count)
            count += len(rows)
            columns = "(%s, %s, %s, %s, %s, %s)"
            cursor.executemany(
                "INSERT INTO catalogue_procedure_search (id, procedure_id, title, title_stems, body, facets)"
                f" VALUES {columns}",
                rows,
            )
            if incremental:
                cursor.executemany(
                    "INSERT INTO catalogue_procedure_fts (rowid, procedure_id, title, title_stems, body, facets)"
                    f" VALUES {columns}",
                    rows,
                )
        return count

    def _rows(self, cursor, batch: list[tuple], institutions: dict, topics: dict, seq: int) -> list[tuple]:
        pids = json.dumps([row[0] for row in batch])
        body = {row[0]: [] for row in batch}  # (text, Snowball language) from requirements and topics
        topic_facets = {row[0]: [] for row in batch}
        for pid, name_es, name_en in self._fetch(cursor, _REQUIREMENTS, [pids]):
            body[pid] += [(name_es, "spanish"), (name_en, "english")]
        for pid, topic_id in self._fetch(cursor, _TOPICS, [pids]):
            topic = topics[topic_id]
            body[pid] += [(topic.name_es, "spanish"), (topic.name_en, "english")]
            topic_facets[pid].append(_facet("t", topic.code))
        rows = []
        for n, (pid, title_es, title_en, desc_es, desc_en, inst_id, level, audience, generated) in enumerate(
            batch
        ):
            inst = institutions[inst_id]
            words_es, stems_es = _title_tokens(title_es, "spanish")
            words_en, stems_en = _title_tokens(title_en, "english")
            texts = [(desc_es, "spanish"), (desc_en, "english"), (inst.name_es, "spanish"), (inst.name_en, "english"),
                     (inst.acronym, "spanish"), *body[pid]]  # fmt: skip
            # "both" also answers the "citizen" and "business" filters.
            audiences = ["citizen", "business", "both"] if audience == "both" else [audience]
            facets = [_facet("l", level), _facet("i", inst.code), *(_facet("a", a) for a in audiences)]
            rows.append((
                self._row_key(generated, words_es, seq + n + 1),
                pid,
                f"{words_es} {words_en}",
                f"{stems_es} {stems_en}",
                " ".join([_body_tokens(text, language) for text, language in texts if text]),
                " ".join(facets + topic_facets[pid]),
            ))  # fmt: skip
        return rows

    @staticmethod
    def _row_key(generated: bool, title_words: str, seq: int) -> int:
        """The rowid doubles as a static rank for broad queries: curated procedures before generated ones, then
        shorter titles (what bm25 on the title alone prefers), then the order of indexing."""
        return (int(generated) << 52) | (min(title_words.count(" ") + 1, 4095) << _SEQ_BITS) | seq

    @staticmethod
    def _remove(cursor, hexes: list[str]) -> None:
        # An external-content FTS5 table forgets a row when told the values it indexed.
        cursor.execute(
            "INSERT INTO catalogue_procedure_fts"
            " (catalogue_procedure_fts, rowid, procedure_id, title, title_stems, body, facets)"
            " SELECT 'delete', id, procedure_id, title, title_stems, body, facets"
            " FROM catalogue_procedure_search WHERE procedure_id IN (SELECT value FROM json_each(%s))",
            [json.dumps(hexes)],
        )
        cursor.execute(
            "DELETE FROM catalogue_procedure_search WHERE procedure_id IN (SELECT value FROM json_each(%s))",
            [json.dumps(hexes)],
        )

    # -- queries

    @staticmethod
    def _fetch(cursor, sql: str, params: list) -> list:
        cursor.execute(sql, params)
        return cursor.fetchall()

    def _in_a_title(self, cursor, folded: str) -> bool:
        sql = "SELECT 1 FROM catalogue_procedure_fts WHERE catalogue_procedure_fts MATCH %s LIMIT 1"
        return bool(self._fetch(cursor, sql, [f'title : "{folded}"']))

    def _word_expr(self, cursor, word: str, *, title_only: bool, as_typed: bool) -> str:
        folded = fold(word)
        exact = sorted({folded} | {stem(language, word) for language in LANGUAGES} - {""})
        columns = "title title_stems" if title_only else "title title_stems body"
        expr = f"{{{columns}}} : (" + " OR ".join(f'"{token}"' for token in exact) + ")"
        if len(folded) > 1 and (as_typed or not self._in_a_title(cursor, folded)):
            expr += f' OR title : "{folded}"*'
        return f"({expr})"

    def _match(self, cursor, words: list[str], filters: _Filters, *, title_only=False, as_typed=False) -> str:
        # Words hold only letters and digits (no quotes, no operators) and facets are hex: nothing to escape.
        match = " AND ".join(
            self._word_expr(cursor, w, title_only=title_only, as_typed=as_typed) for w in words
        )
        if filters:
            facets = [
                _facet("i", filters.institution) if filters.institution else None,
                _facet("l", filters.level) if filters.level is not None else None,
                _facet("a", filters.audience) if filters.audience else None,
                _facet("t", filters.topic) if filters.topic else None,
            ]
            match = f"({match}) AND facets : (" + " AND ".join(f'"{f}"' for f in facets if f) + ")"
        return match

    def _count(self, cursor, match: str) -> int:
        sql = "SELECT count(*) FROM catalogue_procedure_fts WHERE catalogue_procedure_fts MATCH %s"
        return self._fetch(cursor, sql, [match])[0][0]

    def _ranked(self, cursor, match: str, limit: int, offset: int) -> list[uuid.UUID]:
        sql = (
            "SELECT procedure_id FROM catalogue_procedure_fts WHERE catalogue_procedure_fts MATCH %s"
            " AND rank MATCH %s ORDER BY rank LIMIT %s OFFSET %s"
        )
        return [uuid.UUID(r[0]) for r in self._fetch(cursor, sql, [match, self.RANK, limit, offset])]

    def _in_row_order(self, cursor, match: str, limit: int, offset: int) -> list[uuid.UUID]:
        sql = (
            "SELECT procedure_id FROM catalogue_procedure_fts WHERE catalogue_procedure_fts MATCH %s"
            " ORDER BY rowid LIMIT %s OFFSET %s"
        )
        return [uuid.UUID(r[0]) for r in self._fetch(cursor, sql, [match, limit, offset])]

    def search(self, words, filters, limit, offset) -> SearchPage:
        with connection.cursor() as cursor:
            match = self._match(cursor, words, filters)
            total = self._count(cursor, match)
            if offset >= total or limit == 0:
                return SearchPage([], total)
            if total <= self.EXACT_RANK_MAX:
                return SearchPage(_keep_published(self._ranked(cursor, match, limit, offset)), total)
            # Too many matches to rank them all: those with every word in the title first, then the rest, each in
            # rowid order. The first page needs no count of the first group.
            in_title = self._match(cursor, words, filters, title_only=True)
            if offset == 0:
                ids = self._in_row_order(cursor, in_title, limit, 0)
                titled = len(ids)  # all of them when fewer than a page
            else:
                titled = self._count(cursor, in_title)
                ids = self._in_row_order(cursor, in_title, limit, offset) if offset < titled else []
            if len(ids) < limit:
                rest = f"({match}) NOT ({in_title})"
                ids += self._in_row_order(cursor, rest, limit - len(ids), max(0, offset - titled))
            return SearchPage(_keep_published(ids), total)

    def suggest(self, words, limit) -> list[uuid.UUID]:
        with connection.cursor() as cursor:
            match = self._match(cursor, words, _Filters(), title_only=True, as_typed=True)
            if self._count(cursor, match) <= self.EXACT_RANK_MAX:
                return self._ranked(cursor, match, limit, 0)
            return self._in_row_order(cursor, match, limit, 0)


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL: tsvector and GIN

_PG_DOCUMENTS = """
    INSERT INTO catalogue_procedure_search (procedure_id, document)
    SELECT p.id,
           setweight(to_tsvector('ventanilla_es', p.title_es), 'A')
           || setweight(to_tsvector('ventanilla_en', p.title_en), 'A')
           || setweight(to_tsvector('ventanilla_es',
                        concat_ws(' ', p.description_es, i.name_es, i.acronym, r.names_es, t.names_es)), 'B')
           || setweight(to_tsvector('ventanilla_en',
                        concat_ws(' ', p.description_en, i.name_en, r.names_en, t.names_en)), 'B')
    FROM catalogue_procedure p
    JOIN catalogue_institution i ON i.id = p.institution_id
    LEFT JOIN LATERAL (
        SELECT string_agg(name_es, ' ') AS names_es, string_agg(name_en, ' ') AS names_en
        FROM catalogue_requirement WHERE procedure_id = p.id
    ) r ON TRUE
    LEFT JOIN LATERAL (
        SELECT string_agg(tt.name_es, ' ') AS names_es, string_agg(tt.name_en, ' ') AS names_en
        FROM catalogue_procedure_topics pt JOIN catalogue_topic tt ON tt.id = pt.topic_id
        WHERE pt.procedure_id = p.id
    ) t ON TRUE
    WHERE p.status = %s
"""

# The filters, each used only when its value is not null.
_PG_WHERE = """
    s.document @@ q.query AND p.status = %s
    AND (%s::text IS NULL OR p.institution_id = (SELECT id FROM catalogue_institution WHERE code = %s))
    AND (%s::int IS NULL OR p.level = %s)
    AND (%s::text IS NULL OR p.audience IN (%s, 'both'))
    AND (%s::text IS NULL OR EXISTS (
        SELECT 1 FROM catalogue_procedure_topics pt JOIN catalogue_topic t ON t.id = pt.topic_id
        WHERE pt.procedure_id = p.id AND t.code = %s))
"""


class _PostgreSQL:
    # ts_rank weights {D, C, B, A}: a title (A) hit counts ten times a body (B) hit and repeated hits add less
    # and less, so a title match outranks a description-only one.
    WEIGHTS = "{0, 0, 0.1, 1}"

    def reindex(self, ids: list | None) -> None:
        with connection.cursor() as cursor:
            if ids is None:
                cursor.execute("DELETE FROM catalogue_procedure_search")
                cursor.execute(_PG_DOCUMENTS, [PUBLISHED])
            else:
                ids = [str(i) for i in ids]
                cursor.execute(
                    "DELETE FROM catalogue_procedure_search WHERE procedure_id = ANY(%s::uuid[])", [ids]
                )
                cursor.execute(_PG_DOCUMENTS + " AND p.id = ANY(%s::uuid[])", [PUBLISHED, ids])

    @staticmethod
    def _query(words: list[str], filters: _Filters, select: str, tail: str, weights: str = ""):
        # Each word as a prefix through both configurations (unaccent, then the stemmer), ORed; the words ANDed.
        # Words hold only letters and digits, so they cannot carry tsquery syntax.
        tsquery = " && ".join(
            ["(to_tsquery('ventanilla_es', %s) || to_tsquery('ventanilla_en', %s))"] * len(words)
        )
        sql = (
            f"WITH q AS (SELECT {tsquery} AS query) SELECT {select} FROM catalogue_procedure_search s"
            f" JOIN catalogue_procedure p ON p.id = s.procedure_id CROSS JOIN q WHERE {_PG_WHERE} {tail}"
        )
        f = filters
        params = [f"'{w}':*{weights}" for w in words for _ in LANGUAGES]
        params += [
            PUBLISHED,
            f.institution,
            f.institution,
            f.level,
            f.level,
            f.audience,
            f.audience,
            f.topic,
            f.topic,
        ]
        return sql, params

    def search(self, words, filters, limit, offset) -> SearchPage:
        tail = f"ORDER BY ts_rank('{self.WEIGHTS}', s.document, q.query) DESC, p.title_es, p.code LIMIT %s OFFSET %s"
        sql, params = self._query(words, filters, "p.id", tail)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            ids = [r[0] for r in cursor.fetchall()]
            if 0 < len(ids) < limit:  # the last page: no need to count
                return SearchPage(ids, offset + len(ids))
            sql, params = self._query(words, filters, "count(*)", "")
            cursor.execute(sql, params)
            return SearchPage(ids, cursor.fetchone()[0])

    def suggest(self, words, limit) -> list[uuid.UUID]:
        # Weight A only: the words must be in a title.
        tail = "ORDER BY ts_rank(s.document, q.query) DESC, length(p.title_es), p.code LIMIT %s"
        sql, params = self._query(words, _Filters(), "p.id", tail, weights="A")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit])
            return [r[0] for r in cursor.fetchall()]


_ENGINES = {"sqlite": _SQLite(), "postgresql": _PostgreSQL()}


def _engine():
    try:
        return _ENGINES[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"Search has no engine for {connection.vendor} databases.") from None
