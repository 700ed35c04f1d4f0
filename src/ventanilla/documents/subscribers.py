"""What documents hears from other apps: a case approved (cases.decided) is issued the documents its service
definition lists under `outputs`, signed by the deciding institution and filed under the case's subject; a payment
received (payments.succeeded) is issued a signed receipt by each institution it paid."""

from ventanilla.cases import selectors as cases
from ventanilla.core.actor import Actor
from ventanilla.core.events import subscriber
from ventanilla.core.models import Event
from ventanilla.payments import selectors as payments

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


@subscriber("payments.succeeded")
def issue_receipts(event: Event) -> None:
    payment = payments.payment_of({event.subject}, event.payload["payment"])
    if payment is None or not payment.receipt_number:
        return
    by_institution: dict = {}
    for item in payments.items_of(payment):
        if not item.duplicate:  # paid twice and given back: not received
            by_institution.setdefault(item.institution, []).append(item)
    for institution, items in by_institution.items():
        total = sum(item.amount for item in items)
        services.issue_document(
            institution=institution,
            data=services.DocumentIn(
                kind="receipt",
                holder=payment.subject,
                holder_name=payment.subject_label,
                title_es=f"Recibo de pago {payment.receipt_number}",
                title_en=f"Payment receipt {payment.receipt_number}",
                source=f"payment:{payment.reference}",
                valid_from=payment.finished_at,
                recipient=event.payload.get("applicant", ""),
                announce=False,  # the payment itself was announced, with its receipt
                fields=[
                    {
                        "key": "receipt",
                        "label_es": "Recibo",
                        "label_en": "Receipt",
                        "value": payment.receipt_number,
                    },
                    {"key": "payment", "label_es": "Pago", "label_en": "Payment", "value": payment.reference},
                    {
                        "key": "concepts",
                        "label_es": "Conceptos",
                        "label_en": "For",
                        "value": [
                            f"{_concept(item.obligation)}: {payment.currency} {item.amount}" for item in items
                        ],
                    },
                    {
                        "key": "amount",
                        "label_es": "Importe",
                        "label_en": "Amount",
                        "value": f"{payment.currency} {total}",
                    },
                    {
                        "key": "channel",
                        "label_es": "Medio",
                        "label_en": "Paid",
                        "value": "Caja / Counter" if payment.channel == "counter" else "En línea / Online",
                    },
                ],
            ),
            actor=Actor.system("documents"),
        )


def _concept(obligation) -> str:
    """What was paid, with the institution's reference unless the concept already names it."""
    concept = obligation.concept_es
    return concept if obligation.reference in concept else f"{concept} ({obligation.reference})"
