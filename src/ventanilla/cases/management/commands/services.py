"""`ventanilla services`: import, check, export and list online service definitions (format ventanilla.service/1)."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ventanilla.cases import definitions, selectors, services
from ventanilla.cases.models import Service, ServiceVersion
from ventanilla.core.actor import Actor
from ventanilla.core.definitions import DefinitionError

ACTOR_LABEL = "ventanilla services"
SUFFIXES = (".yaml", ".yml", ".json")


class _Refused(Exception):
    """At least one file was refused: everything imported in this run is rolled back."""


def default_reference_path() -> Path:
    return Path(settings.VENTANILLA_REFERENCE_DATA) / "services"


class Command(BaseCommand):
    help = (
        "Manage online service definitions: `import FILE...` saves and publishes them, `check FILE...` only "
        "validates, `load-reference` imports the reference services, `export CODE` prints a definition, `list` "
        "shows the services."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        imported = commands.add_parser("import", help="Save and publish definitions (YAML or JSON files).")
        imported.add_argument("files", nargs="+", type=Path, metavar="FILE")
        imported.add_argument("--draft", action="store_true", help="Save as drafts; publish nothing.")
        checked = commands.add_parser(
            "check", help="Validate definitions against the catalogue; change nothing."
        )
        checked.add_argument("files", nargs="+", type=Path, metavar="FILE")
        reference = commands.add_parser(
            "load-reference", help="Import every definition of the reference folder."
        )
        reference.add_argument(
            "--path", type=Path, default=None, help="Folder of definitions (default: the reference services)."
        )
        exported = commands.add_parser("export", help="Print the source of a service's definition.")
        exported.add_argument("code", metavar="CODE", help="The procedure code.")
        exported.add_argument("--version", type=int, default=None, help="Default: the published version.")
        commands.add_parser("list", help="List the services, their versions and levels.")

    def handle(self, *args, subcommand, **options):
        getattr(self, "_" + subcommand.replace("-", "_"))(**options)

    # --- import and check -----------------------------------------------------------------------------------

    def _import(self, *, files, draft=False, **options):
        self._import_files(files, publish_now=not draft)

    def _load_reference(self, *, path=None, **options):
        folder = Path(path) if path else default_reference_path()
        if not folder.is_dir():
            raise CommandError(f"There is no folder of service definitions at {folder}.")
        files = sorted(item for item in folder.iterdir() if item.suffix in SUFFIXES)
        if not files:
            self.stdout.write(f"No service definitions in {folder}.")
            return
        self._import_files(files, publish_now=True)

    def _import_files(self, files: list[Path], *, publish_now: bool) -> None:
        sources = self._read(files)
        actor = Actor.system(ACTOR_LABEL)
        lines, refused = [], False
        try:
            with transaction.atomic():
                for file, source in sources:
                    try:
                        with transaction.atomic():
                            lines.append(
                                (self._import_one(source, actor=actor, publish_now=publish_now), False)
                            )
                    except definitions.InvalidDefinition as error:
                        refused = True
                        lines += [(f"{file}: {self._describe(item)}", True) for item in error.errors]
                    except services.CaseError as error:
                        refused = True
                        lines.append((f"{file}: {error}", True))
                if refused:
                    raise _Refused
        except _Refused:
            lines = [(line, is_error) for line, is_error in lines if is_error]
        for line, is_error in lines:
            (self.stderr if is_error else self.stdout).write(line)
        if refused:
            raise CommandError("Nothing was imported: fix the errors above and run the command again.")

    def _import_one(self, source: str, *, actor: Actor, publish_now: bool) -> str:
        code = str(definitions.parse_source(source).get("procedure", ""))
        before = selectors.published_version(code)
        version = services.import_definition(source=source, actor=actor, publish_now=publish_now)
        code = version.service.procedure.code
        if version.status == version.Status.DRAFT:
            return f"{code}: version {version.number} saved as a draft"
        declared = version.service.procedure.level
        levels = f"computed level {version.computed_level}, catalogue says {declared}"
        if version.computed_level != declared:
            levels += "; the levels differ"
        if before is not None and before.id == version.id:
            return f"{code}: unchanged, version {version.number} stays published ({levels})"
        return f"{code}: version {version.number} published ({levels})"

    def _check(self, *, files, **options):
        refused = False
        for file, source in self._read(files):
            errors = self._check_one(source)
            if errors:
                refused = True
                for item in errors:
                    self.stderr.write(f"{file}: {self._describe(item)}")
            else:
                self.stdout.write(f"{file}: no problems found")
        if refused:
            raise CommandError("The definitions above have errors.")

    def _check_one(self, source: str) -> list[DefinitionError]:
        try:
            document = definitions.parse_source(source)
        except definitions.InvalidDefinition as error:
            return error.errors
        return definitions.check(document, procedure=selectors.procedure(str(document.get("procedure", ""))))

    def _read(self, files: list[Path]) -> list[tuple[Path, str]]:
        sources = []
        for file in files:
            try:
                sources.append((file, Path(file).read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"{file}: cannot be read ({error}).") from error
        return sources

    @staticmethod
    def _describe(error: DefinitionError) -> str:
        return f"{error.path or '(document)'}: {error.message}"

    # --- export and list ------------------------------------------------------------------------------------

    def _export(self, *, code, version=None, **options):
        service = selectors.service_for(code)
        if service is None:
            raise CommandError(f"There is no online service for {code}.")
        chosen = (
            selectors.version_number(service, version)
            if version is not None
            else selectors.published_version(code) or selectors.draft_version(service)
        )
        if chosen is None:
            raise CommandError(
                f"{code} has no version {version}." if version else f"{code} has no version yet."
            )
        source = chosen.source or yaml.safe_dump(chosen.document, allow_unicode=True, sort_keys=False)
        self.stdout.write(source, ending="" if source.endswith("\n") else "\n")

    def _list(self, **options):
        rows = (
            Service.objects.select_related("procedure")
            .prefetch_related("versions")
            .order_by("procedure__code")
        )
        if not rows:
            self.stdout.write("No online services yet: run `ventanilla services load-reference`.")
            return
        for service in rows:
            procedure = service.procedure
            published = next(
                (item for item in service.versions.all() if item.status == ServiceVersion.Status.PUBLISHED),
                None,
            )
            draft = next(
                (item for item in service.versions.all() if item.status == ServiceVersion.Status.DRAFT), None
            )
            if published is not None:
                state = f"version {published.number} published, computed level {published.computed_level}"
            else:
                state = "not published"
            pending = f", draft version {draft.number}" if draft is not None else ""
            flag = (
                "  (levels differ)"
                if published is not None and published.computed_level != procedure.level
                else ""
            )
            self.stdout.write(
                f"{procedure.code:<40} {state}, catalogue says {procedure.level}{pending}{flag}"
            )
