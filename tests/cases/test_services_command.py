"""`ventanilla services`: what it prints and how it exits, as an operator sees it."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from ventanilla.cases import selectors
from ventanilla.cases.models import ServiceVersion
from ventanilla.catalogue import services as catalogue
from ventanilla.core.actor import Actor
from ventanilla.core.models import AuditEntry

SERVICES = Path(settings.VENTANILLA_REFERENCE_DATA) / "services"
NOTICE = SERVICES / "mici-aviso-operacion.yaml"
CLEARANCE = SERVICES / "dgi-paz-y-salvo.yaml"


@pytest.fixture(scope="module")
def reference_catalogue(django_db_setup, django_db_blocker):
    """The reference catalogue, loaded once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        catalogue.load_reference_data(
            path=Path(settings.VENTANILLA_REFERENCE_DATA), actor=Actor.system("tests")
        )
        yield
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def catalogue_loaded(reference_catalogue, db):
    """Every test here runs against the reference catalogue."""


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("services", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args) -> tuple[CommandError, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("services", *map(str, args), stdout=io.StringIO(), stderr=err)
    return error.value, err.getvalue()


def broken_copy(tmp_path) -> Path:
    """The notice of operation asking for a document its procedure does not list."""
    text = NOTICE.read_text(encoding="utf-8").replace(
        "        - key: sworn_statement",
        "        - key: lease\n"
        "          type: file\n"
        "          label: {es: Contrato de arrendamiento, en: Lease}\n"
        "          requirement: contrato-de-arrendamiento\n"
        "        - key: sworn_statement",
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_publishes_and_says_the_levels_then_changes_nothing_when_run_again():
    out, _err = run("import", NOTICE)
    assert out.strip() == "MICI-AVISO-OPERACION: version 1 published (computed level 4, catalogue says 4)"

    out, _err = run("import", NOTICE)
    assert out.strip() == (
        "MICI-AVISO-OPERACION: unchanged, version 1 stays published (computed level 4, catalogue says 4)"
    )
    assert ServiceVersion.objects.count() == 1
    assert AuditEntry.objects.filter(action="cases.service_published").count() == 1


def test_import_says_when_the_computed_level_differs_from_the_catalogue():
    out, _err = run("import", SERVICES / "mun-panama-permiso-construccion.yaml")
    assert out.strip() == (
        "MUN-PANAMA-PERMISO-CONSTRUCCION: version 1 published (computed level 4, catalogue says 3; "
        "the levels differ)"
    )


def test_import_as_draft_publishes_nothing():
    out, _err = run("import", "--draft", NOTICE)
    assert out.strip() == "MICI-AVISO-OPERACION: version 1 saved as a draft"
    assert selectors.published_version("MICI-AVISO-OPERACION") is None


def test_a_json_definition_is_imported_too(tmp_path):
    from ventanilla.cases.definitions import parse_source

    path = tmp_path / "clearance.json"
    path.write_text(json.dumps(parse_source(CLEARANCE.read_text(encoding="utf-8"))), encoding="utf-8")

    out, _err = run("import", path)

    assert out.strip() == "DGI-PAZ-Y-SALVO: version 1 published (computed level 4, catalogue says 4)"


def test_import_with_an_error_prints_each_problem_exits_1_and_changes_nothing(tmp_path):
    broken = broken_copy(tmp_path)

    error, err = refused("import", CLEARANCE, broken)

    assert error.returncode == 1
    assert "Nothing was imported" in str(error)
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{broken}: form.pages[2].fields[5].requirement: ")
    assert "contrato-de-arrendamiento" in lines[0]
    # The good file in the same run was not kept either.
    assert not ServiceVersion.objects.exists()


def test_check_validates_without_saving(tmp_path):
    out, _err = run("check", NOTICE, CLEARANCE)
    assert out.splitlines() == [f"{NOTICE}: no problems found", f"{CLEARANCE}: no problems found"]
    assert not ServiceVersion.objects.exists()

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("format: ventanilla.service/1\nprocedure: [TE\n", encoding="utf-8")
    error, err = refused("check", bad_yaml, broken_copy(tmp_path))
    assert error.returncode == 1
    assert f"{bad_yaml}: (document): This is not valid YAML or JSON (line 3, column 1)" in err
    assert "requirement: Asks for the document “contrato-de-arrendamiento”" in err


def test_a_file_that_cannot_be_read_is_an_error(tmp_path):
    error, _err = refused("check", tmp_path / "missing.yaml")
    assert "cannot be read" in str(error)


def test_load_reference_publishes_every_reference_service_once():
    out, _err = run("load-reference")
    published = [line for line in out.splitlines() if ": version 1 published" in line]
    assert len(published) == len(list(SERVICES.glob("*.yaml"))) == 5

    out, _err = run("load-reference")
    assert all(": unchanged, version 1 stays published" in line for line in out.splitlines())
    assert ServiceVersion.objects.count() == 5


def test_load_reference_from_a_folder_that_does_not_exist(tmp_path):
    error, _err = refused("load-reference", "--path", tmp_path / "nothing")
    assert "There is no folder" in str(error)


def test_export_prints_the_source_as_written():
    run("import", NOTICE)
    run("import", "--draft", CLEARANCE)

    out, _err = run("export", "MICI-AVISO-OPERACION")
    assert out == NOTICE.read_text(encoding="utf-8")
    out, _err = run("export", "MICI-AVISO-OPERACION", "--version", 1)
    assert out == NOTICE.read_text(encoding="utf-8")
    out, _err = run("export", "DGI-PAZ-Y-SALVO")  # only a draft so far
    assert out == CLEARANCE.read_text(encoding="utf-8")

    error, _err = refused("export", "MICI-AVISO-OPERACION", "--version", 7)
    assert "has no version 7" in str(error)
    error, _err = refused("export", "NO-SUCH-CODE")
    assert "There is no online service for NO-SUCH-CODE" in str(error)


def test_list_shows_versions_and_levels():
    out, _err = run("list")
    assert "No online services yet" in out

    run("import", SERVICES / "mun-panama-permiso-construccion.yaml")
    run("import", "--draft", NOTICE)
    out, _err = run("list")
    lines = out.splitlines()
    assert lines[0].startswith("MICI-AVISO-OPERACION") and "not published" in lines[0]
    assert "draft version 1" in lines[0]
    assert lines[1].startswith("MUN-PANAMA-PERMISO-CONSTRUCCION")
    assert "version 1 published, computed level 4, catalogue says 3" in lines[1]
    assert "(levels differ)" in lines[1]
