"""The reference service definitions against the reference catalogue, and what publishing guarantees: the
catalogue is the contract, mistakes are reported where they are, and a new version never disturbs running cases."""

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import transaction

from ventanilla.cases import definitions, levels, selectors, services
from ventanilla.cases.models import ServiceVersion
from ventanilla.catalogue import services as catalogue
from ventanilla.core.actor import Actor
from ventanilla.forms.definition import requirement_slug
from ventanilla.identity.selectors import actor_for

SERVICES = Path(settings.VENTANILLA_REFERENCE_DATA) / "services"
FILES = sorted(SERVICES.glob("*.yaml"))
# procedure code → (computed level, level the catalogue declares)
EXPECTED_LEVELS = {
    "MUN-PANAMA-PERMISO-CONSTRUCCION": (4, 3),
    "MICI-AVISO-OPERACION": (4, 4),
    "DGI-PAZ-Y-SALVO": (4, 4),
    "MITRADEL-PERMISO-TRABAJO-EXTRANJERO": (3, 3),
    "TE-CERT-NACIMIENTO": (4, 4),
}
BIRTH_CERTIFICATE = SERVICES / "te-cert-nacimiento.yaml"
BIRTH_ANSWERS = {
    "relationship": "self",
    "has_cedula": True,
    "registered_cedula": "8-100-101",
    "purpose": "school",
    "copies": 1,
    "contact_email": "persona@example.org",
}


@pytest.fixture(scope="module")
def reference_catalogue(django_db_setup, django_db_blocker):
    """The reference catalogue, loaded once for the module and rolled back after it (each test runs in a
    savepoint inside)."""
    with django_db_blocker.unblock(), transaction.atomic():
        catalogue.load_reference_data(
            path=Path(settings.VENTANILLA_REFERENCE_DATA), actor=Actor.system("tests")
        )
        yield
        transaction.set_rollback(True)


@pytest.fixture
def actor(reference_catalogue, db):
    return Actor.system("tests")


def source_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def edited(path: Path, change) -> str:
    document = yaml.safe_load(source_of(path).replace("- on: approved", '- "on": approved'))
    change(document)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def problems(source: str) -> list[str]:
    with pytest.raises(definitions.InvalidDefinition) as refused:
        services.import_definition(source=source, actor=Actor.system("tests"))
    return [str(error) for error in refused.value.errors]


def test_there_are_the_five_reference_services():
    codes = {yaml.safe_load(source_of(path))["procedure"] for path in FILES}
    assert codes == set(EXPECTED_LEVELS)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_each_reference_service_checks_clean_and_publishes_with_its_level(path, actor):
    document = definitions.parse_source(source_of(path))
    procedure = selectors.procedure(document["procedure"])
    assert definitions.check(document, procedure=procedure) == []

    version = services.import_definition(source=source_of(path), actor=actor)

    assert version.status == ServiceVersion.Status.PUBLISHED
    assert (version.computed_level, procedure.level) == EXPECTED_LEVELS[procedure.code]
    assert levels.computed_level(selectors.definition_of(version)) == version.computed_level
    # Requirements the state holds are fetched, never asked: each one is on the list to fetch.
    held = {
        slug for slug, requirement in version.resolved["requirements"].items() if requirement["held_by_state"]
    }
    assert set(version.resolved["fetch"]) == held
    asked = {field.requirement for field in selectors.definition_of(version).form.fields_by_key.values()}
    assert not asked & held


def test_the_reference_services_use_what_the_engine_offers():
    documents = [definitions.parse_source(source_of(path)) for path in FILES]
    pages = [page for document in documents for page in document["form"]["pages"]]
    fields = [field for page in pages for field in page["fields"]]
    actions = [action for document in documents for action in document["workflow"]["actions"]]
    assert any("show_if" in page for page in pages)
    assert any("show_if" in field for field in fields)
    assert any(field["type"] == "repeat" for field in fields)
    assert any(field["type"] == "file" for field in fields)
    for document in documents:
        kinds = {action.get("kind", "normal") for action in document["workflow"]["actions"]}
        assert {"send_back", "decision"} <= kinds, document["procedure"]
        assert document["outputs"][0]["on"] == "approved"
        assert document["form"]["declaration"]["en"]
    decisions = [action for action in actions if action.get("kind") == "decision"]
    assert all(any(item["key"] == "reason" for item in action["inputs"]) for action in decisions)


