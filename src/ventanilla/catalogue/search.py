"""Full-text search of published procedures: one interface, an engine per database.

Spanish and English, accent- and case-insensitive, stemmed, tolerant of prefixes (typing "pasapo" finds
"pasaporte"), the words of a query ANDed, a title match ranked above a description-only match.

- SQLite: an FTS5 index of text analysed here in Python: folded words and their Snowball stems (Spanish stems for
  the _es texts, English for _en), with the filters as tokens so a filtered query stays an intersection of index
  lists. Ranked by bm25 with the title weighted over the body.
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
    words = query_words(q, typing=True)
    if not words or limit <= 0:
        return []
    ids = _engine().suggest(words, limit)
    if not ids and len(words) > 1 and words[-1] in STOPWORDS:  # "licencia de": a whole word after all
        ids = _engine().suggest(words[:-1], limit)
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


def query_words(q: str, *, typing: bool = False) -> list[str]:
    """The words of a query that count, at most MAX_TERMS: stopwords and single letters only when there is nothing
    else, except that the last word of a query still being typed may be the start of another word ("licencia de
    con")."""
    words = list(dict.fromkeys(_words(q or "")))
    last = words[-1] if typing and words and len(words[-1]) > 1 else None
    content = [w for w in words if (len(w) > 1 and w not in STOPWORDS) or w == last]
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
# Columns: title (the folded words of both titles), title_stems (their stems where a stem differs from its word),
# body (stems only, of the descriptions, requirements, institution and topics) and facets (the filter values as
# tokens). Stems are Snowball's (Spanish for the _es texts, English for _en) of each word as written and without
# its accents. A query word matches its stems in both languages; a word that is no whole title word (probably
# still being typed) also matches the title words it begins, listed from catalogue_procedure_search_word. All
# exact tokens: FTS5 reads an exact token's list lazily, but a prefix query ('pasapo'*) first merges the lists of
# every token it covers (unless a prefix index has that length), which costs as much as the matches.
#
# Ranked by bm25, the title weighted over the body, up to EXACT_RANK_MAX matches. Beyond that, bm25 for every
# match would not fit in a few milliseconds: the matches with every word in the title come first, then the rest,
# each in rowid order, and the rowid is a static rank (_row_key).

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


def _stems(language: str, word: str) -> list[str]:
    # Also the stem of the word without accents, which can differ: "jubilación" -> "jubil", "jubilacion" ->
    # "jubilacion". People often type without accents; a query word is only stemmed as typed.
    stems = [stem(language, word)]
    if (unaccented := _fold_word(word)) != word and (other := stem(language, unaccented)) != stems[0]:
        stems.append(other)
    return stems


@lru_cache(maxsize=50_000)  # short texts repeat a lot: titles, requirements, institutions, topics
def _title_tokens(text: str, language: str) -> tuple[str, str]:
    """(folded words, the stems that differ from their word) of a text, stopwords left out."""
    words = [w for w in _words(text) if w not in STOPWORDS]
    folded = [_fold_word(w) for w in words]
    stems = [s for w, f in zip(words, folded, strict=True) for s in _stems(language, w) if s != f]
    return " ".join(folded), " ".join(stems)


@lru_cache(maxsize=50_000)
def _body_tokens(text: str, language: str) -> str:
    """The stems of a text, stopwords left out."""
    return " ".join([s for w in _words(text) if w not in STOPWORDS for s in _stems(language, w)])


@lru_cache(maxsize=10_000)
def _facet(kind: str, value) -> str:
    # Hex turns any code (hyphens, accents, hostile input) into one plain token, and "zz" keeps it apart from the
    # words people type, so queries need no column filter (which would make FTS5 read every position list).
    return f"zz{kind}{str(value).encode().hex()}"


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _quoted(token: str) -> str:
    # Tokens are letters and digits, but folding can bring in other characters: an FTS5 string, whatever it holds.
    return '"' + token.replace('"', '""') + '"'


def _hex(value) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


class _SQLite:
    RANK = "bm25(0, 50, 50, 1, 0)"  # procedure_id, title, title_stems, body, facets
    # bm25 saturates the weighted frequency of a word, so the title weight must be large for a title hit to beat
    # many body hits. It costs about a microsecond a row: above this many matches, order by rowid (_row_key).
    EXACT_RANK_MAX = 1000
    MAX_COMPLETIONS = 40
    REBUILD_MIN = 1000  # reindex([...]) of more procedures than this (and a fifth of the index) rebuilds it

    # -- indexing

    def reindex(self, ids: list | None) -> None:
        with connection.cursor() as cursor:
            if ids is None:
                cursor.execute("DELETE FROM catalogue_procedure_search")
                cursor.execute("DELETE FROM catalogue_procedure_search_word")
                cursor.execute(_PROCEDURES)
                batches, seq, rebuild = iter(lambda: cursor.fetchmany(CHUNK), []), 0, True
            else:
                # Rebuilding the FTS index from the stored text costs about a fifth of updating it row by row.
                cursor.execute("SELECT count(*) FROM catalogue_procedure_search")
                rebuild = len(ids) > max(self.REBUILD_MIN, cursor.fetchone()[0] // 5)
                ids = [_hex(i) for i in ids]
                self._remove(cursor, ids, from_fts=not rebuild)
                mask = (1 << _SEQ_BITS) - 1
                cursor.execute("SELECT coalesce(max(id & %s), 0) FROM catalogue_procedure_search", [mask])
                seq = cursor.fetchone()[0]
                batches = (self._fetch(cursor, _PROCEDURES + _SOME, [json.dumps(c)]) for c in _chunks(ids))
            with connection.cursor() as writer:  # a second cursor: the first may still be reading
                count = self._write(writer, batches, seq, incremental=not rebuild)
                if rebuild:
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
            words = {(word,) for row in rows for word in row[2].split()}
            cursor.executemany(
                "INSERT OR IGNORE INTO catalogue_procedure_search_word (word) VALUES (%s)", words
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
    def _remove(cursor, hexes: list[str], *, from_fts: bool) -> None:
        if from_fts:  # an external-content FTS5 table forgets a row when told the values it indexed
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

    def _completions(self, cursor, folded: str) -> list[str] | None:
        """Title words that start with `folded`, or None when there are too many to list."""
        sql = (
            "SELECT word FROM catalogue_procedure_search_word WHERE word >= %s AND word < %s"
            " ORDER BY word LIMIT %s"
        )
        following = folded[:-1] + chr(ord(folded[-1]) + 1)
        words = [r[0] for r in self._fetch(cursor, sql, [folded, following, self.MAX_COMPLETIONS + 1])]
        return words if len(words) <= self.MAX_COMPLETIONS else None

    def _terms(self, cursor, words: list[str], *, as_typed: bool = False) -> list[list[str]]:
        """For each word, the exact tokens any of which it matches: its stems in both languages and, for a word
        that is not a whole title word (probably still being typed; always the last word of a suggestion), the
        title words it begins. Only when those are too many is it left to an FTS5 prefix query ('pa'*), which
        merges the lists of every token it covers before returning a row."""
        terms = []
        for n, word in enumerate(words):
            folded = fold(word)
            tokens = sorted({stem(language, word) for language in LANGUAGES} - {""}) or [folded]
            if len(folded) > 1:
                completions = self._completions(cursor, folded)
                if completions is None:
                    tokens.append(f"{_quoted(folded)}*")
                elif (as_typed and n == len(words) - 1) or folded not in completions:
                    tokens += completions
            terms.append([t if t.endswith("*") else _quoted(t) for t in dict.fromkeys(tokens)])
        return terms

    @staticmethod
    def _match(terms: list[list[str]], filters: _Filters, *, title_only: bool = False) -> str:
        # Every token is a quoted string (words could be AND, OR, NOT, NEAR); facets are hex.
        # No column filter unless needed: with one, FTS5 reads the position lists of every match.
        parts = [" OR ".join(tokens) for tokens in terms]
        parts = [f"{{title title_stems}} : ({p})" if title_only else f"({p})" for p in parts]
        facets = [
            _facet("i", filters.institution) if filters.institution else None,
            _facet("l", filters.level) if filters.level is not None else None,
            _facet("a", filters.audience) if filters.audience else None,
            _facet("t", filters.topic) if filters.topic else None,
        ]
        return " AND ".join(parts + [_quoted(f) for f in facets if f])

    def _count(self, cursor, match: str, at_most: int = -1) -> int:
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM catalogue_procedure_fts WHERE catalogue_procedure_fts MATCH %s"
            " LIMIT %s)"
        )
        return self._fetch(cursor, sql, [match, at_most])[0][0]

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
            terms = self._terms(cursor, words)
            match = self._match(terms, filters)
            total = self._count(cursor, match)
            if offset >= total or limit == 0:
                return SearchPage([], total)
            if total <= self.EXACT_RANK_MAX:
                return SearchPage(_keep_published(self._ranked(cursor, match, limit, offset)), total)
            # Too many matches to rank them all: those with every word in the title first, then the rest, each in
            # rowid order. The first page needs no count of the first group.
            in_title = self._match(terms, filters, title_only=True)
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
            match = self._match(self._terms(cursor, words, as_typed=True), _Filters(), title_only=True)
            if self._count(cursor, match, at_most=self.EXACT_RANK_MAX + 1) <= self.EXACT_RANK_MAX:
                return self._ranked(cursor, match, limit, 0)
            return self._in_row_order(cursor, match, limit, 0)


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL: tsvector and GIN

_PG_DOCUMENTS = r"""
    INSERT INTO catalogue_procedure_search (procedure_id, document, institution, level, audiences, topics, rank_key)
    SELECT p.id,
           setweight(to_tsvector('ventanilla_es', p.title_es), 'A')
           || setweight(to_tsvector('ventanilla_en', p.title_en), 'A')
           || setweight(to_tsvector('ventanilla_es',
                        concat_ws(' ', p.description_es, i.name_es, i.acronym, r.names_es, t.names_es)), 'B')
           || setweight(to_tsvector('ventanilla_en',
                        concat_ws(' ', p.description_en, i.name_en, r.names_en, t.names_en)), 'B'),
           i.code,
           p.level,
           CASE WHEN p.audience = 'both' THEN ARRAY['citizen', 'business', 'both'] ELSE ARRAY[p.audience] END,
           coalesce(t.codes, '{}'),
           (p.generated::int::bigint << 52)
           | (least(cardinality(regexp_split_to_array(btrim(p.title_es), '\s+')), 4095)::bigint << 40)
    FROM catalogue_procedure p
    JOIN catalogue_institution i ON i.id = p.institution_id
    LEFT JOIN LATERAL (
        SELECT string_agg(name_es, ' ') AS names_es, string_agg(name_en, ' ') AS names_en
        FROM catalogue_requirement WHERE procedure_id = p.id
    ) r ON TRUE
    LEFT JOIN LATERAL (
        SELECT string_agg(tt.name_es, ' ') AS names_es, string_agg(tt.name_en, ' ') AS names_en,
               array_agg(tt.code::text) AS codes
        FROM catalogue_procedure_topics pt JOIN catalogue_topic tt ON tt.id = pt.topic_id
        WHERE pt.procedure_id = p.id
    ) t ON TRUE
    WHERE p.status = %s
"""


class _PostgreSQL:
    # ts_rank weights {D, C, B, A}: a title (A) hit counts ten times a body (B) hit and repeated hits add less
    # and less, so a title match outranks a description-only one.
    WEIGHTS = "{0, 0, 0.1, 1}"
    EXACT_RANK_MAX = (
        _SQLite.EXACT_RANK_MAX
    )  # above, ts_rank for every match costs too much: order by rank_key

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
            if ids is None or len(ids) > 1000:  # fresh planner statistics after a bulk load
                cursor.execute("ANALYZE catalogue_procedure_search")

    @staticmethod
    def _select(
        words: list[str], filters: _Filters, select: str, where: str, tail: str = ""
    ) -> tuple[str, list]:
        """A query over the index: q.query matches the words anywhere, q.title in a title (weight A). Each word
        is a prefix through both configurations (unaccent, then the stemmer), ORed; the words ANDed. Words hold
        only letters and digits, so they cannot carry tsquery syntax."""
        word = "(to_tsquery('ventanilla_es', %s) || to_tsquery('ventanilla_en', %s))"
        tsquery = " && ".join([word] * len(words))
        params = [f"'{w}':*" for w in words for _ in LANGUAGES] + [
            f"'{w}':*A" for w in words for _ in LANGUAGES
        ]
        clauses = [where]
        for clause, value in [
            ("s.institution = %s", filters.institution),
            ("s.level = %s", filters.level),
            ("%s = ANY(s.audiences)", filters.audience),
            ("%s = ANY(s.topics)", filters.topic),
        ]:
            if value is not None:
                clauses.append(clause)
                params.append(value)
        sql = (
            f"WITH q AS (SELECT {tsquery} AS query, {tsquery} AS title)"
            f" SELECT {select} FROM catalogue_procedure_search s CROSS JOIN q WHERE {' AND '.join(clauses)} {tail}"
        )
        return sql, params

    @staticmethod
    def _ids(cursor, query: tuple[str, list], *params) -> list[uuid.UUID]:
        cursor.execute(query[0], query[1] + list(params))
        return [r[0] for r in cursor.fetchall()]

    def search(self, words, filters, limit, offset) -> SearchPage:
        with connection.cursor() as cursor:
            cursor.execute(*self._select(words, filters, "count(*)", "s.document @@ q.query"))
            total = cursor.fetchone()[0]
            if offset >= total or limit == 0:
                return SearchPage([], total)
            if total <= self.EXACT_RANK_MAX:
                order = f"ts_rank('{self.WEIGHTS}', s.document, q.query) DESC"
            else:  # as on SQLite: every word in the title first, then the rest, each by the static rank
                order = "s.document @@ q.title DESC"
            tail = f"ORDER BY {order}, s.rank_key, s.procedure_id LIMIT %s OFFSET %s"
            query = self._select(words, filters, "s.procedure_id", "s.document @@ q.query", tail)
            return SearchPage(_keep_published(self._ids(cursor, query, limit, offset)), total)

    def suggest(self, words, limit) -> list[uuid.UUID]:
        in_title = "s.document @@ q.title"
        with connection.cursor() as cursor:
            # Counting stops one past EXACT_RANK_MAX: a short word may be the start of half the titles.
            sql, params = self._select(words, _Filters(), "1", in_title, "LIMIT %s")
            cursor.execute(f"SELECT count(*) FROM ({sql}) matches", [*params, self.EXACT_RANK_MAX + 1])
            if cursor.fetchone()[0] <= self.EXACT_RANK_MAX:
                tail = "ORDER BY ts_rank(s.document, q.title) DESC, s.rank_key, s.procedure_id LIMIT %s"
            else:  # many matches: walking the rank_key index finds the first ones soon
                tail = "ORDER BY s.rank_key, s.procedure_id LIMIT %s"
            return self._ids(cursor, self._select(words, _Filters(), "s.procedure_id", in_title, tail), limit)


_ENGINES = {"sqlite": _SQLite(), "postgresql": _PostgreSQL()}


def _engine():
    try:
        return _ENGINES[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"Search has no engine for {connection.vendor} databases.") from None
