"""Catalogue search at the seed's size (4,163 procedures) and at 100,000, against a plain icontains scan.

    .venv/bin/python bench/catalogue_search.py [--database-url postgres://postgres@127.0.0.1:5432/NAME]

Builds a throwaway database (SQLite in a temporary folder; with --database-url that PostgreSQL database is dropped
and created again), loads the reference data, generates up to each size and times, in the same run, server-side
search.search() calls and the icontains query a catalogue without a search engine would run (same filters,
ordered, first page only: no count, which favours the baseline). Target: search p50 under 5 ms at 100,000.
"""

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS, TARGET_SIZE = 5.0, 100_000

# What people type: single words, half-typed words, two or three words, accented or not, Spanish and English,
# with and without filters.
QUERIES = [
    {"q": "pasaporte"},
    {"q": "licencia"},
    {"q": "certificado"},
    {"q": "jubilación"},
    {"q": "beca"},
    {"q": "matrimonio"},
    {"q": "impuesto"},
    {"q": "visa"},
    {"q": "jubilacion"},
    {"q": "construccion"},
    {"q": "inscripcion"},
    {"q": "pasapo"},
    {"q": "constru"},
    {"q": "licen"},
    {"q": "certif"},
    {"q": "matri"},
    {"q": "licencia de conducir"},
    {"q": "permiso de construcción"},
    {"q": "paz y salvo"},
    {"q": "certificado de nacimiento"},
    {"q": "registro sanitario"},
    {"q": "aviso de operación"},
    {"q": "residencia permanente"},
    {"q": "renovación cédula"},
    {"q": "passport"},
    {"q": "driving licence"},
    {"q": "building permit"},
    {"q": "birth certificate"},
    {"q": "tax clearance"},
    {"q": "pension"},
    {"q": "business licence"},
    {"q": "work permit"},
    {"q": "permiso", "institution": "MUN-DAVID"},
    {"q": "certificado", "level": 3},
    {"q": "licencia", "audience": "citizen"},
    {"q": "pasaporte", "topic": "travel-migration"},
    {"q": "paz y salvo", "audience": "business"},
    {"q": "registro", "topic": "business"},
    {"q": "permit", "institution": "MIAMBIENTE"},
    {"q": "birth certificate", "topic": "identity"},
    {"q": "renovación", "level": 1, "audience": "citizen"},
]


def configure(database_url: str | None) -> str:
    """Point Django at a fresh database; returns a label for the report."""
    var = tempfile.mkdtemp(prefix="ventanilla-bench-")
    atexit.register(shutil.rmtree, var, ignore_errors=True)
    os.environ["VENTANILLA_VAR_DIR"] = var
    os.environ["DJANGO_SETTINGS_MODULE"] = "ventanilla.config.settings"
    if database_url:
        recreate_postgres(database_url)
        os.environ["DATABASE_URL"] = database_url
        label = "PostgreSQL"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{var}/bench.sqlite3"
        label = "SQLite"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    return label


def recreate_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "template0", "template1"}:
        sys.exit(f"Refusing to drop the database {name!r}: name a scratch database.")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def load_reference() -> str:
    from ventanilla.catalogue import services
    from ventanilla.catalogue.models import Institution, Topic
    from ventanilla.core.actor import Actor

    path = ROOT / "data" / "panama"
    if (path / "institutions.yaml").exists():
        counts = services.load_reference_data(path=path, actor=Actor.system("bench"))
        return "reference data: {institutions} institutions, {topics} topics, {procedures} procedures".format(
            **counts
        )
    # Without the reference data: just enough institutions and topics for the generator and the queries.
    for code, kind, name_es, name_en in [
        ("SNM", "authority", "Servicio Nacional de Migración", "National Migration Service"),
        ("ATTT", "authority", "Autoridad del Tránsito y Transporte Terrestre", "Land Transport Authority"),
        ("DGI", "authority", "Dirección General de Ingresos", "Tax Authority"),
        ("TE", "other", "Tribunal Electoral", "Electoral Tribunal"),
        ("MIAMBIENTE", "ministry", "Ministerio de Ambiente", "Ministry of the Environment"),
        ("MUN-DAVID", "municipality", "Municipio de David", "Municipality of David"),
        ("MUN-PANAMA", "municipality", "Municipio de Panamá", "Municipality of Panamá"),
    ]:
        Institution.objects.create(code=code, kind=kind, name_es=name_es, name_en=name_en)
    for code, name_es, name_en in [
        ("identity", "Identidad", "Identity"),
        ("business", "Empresas", "Business"),
        ("travel-migration", "Viajes y migración", "Travel and migration"),
    ]:
        Topic.objects.create(code=code, kind="topic", name_es=name_es, name_en=name_en)
    return "no reference data found: a minimal set of institutions and topics"


