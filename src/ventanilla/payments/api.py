"""The payments API. Institutions' systems post what people and businesses owe, follow it, refund and read what
was collected for them; payers list what they owe and pay it; providers send their signed notifications here.
Amounts are decimals written as text ("25.00") with their currency; never floats."""

import functools
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core import idempotency, paging
from ventanilla.core.identifiers import as_uuid
from ventanilla.identity.auth import TokenAuth
from ventanilla.identity.selectors import actor_for, keys_of_person

from . import errors, plugins, selectors, services
from .models import Obligation, Payment
from .schemas import (
    CancelIn,
    ChangeIn,
    DayOut,
    ImportOut,
    ObligationDetailOut,
    ObligationIn,
    ObligationOut,
    ObligationPage,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    ProviderOut,
    RefundIn,
    RefundOut,
    WebhookIn,
    WebhookOut,
)

INSTITUTIONS, PAYERS, PROVIDERS = "Payments: institutions", "Payments: payers", "Payments: providers"
router = Router(auth=TokenAuth())


def refusals(view):
    """Answers the payments refusals as the API root answers every error: detail and field errors."""

    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except services.PaymentError as error:
            status = {"not_found": 404, "conflict": 409, "in_progress": 409, "provider_unavailable": 503}.get(
                error.code, 422
            )
            body = {"detail": str(error), "code": error.code or "invalid"}
            body["errors"] = [
                {"field": name, "message": str(message)} for name, message in error.fields.items()
            ]
            return JsonResponse(body, status=status)

    return answer


# --- Representations ---------------------------------------------------------------------------------------


def _obligation(obligation: Obligation) -> dict:
    return {
        "id": str(obligation.id),
        "institution": obligation.institution.code,
        "reference": obligation.reference,
        "debtor": obligation.debtor,
        "debtor_name": obligation.debtor_label,
        "kind": obligation.kind,
        "concept_es": obligation.concept_es,
        "concept_en": obligation.concept_en,
        "amount": str(obligation.amount),
        "currency": obligation.currency,
        "due_date": obligation.due_date,
        "legal_basis": obligation.legal_basis,
        "source": obligation.source,
        "status": obligation.status,
        "cancel_reason": obligation.cancel_reason,
        "paid_at": obligation.paid_at,
        "payment": obligation.paid_by.reference if obligation.paid_by_id else None,
        "receipt": obligation.paid_by.receipt_number if obligation.paid_by_id else None,
        "created_at": obligation.created_at,
    }


def payment_json(payment: Payment) -> dict:
    error = errors.describe(payment.error_code) if payment.error_code else None
    return PaymentOut(
        id=str(payment.id),
        reference=payment.reference,
        status=payment.status,
        status_description=str(payment.get_status_display()),
        error_code=payment.error_code,
        error_message=str(error.message) if error else "",
        retry=error.retry if error else False,
        amount=str(payment.amount),
        currency=payment.currency,
        refunded=str(payment.refunded),
        provider=payment.provider,
        channel=payment.channel,
        next_url=(payment.redirect_url or None) if payment.status == Payment.Status.STARTED else None,
        receipt=payment.receipt_number,
        created_at=payment.created_at,
        finished_at=payment.finished_at,
        expires_at=payment.expires_at,
        items=[
            {
                "obligation": str(item.obligation_id),
                "reference": item.obligation.reference,
                "institution": item.institution.code,
                "concept_es": item.obligation.concept_es,
                "concept_en": item.obligation.concept_en,
                "amount": str(item.amount),
                "refunded": str(item.refunded),
                "duplicate": item.duplicate,
            }
            for item in selectors.items_of(payment)
        ],
    ).model_dump(mode="json")


def _refund(refund) -> dict:
    return RefundOut(
        id=str(refund.id),
        reference=refund.reference,
        payment=refund.payment.reference,
        obligation=str(refund.item.obligation_id),
        amount=str(refund.amount),
        status=refund.status,
        error_code=refund.error_code,
        reason=refund.reason,
        created_at=refund.created_at,
        finished_at=refund.finished_at,
    ).model_dump(mode="json")


# --- Institutions --------------------------------------------------------------------------------------------


