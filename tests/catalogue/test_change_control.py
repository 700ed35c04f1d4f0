"""The catalogue is a contract: nothing published changes without a justified change approved by a second person."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ventanilla.catalogue import search, selectors, services
from ventanilla.catalogue.models import CatalogueRole, ChangeRequest, Procedure
from ventanilla.catalogue.schemas import ProcedureDoc
from ventanilla.identity.selectors import actor_for

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Ley 5 de 2007 requires the applicant's tax registration for this procedure."


@pytest.fixture
def people(make_user, small_catalogue):
    return {
        "te_editor": make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=small_catalogue["te"]),
        "authority_editor": make_user(role=CatalogueRole.Role.AUTHORITY_EDITOR),
        "reviewer": make_user(role=CatalogueRole.Role.AUTHORITY_REVIEWER),
        "second_reviewer": make_user(role=CatalogueRole.Role.AUTHORITY_REVIEWER),
        "nobody": make_user(),
    }


def document(procedure, **changes):
    return ProcedureDoc.model_validate({**selectors.procedure_document(procedure), **changes})


def submit(user, doc, justification=JUSTIFICATION):
    return services.submit_change(user=user, actor=actor_for(user), doc=doc, justification=justification)


def review(user, change, approve=True, note="Checked against the decree."):
    return services.review_change(
        change_id=change.id, user=user, actor=actor_for(user), approve=approve, note=note
    )


def test_a_new_requirement_is_published_only_after_a_second_person_approves(people, small_catalogue):
    cedula = small_catalogue["cedula"]
    doc = document(
        cedula,
        requirements=[
            *selectors.procedure_document(cedula)["requirements"],
            {
                "kind": "document",
                "name_es": "Recibo de luz",
                "name_en": "Electricity bill",
                "format_es": "Copia",
                "format_en": "Copy",
            },
        ],
    )
    change = submit(people["te_editor"], doc)
    assert change.kind == "update" and [c["field"] for c in change.changes] == ["requirements"]
    assert cedula.requirements.count() == 1  # still the published version

    approved = review(people["reviewer"], change)
    assert approved.status == "approved"
    assert [r.name_en for r in cedula.requirements.all()] == ["Expired identity card", "Electricity bill"]
    entry = selectors.change_log(cedula).get()
    assert entry.justification == JUSTIFICATION and entry.summary[0]["field"] == "requirements"


def test_nobody_approves_their_own_change(people, small_catalogue, make_user):
    both = make_user(role=CatalogueRole.Role.AUTHORITY_REVIEWER)
    CatalogueRole.objects.create(user=both, role=CatalogueRole.Role.AUTHORITY_EDITOR)
    change = submit(both, document(small_catalogue["cedula"], title_en="Renewal of the identity card"))
    with pytest.raises(PermissionDenied, match="segunda persona"):
        review(both, change)


def test_an_institution_editor_cannot_change_another_institutions_procedure(people, small_catalogue):
    permit = small_catalogue["permit"]  # belongs to the Municipality of Panamá
    with pytest.raises(PermissionDenied):
        submit(people["te_editor"], document(permit, title_en="Construction permit"))
    with pytest.raises(PermissionDenied):
        submit(people["nobody"], document(permit, title_en="Construction permit"))
    # nor move one of its own procedures to another institution
    with pytest.raises(PermissionDenied):
        submit(people["te_editor"], document(small_catalogue["cedula"], institution="MUN-PANAMA"))
    assert not ChangeRequest.objects.exists()


def test_only_reviewers_review(people, small_catalogue):
    change = submit(people["authority_editor"], document(small_catalogue["permit"], level=3))
    with pytest.raises(PermissionDenied):
        review(people["te_editor"], change)
    review(people["reviewer"], change)
    with pytest.raises(ValidationError):
        review(people["second_reviewer"], change)  # already decided


def test_a_change_needs_a_justification(people, small_catalogue):
    with pytest.raises(ValidationError) as error:
        submit(people["te_editor"], document(small_catalogue["cedula"], level=4), justification="because")
    assert "justification" in error.value.message_dict


def test_a_rejection_says_why_and_changes_nothing(people, small_catalogue):
    change = submit(people["te_editor"], document(small_catalogue["cedula"], title_en="Something else"))
    with pytest.raises(ValidationError):
        review(people["reviewer"], change, approve=False, note="")
    review(people["reviewer"], change, approve=False, note="The title must keep the legal name.")
    small_catalogue["cedula"].refresh_from_db()
    assert small_catalogue["cedula"].title_en == "Identity card renewal"


def test_a_new_procedure_and_a_withdrawal(people, small_catalogue):
    doc = ProcedureDoc.model_validate(
        {
            "code": "TE-NUEVO",
            "institution": "TE",
            "title_es": "Trámite nuevo",
            "title_en": "New procedure",
            "description_es": "Un trámite nuevo justificado.",
            "description_en": "A new, justified procedure.",
            "audience": ["citizen"],
            "channels": ["online"],
            "level": 4,
            "topics": ["identity"],
        }
    )
    review(people["reviewer"], submit(people["te_editor"], doc))
    assert search.search(q="nuevo").ids == [Procedure.objects.get(code="TE-NUEVO").id]

    withdrawal = services.submit_change(
        user=people["te_editor"],
        actor=actor_for(people["te_editor"]),
        withdraw_code="TE-NUEVO",
        justification=JUSTIFICATION,
    )
    review(people["reviewer"], withdrawal)
    assert Procedure.objects.get(code="TE-NUEVO").status == "withdrawn"
    assert search.search(q="nuevo").ids == []


def test_unknown_codes_are_explained(people, small_catalogue):
    with pytest.raises(ValidationError) as error:
        submit(people["authority_editor"], document(small_catalogue["cedula"], topics=["no-such-topic"]))
    assert "no-such-topic" in str(error.value.message_dict["topics"])
