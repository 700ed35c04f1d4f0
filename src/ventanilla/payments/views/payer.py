"""The payer's side: everything owed to any institution by the person (or the business they act for), paying one
or several together with the provider they choose, the payment's status, the history and printable receipts.

A payment belongs to whom it was made for: anyone else's is "not found", exactly like one that does not exist."""

import secrets
from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ventanilla.core import idempotency
from ventanilla.core.identifiers import as_uuid
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for_request, may_act, principal_for_request, principal_keys
from ventanilla.web.navigation import continue_to

from .. import errors, plugins, selectors, services
from ..models import Payment

SCOPE = "payments"
PAGE_SIZE = 20


def payer_page(view):
    """Signed in, and allowed to handle payments for whom the session acts (self, a business, a delegator)."""

    @wraps(view)
    @authn.required()
    def wrapper(request, *args, **kwargs):
        principal = principal_for_request(request)
        if not may_act(request, SCOPE):
            return render(request, "payments/payer/cannot_act.html", {"principal": principal}, status=403)
        request.payer = principal
        request.debtor_keys = principal_keys(principal)
        return view(request, *args, **kwargs)

    return wrapper


def _owed_page(
    request, *, problem: str = "", selected=None, status: int = 200, pending: Payment | None = None
):
    owed = list(selectors.owed(request.debtor_keys))
    selected = {str(obligation.id) for obligation in owed} if selected is None else set(selected)
    currencies = sorted({obligation.currency for obligation in owed})
    return render(
        request,
        "payments/payer/owed.html",
        {
            "principal": request.payer,
            "owed": owed,
            "selected": selected,
            "totals": [
                (currency, sum((o.amount for o in owed if o.currency == currency), Decimal("0.00")))
                for currency in currencies
            ],
            "providers": plugins.online(),
            "token": secrets.token_urlsafe(16),
            "problem": problem,
            "pending": pending,
            "today": timezone.localdate(),
        },
        status=status,
    )


@payer_page
def owed(request):
    return _owed_page(request)


@payer_page
@require_POST
def pay(request):
    """Creates the payment once per form (the hidden token is its idempotency key: a double click or a resent
    form finds the first payment) and sends the payer to the provider's page."""
    chosen = [text for text in request.POST.getlist("obligation") if as_uuid(text)]
    provider = request.POST.get("provider", "")
    if not chosen:
        return _owed_page(request, problem=_("Choose at least one thing to pay."), selected=[], status=400)
    if provider not in plugins.online():
        return _owed_page(request, problem=_("Choose how to pay."), selected=chosen, status=400)
    user = request.authentication.user

    def produce():
        payment = services.create_payment(
            obligation_ids=[as_uuid(text) for text in chosen],
            debtor_keys=request.debtor_keys,
            subject=request.payer.reference,
            subject_label=request.payer.label,
            payer=user,
            provider=provider,
            channel=Payment.Channel.WEB,
            actor=actor_for_request(request),
        )
        return 201, {"id": str(payment.id)}

    body = {"obligations": sorted(chosen), "provider": provider}
    try:
        _status, answer, _replayed = idempotency.once(
            owner=request.payer.reference,
            scope="payments.web",
            key=idempotency.form_key(request.POST.get("token") or secrets.token_urlsafe(16), body),
            body=body,
            produce=produce,
        )
        payment = services.start_payment(payment=selectors.payment_by_id(answer["id"]))
    except (services.PaymentError, idempotency.InvalidIdempotencyKey) as error:
        pending = None
        if getattr(error, "code", "") == "in_progress":
            pending = selectors.payments_of(request.debtor_keys).filter(status__in=Payment.PENDING).first()
        return _owed_page(request, problem=str(error), selected=chosen, status=409, pending=pending)
    if payment.status == Payment.Status.STARTED and payment.redirect_url:
        return continue_to(
            request,
            payment.redirect_url,
            title=_("Taking you to the payment page"),
            lead=_("Your browser should open the payment provider's page by itself in a moment."),
            button=_("Continue to the payment page"),
        )
    return redirect("payments:detail", payment.reference)


def _payment_or_404(request, reference: str) -> Payment:
    payment = selectors.payment_of(request.debtor_keys, reference)
    if payment is None:
        raise Http404(_("There is no such payment among yours."))
    return payment


def _payment_context(payment: Payment) -> dict:
    error = errors.describe(payment.error_code) if payment.error_code else None
    return {
        "payment": payment,
        "items": list(selectors.items_of(payment)),
        "refunds": list(selectors.refunds_of(payment)),
        "error": error,
        "pending": payment.status in Payment.PENDING,
    }


@payer_page
def detail(request, reference):
    """The payer's page of a payment, and where the provider sends them back: it asks the provider when nothing
    has been heard, and refreshes itself while the bank's answer is awaited (no JavaScript needed)."""
    payment = services.refresh(payment=_payment_or_404(request, reference))
    return render(request, "payments/payer/detail.html", _payment_context(payment))


@payer_page
@require_POST
def cancel(request, reference):
    payment = _payment_or_404(request, reference)
    try:
        payment = services.cancel_payment(payment=payment, actor=actor_for_request(request))
    except services.PaymentError as error:
        messages.error(request, str(error))
    else:
        if payment.status == Payment.Status.CANCELLED:
            messages.success(request, _("The payment was cancelled. Nothing was charged."))
    return redirect("payments:detail", payment.reference)


@payer_page
def history(request):
    page = Paginator(selectors.payments_of(request.debtor_keys), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "payments/payer/history.html", {"payments_page": page, "principal": request.payer})


@payer_page
def receipt(request, reference):
    payment = _payment_or_404(request, reference)
    if payment.status != Payment.Status.SUCCESS:
        raise Http404(_("This payment has no receipt: it was not completed."))
    return render(request, "payments/receipt.html", _payment_context(payment))
