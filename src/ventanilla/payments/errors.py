"""Why a payment or a refund did not succeed: a closed list of codes a service can act on, each with what the
payer is told and whether trying again can help. Providers map their own answers onto these codes."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Error:
    code: str
    message: Promise  # for the payer, in their language
    retry: bool  # whether paying again (perhaps another way) can succeed


_ERRORS = [
    Error("card_declined", _("The bank declined the card. Try another card or pay at a counter."), True),
    Error(
        "insufficient_funds", _("The card has not enough funds. Try another card or pay at a counter."), True
    ),
    Error("card_expired", _("The card has expired. Try another card."), True),
    Error("invalid_card", _("The card details are not valid. Check them and try again."), True),
    Error("cancelled_by_payer", _("You cancelled the payment. Nothing was charged."), True),
    Error("session_expired", _("The payment was not finished in time. Nothing was charged."), True),
    Error(
        "provider_error",
        _("The payment provider had a problem and nothing was charged. Try again in a few minutes."),
        True,
    ),
    Error(
        "provider_unavailable",
        _("The payment provider cannot be reached now. Nothing was charged. Try again in a few minutes."),
        True,
    ),
    Error("amount_exceeds_refundable", _("The amount is more than what can still be refunded."), False),
    Error("unknown_payment", _("The payment provider does not know this payment."), False),
    Error(
        "already_paid",
        _("Everything in this payment was already paid another way; the money is returned in full."),
        False,
    ),
]
ERRORS = {error.code: error for error in _ERRORS}
CODES = tuple(ERRORS)


def describe(code: str) -> Error:
    return ERRORS.get(code) or ERRORS["provider_error"]