def test_a_document_the_catalogue_does_not_list_is_refused_and_the_catalogue_named(actor):
    def ask_for_a_fire_certificate(document):
        document["form"]["pages"][-1]["fields"].append(
            {
                "key": "fire_certificate",
                "type": "file",
                "label": {"es": "Visto bueno de Bomberos", "en": "Fire service approval"},
                "requirement": requirement_slug("Visto bueno del Cuerpo de Bomberos"),
            }
        )

    found = problems(edited(SERVICES / "mun-panama-permiso-construccion.yaml", ask_for_a_fire_certificate))

    assert len(found) == 1
    assert found[0].startswith("form.pages[5].fields[2].requirement: ")
    assert "visto-bueno-del-cuerpo-de-bomberos" in found[0]
    assert "add it to the procedure in the catalogue" in found[0]
    assert selectors.published_version("MUN-PANAMA-PERMISO-CONSTRUCCION") is None


def test_a_document_the_state_holds_is_never_asked(actor):
    def ask_for_the_ownership_certificate(document):
        document["form"]["pages"][-1]["fields"][0]["requirement"] = "certificado-de-propiedad-de-la-finca"

    found = problems(
        edited(SERVICES / "mun-panama-permiso-construccion.yaml", ask_for_the_ownership_certificate)
    )

    assert len(found) == 1
    assert found[0].startswith("form.pages[5].fields[0].requirement: ")
    assert "certificado-de-propiedad-de-la-finca" in found[0] and "already holds" in found[0]


def test_bad_yaml_says_the_line_and_column(actor):
    broken = source_of(BIRTH_CERTIFICATE).replace("applicant: person", "applicant: [person", 1)

    (found,) = problems(broken)

    assert "line " in found and "column " in found
    assert "not valid YAML or JSON" in found


def test_schema_errors_say_where(actor):
    def break_it(document):
        del document["form"]["pages"][0]["title"]
        document["form"]["pages"][1]["fields"][0]["type"] = "signature"

    found = problems(edited(BIRTH_CERTIFICATE, break_it))

    assert any(error.startswith("form.pages[0].title: ") for error in found), found
    assert any(error.startswith("form.pages[1].fields[0].type: ") for error in found), found

    def break_the_workflow(document):
        document["workflow"]["states"][0].pop("label")
        document["workflow"]["actions"][0]["to"] = "nowhere"

    found = problems(edited(BIRTH_CERTIFICATE, break_the_workflow))
    assert any(error.startswith("workflow.states[0].label: ") for error in found), found


def test_importing_an_unchanged_file_publishes_nothing_new(actor):
    first = services.import_definition(source=source_of(BIRTH_CERTIFICATE), actor=actor)
    again = services.import_definition(source=source_of(BIRTH_CERTIFICATE), actor=actor)

    assert again.id == first.id
    assert first.service.versions.count() == 1


def _submitted(version, citizen, **more):
    citizen_actor = actor_for(citizen)
    case, _created = services.start_case(
        version=version,
        subject=f"user:{citizen.public_id}",
        subject_label=str(citizen),
        applicant=citizen,
        filed_by=citizen,
        start_key="",
        actor=citizen_actor,
    )
    case = services.save_page(
        case=case,
        page_key="certificate",
        values={**BIRTH_ANSWERS, **more},
        uploads={},
        actor=citizen_actor,
        user=citizen,
    )
    sent = services.submit(case=case, actor=citizen_actor)
    # The certificate has a fee; paying is the payments tests' subject, so here it is simply settled.
    return services.fee_paid(reference=sent.reference, receipt="REC-TEST", actor=citizen_actor)


def _with_a_verification_step(document):
    """Version 2: a question more, and a verification state before the clerk issues."""
    document["form"]["pages"][2]["fields"].append(
        {"key": "urgent", "type": "yesno", "label": {"es": "¿Es urgente?", "en": "Is it urgent?"}}
    )
    workflow = document["workflow"]
    workflow["states"].insert(
        0,
        {"key": "verification", "label": {"es": "Verificación", "en": "Verification"}, "role": "verifier"},
    )
    workflow["initial"] = "verification"
    workflow["actions"].append(
        {
            "key": "verify",
            "label": {"es": "Verificar", "en": "Verify"},
            "roles": ["verifier"],
            "from": ["verification"],
            "to": "received",
        }
    )


