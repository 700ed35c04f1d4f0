"""A case whose service has a fee asks for it (cases.fee_requested); payments raises the obligation the applicant
then sees and pays, in the same transaction, so that the fee is owed the moment the case is sent. A case withdrawn
before paying cancels its unpaid fee."""

import contextlib

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.actor import Actor
from ventanilla.core.events import subscriber
from ventanilla.core.models import Event

from . import selectors, services
from .models import Obligation


@subscriber("cases.fee_requested", in_transaction=True)
def raise_case_fee(event: Event) -> None:
    payload = event.payload
    institution = catalogue.institution_by_code(payload["institution"])
    procedure = catalogue.procedure_detail(payload["procedure"], include_unpublished=True)
    services.post_obligation(
        institution=institution,
        data=services.ObligationIn(
            reference=payload["reference"],
            debtor=event.subject,
            debtor_label=payload["subject_label"],
            kind=Obligation.Kind.FEE,
            concept_es=f"{procedure.title_es if procedure else payload['procedure']} ({payload['reference']})",
            concept_en=f"{procedure.title_en if procedure else payload['procedure']} ({payload['reference']})",
            amount=payload["amount"],
            currency=payload["currency"],
            legal_basis=payload.get("legal_basis", ""),
            source=f"case:{payload['reference']}",
        ),
        actor=Actor.system("payments"),
    )


@subscriber("cases.withdrawn")
def cancel_case_fee(event: Event) -> None:
    obligation = selectors.obligation_for_source(f"case:{event.payload['reference']}")
    if obligation is not None and obligation.status == Obligation.Status.OPEN:
        # Being paid right now: the payment decides, and the institution may refund it.
        with contextlib.suppress(services.PaymentError):
            services.cancel_obligation(
                obligation=obligation,
                reason="Solicitud retirada por el solicitante / Application withdrawn by the applicant",
                actor=Actor.system("payments"),
            )
