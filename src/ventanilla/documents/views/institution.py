"""The issuing institution's side: what it issued, found by code or holder, and revocation. Its officials see it,
in a session with a second factor; its supervisors revoke. For anyone else these pages do not exist (404)."""

from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ventanilla.catalogue import selectors as catalogue
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for

from .. import selectors, services, verification
from ..forms import RevokeForm

PAGE_SIZE = 50


def institution_page(view):
    @wraps(view)
    def wrapper(request, institution_code, *args, **kwargs):
        institution = catalogue.institution_by_code(institution_code)
        if institution is None or not selectors.may_see_issued(request.authentication.user, institution):
            raise Http404(_("There is no such institution among yours."))
        return view(request, institution, *args, **kwargs)

    return authn.required(authn.Level.SUBSTANTIAL)(wrapper)


@authn.required(authn.Level.SUBSTANTIAL)
def institutions(request):
    mine = selectors.issuing_institutions(request.authentication.user)
    if len(mine) == 1:
        return redirect("documents:issued", institution_code=mine[0].code)
    return render(request, "documents/institution/institutions.html", {"institutions": mine})


@institution_page
def issued(request, institution):
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.issued_by(institution, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(document, verification.status_of(document)) for document in page]
    return render(
        request,
        "documents/institution/issued.html",
        {"institution": institution, "page": page, "rows": rows, "query": query},
    )


@institution_page
@require_http_methods(["GET", "POST"])
def document(request, institution, code):
    found = selectors.issued_by(institution).filter(code=services.normalize_code(code)).first()
    if found is None:
        raise Http404(_("There is no such document."))
    user = request.authentication.user
    may_revoke = selectors.may_manage(user, institution)
    form = RevokeForm(request.POST or None)
    if request.method == "POST":
        if not may_revoke:
            raise Http404(_("There is no such document."))
        if form.is_valid():
            services.revoke_document(
                document=found, reason=form.cleaned_data["reason"], actor=actor_for(user, channel="office")
            )
            messages.success(request, _("The document is revoked. Anyone who checks it is told so."))
            return redirect("documents:issued-detail", institution_code=institution.code, code=found.code)
    return render(
        request,
        "documents/institution/document.html",
        {
            "institution": institution,
            "document": found,
            "status": verification.status_of(found),
            "history": selectors.history_of(found),
            "form": form,
            "may_revoke": may_revoke,
        },
        status=400 if form.errors else 200,
    )