def test_a_new_version_never_disturbs_running_cases(actor, make_citizen, make_user):
    v1 = services.import_definition(source=source_of(BIRTH_CERTIFICATE), actor=actor)
    running = _submitted(v1, make_citizen())
    assert running.state == "received"

    v2 = services.import_definition(source=edited(BIRTH_CERTIFICATE, _with_a_verification_step), actor=actor)

    assert v2.number == 2 and v2.status == ServiceVersion.Status.PUBLISHED
    v1.refresh_from_db()
    assert v1.status == ServiceVersion.Status.RETIRED
    running.refresh_from_db()
    assert running.version_id == v1.id
    kept = selectors.definition_of(running.version)
    assert "urgent" not in kept.form.fields_by_key and "verification" not in kept.workflow.states
    # The case goes on with version 1's workflow: the clerk issues it straight from "received".
    clerk = make_user()
    services.grant_role(user=clerk, institution=running.institution, role="clerk", actor=actor)
    issued = services.act(
        case=running, action_key="issue", inputs={"reason": "Tomo 12, folio 3"}, official=clerk, actor=actor
    )
    assert (issued.state, issued.outcome) == ("issued", "approved")

    new = _submitted(selectors.published_version("TE-CERT-NACIMIENTO"), make_citizen(), urgent=False)
    assert new.version_id == v2.id
    assert (new.state, new.queue_role) == ("verification", "verifier")


# --- Editing definitions in the admin --------------------------------------------------------------------------


@pytest.fixture
def operator_client(client, make_citizen, reference_catalogue):
    from tests.identity.helpers import sign_in_with_second_factor

    operator = make_citizen(level="substantial")
    type(operator).objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    return sign_in_with_second_factor(operator, client=client)


def test_the_admin_keeps_a_checked_draft_and_publishes_it(operator_client):
    broken = source_of(BIRTH_CERTIFICATE).replace("type: cedula", "type: signature", 1)
    page = operator_client.post("/admin/cases/serviceversion/add/", {"source": broken})
    assert page.status_code == 200
    assert "form.pages[1].fields[1].type: " in page.content.decode()
    assert not ServiceVersion.objects.exists()

    saved = operator_client.post("/admin/cases/serviceversion/add/", {"source": source_of(BIRTH_CERTIFICATE)})
    assert saved.status_code == 302
    draft = ServiceVersion.objects.get()
    assert (
        draft.status == ServiceVersion.Status.DRAFT and draft.source == source_of(BIRTH_CERTIFICATE).strip()
    )
    assert (
        "font-family: monospace"
        in operator_client.get(f"/admin/cases/serviceversion/{draft.pk}/change/").content.decode()
    )

    operator_client.post(
        "/admin/cases/serviceversion/",
        {"action": "publish", "_selected_action": [str(draft.pk)]},
    )
    draft.refresh_from_db()
    assert (draft.status, draft.computed_level) == (ServiceVersion.Status.PUBLISHED, 4)
    # A published version is only shown: nothing on its page can be changed.
    shown = operator_client.get(f"/admin/cases/serviceversion/{draft.pk}/change/").content.decode()
    assert 'name="source"' not in shown and "TE-CERT-NACIMIENTO" in shown
    assert operator_client.get("/admin/cases/service/").status_code == 200


def test_the_admin_grants_roles_through_the_services_and_shows_cases_read_only(
    operator_client, make_user, actor
):
    from ventanilla.catalogue.models import Institution
    from ventanilla.core.models import AuditEntry

    official, te = make_user(), Institution.objects.get(code="TE")
    granted = operator_client.post(
        "/admin/cases/officialrole/add/", {"user": official.pk, "institution": te.pk, "role": "clerk"}
    )
    assert granted.status_code == 302
    assert selectors.roles_of(official, te) == {"clerk"}
    assert AuditEntry.objects.filter(action="cases.role_granted").count() == 1

    version = services.import_definition(source=source_of(BIRTH_CERTIFICATE), actor=actor)
    case = _submitted(version, official)
    listed = operator_client.get("/admin/cases/case/", {"q": case.reference}).content.decode()
    assert case.reference in listed
    shown = operator_client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "registered_cedula" in shown and 'name="_save"' not in shown
