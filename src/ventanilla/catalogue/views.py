import uuid

import yaml
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError as PydanticValidationError

from ventanilla.core.validation import describe_django, describe_pydantic
from ventanilla.identity import authn
from ventanilla.identity.selectors import actor_for

from . import search, selectors, services
from .forms import (
    PlanItemForm,
    ProposalForm,
    ReportAnswerForm,
    ReviewForm,
    SearchForm,
    UnlistedDocumentForm,
)
from .models import Procedure
from .schemas import ProcedureDoc

PAGE_SIZE = 20


def _procedure_or_404(code: str) -> Procedure:
    procedure = selectors.procedure_detail(code)
    if procedure is None:
        raise Http404(_("There is no published procedure with this code."))
    return procedure


def _institution_or_404(code: str):
    institution = selectors.institution_by_code(code)
    if institution is None:
        raise Http404(_("There is no institution with this code."))
    return institution


def procedure_search(request):
    form = SearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = filters.get("page") or 1
    found = search.search(
        q=filters.get("q", ""),
        institution=filters.get("institution") or None,
        level=filters.get("level"),
        audience=filters.get("audience") or None,
        topic=filters.get("topic") or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    last_page = max(1, -(-found.total // PAGE_SIZE))
    return render(
        request,
        "catalogue/search.html",
        {
            "form": form,
            "filters": filters,
            "results": selectors.procedures_by_ids(found.ids),
            "total": found.total,
            "page": page,
            "last_page": last_page,
            "institution": selectors.institution_by_code(filters["institution"])
            if filters.get("institution")
            else None,
            "topic": selectors.topic_by_code(filters["topic"]) if filters.get("topic") else None,
            "institutions": selectors.institutions_with_counts().filter(published_count__gt=0),
            "topics": selectors.topics(),
        },
    )


def procedure_detail(request, code):
    procedure = _procedure_or_404(code)
    return render(
        request,
        "catalogue/procedure.html",
        {
            "procedure": procedure,
            "requirements": procedure.requirements.all(),
            "fees": procedure.fees.all(),
            "offices": procedure.institution.offices.all(),
            "last_change": selectors.change_log(procedure).first(),
        },
    )


def procedure_changes(request, code):
    procedure = _procedure_or_404(code)
    return render(
        request,
        "catalogue/changes.html",
        {
            "procedure": procedure,
            "entries": selectors.change_log(procedure),
        },
    )


@require_http_methods(["GET", "POST"])
def report_unlisted(request, code):
    procedure = _procedure_or_404(code)
    if request.method == "POST":
        form = UnlistedDocumentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            report = services.report_unlisted_document(
                procedure=procedure,
                office=data["office"],
                document=data["document"],
                asked_on=data["asked_on"],
                contact_email=data["contact_email"],
                idempotency_key=data["submission_key"] or None,
                actor=actor_for(request.user),
            )
            return redirect("catalogue:report-sent", code=procedure.code, reference=report.reference)
    else:
        # The key travels with the form, so a double click or a resubmitted page files one report.
        form = UnlistedDocumentForm(initial={"submission_key": uuid.uuid4().hex})
    return render(request, "catalogue/report_form.html", {"procedure": procedure, "form": form})


def report_sent(request, code, reference):
    report = selectors.unlisted_reports().filter(reference=reference, procedure__code=code).first()
    if report is None:
        raise Http404(_("There is no report with this reference."))
    return render(request, "catalogue/report_sent.html", {"report": report})


def institution_list(request):
    institutions = selectors.institutions_with_counts()
    return render(
        request,
        "catalogue/institutions.html",
        {
            "central": [i for i in institutions if i.kind != "municipality"],
            "municipal": [i for i in institutions if i.kind == "municipality"],
        },
    )


def institution_detail(request, code):
    institution = _institution_or_404(code)
    procedures = selectors.published_procedures().filter(institution=institution).order_by("title_es")
    page = Paginator(procedures, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "catalogue/institution.html",
        {
            "institution": institution,
            "page": page,
            "offices": institution.offices.all(),
            "plan_years": selectors.plan_years(institution),
        },
    )


def topic_list(request):
    all_topics = selectors.topics()
    return render(
        request,
        "catalogue/topics.html",
        {
            "topics": [t for t in all_topics if t.kind == "topic"],
            "life_events": [t for t in all_topics if t.kind == "life_event"],
        },
    )


def level_list(request):
    return render(request, "catalogue/levels.html", {"levels": selectors.level_summary()})


def simplification_summary(request):
    levels = selectors.level_summary()
    total = sum(n for _level, n in levels)
    return render(
        request,
        "catalogue/simplification.html",
        {
            "levels": levels,
            "total": total,
            "table": selectors.institution_level_table(),
        },
    )


@require_http_methods(["GET", "POST"])
def institution_plan(request, code):
    institution = _institution_or_404(code)
    can_edit = selectors.can_edit(request.user, institution)
    form = None
    if can_edit:
        form = PlanItemForm(request.POST or None)
        form.fields["procedure"].queryset = selectors.published_procedures().filter(institution=institution)
        if request.method == "POST" and form.is_valid():
            services.set_plan_item(
                user=request.user,
                actor=actor_for(request.user),
                procedure=form.cleaned_data["procedure"],
                year=timezone.localdate().year,
                target_level=form.cleaned_data["target_level"],
                reengineering=form.cleaned_data["reengineering"],
            )
            messages.success(request, _("The plan was updated."))
            return redirect("catalogue:institution-plan", code=code)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "catalogue/plan.html",
        {
            "institution": institution,
            "items": selectors.plan_items(institution=institution),
            "form": form,
            "levels": selectors.institution_level_table().filter(id=institution.id).first(),
        },
    )


def unlisted_report_counts(request):
    return render(request, "catalogue/report_counts.html", {"rows": selectors.unlisted_report_counts()})


def open_data(request):
    return render(request, "catalogue/open_data.html", {"formats": ["json", "csv", "jsonld", "ttl"]})


# ------------------------------------------------------------------------------------------------------------
# For officials: answer reports, propose and review changes. What citizens are told depends on these pages, so
# they need a session that used a second factor.

official_session = authn.required(authn.Level.SUBSTANTIAL)


@official_session
def report_inbox(request):
    institutions = selectors.institutions_answerable_by(request.user)
    if not institutions:
        raise PermissionDenied
    status = request.GET.get("status", "open")
    reports = selectors.unlisted_reports(
        institutions=institutions, status=status if status != "all" else None
    )
    return render(
        request,
        "catalogue/report_inbox.html",
        {
            "page": Paginator(reports, 50).get_page(request.GET.get("page")),
            "status": status,
        },
    )


@official_session
@require_http_methods(["GET", "POST"])
def report_answer(request, reference):
    institutions = selectors.institutions_answerable_by(request.user)
    report = selectors.unlisted_reports(institutions=institutions).filter(reference=reference).first()
    if report is None:
        raise Http404(_("There is no report with this reference among yours."))
    form = ReportAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.answer_unlisted_report(
            reference=reference,
            user=request.user,
            actor=actor_for(request.user),
            answer=form.cleaned_data["answer"],
        )
        messages.success(request, _("Your answer was recorded."))
        return redirect("catalogue:report-inbox")
    return render(request, "catalogue/report_answer.html", {"report": report, "form": form})


@official_session
def change_request_list(request):
    reviewer = selectors.can_review(request.user)
    institutions = selectors.institutions_answerable_by(request.user)
    if not reviewer and not institutions:
        raise PermissionDenied
    changes = selectors.change_requests(status=request.GET.get("status") or "pending")
    if not reviewer:
        changes = changes.filter(institution__in=institutions)
    return render(
        request,
        "catalogue/change_requests.html",
        {
            "page": Paginator(changes, 50).get_page(request.GET.get("page")),
            "reviewer": reviewer,
        },
    )


@official_session
@require_http_methods(["GET", "POST"])
def change_request_review(request, change_id):
    change = selectors.change_requests().filter(id=change_id).first()
    if change is None:
        raise Http404(_("There is no such change request."))
    reviewer = selectors.can_review(request.user)
    if not reviewer and change.institution not in selectors.institutions_answerable_by(request.user):
        raise PermissionDenied
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_change(
                change_id=change.id,
                user=request.user,
                actor=actor_for(request.user),
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            for item in describe_django(error):
                form.add_error(None, item["message"])
        else:
            messages.success(request, _("The decision was recorded."))
            return redirect("catalogue:change-requests")
    return render(
        request, "catalogue/change_request.html", {"change": change, "form": form, "reviewer": reviewer}
    )


@official_session
@require_http_methods(["GET", "POST"])
def propose_change(request, code=None):
    procedure = selectors.procedure_detail(code, include_unpublished=True) if code else None
    if code and procedure is None:
        raise Http404(_("There is no procedure with this code."))
    if procedure and not selectors.can_edit(request.user, procedure.institution):
        raise PermissionDenied
    if not selectors.institutions_answerable_by(request.user):
        raise PermissionDenied
    initial = (
        {
            "document": yaml.safe_dump(
                selectors.procedure_document(procedure), allow_unicode=True, sort_keys=False
            )
        }
        if procedure
        else {}
    )
    form = ProposalForm(request.POST or None, initial=initial)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            doc = ProcedureDoc.model_validate(yaml.safe_load(form.cleaned_data["document"]) or {})
            change = services.submit_change(
                user=request.user,
                actor=actor_for(request.user),
                doc=doc,
                justification=form.cleaned_data["justification"],
            )
        except yaml.YAMLError as error:
            problems = [
                {
                    "field": "document",
                    "message": _("The document is not valid YAML: %(error)s")
                    % {"error": getattr(error, "problem", "") or str(error)},
                }
            ]
        except PydanticValidationError as error:
            problems = describe_pydantic(error.errors())
        except ValidationError as error:
            problems = describe_django(error)
        else:
            messages.success(request, _("Your proposal was sent for review. A second person will review it."))
            return redirect("catalogue:change-request", change_id=change.id)
    return render(
        request, "catalogue/propose.html", {"procedure": procedure, "form": form, "problems": problems}
    )
