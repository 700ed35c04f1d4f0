"""What the engine hears from other apps: a case's fee was paid (payments.obligation_paid)."""

from ventanilla.core.actor import Actor
from ventanilla.core.events import subscriber
from ventanilla.core.models import Event

from . import services


@subscriber("payments.obligation_paid")
def move_paid_case_on(event: Event) -> None:
    source = event.payload.get("source", "")
    if source.startswith("case:"):
        services.fee_paid(
            reference=source.removeprefix("case:"),
            receipt=event.payload.get("receipt", ""),
            actor=Actor.system("payments"),
        )
