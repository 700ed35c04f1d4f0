"""The holder's side: everything issued to the person (or the business they act for), each document with its
status and history, its signed PDF in either language, links that show it to someone until they expire, and the
document as a verifiable credential. Anyone else's document is "not found", exactly like one that does not exist."""

import secrets
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ventanilla.core import idempotency
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for_request, may_act, principal_for_request, principal_keys

from .. import credentials, selectors, services, verification
from ..forms import ShareForm
from .public import _pdf

SCOPE = "documents"
PAGE_SIZE = 20


def holder_page(view):
    @wraps(view)
    @authn.required()
    def wrapper(request, *args, **kwargs):
        principal = principal_for_request(request)
        if not may_act(request, SCOPE):
            return render(request, "documents/holder/cannot_act.html", {"principal": principal}, status=403)
        request.holder = principal
        request.holder_keys = principal_keys(principal)
        return view(request, *args, **kwargs)

    return wrapper


def _own(request, code: str):
    document = selectors.document_of_holder(request.holder_keys, services.normalize_code(code))
    if document is None:
        raise Http404(_("There is no such document among yours."))
    return document


@holder_page
def mine(request):
    page = Paginator(selectors.documents_of(request.holder_keys), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(document, verification.status_of(document)) for document in page]
    return render(
        request, "documents/holder/mine.html", {"page": page, "rows": rows, "principal": request.holder}
    )


def _detail(request, document, *, share_form=None, status: int = 200, new_link=None):
    return render(
        request,
        "documents/holder/detail.html",
        {
            "document": document,
            "status": verification.status_of(document),
            "message": verification.message_for(verification.status_of(document)),
            "history": selectors.history_of(document),
            "links": selectors.share_links_of(document),
            "share_form": share_form or ShareForm(),
            "new_link": new_link,
            "share_url": settings.VENTANILLA_PUBLIC_URL + reverse("documents:shared", args=[new_link.token])
            if new_link
            else "",
            "now": timezone.now(),
            "token": secrets.token_urlsafe(16),
        },
        status=status,
    )


@holder_page
def detail(request, code):
    return _detail(request, _own(request, code))


@holder_page
def download(request, code, language):
    document = _own(request, code)
    if language not in services.LANGUAGES:
        raise Http404(_("There is no such language."))
    return _pdf(
        services.signed_file(document=document, language=language, actor=actor_for_request(request)), document
    )


@holder_page
@require_POST
def share(request, code):
    document = _own(request, code)
    form = ShareForm(request.POST)
    if not form.is_valid():
        return _detail(request, document, share_form=form, status=400)
    body = {"days": form.cleaned_data["days"]}

    def produce() -> tuple[int, dict]:
        link = services.share_document(document=document, days=body["days"], actor=actor_for_request(request))
        return 201, {"id": str(link.id)}

    try:
        # The form's token makes a double click, or the form sent again, one link.
        _status, answer, _replayed = idempotency.once(
            owner=request.holder.reference,
            scope=f"documents.share:{document.code}",
            key=idempotency.form_key(request.POST.get("token") or secrets.token_urlsafe(16), body),
            body=body,
            produce=produce,
        )
        link = selectors.share_links_of(document).get(id=answer["id"])
    except (services.DocumentError, idempotency.InvalidIdempotencyKey) as error:
        form.add_error(None, str(error))
        return _detail(request, document, share_form=form, status=409)
    return _detail(request, document, new_link=link)


@holder_page
@require_POST
def withdraw(request, code, link_id):
    document = _own(request, code)
    link = selectors.share_links_of(document).filter(id=link_id).first()
    if link is None:
        raise Http404(_("There is no such link."))
    services.withdraw_share(link=link, actor=actor_for_request(request))
    messages.success(request, _("The link no longer works."))
    return redirect("documents:detail", code=document.code)


@holder_page
@require_POST
def credential(request, code):
    document = _own(request, code)
    try:
        issued = services.issue_credential(
            document=document, holder_key=None, actor=actor_for_request(request)
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
        return redirect("documents:detail", code=document.code)
    response = HttpResponse(issued, content_type=f"application/{credentials.TYP}")
    response["Content-Disposition"] = f'attachment; filename="{document.code}.sd-jwt"'
    response["Cache-Control"] = "private, no-store"
    return response