def _institution(request, code: str):
    institution = catalogue.institution_by_code((code or "").strip().upper())
    if institution is None:
        raise Http404(_("There is no institution with the code %(code)s.") % {"code": code})
    if not selectors.may_integrate(request.auth, institution):
        raise PermissionDenied(
            _("Only the integrators and treasurers of %(institution)s may do this.")
            % {"institution": institution.code}
        )
    return institution


def _institution_obligation(request, obligation_id: str) -> Obligation:
    obligation = selectors.obligation_by_id(obligation_id)
    # Another institution's obligation is answered as if it did not exist.
    if obligation is None or not selectors.may_integrate(request.auth, obligation.institution):
        raise Http404(_("There is no such obligation."))
    return obligation


def _post(request, body: ObligationIn) -> tuple[int, dict]:
    institution = _institution(request, body.institution)
    obligation, created = services.post_obligation(
        institution=institution,
        data=services.ObligationIn(
            reference=body.reference,
            debtor=body.debtor,
            debtor_label=body.debtor_name or body.debtor,
            kind=body.kind,
            concept_es=body.concept_es,
            concept_en=body.concept_en,
            amount=body.amount,
            currency=body.currency,
            due_date=body.due_date,
            legal_basis=body.legal_basis,
        ),
        actor=actor_for(request.auth, channel="api"),
    )
    return (201 if created else 200), _obligation(obligation)


