"""What anyone may do without an account: check a document by its code or its PDF, open a document someone shared,
read the trust list; and, for machines, the timestamp authority and the issuers' metadata."""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.actor import Actor

from .. import credentials, keys, selectors, services, tsa, verification
from ..forms import CodeForm, FileForm, PresentationForm


def _result(request, verdict, *, status: int = 200, shared=None):
    return render(
        request,
        "documents/public/result.html",
        {
            "verdict": verdict,
            "message": verification.message_for(verdict.status, revocation_known=verdict.foreign is None),
            "shared": shared,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def verify(request):
    """The code form sends a GET to the code's own page (so it can be bookmarked); the PDF comes by POST."""
    if request.GET.get("code") is not None:
        code_form = CodeForm(request.GET)
        if code_form.is_valid():
            return redirect(
                "documents:verify-code", code=services.normalize_code(code_form.cleaned_data["code"])
            )
    else:
        code_form = CodeForm()
    file_form = FileForm(request.POST, request.FILES) if request.method == "POST" else FileForm()
    if request.method == "POST" and file_form.is_valid():
        return _result(request, verification.verify_pdf(file_form.cleaned_data["file"].read()))
    return _verify_page(request, code_form=code_form, file_form=file_form)


def _verify_page(request, *, code_form=None, file_form=None, presentation_form=None):
    forms = {
        "code_form": code_form or CodeForm(),
        "file_form": file_form or FileForm(),
        "presentation_form": presentation_form or PresentationForm(),
    }
    status = 400 if any(form.errors for form in forms.values()) else 200
    return render(request, "documents/public/verify.html", forms, status=status)


@require_POST
def verify_credential(request):
    form = PresentationForm(request.POST)
    if not form.is_valid():
        return _verify_page(request, presentation_form=form)
    verdict = credentials.verify_presentation(form.cleaned_data["presentation"])
    return render(
        request,
        "documents/public/credential_result.html",
        {
            "verdict": verdict,
            "message": verification.message_for(verdict.status, revocation_known=verdict.status_checked),
        },
    )


def verify_code(request, code):
    normalized = services.normalize_code(code)
    if normalized != code:
        return redirect("documents:verify-code", code=normalized)
    verdict = verification.verify_code(code)
    return _result(request, verdict, status=404 if verdict.status == verification.NOT_FOUND else 200)


def shared(request, token):
    link = selectors.live_share_link(token)
    if link is None:
        return render(request, "documents/public/share_expired.html", status=410)
    services.opened(link)
    document = link.document
    verdict = verification.Verdict(
        status=verification.status_of(document), document=document, signed_at=document.valid_from
    )
    return _result(request, verdict, shared=link)


def shared_pdf(request, token):
    link = selectors.live_share_link(token)
    if link is None:
        return render(request, "documents/public/share_expired.html", status=410)
    file = services.signed_file(
        document=link.document, language=link.document.language, actor=Actor.anonymous()
    )
    return _pdf(file, link.document)


def _pdf(file, document, *, attachment: bool = True) -> HttpResponse:
    response = HttpResponse(bytes(file.pdf), content_type="application/pdf")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{document.code}-{file.language}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def trust_list(request):
    return render(
        request,
        "documents/public/trust.html",
        {
            "issuers": selectors.platform_issuers(),
            "foreign": selectors.trusted_foreign_issuers(),
            "authorities": keys.authorities(),
        },
    )


def authorities_pem(request):
    """The CA certificates to trust, as one PEM file (what pdfsig, Adobe Reader or a browser import)."""
    response = HttpResponse(
        "".join(ca.pem for ca in keys.authorities()), content_type="application/x-pem-file"
    )
    response["Content-Disposition"] = 'attachment; filename="ventanilla-ca.pem"'
    return response


@csrf_exempt
@require_POST
def timestamp(request):
    """RFC 3161 over HTTP: a DER TimeStampReq in, a DER TimeStampResp out."""
    if request.content_type != tsa.CONTENT_TYPE_QUERY:
        return HttpResponse(
            f"Send a DER TimeStampReq as {tsa.CONTENT_TYPE_QUERY}.", status=415, content_type="text/plain"
        )
    return HttpResponse(tsa.respond(request.body), content_type=tsa.CONTENT_TYPE_REPLY)


def issuer_metadata(request, code):
    institution = catalogue.institution_by_code(code)
    if institution is None:
        raise Http404(_("There is no such issuer."))
    response = JsonResponse(credentials.issuer_metadata(institution))
    response["Cache-Control"] = "public, max-age=300"
    return response


def issuer(request, code):
    """An issuer identifier is a URL: a person who opens it sees the trust list."""
    if catalogue.institution_by_code(code) is None:
        raise Http404(_("There is no such issuer."))
    return redirect(f"{settings.VENTANILLA_PUBLIC_URL}/confianza/#{code}")
