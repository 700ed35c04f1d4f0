import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ventanilla.catalogue import generator, search, services
from ventanilla.catalogue.models import Institution, Procedure
from ventanilla.core.actor import Actor


class Command(BaseCommand):
    help = (
        "Manage the catalogue: `load-reference` loads the reference data, `generate --total N` tops the catalogue "
        "up with synthetic procedures, `reindex` rebuilds the search index, `bootstrap` does what a first start "
        "needs."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        load = commands.add_parser("load-reference", help="Load (or refresh) the reference data folder.")
        load.add_argument(
            "--path",
            type=Path,
            default=None,
            help="Folder of YAML files (default: VENTANILLA_REFERENCE_DATA).",
        )
        generate = commands.add_parser("generate", help="Add synthetic procedures until there are N in all.")
        generate.add_argument("--total", type=int, required=True)
        generate.add_argument("--seed", type=int, default=2016)
        commands.add_parser("reindex", help="Rebuild the search index from the catalogue.")
        bootstrap = commands.add_parser(
            "bootstrap",
            help="Load the reference data if the catalogue is empty, top it up to --total and make "
            "sure the search index is complete.",
        )
        bootstrap.add_argument("--total", type=int, default=None, help="Default: VENTANILLA_CATALOGUE_SIZE.")
        bootstrap.add_argument("--seed", type=int, default=2016)

    def handle(self, *args, subcommand, **options):
        getattr(self, "_" + subcommand.replace("-", "_"))(**options)

    def _load_reference(self, *, path=None, **options):
        path = Path(path or settings.VENTANILLA_REFERENCE_DATA)
        if not path.is_dir():
            raise CommandError(f"There is no reference data folder at {path}.")
        counts = services.load_reference_data(path=path, actor=Actor.system("ventanilla catalogue"))
        summary = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Reference data loaded: {summary}."))

    def _generate(self, *, total, seed=2016, **options):
        started = time.perf_counter()
        try:
            made = generator.generate(total=total, seed=seed)
        except generator.GenerationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {made} procedures in {time.perf_counter() - started:.1f} s; "
                f"the catalogue has {Procedure.objects.count()}."
            )
        )

    def _reindex(self, **options):
        started = time.perf_counter()
        search.reindex()
        self.stdout.write(
            self.style.SUCCESS(
                f"Search index rebuilt: {search.indexed_count()} published procedures in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )

    def _bootstrap(self, *, total=None, seed=2016, **options):
        if not Institution.objects.exists():
            self._load_reference()
        self._generate(total=settings.VENTANILLA_CATALOGUE_SIZE if total is None else total, seed=seed)
        published = Procedure.objects.filter(status=Procedure.Status.PUBLISHED).count()
        if search.indexed_count() != published:
            self._reindex()
