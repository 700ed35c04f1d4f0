"""Search structures, which differ by database (see ventanilla.catalogue.search). Filled by `reindex()`:
`ventanilla catalogue reindex`, and `ventanilla serve` on start when the index is behind the catalogue.

No foreign key to catalogue_procedure on purpose: the index is derived data, and a key would stop a flush
(TRUNCATE) of the catalogue; results are checked against catalogue_procedure, which keeps the last word.
"""

from django.db import migrations

SQLITE = [
    # The analysed text (see search.py), stored once: it is the external content of the FTS5 index, whose rowid
    # (this id) also orders broad results.
    """CREATE TABLE catalogue_procedure_search (
        id integer NOT NULL PRIMARY KEY,
        procedure_id char(32) NOT NULL UNIQUE,
        title text NOT NULL,
        title_stems text NOT NULL,
        body text NOT NULL,
        facets text NOT NULL
    )""",
    """CREATE VIRTUAL TABLE catalogue_procedure_fts USING fts5(
        procedure_id UNINDEXED, title, title_stems, body, facets,
        content='catalogue_procedure_search', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3'
    )""",
    # Every word of the titles, for completing a half-typed word into whole words: quicker than a prefix query.
    "CREATE TABLE catalogue_procedure_search_word (word text NOT NULL PRIMARY KEY) WITHOUT ROWID",
    # Buffer 16 MB of new entries before writing a segment (default 1 MB): a full reindex takes half the time.
    "INSERT INTO catalogue_procedure_fts (catalogue_procedure_fts, rank) VALUES ('hashsize', 16777216)",
]
SQLITE_REVERSE = [
    "DROP TABLE IF EXISTS catalogue_procedure_search_word",
    "DROP TABLE IF EXISTS catalogue_procedure_fts",
    "DROP TABLE IF EXISTS catalogue_procedure_search",
]

# Words through unaccent, then the Snowball stemmer (with its stopwords) of each language.
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION ventanilla_es (COPY = pg_catalog.spanish)",
    """ALTER TEXT SEARCH CONFIGURATION ventanilla_es
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH unaccent, spanish_stem""",
    "CREATE TEXT SEARCH CONFIGURATION ventanilla_en (COPY = pg_catalog.english)",
    """ALTER TEXT SEARCH CONFIGURATION ventanilla_en
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH unaccent, english_stem""",
    # The document, the filter values (so searching needs no join) and a static rank for broad queries.
    """CREATE TABLE catalogue_procedure_search (
        procedure_id uuid NOT NULL PRIMARY KEY,
        document tsvector NOT NULL,
        institution varchar(40) NOT NULL,
        level smallint NOT NULL,
        audiences text[] NOT NULL,
        topics text[] NOT NULL,
        rank_key bigint NOT NULL
    )""",
    "CREATE INDEX catalogue_procedure_search_document ON catalogue_procedure_search USING gin (document)",
    "CREATE INDEX catalogue_procedure_search_rank ON catalogue_procedure_search (rank_key, procedure_id)",
    # The selective filters; level and audience each keep a large share of the catalogue.
    "CREATE INDEX catalogue_procedure_search_institution ON catalogue_procedure_search (institution)",
    "CREATE INDEX catalogue_procedure_search_topics ON catalogue_procedure_search USING gin (topics)",
]
POSTGRESQL_REVERSE = [
    "DROP TABLE IF EXISTS catalogue_procedure_search",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS ventanilla_en",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS ventanilla_es",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]
