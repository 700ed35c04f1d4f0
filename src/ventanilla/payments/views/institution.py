"""The institution's side: what is owed to it (post, import, adjust, cancel), what was collected on its behalf
each day, refunds, the cashier's counter for cash payments, and the daily reconciliation with the providers.

Treasurers of an institution see all of it for their institution; cashiers the counter; operators everything. In a
session with a second factor; for anyone else an institution's pages do not exist (404)."""

import secrets
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core import idempotency
from ventanilla.core.identifiers import InvalidIdentifier, as_uuid
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for, keys_for_subject, subject_for_identifier

from .. import selectors, services
from ..forms import (
    AdjustForm,
    CancelForm,
    DayForm,
    DebtorForm,
    ImportForm,
    ObligationForm,
    PeriodForm,
    RefundForm,
)
from ..models import Obligation, Payment

staff_session = authn.required(authn.Level.SUBSTANTIAL)
PAGE_SIZE = 50


def _actor(request):
    return actor_for(request.authentication.user, channel="office")


def institution_page(role: str):
    """A second factor, then an institution (its code in the address) where the person holds `role`."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, code, *args, **kwargs):
            institution = catalogue.institution_by_code(code)
            if institution is None or not selectors.may(request.authentication.user, institution, role):
                raise Http404(_("There is no such institution among yours."))
            request.institution = institution
            return view(request, institution, *args, **kwargs)

        return staff_session(wrapper)

    return decorate


def _show_errors(form, error: services.PaymentError) -> None:
    for field, problem in error.fields.items():
        form.add_error(field if field in form.fields else None, str(problem))
    if not error.fields:
        form.add_error(None, str(error))


def _posted(request):
    return request.POST if request.method == "POST" else None


@staff_session
def institutions(request):
    user = request.authentication.user
    if user.is_superuser:
        rows = [
            (institution, {selectors.TREASURER, selectors.CASHIER})
            for institution in selectors.institutions_owed_to()
        ]
    else:
        rows = [
            (institution, held)
            for institution, held in selectors.roles_by_institution(user)
            if held & {selectors.TREASURER, selectors.CASHIER}
        ]
    may_reconcile = user.is_superuser or any(selectors.TREASURER in held for _institution, held in rows)
    return render(
        request,
        "payments/institution/institutions.html",
        {"rows": rows, "treasurer": selectors.TREASURER, "may_reconcile": may_reconcile},
    )


@institution_page(selectors.TREASURER)
def collections(request, institution):
    today = timezone.now().date()
    form = PeriodForm(
        request.GET if "start" in request.GET else None,
        initial={"start": today - timedelta(days=30), "end": today},
    )
    start, end = today - timedelta(days=30), today
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    days = selectors.collections(institution, start=start, end=end)
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return render(
        request,
        "payments/institution/collections.html",
        {
            "institution": institution,
            "form": form,
            "days": days,
            "items": list(selectors.items_for_institution(institution, start=since, end=until)[:PAGE_SIZE]),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@institution_page(selectors.TREASURER)
def obligations(request, institution):
    status = request.GET.get("status", "")
    status = status if status in Obligation.Status.values else ""
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(
        selectors.obligations_of_institution(institution, status=status, query=query), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/institution/obligations.html",
        {
            "institution": institution,
            "obligations_page": page,
            "status": status,
            "query": query,
            "statuses": Obligation.Status.choices,
        },
    )


@institution_page(selectors.TREASURER)
@require_http_methods(["GET", "POST"])
def obligation_new(request, institution):
    form = ObligationForm(_posted(request), initial={"currency": "USD", "kind": Obligation.Kind.OTHER})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            obligation, created = services.post_obligation(
                institution=institution,
                data=services.ObligationIn(
                    reference=data["reference"],
                    debtor=data["debtor"],
                    debtor_label=data["debtor_name"],
                    kind=data["kind"],
                    concept_es=data["concept_es"],
                    concept_en=data["concept_en"],
                    amount=data["amount"],
                    currency=data["currency"],
                    due_date=data["due_date"],
                    legal_basis=data["legal_basis"],
                ),
                actor=_actor(request),
            )
        except services.PaymentError as error:
            _show_errors(form, error)
        else:
            messages.success(
                request,
                _("The obligation was recorded.") if created else _("This obligation was already recorded."),
            )
            return redirect("payments:obligation", institution.code, obligation.id)
    return render(
        request,
        "payments/institution/obligation_new.html",
        {"institution": institution, "form": form},
        status=400 if form.errors else 200,
    )


@institution_page(selectors.TREASURER)
@require_http_methods(["GET", "POST"])
def obligation_import(request, institution):
    form = ImportForm(_posted(request), request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.import_obligations(
                institution=institution, text=form.cleaned_data["file"], actor=_actor(request)
            )
        except services.PaymentError as error:
            form.add_error("file", str(error))
    failed = bool(form.errors or (result and result.errors))
    return render(
        request,
        "payments/institution/import.html",
        {
            "institution": institution,
            "form": form,
            "result": result,
            "columns": ", ".join(services.CSV_COLUMNS),
        },
        status=400 if failed else 200,
    )


def _obligation_or_404(institution, obligation_id) -> Obligation:
    obligation = selectors.obligation_of_institution(institution, obligation_id)
    if obligation is None:
        raise Http404(_("There is no such obligation."))
    return obligation


def _obligation_page(request, institution, obligation, *, forms: dict | None = None, status: int = 200):
    items = []
    for item in obligation.items.select_related("payment").order_by("payment__created_at"):
        refundable = item.amount - item.refunded if item.payment.status == Payment.Status.SUCCESS else None
        items.append(
            {"item": item, "refundable": refundable, "form": (forms or {}).get(str(item.id)) or RefundForm()}
        )
    return render(
        request,
        "payments/institution/obligation.html",
        {
            "institution": institution,
            "obligation": obligation,
            "history": selectors.history_of(obligation),
            "items": items,
            "adjust_form": (forms or {}).get("adjust") or AdjustForm(initial={"amount": obligation.amount}),
            "cancel_form": (forms or {}).get("cancel") or CancelForm(),
        },
        status=status,
    )


@institution_page(selectors.TREASURER)
def obligation(request, institution, obligation_id):
    return _obligation_page(request, institution, _obligation_or_404(institution, obligation_id))


@institution_page(selectors.TREASURER)
@require_POST
def obligation_change(request, institution, obligation_id, change):
    obligation = _obligation_or_404(institution, obligation_id)
    form = (AdjustForm if change == "adjust" else CancelForm)(request.POST)
    if form.is_valid():
        try:
            if change == "adjust":
                services.adjust_obligation(
                    obligation=obligation,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=_actor(request),
                )
                messages.success(request, _("The amount was changed."))
            else:
                services.cancel_obligation(
                    obligation=obligation, reason=form.cleaned_data["reason"], actor=_actor(request)
                )
                messages.success(request, _("The obligation was cancelled."))
            return redirect("payments:obligation", institution.code, obligation.id)
        except services.PaymentError as error:
            _show_errors(form, error)
    return _obligation_page(request, institution, obligation, forms={change: form}, status=400)


@institution_page(selectors.TREASURER)
@require_POST
def refund(request, institution, item_id):
    item = selectors.item_of_institution(institution, item_id)
    if item is None:
        raise Http404(_("There is no such payment of yours."))
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            made = services.request_refund(
                item=item,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
            )
        except services.PaymentError as error:
            _show_errors(form, error)
        else:
            messages.success(
                request,
                _("Refund %(reference)s: %(status)s.")
                % {"reference": made.reference, "status": made.get_status_display()},
            )
            return redirect("payments:obligation", institution.code, item.obligation_id)
    return _obligation_page(request, institution, item.obligation, forms={str(item.id): form}, status=400)


# --- The counter -------------------------------------------------------------------------------------------


@institution_page(selectors.CASHIER)
@require_http_methods(["GET", "POST"])
def counter(request, institution):
    """The cashier finds what a person or business owes this institution, takes the cash and records it once
    (the form's token makes a second click find the first payment), then prints the receipt."""
    form = DebtorForm(request.GET if "debtor" in request.GET else None)
    debtor, owed, problem = "", [], ""
    if form.is_bound and form.is_valid():
        try:
            debtor = subject_for_identifier(form.cleaned_data["debtor"])
        except InvalidIdentifier as error:
            form.add_error("debtor", str(error))
        else:
            owed = [o for o in selectors.owed(keys_for_subject(debtor)) if o.institution_id == institution.id]
    if request.method == "POST" and debtor:
        chosen = [text for text in request.POST.getlist("obligation") if as_uuid(text)]
        body = {"obligations": sorted(chosen), "debtor": debtor}
        if not chosen:
            problem = _("Choose at least one thing to pay.")
        else:
            user = request.authentication.user

            def produce():
                # Only what this debtor owes this institution, as listed: a stale or altered form is refused.
                mine = [obligation for obligation in owed if str(obligation.id) in chosen]
                if len(mine) != len(set(chosen)):
                    raise services.PaymentError(
                        _("Some of these obligations cannot be found."), code="not_found"
                    )
                payment = services.record_counter_payment(
                    obligation_ids=[obligation.id for obligation in mine],
                    debtor_keys={obligation.debtor for obligation in mine},
                    subject=mine[0].debtor,
                    subject_label=mine[0].debtor_label,
                    cashier=user,
                    actor=_actor(request),
                )
                return 201, {"reference": payment.reference}

            try:
                _status, answer, _replayed = idempotency.once(
                    owner=f"user:{user.public_id}",
                    scope="payments.counter",
                    key=idempotency.form_key(request.POST.get("token") or secrets.token_urlsafe(16), body),
                    body=body,
                    produce=produce,
                )
            except (services.PaymentError, idempotency.InvalidIdempotencyKey) as error:
                problem = str(error)
            else:
                return redirect("payments:counter-receipt", institution.code, answer["reference"])
    return render(
        request,
        "payments/institution/counter.html",
        {
            "institution": institution,
            "form": form,
            "debtor": debtor,
            "owed": owed,
            "problem": problem,
            "token": secrets.token_urlsafe(16),
            "total": sum(o.amount for o in owed),
        },
        status=400 if problem or form.errors else 200,
    )


@institution_page(selectors.CASHIER)
def counter_receipt(request, institution, reference):
    payment = selectors.counter_payment(institution, reference)
    if payment is None:
        raise Http404(_("There is no such payment at this counter."))
    return render(
        request,
        "payments/receipt.html",
        {
            "payment": payment,
            "items": list(selectors.items_of(payment)),
            "refunds": list(selectors.refunds_of(payment)),
            "back": ("payments:counter", institution.code),
        },
    )


# --- Reconciliation ------------------------------------------------------------------------------------------


def reconciler_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.authentication.user
        if not (user.is_superuser or selectors.institutions_with_role(user, selectors.TREASURER)):
            raise Http404(_("There is no such page among yours."))
        return view(request, *args, **kwargs)

    return staff_session(wrapper)


@reconciler_page
@require_http_methods(["GET", "POST"])
def reconciliations(request):
    form = DayForm(_posted(request), initial={"day": timezone.now().date() - timedelta(days=1)})
    if request.method == "POST" and form.is_valid():
        runs = [
            services.reconcile(provider_name=name, day=form.cleaned_data["day"])
            for name in selectors.reconciled_providers()
        ]
        messages.success(request, _("Reconciled %(n)s provider reports.") % {"n": len(runs)})
        return redirect("payments:reconciliations")
    return render(
        request,
        "payments/institution/reconciliations.html",
        {"form": form, "rows": selectors.reconciliations()},
        status=400 if form.errors else 200,
    )


@reconciler_page
def reconciliation(request, reconciliation_id):
    found = selectors.reconciliation(reconciliation_id)
    if found is None:
        raise Http404(_("There is no such reconciliation."))
    return render(
        request,
        "payments/institution/reconciliation.html",
        {"reconciliation": found, "mismatches": selectors.mismatches_of(found)},
    )
