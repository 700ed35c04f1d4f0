"""What documents hears from other apps: a case approved (cases.decided) is issued the documents its service
definition lists under `outputs`, signed by the deciding institution and filed under the case's subject."""

from ventanilla.cases import selectors as cases
from ventanilla.core.actor import Actor
from ventanilla.core.events import subscriber
from ventanilla.core.models import Event
from ventanilla.identity import selectors as identity

from . import services


@subscriber("cases.decided")
def issue_case_outputs(event: Event) -> None:
    payload = event.payload
    if payload.get("outcome") != "approved":
        return
    case = cases.case_for_subject(event.subject, payload["reference"])
    if case is None:
        return
    definition = cases.definition_of(case.version).document
    outputs = [output for output in definition.get("outputs", []) if output.get("on") == "approved"]
    procedure = case.version.service.procedure
    for number, output in enumerate(outputs, start=1):
        services.issue_document(
            institution=case.institution,
            data=services.DocumentIn(
                kind=output["document"],
                holder=case.subject,
                holder_name=case.subject_label,
                holder_identifier=identity.identifier_of_subject(case.subject),
                recipient=payload.get("applicant", ""),
                title_es=output["title"]["es"],
                title_en=output["title"]["en"],
                source=f"case:{case.reference}/{number}",
                language=payload.get("language") or "es",
                fields=[
                    {
                        "key": "procedure",
                        "label_es": "Trámite",
                        "label_en": "Procedure",
                        # The procedure's official name, in Spanish on both languages' copies.
                        "value": procedure.title_es,
                    },
                    {
                        "key": "case",
                        "label_es": "Solicitud",
                        "label_en": "Application",
                        "value": case.reference,
                    },
                ],
            ),
            actor=Actor.system("documents"),
        )
