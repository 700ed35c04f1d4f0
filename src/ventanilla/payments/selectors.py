"""Reads of the payments app, and who may see what: a person sees what they (or the business they act for) owe
and paid; an institution's treasurers see what is owed to and collected for it; its cashiers take payments at the
counter; operators see everything."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from ventanilla.cases import selectors as cases
from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.identifiers import as_uuid
from ventanilla.identity.oidc.selectors import integrator_institution_ids

from . import plugins
from .models import Obligation, ObligationChange, Payment, PaymentItem, Reconciliation, Refund, Webhook

TREASURER, CASHIER = "treasurer", "cashier"  # roles an official holds in an institution (cases' OfficialRole)


def _obligations():
    return Obligation.objects.select_related("institution")


def owed(keys: set[str]):
    """What is still to pay, soonest due first (no due date last)."""
    return (
        _obligations()
        .filter(debtor__in=keys, status=Obligation.Status.OPEN)
        .order_by(F("due_date").asc(nulls_last=True), "created_at")
    )


def obligation_of_debtor(keys: set[str], obligation_id) -> Obligation | None:
    return _obligations().filter(debtor__in=keys, id=as_uuid(obligation_id)).first()


def payments_of(keys: set[str]):
    return Payment.objects.filter(subject__in=keys).order_by("-created_at")


def payment_of(keys: set[str], reference: str) -> Payment | None:
    return Payment.objects.filter(subject__in=keys, reference=(reference or "").upper()).first()


def payment_by_id(payment_id) -> Payment | None:
    return Payment.objects.filter(id=as_uuid(payment_id)).first()


def items_of(payment: Payment):
    return payment.items.select_related("obligation", "institution").order_by(
        "institution__code", "obligation__reference"
    )


def refunds_of(payment: Payment):
    return Refund.objects.filter(payment=payment).select_related("institution").order_by("created_at")


def history_of(obligation: Obligation):
    return ObligationChange.objects.filter(obligation=obligation)


def pending_payment_for(obligation: Obligation) -> Payment | None:
    return (
        Payment.objects.filter(items__obligation=obligation, status__in=Payment.PENDING)
        .order_by("-created_at")
        .first()
    )


def obligation_for_source(source: str) -> Obligation | None:
    """The obligation raised by something else (a case's fee: "case:SOL-…")."""
    return _obligations().filter(source=source).order_by("-created_at").first()


# --- Institutions -------------------------------------------------------------------------------------------


def institutions_with_role(user, *roles: str) -> list:
    """The institutions where `user` holds one of `roles` (operators: every institution with obligations)."""
    return [institution for institution, held in cases.institutions_of(user) if held & set(roles)]


def roles_by_institution(user) -> list:
    """[(institution, {roles})] where the person holds a role."""
    return cases.institutions_of(user)


def institutions_owed_to():
    """Every institution anything was ever owed to (what operators may look at)."""
    return (
        catalogue.institutions_with_counts()
        .filter(id__in=Obligation.objects.values("institution_id"))
        .order_by("code")
    )


def may(user, institution, role: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    held = cases.roles_of(user, institution)
    return role in held or (role == CASHIER and TREASURER in held)


def may_integrate(user, institution) -> bool:
    """Institution systems (an integrator's token) post obligations and read their status; treasurers too."""
    if user is None or not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or institution.id in integrator_institution_ids(user)
        or may(user, institution, TREASURER)
    )


def obligations_of_institution(institution, *, status: str = "", query: str = ""):
    obligations = _obligations().filter(institution=institution).order_by("-created_at", "id")
    if status:
        obligations = obligations.filter(status=status)
    if query:
        obligations = obligations.filter(
            Q(reference__icontains=query) | Q(debtor_label__icontains=query) | Q(debtor__icontains=query)
        )
    return obligations


def obligation_by_id(obligation_id) -> Obligation | None:
    return _obligations().select_related("paid_by").filter(id=as_uuid(obligation_id)).first()


def item_in_payment(obligation: Obligation, payment_reference: str) -> PaymentItem | None:
    return (
        PaymentItem.objects.filter(
            obligation=obligation,
            payment__reference=(payment_reference or "").upper(),
            payment__status=Payment.Status.SUCCESS,
        )
        .select_related("payment")
        .first()
    )


def obligation_of_institution(institution, obligation_id) -> Obligation | None:
    return _obligations().filter(institution=institution, id=as_uuid(obligation_id)).first()


def obligation_by_reference(institution, reference: str) -> Obligation | None:
    return _obligations().filter(institution=institution, reference=reference).first()


def items_for_institution(institution, *, start: datetime, end: datetime):
    return (
        PaymentItem.objects.filter(
            institution=institution,
            payment__status=Payment.Status.SUCCESS,
            payment__finished_at__gte=start,
            payment__finished_at__lt=end,
        )
        .select_related("payment", "obligation")
        .order_by("-payment__finished_at", "id")
    )


def item_of_institution(institution, item_id) -> PaymentItem | None:
    return (
        PaymentItem.objects.filter(
            institution=institution, id=as_uuid(item_id), payment__status=Payment.Status.SUCCESS
        )
        .select_related("payment", "obligation")
        .first()
    )


@dataclass(frozen=True)
class DayTotals:
    day: date
    currency: str
    payments: int
    collected: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.collected - self.refunded


def _cents(total) -> Decimal:
    """A sum as the database gives it (SQLite drops trailing zeros), with its two decimals."""
    return Decimal(total or 0).quantize(Decimal("0.01"))


def collections(institution, *, start: date, end: date) -> list[DayTotals]:
    """What was collected on the institution's behalf each day from `start` to `end` (inclusive, UTC), and given
    back: a payment covering several institutions counts here only for this institution's part."""
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rows: dict = {}
    for row in (
        PaymentItem.objects.filter(
            institution=institution,
            payment__status=Payment.Status.SUCCESS,
            payment__finished_at__gte=since,
            payment__finished_at__lt=until,
        )
        .annotate(day=TruncDate("payment__finished_at", tzinfo=UTC))
        .values("day", "payment__currency")
        .annotate(total=Sum("amount"), count=Count("payment", distinct=True))
    ):
        rows[(row["day"], row["payment__currency"])] = [row["count"], _cents(row["total"]), Decimal("0.00")]
    for row in (
        Refund.objects.filter(
            institution=institution,
            status=Refund.Status.SUCCEEDED,
            finished_at__gte=since,
            finished_at__lt=until,
        )
        .annotate(day=TruncDate("finished_at", tzinfo=UTC))
        .values("day", "payment__currency")
        .annotate(total=Sum("amount"))
    ):
        key = (row["day"], row["payment__currency"])
        rows.setdefault(key, [0, Decimal("0.00"), Decimal("0.00")])[2] = _cents(row["total"])
    return [
        DayTotals(day=day, currency=currency, payments=count, collected=collected, refunded=refunded)
        for (day, currency), (count, collected, refunded) in sorted(rows.items(), reverse=True)
    ]


def counter_payment(institution, reference: str) -> Payment | None:
    """A payment taken at a counter for this institution (any of its items)."""
    return (
        Payment.objects.filter(
            reference=(reference or "").upper(),
            channel=Payment.Channel.COUNTER,
            items__institution=institution,
        )
        .distinct()
        .first()
    )


def reconciled_providers() -> list[str]:
    """The providers with a settlement report to reconcile (the counter's cash book is the platform's own)."""
    return plugins.online()


def reconciliations(*, limit: int = 60):
    return Reconciliation.objects.annotate(differences=Count("mismatches")).order_by("-day", "provider")[
        :limit
    ]


def reconciliation(reconciliation_id) -> Reconciliation | None:
    return Reconciliation.objects.filter(id=as_uuid(reconciliation_id)).first()


def mismatches_of(reconciliation: Reconciliation):
    return reconciliation.mismatches.select_related("payment", "refund")


def webhook_of(institution) -> Webhook | None:
    return Webhook.objects.filter(institution=institution).first()


def recent_deliveries(webhook: Webhook, *, limit: int = 20):
    return webhook.deliveries.all()[:limit]