@router.post(
    "/obligations",
    response={200: ObligationOut, 201: ObligationOut},
    tags=[INSTITUTIONS],
    summary="Post what someone owes your institution",
    description=(
        "201 when created. Posting the same `reference` again with the same values answers 200 with the first; "
        "with other values, 409 (adjust or cancel it instead). An `Idempotency-Key` header is also honoured."
    ),
)
@refusals
def post_obligation(
    request, body: ObligationIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    status, answer, replayed = idempotency.once(
        owner=f"user:{request.auth.public_id}",
        scope="payments.obligation",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        produce=lambda: _post(request, body),
    )
    return idempotency.answered(answer, status=status, replayed=replayed)


@router.post(
    "/obligations/import",
    response={200: ImportOut},
    tags=[INSTITUTIONS],
    summary="Post many obligations from a CSV file",
    description=(
        "The body is CSV text (UTF-8) with a first line naming the columns: reference, debtor, debtor_label, kind, "
        "concept_es, concept_en, amount, currency, due_date (YYYY-MM-DD), legal_basis. Every line is checked first: "
        "if any is wrong, nothing is imported and 422 lists each line to correct. Lines already imported (same "
        "reference and values) are counted as unchanged, so a corrected file can be sent again whole."
    ),
)
@refusals
def import_obligations(request, institution: str = Query(...)):
    owner = _institution(request, institution)
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return JsonResponse({"detail": _("The file must be UTF-8 text."), "errors": []}, status=422)
    result = services.import_obligations(
        institution=owner, text=text, actor=actor_for(request.auth, channel="api")
    )
    if result.errors:
        return JsonResponse(
            {
                "detail": _("Nothing was imported: correct these lines and send the file again."),
                "errors": [
                    {"line": line, "field": name, "message": str(message)}
                    for line, problems in result.errors
                    for name, message in problems.items()
                ],
            },
            status=422,
        )
    return {"created": result.created, "unchanged": result.unchanged}


@router.get(
    "/obligations",
    response=ObligationPage,
    tags=[INSTITUTIONS],
    summary="Your institution's obligations, newest first (cursor paging: pass `next` as `after`)",
)
@refusals
def list_obligations(
    request,
    institution: str = Query(...),
    status: str = Query("", pattern="^(|open|paid|cancelled)$"),
    after: str = Query("", max_length=200),
    page_size: int = Query(50, ge=1, le=200),
):
    found = selectors.obligations_of_institution(_institution(request, institution), status=status)
    return paging.api_page(found.select_related("paid_by"), after=after, size=page_size, render=_obligation)


@router.get(
    "/obligations/{obligation_id}",
    response=ObligationDetailOut,
    tags=[INSTITUTIONS],
    summary="One obligation, with its history",
)
def get_obligation(request, obligation_id: str):
    obligation = _institution_obligation(request, obligation_id)
    return {
        **_obligation(obligation),
        "history": [
            {
                "kind": change.kind,
                "amount_before": str(change.amount_before) if change.amount_before is not None else None,
                "amount_after": str(change.amount_after) if change.amount_after is not None else None,
                "reason": change.reason,
                "by": change.actor_label,
                "at": change.at,
            }
            for change in selectors.history_of(obligation)
        ],
    }


@router.post(
    "/obligations/{obligation_id}/adjust",
    response=ObligationOut,
    tags=[INSTITUTIONS],
    summary="Change the amount, with a reason",
)
@refusals
def adjust_obligation(request, obligation_id: str, body: ChangeIn):
    obligation = services.adjust_obligation(
        obligation=_institution_obligation(request, obligation_id),
        amount=body.amount,
        reason=body.reason,
        actor=actor_for(request.auth, channel="api"),
    )
    return _obligation(obligation)


@router.post(
    "/obligations/{obligation_id}/cancel",
    response=ObligationOut,
    tags=[INSTITUTIONS],
    summary="Cancel, with a reason",
)
@refusals
def cancel_obligation(request, obligation_id: str, body: CancelIn):
    obligation = services.cancel_obligation(
        obligation=_institution_obligation(request, obligation_id),
        reason=body.reason,
        actor=actor_for(request.auth, channel="api"),
    )
    return _obligation(obligation)


@router.post(
    "/payments/{reference}/refunds",
    response={201: RefundOut},
    tags=[INSTITUTIONS],
    summary="Refund all or part of what a payment collected for one of your obligations",
    description="Refused (422) beyond what is still refundable. Send an `Idempotency-Key` so a retry refunds once.",
)
@refusals
def refund(
    request,
    reference: str,
    body: RefundIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    def produce() -> dict:
        obligation = _institution_obligation(request, body.obligation)
        item = selectors.item_in_payment(obligation, reference)
        if item is None:
            raise Http404(_("This payment did not pay that obligation."))
        made = services.request_refund(
            item=item, amount=body.amount, reason=body.reason, actor=actor_for(request.auth, channel="api")
        )
        return _refund(made)

    return idempotency.respond(
        owner=f"user:{request.auth.public_id}",
        scope="payments.refund",
        key=idempotency_key,
        body={"payment": reference, **body.model_dump()},
        status=201,
        produce=produce,
    )


@router.get(
    "/collections",
    response=list[DayOut],
    tags=[INSTITUTIONS],
    summary="What was collected for your institution each day, and refunded",
    description="Days in UTC, newest first; at most 92 days at once. A payment covering several institutions "
    "counts here only for your part.",
)
@refusals
def collections(request, institution: str = Query(...), start: date | None = None, end: date | None = None):
    owner = _institution(request, institution)
    end = end or timezone.now().date()
    start = start or end - timedelta(days=30)
    if start > end or (end - start).days > 92:
        raise services.PaymentError(
            _("Some values are not valid."),
            {"start": _("Give a start on or before the end, at most 92 days before.")},
        )
    return [
        {
            "day": row.day,
            "currency": row.currency,
            "payments": row.payments,
            "collected": str(row.collected),
            "refunded": str(row.refunded),
            "net": str(row.net),
        }
        for row in selectors.collections(owner, start=start, end=end)
    ]


@router.put(
    "/payment-callbacks",
    response=WebhookOut,
    tags=[INSTITUTIONS],
    summary="Where to tell your system that an obligation was paid or refunded",
    description=(
        "Each callback is a POST with a JSON body {id, type: obligation.paid | obligation.refunded, obligation, "
        'payment[, refund]}, signed: X-Ventanilla-Timestamp and X-Ventanilla-Signature = "sha256=" + hex '
        'HMAC-SHA256(secret, timestamp + "." + body). Answer 2xx; otherwise it is sent again (1, 2, 4 … '
        "minutes; 10 times). The same event keeps its id: treat a repeat as already handled."
    ),
)
@refusals
def set_webhook(request, body: WebhookIn):
    institution = _institution(request, body.institution)
    url = body.url.strip()
    if not (url.startswith("https://") or url.startswith(("http://127.0.0.1", "http://localhost"))):
        raise services.PaymentError(_("Some values are not valid."), {"url": _("Give an https:// address.")})
    webhook, secret = services.set_webhook(
        institution=institution, url=url, actor=actor_for(request.auth, channel="api")
    )
    return {"institution": institution.code, "url": webhook.url, "secret": secret}


# --- Payers --------------------------------------------------------------------------------------------------


def _keys(request) -> set[str]:
    return keys_of_person(request.auth)


@router.get(
    "/payment-providers",
    response=list[ProviderOut],
    tags=[PAYERS],
    summary="The ways to pay online",
    auth=None,
)
def providers(request):
    return [{"name": name, "channel": "online"} for name in plugins.online()]


@router.get(
    "/owed", response=list[ObligationOut], tags=[PAYERS], summary="What you owe, to every institution"
)
def owed(request):
    return [_obligation(obligation) for obligation in selectors.owed(_keys(request))]


@router.post(
    "/payments",
    response={201: PaymentOut},
    tags=[PAYERS],
    summary="Pay one or several of your obligations",
    description=(
        "Answers the payment with `next_url`: send the payer there. Send an `Idempotency-Key`: a retry with the "
        "same key and body answers the same payment, as it now stands, and never makes a second one (the header "
        "Idempotent-Replayed: true says so); the same key with another body is refused (422). Keys are kept 24 h. "
        "503 when the provider cannot be reached: retry with the same key."
    ),
)
@refusals
def create_payment(
    request, body: PaymentIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    user = request.auth
    if body.provider not in plugins.online():
        raise services.PaymentError(
            _("Some values are not valid."),
            {"provider": _("Choose a way to pay from GET /payment-providers.")},
        )

    def produce() -> tuple[int, dict]:
        payment = services.create_payment(
            obligation_ids=[as_uuid(text) for text in body.obligations],
            debtor_keys=_keys(request),
            subject=f"user:{user.public_id}",
            subject_label=str(user),
            payer=user,
            provider=body.provider,
            channel=Payment.Channel.API,
            actor=actor_for(user, channel="api"),
            return_url=body.return_url,
        )
        return 201, {"id": str(payment.id)}

    status, answer, replayed = idempotency.once(
        owner=f"user:{user.public_id}",
        scope="payments.create",
        key=idempotency_key,
        body=body.model_dump(),
        produce=produce,
    )
    payment = services.start_payment(payment=selectors.payment_by_id(answer["id"]))
    return idempotency.answered(payment_json(payment), status=status, replayed=replayed)


@router.get("/payments", response=PaymentPage, tags=[PAYERS], summary="Your payments, newest first")
def list_payments(request, after: str = Query("", max_length=200), page_size: int = Query(20, ge=1, le=100)):
    return paging.api_page(
        selectors.payments_of(_keys(request)), after=after, size=page_size, render=payment_json
    )


def _mine(request, reference: str) -> Payment:
    payment = selectors.payment_of(_keys(request), reference)
    if payment is None:
        raise Http404(_("There is no payment %(reference)s among yours.") % {"reference": reference})
    return payment


@router.get(
    "/payments/{reference}",
    response=PaymentOut,
    tags=[PAYERS],
    summary="One of your payments, as it stands now",
    description="A pending payment nobody has heard of for a while is checked with its provider first, so polling "
    "this settles a payment whose notification was lost.",
)
def get_payment(request, reference: str):
    return payment_json(services.refresh(payment=_mine(request, reference)))


@router.post(
    "/payments/{reference}/cancel", response=PaymentOut, tags=[PAYERS], summary="Give up a pending payment"
)
@refusals
def cancel_payment(request, reference: str):
    payment = services.cancel_payment(
        payment=_mine(request, reference), actor=actor_for(request.auth, channel="api")
    )
    return payment_json(payment)


# --- Providers ------------------------------------------------------------------------------------------------


@router.post(
    "/payment-providers/{provider}/notifications",
    auth=None,
    url_name="payments_notifications",
    tags=[PROVIDERS],
    summary="Where payment providers send their signed notifications",
    description="Each provider plugin checks its own signature; 400 for a forged, stale or malformed one.",
)
def notifications(request, provider: str):
    if provider not in plugins.offered():
        raise Http404(_("Unknown payment provider."))
    try:
        applied = services.receive_notifications(
            provider_name=provider, body=request.body, headers=request.headers
        )
    except plugins.InvalidNotification as error:
        return JsonResponse({"detail": str(error)}, status=400)
    return HttpResponse(f'{{"applied": {applied}}}', content_type="application/json")
