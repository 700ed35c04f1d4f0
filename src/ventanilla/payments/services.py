"""Every write of the payments app: obligations posted by institutions, payments from creation to a final status,
refunds, counter payments, reconciliation and the institutions' callbacks.

A payment's status only moves forward (created → started → submitted → success | failed | cancelled | expired),
under a row lock, so that provider notifications arriving late, twice or out of order, the payer coming back, and
the sweeper asking the provider all agree: the first final status wins and everything after it is ignored. An
obligation is marked paid by a conditional UPDATE, so it is paid once even when two payments for it succeed; the
second is given back automatically. Calls to providers happen outside transactions: a slow provider never holds a
lock."""

import contextlib
import csv
import io
import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core import audit, callbacks, events
from ventanilla.core.actor import Actor
from ventanilla.core.identifiers import InvalidIdentifier, as_uuid
from ventanilla.core.references import new_reference
from ventanilla.identity.selectors import subject_for_identifier

from . import errors, plugins
from .models import (
    Mismatch,
    Obligation,
    ObligationChange,
    Payment,
    PaymentItem,
    ProviderEvent,
    Reconciliation,
    Refund,
    Webhook,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

# Events other apps subscribe to (cases moves a case on when its fee is paid; notify tells the payer).
PAYMENT_SUCCEEDED = "payments.succeeded"
PAYMENT_FAILED = "payments.failed"
OBLIGATION_PAID = "payments.obligation_paid"
REFUNDED = "payments.refunded"

CENT = Decimal("0.01")
RANK = {
    Payment.Status.CREATED: 0,
    Payment.Status.STARTED: 1,
    Payment.Status.SUBMITTED: 2,
    **{status: 3 for status in Payment.FINAL},
}
WEBHOOK_ATTEMPTS = 10
SIGNATURE_HEADER = "X-Ventanilla-Signature"
TIMESTAMP_HEADER = "X-Ventanilla-Timestamp"


class PaymentError(Exception):
    """A request the situation does not allow, said so a person can act on it. `code` lets an API choose its
    status ("conflict", "not_found") or names an errors.CODES entry."""

    def __init__(self, message: str, fields: dict | None = None, *, code: str = ""):
        super().__init__(message)
        self.fields = fields or {}
        self.code = code


# --- Amounts -------------------------------------------------------------------------------------------------


def parse_amount(value, *, field_name: str = "amount") -> Decimal:
    """A positive amount with at most two decimals, from text or a Decimal (never a float: it cannot hold
    cents exactly)."""
    if isinstance(value, float):
        raise PaymentError(
            _("Some values are not valid."), {field_name: _('Send amounts as text, e.g. "25.00".')}
        )
    text = str(value).strip()
    if "," in text:
        # "12,5" is 12.50 to some and 125 to others: money is never guessed.
        raise PaymentError(
            _("Some values are not valid."),
            {
                field_name: _(
                    "Write the amount with a point for the cents and no thousands separator, e.g. 1250.00."
                )
            },
        )
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise PaymentError(
            _("Some values are not valid."), {field_name: _("Give an amount greater than zero, e.g. 25.00.")}
        )
    if amount != amount.quantize(CENT):
        raise PaymentError(
            _("Some values are not valid."), {field_name: _("Amounts have at most two decimals.")}
        )
    if amount >= Decimal("1e12"):
        raise PaymentError(_("Some values are not valid."), {field_name: _("The amount is too large.")})
    return amount.quantize(CENT)


def check_currency(currency: str) -> str:
    currency = (currency or "").strip().upper()
    if currency not in settings.VENTANILLA_PAYMENTS_CURRENCIES:
        raise PaymentError(
            _("Some values are not valid."),
            {
                "currency": _("The currency must be one of: %(currencies)s.")
                % {"currencies": ", ".join(settings.VENTANILLA_PAYMENTS_CURRENCIES)}
            },
        )
    return currency


# --- Obligations ---------------------------------------------------------------------------------------------


def _change(obligation: Obligation, kind: str, actor: Actor, *, before=None, after=None, reason: str = ""):
    ObligationChange.objects.create(
        obligation=obligation,
        kind=kind,
        amount_before=before,
        amount_after=after,
        reason=reason,
        actor_label=actor.label[:200],
    )
    audit.record(
        actor=actor,
        action=f"payments.obligation_{kind}",
        object_type="obligation",
        object_id=str(obligation.id),
        data={"reference": obligation.reference, "reason": reason} if reason else {},
    )


@dataclass(frozen=True, kw_only=True)
class ObligationIn:
    """What an institution posts: checked by `checked_obligation` before anything is written."""

    reference: str
    debtor: str  # a cédula, a RUC (with or without its DV), or "user:<id>" / "business:<id>"
    debtor_label: str
    concept_es: str
    concept_en: str
    amount: object
    currency: str = "USD"
    kind: str = Obligation.Kind.OTHER
    due_date: date | None = None
    legal_basis: str = ""
    source: str = ""


def checked_obligation(data: ObligationIn) -> dict:
    """The fields of an Obligation, or PaymentError listing every value to correct at once."""
    problems: dict = {}
    values: dict = {}
    try:
        values["debtor"] = subject_for_identifier(data.debtor)
    except InvalidIdentifier as error:
        problems["debtor"] = str(error)
    for name, limit in (("reference", 60), ("concept_es", 300), ("concept_en", 300), ("debtor_label", 200)):
        text = (getattr(data, name) or "").strip()
        if not text:
            problems[name] = _("This is required.")
        elif len(text) > limit:
            problems[name] = _("At most %(n)s characters.") % {"n": limit}
        values[name] = text
    if data.kind not in Obligation.Kind.values:
        problems["kind"] = _("The kind must be one of: %(kinds)s.") % {
            "kinds": ", ".join(Obligation.Kind.values)
        }
    for name, check in (
        ("amount", lambda: parse_amount(data.amount)),
        ("currency", lambda: check_currency(data.currency)),
    ):
        try:
            values[name] = check()
        except PaymentError as error:
            problems.update(error.fields)
    if len(data.legal_basis or "") > 300:
        problems["legal_basis"] = _("At most %(n)s characters.") % {"n": 300}
    if problems:
        raise PaymentError(_("Some values are not valid."), problems)
    return {
        **values,
        "kind": data.kind,
        "due_date": data.due_date,
        "legal_basis": (data.legal_basis or "").strip(),
        "source": data.source,
    }


_COMPARED = ("debtor", "kind", "concept_es", "concept_en", "amount", "currency", "due_date", "legal_basis")


@transaction.atomic
def post_obligation(*, institution, data: ObligationIn, actor: Actor) -> tuple[Obligation, bool]:
    """Record what someone owes `institution`. Posting the same reference again with the same values returns
    the first (created False); with different values it is refused: changes go through adjust or cancel."""
    values = checked_obligation(data)
    existing = Obligation.objects.filter(institution=institution, reference=values["reference"]).first()
    if existing is not None:
        if any(getattr(existing, name) != values[name] for name in _COMPARED):
            raise PaymentError(
                _(
                    "An obligation with the reference %(reference)s already exists with other values. Adjust or "
                    "cancel it instead, or use a new reference."
                )
                % {"reference": values["reference"]},
                {"reference": _("Already used for a different obligation.")},
                code="conflict",
            )
        return existing, False
    obligation = Obligation.objects.create(institution=institution, **values)
    _change(obligation, "created", actor, after=obligation.amount)
    return obligation, True


def _in_payment(obligation: Obligation) -> bool:
    return PaymentItem.objects.filter(
        obligation=obligation, payment__status__in=[Payment.Status.STARTED, Payment.Status.SUBMITTED]
    ).exists()


def _locked_open(obligation: Obligation) -> Obligation:
    obligation = Obligation.objects.select_for_update().get(id=obligation.id)
    if obligation.status != Obligation.Status.OPEN:
        raise PaymentError(
            _("This obligation is %(status)s: it can no longer be changed.")
            % {"status": obligation.get_status_display().lower()},
            code="conflict",
        )
    if _in_payment(obligation):
        raise PaymentError(
            _("Someone is paying this obligation right now. Try again once that payment has finished."),
            code="conflict",
        )
    return obligation


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError(
            _("Some values are not valid."), {"reason": _("Say why, for the debtor and the audit.")}
        )
    return reason[:2000]


@transaction.atomic
def adjust_obligation(*, obligation: Obligation, amount, reason: str, actor: Actor) -> Obligation:
    reason, amount = _reason(reason), parse_amount(amount)
    obligation = _locked_open(obligation)
    before, obligation.amount = obligation.amount, amount
    obligation.save(update_fields=["amount", "updated_at"])
    _change(obligation, "adjusted", actor, before=before, after=amount, reason=reason)
    return obligation


@transaction.atomic
def cancel_obligation(*, obligation: Obligation, reason: str, actor: Actor) -> Obligation:
    reason = _reason(reason)
    obligation = _locked_open(obligation)
    obligation.status, obligation.cancel_reason = Obligation.Status.CANCELLED, reason
    obligation.save(update_fields=["status", "cancel_reason", "updated_at"])
    _change(obligation, "cancelled", actor, before=obligation.amount, reason=reason)
    return obligation


CSV_COLUMNS = (
    "reference",
    "debtor",
    "debtor_label",
    "kind",
    "concept_es",
    "concept_en",
    "amount",
    "currency",
    "due_date",
    "legal_basis",
)
MAX_CSV_ROWS = 10_000


@dataclass
class ImportResult:
    created: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # [(line, {field: message})]


def import_obligations(*, institution, text: str, actor: Actor) -> ImportResult:
    """Obligations from CSV text with the header CSV_COLUMNS (the order may vary; due_date, legal_basis and kind
    may be left out). Every line is checked first: if any is wrong nothing is imported and each wrong line is
    reported, so the file can be corrected and sent again; lines already imported are recognised by their
    reference and left as they are."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"reference", "debtor", "concept_es", "concept_en", "amount"} - set(reader.fieldnames or [])
    if missing:
        raise PaymentError(
            _("The file's first line must name the columns; missing: %(columns)s.")
            % {"columns": ", ".join(sorted(missing))}
        )
    rows = []
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_CSV_ROWS:
            raise PaymentError(_("A file may hold at most %(n)s obligations.") % {"n": MAX_CSV_ROWS})
        try:
            debtor = (row.get("debtor") or "").strip()
            due = (row.get("due_date") or "").strip()
            try:
                due_date = date.fromisoformat(due) if due else None
            except ValueError:
                raise PaymentError("", {"due_date": _("Write the date as YYYY-MM-DD.")}) from None
            data = ObligationIn(
                reference=row.get("reference") or "",
                debtor=debtor,
                debtor_label=(row.get("debtor_label") or "").strip() or debtor,
                concept_es=row.get("concept_es") or "",
                concept_en=row.get("concept_en") or "",
                amount=row.get("amount") or "",
                currency=row.get("currency") or "USD",
                kind=(row.get("kind") or Obligation.Kind.OTHER).strip(),
                due_date=due_date,
                legal_basis=row.get("legal_basis") or "",
            )
            checked_obligation(data)
            rows.append((line, data))
        except PaymentError as error:
            result.errors.append((line, error.fields))
    references = [data.reference.strip() for _line, data in rows]
    repeated = {reference for reference in references if references.count(reference) > 1}
    if repeated:
        result.errors.append(
            (
                0,
                {
                    "reference": _("Used on more than one line: %(refs)s.")
                    % {"refs": ", ".join(sorted(repeated))}
                },
            )
        )
    if result.errors:
        return result
    try:
        with transaction.atomic():
            for line, data in rows:
                try:
                    _obligation, created = post_obligation(institution=institution, data=data, actor=actor)
                except PaymentError as error:  # a reference already used for other values
                    result.errors.append((line, error.fields or {"reference": str(error)}))
                    continue
                result.created += created
                result.unchanged += not created
            if result.errors:
                raise _NothingImported
    except _NothingImported:
        result.created = result.unchanged = 0
    return result


class _NothingImported(Exception):
    """Rolls back an import in which a line turned out wrong only when written."""


# --- Payments: creation and the provider's page --------------------------------------------------------------


def _pending_payments_of(obligation_ids) -> list[Payment]:
    return list(
        Payment.objects.filter(items__obligation_id__in=obligation_ids, status__in=Payment.PENDING).distinct()
    )


@transaction.atomic
def create_payment(
    *,
    obligation_ids: list,
    debtor_keys: set,
    subject: str,
    subject_label: str,
    payer,
    provider: str,
    channel: str,
    actor: Actor,
    return_url: str = "",
) -> Payment:
    """One payment for one or several open obligations owed under `debtor_keys` (identity's principal_keys: the
    subject's references); any other obligation is reported not found. A payment created earlier for any of them
    and never taken to the provider is set aside (cancelled); one with the provider stops this one, since it may
    still be paid."""
    if not obligation_ids:
        raise PaymentError(_("Choose at least one thing to pay."), {"obligations": _("Choose at least one.")})
    if provider not in plugins.offered():
        raise PaymentError(
            _("Some values are not valid."), {"provider": _("Choose a way to pay from the list.")}
        )
    ids = sorted(set(obligation_ids), key=str)
    locked = list(
        Obligation.objects.select_for_update().filter(id__in=ids, debtor__in=debtor_keys).order_by("id")
    )
    if len(locked) != len(ids):
        raise PaymentError(_("Some of these obligations cannot be found."), code="not_found")
    not_open = [obligation for obligation in locked if obligation.status != Obligation.Status.OPEN]
    if not_open:
        raise PaymentError(
            _("Already paid or cancelled: %(references)s. Choose again from what you owe.")
            % {"references": ", ".join(obligation.reference for obligation in not_open)},
            code="conflict",
        )
    currencies = {obligation.currency for obligation in locked}
    if len(currencies) > 1:
        raise PaymentError(
            _("Obligations in different currencies are paid separately."),
            {"obligations": _("Choose one currency.")},
        )
    for earlier in _pending_payments_of(ids):
        if earlier.status == Payment.Status.CREATED:
            _finish(earlier, Payment.Status.CANCELLED, "cancelled_by_payer")
        else:
            raise PaymentError(
                _(
                    "You already started paying this (payment %(reference)s). Finish or cancel that payment "
                    "first; if you closed its page, it is settled within minutes."
                )
                % {"reference": earlier.reference},
                code="in_progress",
            )
    now = timezone.now()
    payment = Payment.objects.create(
        reference=new_reference("PAG"),
        subject=subject,
        subject_label=subject_label[:200],
        payer=payer,
        payer_label=(str(payer) if payer else subject_label)[:200],
        channel=channel,
        provider=provider,
        amount=sum((obligation.amount for obligation in locked), Decimal("0.00")),
        currency=currencies.pop(),
        return_url=return_url,
        expires_at=now + timedelta(minutes=settings.VENTANILLA_PAYMENTS_EXPIRE_MINUTES),
    )
    PaymentItem.objects.bulk_create(
        [
            PaymentItem(
                payment=payment,
                obligation=obligation,
                institution_id=obligation.institution_id,
                amount=obligation.amount,
            )
            for obligation in locked
        ]
    )
    audit.record(
        actor=actor,
        action="payments.payment_created",
        object_type="payment",
        object_id=payment.reference,
        data={
            "amount": str(payment.amount),
            "currency": payment.currency,
            "obligations": [str(i) for i in ids],
        },
    )
    return payment


def callback_url(provider: str) -> str:
    return settings.VENTANILLA_PUBLIC_URL + reverse("api-v1:payments_notifications", args=[provider])


def payment_page_url(payment: Payment) -> str:
    """The payer's page of a payment: where a provider sends them back when the caller named no other place."""
    return settings.VENTANILLA_PUBLIC_URL + reverse("payments:detail", args=[payment.reference])


def start_payment(*, payment: Payment) -> Payment:
    """Open the provider's session (outside any transaction: a slow provider must not hold a lock) and keep where
    to send the payer. A provider that cannot be reached leaves the payment created, to try again."""
    if payment.status != Payment.Status.CREATED:
        return payment
    provider = plugins.providers.get(payment.provider)
    remaining = max(60, int((payment.expires_at - timezone.now()).total_seconds()))
    concepts = "; ".join(item.obligation.concept_es for item in payment.items.select_related("obligation"))
    description = f"{payment.reference}: {concepts}"[:250]
    try:
        started = provider.start(
            payment_id=str(payment.id),
            amount=payment.amount,
            currency=payment.currency,
            description=description,
            return_url=payment.return_url or payment_page_url(payment),
            callback_url=callback_url(payment.provider),
            expires_in_seconds=remaining,
        )
    except plugins.ProviderUnavailable as error:
        logger.warning("Payment %s: provider %s unavailable: %s", payment.reference, payment.provider, error)
        raise PaymentError(
            str(errors.describe("provider_unavailable").message), code="provider_unavailable"
        ) from error
    except plugins.ProviderRefused as error:
        logger.warning("Payment %s: provider %s refused it: %s", payment.reference, payment.provider, error)
        code = error.code if error.code in errors.CODES else "provider_error"
        return apply_status(payment_id=payment.id, status=Payment.Status.FAILED, error_code=code)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(id=payment.id)
        if locked.status == Payment.Status.CREATED:
            locked.status, locked.started_at = Payment.Status.STARTED, timezone.now()
            locked.provider_reference, locked.redirect_url = started.reference, started.redirect_url
            locked.save(
                update_fields=["status", "started_at", "provider_reference", "redirect_url", "updated_at"]
            )
        return locked


# --- Payments: what the provider says -----------------------------------------------------------------------


def apply_status(*, payment_id, status: str, error_code: str = "", provider_reference: str = "") -> Payment:
    """Move the payment to `status` if that is forward; a status behind the current one, or any after a final
    one, changes nothing. Returns the payment as it now stands."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("payer").get(id=payment_id)
        if payment.is_final or RANK[status] <= RANK[payment.status]:
            return payment
        if provider_reference and not payment.provider_reference:
            payment.provider_reference = provider_reference
        if status == Payment.Status.SUCCESS:
            _succeed(payment)
        elif status in Payment.FINAL:
            _finish(payment, status, error_code or _default_error(status))
        else:
            payment.status = status
            now = timezone.now()
            if status == Payment.Status.STARTED:
                payment.started_at = payment.started_at or now
            else:
                payment.started_at, payment.submitted_at = payment.started_at or now, now
            payment.save()
        return payment


def _default_error(status: str) -> str:
    return {
        Payment.Status.CANCELLED: "cancelled_by_payer",
        Payment.Status.EXPIRED: "session_expired",
    }.get(status, "provider_error")


def _finish(payment: Payment, status: str, error_code: str) -> None:
    payment.status, payment.error_code, payment.finished_at = status, error_code, timezone.now()
    payment.save()
    if status == Payment.Status.FAILED:
        events.emit(PAYMENT_FAILED, subject=payment.subject, payload=_payment_payload(payment))


def _succeed(payment: Payment) -> None:
    """Mark every obligation of the payment paid, unless another payment paid it first: that part is returned
    (automatic refund, queued to run after this commits)."""
    from .tasks import refund_duplicate  # tasks import this module

    now = timezone.now()
    payment.status, payment.error_code, payment.finished_at = Payment.Status.SUCCESS, "", now
    payment.submitted_at = payment.submitted_at or now
    payment.started_at = payment.started_at or now
    payment.receipt_number = new_receipt_number(now)
    payment.save()
    system = Actor.system("payments")
    items = list(payment.items.select_related("obligation", "institution"))
    ids = [item.obligation_id for item in items]
    # One conditional UPDATE: an obligation another payment paid first stays theirs.
    newly_paid = Obligation.objects.filter(id__in=ids, status=Obligation.Status.OPEN).update(
        status=Obligation.Status.PAID, paid_by=payment, paid_at=now, updated_at=now
    )
    mine = (
        set(ids)
        if newly_paid == len(ids)
        else set(Obligation.objects.filter(id__in=ids, paid_by=payment).values_list("id", flat=True))
    )
    webhooks = _webhooks_for({item.institution_id for item in items})
    changes = []
    for item in items:
        if item.obligation_id not in mine:
            item.duplicate = True
            item.save(update_fields=["duplicate"])
            refund_duplicate.enqueue(item_id=str(item.id))
            continue
        obligation = item.obligation
        changes.append(
            ObligationChange(
                obligation=obligation,
                kind="paid",
                amount_after=item.amount,
                reason=payment.reference,
                actor_label=system.label,
            )
        )
        events.emit(
            OBLIGATION_PAID,
            subject=obligation.debtor,
            payload={
                "obligation": str(obligation.id),
                "reference": obligation.reference,
                "source": obligation.source,
                "institution": item.institution.code,
                "amount": str(item.amount),
                "currency": payment.currency,
                "payment": payment.reference,
                "receipt": payment.receipt_number,
            },
        )
        if item.institution_id in webhooks:
            _queue_webhook(
                webhooks[item.institution_id],
                event="obligation.paid",
                cause=f"paid:{obligation.id}",
                payload=_obligation_webhook_payload(obligation, payment, item),
            )
    ObligationChange.objects.bulk_create(changes)
    audit.record(
        actor=system,
        action="payments.payment_succeeded",
        object_type="payment",
        object_id=payment.reference,
        data={"receipt": payment.receipt_number},
    )
    events.emit(PAYMENT_SUCCEEDED, subject=payment.subject, payload=_payment_payload(payment))


def new_receipt_number(now: datetime) -> str:
    return f"REC-{now:%Y}-" + new_reference("X", 8)[2:]


def _payment_payload(payment: Payment) -> dict:
    payload = {
        "payment": payment.reference,
        "reference": payment.reference,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "error_code": payment.error_code,
        "receipt": payment.receipt_number or "",
    }
    if payment.payer_id:
        payload["applicant"] = f"user:{payment.payer.public_id}"
    return payload


def receive_notifications(*, provider_name: str, body: bytes, headers) -> int:
    """Apply a provider's signed notifications; returns how many changed something. A repeat of an event
    already received is recorded once and ignored. Raises plugins.InvalidNotification for a forged, stale or
    malformed one (the caller answers 400)."""
    provider = plugins.providers.get(provider_name)
    applied = 0
    for notice in provider.notifications(body=body, headers=headers):
        payment = (
            Payment.objects.filter(id=notice.payment_id, provider=provider_name).only("id", "status").first()
        )
        with transaction.atomic():
            _event, new = ProviderEvent.objects.get_or_create(
                provider=provider_name,
                event_id=notice.event_id,
                defaults={
                    "payment": payment,
                    "status": notice.status,
                    "outcome": "received",
                    "payload": {
                        "kind": notice.kind,
                        "reference": notice.reference,
                        "error": notice.error_code,
                    },
                },
            )
        if not new or payment is None:
            continue
        if notice.kind == "refund":
            applied += _refund_settled(notice.refund_id, notice.status, notice.reference, notice.error_code)
            continue
        if notice.status not in RANK:
            continue
        before = payment.status
        after = apply_status(
            payment_id=payment.id,
            status=notice.status,
            error_code=notice.error_code,
            provider_reference=notice.reference,
        )
        changed = after.status != before
        applied += changed
        ProviderEvent.objects.filter(provider=provider_name, event_id=notice.event_id).update(
            outcome="applied" if changed else "ignored"
        )
    return applied


def check_with_provider(*, payment: Payment, now=None) -> Payment:
    """Ask the provider what became of a pending payment (the payer closed the page, a notification was lost)
    and apply it. A provider that cannot be reached leaves it as it is, for the next sweep."""
    if payment.is_final or payment.status == Payment.Status.CREATED or not payment.provider_reference:
        return payment
    provider = plugins.providers.get(payment.provider)
    Payment.objects.filter(id=payment.id).update(checked_at=timezone.now())
    try:
        answer = provider.status(reference=payment.provider_reference)
    except plugins.ProviderUnavailable:
        return payment
    except plugins.ProviderRefused as error:
        if error.code == "unknown_payment":
            return apply_status(
                payment_id=payment.id, status=Payment.Status.FAILED, error_code="unknown_payment"
            )
        return payment
    if answer.status == Payment.Status.STARTED and (now or timezone.now()) >= payment.expires_at:
        _cancel_at_provider(provider, payment)
        return _recheck_after_cancel(provider, payment)
    return apply_status(payment_id=payment.id, status=answer.status, error_code=answer.error_code)


def refresh(*, payment: Payment) -> Payment:
    """The payment as it stands, asking the provider first when it is pending and we have heard nothing for a few
    seconds (a payer back from the provider's page, a client polling): a lost notification settles here."""
    quiet_since = timezone.now() - timedelta(seconds=settings.VENTANILLA_PAYMENTS_REFRESH_SECONDS)
    if (
        payment.status in (Payment.Status.STARTED, Payment.Status.SUBMITTED)
        and payment.updated_at <= quiet_since
    ) and (payment.checked_at is None or payment.checked_at <= quiet_since):
        return check_with_provider(payment=payment)
    return payment


def _cancel_at_provider(provider, payment: Payment) -> None:
    with contextlib.suppress(plugins.ProviderUnavailable, plugins.ProviderRefused):
        provider.cancel(reference=payment.provider_reference)


def _recheck_after_cancel(provider, payment: Payment) -> Payment:
    """After closing an abandoned session, what the provider now says wins (the payer may have paid at the last
    moment); a session the provider still calls open or cancelled ends expired here."""
    try:
        answer = provider.status(reference=payment.provider_reference)
    except (plugins.ProviderUnavailable, plugins.ProviderRefused):
        return payment
    if answer.status in (Payment.Status.SUCCESS, Payment.Status.FAILED, Payment.Status.SUBMITTED):
        return apply_status(payment_id=payment.id, status=answer.status, error_code=answer.error_code)
    return apply_status(payment_id=payment.id, status=Payment.Status.EXPIRED, error_code="session_expired")


def cancel_payment(*, payment: Payment, actor: Actor) -> Payment:
    """The payer gives up on a pending payment. The provider is told first and asked again: if the money was
    taken meanwhile, the payment ends paid, not cancelled."""
    if payment.is_final:
        return payment
    if payment.status != Payment.Status.CREATED and payment.provider_reference:
        provider = plugins.providers.get(payment.provider)
        _cancel_at_provider(provider, payment)
        try:
            answer = provider.status(reference=payment.provider_reference)
        except plugins.ProviderUnavailable as error:
            raise PaymentError(
                _("The payment provider cannot be reached to cancel this now. Try again in a few minutes."),
                code="provider_unavailable",
            ) from error
        except plugins.ProviderRefused:
            answer = None
        if answer is not None and answer.status in (Payment.Status.SUCCESS, Payment.Status.SUBMITTED):
            return apply_status(payment_id=payment.id, status=answer.status)
    audit.record(
        actor=actor, action="payments.payment_cancelled", object_type="payment", object_id=payment.reference
    )
    return apply_status(
        payment_id=payment.id, status=Payment.Status.CANCELLED, error_code="cancelled_by_payer"
    )


def sweep_pending(*, now=None) -> dict:
    """Settle what nobody told us about: created payments past their time expire; started or submitted ones that
    have been quiet for a while are checked with the provider (with a growing pause between checks)."""
    now = now or timezone.now()
    counts = {"expired": 0, "checked": 0}
    for payment in Payment.objects.filter(status=Payment.Status.CREATED, expires_at__lte=now):
        apply_status(payment_id=payment.id, status=Payment.Status.EXPIRED, error_code="session_expired")
        counts["expired"] += 1
    quiet = now - timedelta(seconds=settings.VENTANILLA_PAYMENTS_CHECK_AFTER_SECONDS)
    for payment in Payment.objects.filter(
        status__in=[Payment.Status.STARTED, Payment.Status.SUBMITTED], updated_at__lte=quiet
    ).order_by("updated_at")[:500]:
        age = now - payment.created_at
        pause = min(
            timedelta(hours=1),
            max(timedelta(seconds=settings.VENTANILLA_PAYMENTS_CHECK_AFTER_SECONDS), age / 10),
        )
        if payment.checked_at and now - payment.checked_at < pause:
            continue
        check_with_provider(payment=payment, now=now)
        counts["checked"] += 1
    return counts


# --- The counter --------------------------------------------------------------------------------------------


def record_counter_payment(
    *, obligation_ids: list, debtor_keys: set, subject: str, subject_label: str, cashier, actor: Actor
) -> Payment:
    """A cashier took cash (or a card at the office terminal) for these obligations: the payment is created and
    succeeds at once, with its receipt to print. Recording the same obligations twice is refused (already paid)."""
    with transaction.atomic():
        payment = create_payment(
            obligation_ids=obligation_ids,
            debtor_keys=debtor_keys,
            subject=subject,
            subject_label=subject_label,
            payer=None,
            provider="counter",
            channel=Payment.Channel.COUNTER,
            actor=actor,
        )
        Payment.objects.filter(id=payment.id).update(
            recorded_by=cashier, provider_reference=f"ctr_{payment.id.hex}"
        )
        return apply_status(payment_id=payment.id, status=Payment.Status.SUCCESS)


# --- Refunds ------------------------------------------------------------------------------------------------


def request_refund(*, item: PaymentItem, amount, reason: str, actor: Actor) -> Refund:
    """Give back part or all of what an item collected. Guarded by what is still refundable (the amount minus
    refunds given or under way), under the item's lock, so two officials cannot refund the same money twice."""
    reason, amount = _reason(reason), parse_amount(amount)
    with transaction.atomic():
        item = PaymentItem.objects.select_for_update().select_related("payment").get(id=item.id)
        if item.payment.status != Payment.Status.SUCCESS:
            raise PaymentError(_("Only a completed payment can be refunded."), code="conflict")
        pending = (
            item.refunds.filter(status=Refund.Status.PENDING).aggregate(total=Sum("amount"))["total"] or 0
        )
        refundable = item.amount - item.refunded - pending
        if amount > refundable:
            raise PaymentError(
                str(errors.describe("amount_exceeds_refundable").message),
                {
                    "amount": _("At most %(amount)s %(currency)s can still be refunded.")
                    % {"amount": refundable, "currency": item.payment.currency}
                },
                code="amount_exceeds_refundable",
            )
        refund = Refund.objects.create(
            reference=new_reference("DEV"),
            item=item,
            payment=item.payment,
            institution_id=item.institution_id,
            amount=amount,
            reason=reason,
            requested_by_label=actor.label[:200],
        )
        audit.record(
            actor=actor,
            action="payments.refund_requested",
            object_type="refund",
            object_id=refund.reference,
            data={"payment": item.payment.reference, "amount": str(amount)},
        )
    return send_refund(refund_id=refund.id)


def send_refund(*, refund_id) -> Refund:
    """Ask the provider to give the money back. Unreachable: stays pending and is tried again later."""
    refund = Refund.objects.select_related("payment").get(id=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    provider = plugins.providers.get(refund.payment.provider)
    try:
        result = provider.refund(
            reference=refund.payment.provider_reference,
            refund_id=str(refund.id),
            amount=refund.amount,
            currency=refund.payment.currency,
        )
    except plugins.ProviderUnavailable:
        from .tasks import retry_refund

        retry_refund.using(run_after=timezone.now() + timedelta(minutes=5)).enqueue(refund_id=str(refund.id))
        return refund
    except plugins.ProviderRefused as error:
        _refund_settled(str(refund.id), "failed", "", error.code)
        return Refund.objects.get(id=refund.id)
    if result.status in ("succeeded", "failed"):
        _refund_settled(str(refund.id), result.status, result.reference, result.error_code)
    elif result.reference:
        Refund.objects.filter(id=refund.id).update(provider_reference=result.reference)
    return Refund.objects.get(id=refund.id)


def _refund_settled(refund_id: str, status: str, provider_reference: str, error_code: str) -> int:
    """Record the provider's answer on a refund once: the refunded totals move only on the first success."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(id=refund_id).first()
        if refund is None or refund.status != Refund.Status.PENDING:
            return 0
        refund.finished_at = timezone.now()
        refund.provider_reference = provider_reference or refund.provider_reference
        if status != "succeeded":
            refund.status, refund.error_code = Refund.Status.FAILED, error_code or "provider_error"
            refund.save()
            return 1
        refund.status = Refund.Status.SUCCEEDED
        refund.save()
        PaymentItem.objects.filter(id=refund.item_id).update(refunded=F("refunded") + refund.amount)
        Payment.objects.filter(id=refund.payment_id).update(refunded=F("refunded") + refund.amount)
        item = PaymentItem.objects.select_related("obligation", "payment", "payment__payer").get(
            id=refund.item_id
        )
        _change(
            item.obligation, "refunded", Actor.system("payments"), after=refund.amount, reason=refund.reason
        )
        payload = {
            **_payment_payload(item.payment),
            "refund": refund.reference,
            "refund_amount": str(refund.amount),
        }
        events.emit(REFUNDED, subject=item.payment.subject, payload=payload)
        webhook = _webhooks_for({refund.institution_id}).get(refund.institution_id)
        if webhook is not None:
            _queue_webhook(
                webhook,
                event="obligation.refunded",
                cause=f"refund:{refund.id}",
                payload={
                    **_obligation_webhook_payload(item.obligation, item.payment, item),
                    "refund": {
                        "reference": refund.reference,
                        "amount": str(refund.amount),
                        "reason": refund.reason,
                    },
                },
            )
        return 1


def refund_duplicate(*, item_id) -> Refund | None:
    """Give back an item whose obligation another payment had already paid."""
    item = PaymentItem.objects.filter(id=item_id, duplicate=True).first()
    if item is None or item.refunds.exists():
        return None
    return request_refund(
        item=item,
        amount=item.amount,
        reason=str(errors.describe("already_paid").message),
        actor=Actor.system("payments"),
    )


# --- Reconciliation -----------------------------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def reconcile(*, provider_name: str, day: date) -> Reconciliation:
    """Match the provider's settlement report for `day` (UTC) against the platform's successful payments and
    refunds. Lines are matched by our ids; a payment settled here on a neighbouring day but in this report is a
    timing difference, not a mismatch. Running it again for the same day replaces the earlier result."""
    provider = plugins.providers.get(provider_name)
    try:
        lines = provider.settlement_report(day=day)
    except (plugins.ProviderUnavailable, plugins.ProviderRefused) as error:
        reconciliation, _created = Reconciliation.objects.update_or_create(
            provider=provider_name,
            day=day,
            defaults={"status": Reconciliation.Status.FAILED, "error": str(error)[:2000]},
        )
        return reconciliation
    start, end = _day_bounds(day)
    payments = {
        str(payment.id): payment
        for payment in Payment.objects.filter(
            provider=provider_name, status=Payment.Status.SUCCESS, finished_at__gte=start, finished_at__lt=end
        )
    }
    refunds = {
        str(refund.id): refund
        for refund in Refund.objects.filter(
            payment__provider=provider_name,
            status=Refund.Status.SUCCEEDED,
            finished_at__gte=start,
            finished_at__lt=end,
        )
    }
    mismatches: list[Mismatch] = []
    matched = 0
    provider_total = Decimal("0.00")
    seen_payments, seen_refunds = set(), set()
    for line in lines:
        provider_total += line.amount if line.kind == "payment" else -line.amount
        if line.kind == "payment":
            ours = (
                payments.get(line.payment_id)
                or Payment.objects.filter(
                    id=as_uuid(line.payment_id),
                    provider=provider_name,
                    status=Payment.Status.SUCCESS,
                ).first()
            )
            seen_payments.add(line.payment_id)
        else:
            ours = (
                refunds.get(line.refund_id)
                or Refund.objects.filter(id=as_uuid(line.refund_id), status=Refund.Status.SUCCEEDED).first()
            )
            seen_refunds.add(line.refund_id)
        if ours is None:
            mismatches.append(
                Mismatch(
                    kind=Mismatch.Kind.MISSING_HERE,
                    provider_reference=line.reference,
                    provider_amount=line.amount,
                )
            )
        elif ours.amount != line.amount:
            mismatches.append(
                Mismatch(
                    kind=Mismatch.Kind.AMOUNT,
                    provider_reference=line.reference,
                    platform_amount=ours.amount,
                    provider_amount=line.amount,
                    **({"payment": ours} if line.kind == "payment" else {"refund": ours}),
                )
            )
        else:
            matched += 1
    for kind, ours_by_id, seen in (("payment", payments, seen_payments), ("refund", refunds, seen_refunds)):
        for our_id, ours in ours_by_id.items():
            if our_id in seen or _settled_on_neighbour(provider, ours.finished_at, day, kind, our_id):
                continue
            mismatches.append(
                Mismatch(
                    kind=Mismatch.Kind.MISSING_AT_PROVIDER,
                    provider_reference=ours.provider_reference,
                    platform_amount=ours.amount,
                    **{kind: ours},
                )
            )
    platform_total = sum((p.amount for p in payments.values()), Decimal("0.00")) - sum(
        (r.amount for r in refunds.values()), Decimal("0.00")
    )
    with transaction.atomic():
        reconciliation, _created = Reconciliation.objects.update_or_create(
            provider=provider_name,
            day=day,
            defaults={
                "status": Reconciliation.Status.MISMATCHES if mismatches else Reconciliation.Status.MATCHED,
                "platform_total": platform_total,
                "provider_total": provider_total,
                "lines": len(lines),
                "matched": matched,
                "error": "",
            },
        )
        reconciliation.mismatches.all().delete()
        for mismatch in mismatches:
            mismatch.reconciliation = reconciliation
        Mismatch.objects.bulk_create(mismatches)
    return reconciliation


def _settled_on_neighbour(provider, finished_at: datetime, day: date, kind: str, our_id: str) -> bool:
    """Whether a movement settled here near midnight is in the provider's report of the day before or after."""
    start, end = _day_bounds(day)
    margin = timedelta(minutes=settings.VENTANILLA_PAYMENTS_SETTLEMENT_MARGIN_MINUTES)
    if start + margin <= finished_at < end - margin:
        return False
    neighbour = day - timedelta(days=1) if finished_at < start + margin else day + timedelta(days=1)
    try:
        lines = provider.settlement_report(day=neighbour)
    except (plugins.ProviderUnavailable, plugins.ProviderRefused):
        return False
    return any(
        (line.payment_id if kind == "payment" else line.refund_id) == our_id and line.kind == kind
        for line in lines
    )


def reconcile_day(*, day: date | None = None) -> list[Reconciliation]:
    """Yesterday's (UTC) reconciliation for every online provider."""
    day = day or (timezone.now().astimezone(UTC).date() - timedelta(days=1))
    return [reconcile(provider_name=name, day=day) for name in plugins.online()]


# --- Institutions' callbacks --------------------------------------------------------------------------------


def _obligation_webhook_payload(obligation: Obligation, payment: Payment, item: PaymentItem) -> dict:
    return {
        "obligation": {
            "id": str(obligation.id),
            "reference": obligation.reference,
            "amount": str(item.amount),
            "currency": payment.currency,
            "source": obligation.source,
        },
        "payment": {
            "reference": payment.reference,
            "receipt": payment.receipt_number or "",
            "channel": payment.channel,
            "paid_at": payment.finished_at.isoformat() if payment.finished_at else None,
        },
    }


def _webhooks_for(institution_ids: set) -> dict:
    return {
        webhook.institution_id: webhook
        for webhook in Webhook.objects.filter(institution_id__in=institution_ids, active=True)
    }


def _queue_webhook(webhook: Webhook, *, event: str, cause: str, payload: dict) -> None:
    delivery, created = WebhookDelivery.objects.get_or_create(
        webhook=webhook, cause=cause, defaults={"event": event, "payload": {"type": event, **payload}}
    )
    if created:
        from .tasks import deliver_webhook

        deliver_webhook.enqueue(delivery_id=str(delivery.id))


@transaction.atomic
def set_webhook(*, institution, url: str, actor: Actor) -> tuple[Webhook, str]:
    """Where to tell the institution about its payments; a new secret every time it is set (shown once)."""
    secret = secrets.token_urlsafe(32)
    webhook, _created = Webhook.objects.update_or_create(
        institution=institution, defaults={"url": url, "secret": secret, "active": True}
    )
    audit.record(
        actor=actor,
        action="payments.webhook_set",
        object_type="institution",
        object_id=institution.code,
        data={"url": url},
    )
    return webhook, secret


def deliver_webhook(*, delivery_id) -> str:
    """POST one callback, signed; failures are tried again with backoff (1, 2, 4 … minutes), then given up."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(id=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return "nothing to do"
    body = json.dumps({"id": str(delivery.id), **delivery.payload}).encode()
    request = urllib.request.Request(  # noqa: S310 (an institution's configured https URL)
        delivery.webhook.url,
        data=body,
        method="POST",
        headers=callbacks.signed_headers(
            delivery.webhook.secret,
            body,
            timestamp_header=TIMESTAMP_HEADER,
            signature_header=SIGNATURE_HEADER,
        ),
    )
    attempts = delivery.attempts + 1
    try:
        with urllib.request.urlopen(request, timeout=settings.VENTANILLA_PAYMENTS_TIMEOUT) as answer:  # noqa: S310
            ok, problem = 200 <= answer.status < 300, f"HTTP {answer.status}"
    except urllib.error.HTTPError as error:
        ok, problem = False, f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        ok, problem = False, repr(error)[:300]
    if ok:
        WebhookDelivery.objects.filter(id=delivery.id).update(
            status=WebhookDelivery.Status.DELIVERED,
            attempts=attempts,
            delivered_at=timezone.now(),
            last_error="",
        )
        return "delivered"
    gave_up = attempts >= WEBHOOK_ATTEMPTS
    WebhookDelivery.objects.filter(id=delivery.id).update(
        attempts=attempts,
        last_error=problem,
        status=WebhookDelivery.Status.FAILED if gave_up else WebhookDelivery.Status.PENDING,
    )
    if not gave_up:
        from .tasks import deliver_webhook as task

        task.using(run_after=timezone.now() + timedelta(minutes=2 ** (attempts - 1))).enqueue(
            delivery_id=str(delivery.id)
        )
    return "failed" if gave_up else "retrying"