def icontains(*, q, institution=None, level=None, audience=None, topic=None, limit=20, offset=0):
    """What a catalogue without a search engine runs: every word somewhere in the titles or descriptions."""
    from django.db.models import Q

    from ventanilla.catalogue import search
    from ventanilla.catalogue.models import Procedure

    queryset = Procedure.objects.filter(status="published")
    for word in search.query_words(q):
        queryset = queryset.filter(
            Q(title_es__icontains=word)
            | Q(title_en__icontains=word)
            | Q(description_es__icontains=word)
            | Q(description_en__icontains=word)
        )
    if institution:
        queryset = queryset.filter(institution__code=institution)
    if level:
        queryset = queryset.filter(level=level)
    if audience:
        queryset = queryset.filter(audience__in=[audience, "both"])
    if topic:
        queryset = queryset.filter(topics__code=topic)
    return list(queryset.order_by("title_es", "code").values_list("id", flat=True)[offset : offset + limit])


def timings(call, repeat: int) -> list[float]:
    """Milliseconds per call, each query `repeat` times after one warm-up round."""
    for query in QUERIES:
        call(**query)
    samples = []
    for _ in range(repeat):
        for query in QUERIES:
            started = time.perf_counter()
            call(**query)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], p: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to drop and recreate (default: SQLite)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4163, TARGET_SIZE])
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the query set per measurement")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))

    engine = configure(args.database_url)
    from ventanilla.catalogue import generator, search

    print(f"ventanilla catalogue search bench on {engine}; {len(QUERIES)} queries x {args.repeat} rounds")
    print(load_reference())
    rows = []
    for size in args.sizes:
        started = time.perf_counter()
        made = generator.generate(total=size)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        search.reindex()
        indexed = time.perf_counter() - started
        print(f"{size:,}: generated {made:,} procedures in {generated:.1f} s; full reindex {indexed:.1f} s")
        fast, slow = timings(search.search, args.repeat), timings(icontains, args.repeat)
        rows.append(
            (size, percentile(fast, 50), percentile(fast, 95), percentile(slow, 50), percentile(slow, 95))
        )

    print()
    print(
        f"{'procedures':>10} | {'search p50':>10} {'p95':>8} | {'icontains p50':>13} {'p95':>8} | "
        f"{'ratio p50':>9} {'p95':>6}"
    )
    for size, p50, p95, base50, base95 in rows:
        print(
            f"{size:>10,} | {p50:>7.2f} ms {p95:>5.2f} ms | {base50:>10.2f} ms {base95:>5.2f} ms | "
            f"{base50 / p50:>8.1f}x {base95 / p95:>5.1f}x"
        )
    for size, p50, *_ in rows:
        if size == TARGET_SIZE:
            verdict = "PASS" if p50 < TARGET_MS else "FAIL"
            print(
                f"\n{verdict}: search p50 {p50:.2f} ms at {size:,} procedures on {engine} (target < {TARGET_MS} ms)"
            )


if __name__ == "__main__":
    main()
