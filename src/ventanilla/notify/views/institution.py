"""The institution's side of notifications: the sending services a person manages, the messages they sent,
their templates (versions and a preview) and their API keys.

Operators manage every sending service and an institution's integrators their institution's, in a session with
a second factor; for anyone else these pages do not exist (404). Every change goes through notify.services."""

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core import paging
from ventanilla.core.i18n import localized
from ventanilla.identity import authn
from ventanilla.identity.oidc.selectors import integrator_institution_ids
from ventanilla.identity.selectors import actor_for

from .. import rendering, selectors, services
from ..forms import ApiKeyForm, PreviewForm, SendingServiceForm, TemplateChannelForm, TemplateForm
from ..models import Channel, Message

manager_session = authn.required(authn.Level.SUBSTANTIAL)
RECENT = timedelta(days=7)
PAGE_SIZE = 50
# Carries a new key's secret from the form to the one page that shows it, which takes it out of the session.
NEW_KEY = "notify_new_key"
# The email preview is a document of its own in a frame: its inline styles are the email's, and nothing in it
# may run or reach the page around it.
PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


def _actor(request):
    return actor_for(request.authentication.user)


def _managed_by(user):
    return selectors.services_managed_by(user, integrator_institution_ids(user)).select_related("institution")


def manager_required(view):
    """A second factor, then a sending service (named in the address) that the person manages."""

    @wraps(view)
    def wrapper(request, slug, *args, **kwargs):
        service = _managed_by(request.authentication.user).filter(slug=slug).first()
        if service is None:
            raise Http404(_("There is no such sending service among yours."))
        return view(request, service, *args, **kwargs)

    return manager_session(wrapper)


def _institutions_for(user) -> list:
    """The institutions the person may create a sending service for."""
    institutions = catalogue.institutions_with_counts()
    if not user.is_superuser:
        institutions = institutions.filter(id__in=integrator_institution_ids(user))
    return sorted(institutions, key=lambda institution: localized(institution, "name").lower())


def _show_errors(form, error: services.NotifyError) -> None:
    """notify's refusal on the form: each problem beside its field, the rest at the top."""
    for field, problem in error.errors.items():
        form.add_error(field if field in form.fields else None, str(problem))
    if not error.errors:
        form.add_error(None, str(error))


def _template_or_404(service, slug: str):
    template = selectors.template_of(service, slug)
    if template is None:
        raise Http404(_("This sending service has no such template."))
    return template


# --- Sending services ------------------------------------------------------------------------------------------


@manager_session
def service_list(request):
    user = request.authentication.user
    integrator_of = integrator_institution_ids(user)
    if not (user.is_superuser or integrator_of):
        raise Http404(_("There is nothing here for you."))
    found = list(selectors.services_managed_by(user, integrator_of).select_related("institution"))
    recent = selectors.message_counts(found, since=timezone.now() - RECENT)
    rows = [
        {
            "service": service,
            "institution": localized(service.institution, "name") if service.institution else "",
            "recent": recent.get(service.id, 0),
        }
        for service in found
    ]
    return render(request, "notify/institution/services.html", {"rows": rows})


@manager_session
@require_http_methods(["GET", "POST"])
def service_new(request):
    institutions = _institutions_for(request.authentication.user)
    if not institutions:
        raise Http404(_("There is nothing here for you."))
    form = SendingServiceForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        try:
            service = services.create_sending_service(
                slug=form.cleaned_data["slug"],
                name_es=form.cleaned_data["name_es"],
                name_en=form.cleaned_data["name_en"],
                institution=form.cleaned_data["institution"],
                actor=_actor(request),
            )
        except services.NotifyError as error:
            _show_errors(form, error)
        else:
            messages.success(
                request, _("Sending service created. Next: write a template and create an API key.")
            )
            return redirect("notify:service", service.slug)
    return render(request, "notify/institution/service_new.html", {"form": form})


def _status_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in Message.Status.choices]


@manager_required
def service_detail(request, service):
    status = request.GET.get("status", "")
    status = status if status in Message.Status.values else ""
    reference = request.GET.get("reference", "").strip()[:100]
    found = selectors.messages_of(service, status=status, reference=reference).select_related(
        "template_version__template"
    )
    after = request.GET.get("after", "")
    try:
        rows, next_cursor = paging.page_after(found, after=after, size=PAGE_SIZE)
    except ValueError:  # a cursor edited by hand: start again from the newest
        after = ""
        rows, next_cursor = paging.page_after(found, size=PAGE_SIZE)
    counts = selectors.status_counts(service, since=timezone.now() - RECENT)
    return render(
        request,
        "notify/institution/service.html",
        {
            "service": service,
            "platform": service.slug == services.PLATFORM,
            "counts": [(value, label, counts.get(value, 0)) for value, label in _status_choices()],
            "total": sum(counts.values()),
            "statuses": _status_choices(),
            "filters": {"status": status, "reference": reference},
            "rows": rows,
            "next_cursor": next_cursor,
            "first_page": bool(after),
        },
    )


# Why a message was not delivered, in words, for the causes notify itself records (a provider's own words are
# shown as they came).
FAILURES = {
    "opted-out": gettext_lazy(
        "Not sent: the person chose not to receive messages that are not essential to their own cases."
    ),
    "no-receipt": gettext_lazy("The provider took it but never confirmed delivery, within three days."),
    "interrupted": gettext_lazy(
        "Sending stopped half-way; it was not sent again, so as not to send it twice."
    ),
}


@manager_required
def message_detail(request, service, message_id):
    message = selectors.message_of(service, message_id)
    # Messages in a person's account are that person's record, not the sender's log.
    if message is None or message.channel == Channel.INBOX:
        raise Http404(_("This sending service has no such message."))
    return render(
        request,
        "notify/institution/message.html",
        {
            "service": service,
            "message": message,
            "status_label": Message.Status(message.status).label,
            "failure": str(FAILURES.get(message.failure, message.failure)),
            "retrying": message.status == Message.Status.CREATED and message.attempts > 0,
            "template": message.template_version.template,
            "forgotten": not message.body and message.completed_at is not None,
        },
    )


# --- Templates -------------------------------------------------------------------------------------------------


@manager_required
def template_list(request, service):
    def with_versions(templates):
        return templates.annotate(version=Max("versions__number"), changed_at=Max("versions__created_at"))

    return render(
        request,
        "notify/institution/templates.html",
        {
            "service": service,
            "templates": with_versions(selectors.templates_of(service)),
            "archived": with_versions(selectors.archived_templates_of(service)),
        },
    )


@manager_required
def template_detail(request, service, template_slug, number=None):
    template = _template_or_404(service, template_slug)
    versions = list(template.versions.all())
    shown = versions[0] if number is None and versions else None
    shown = shown or next((version for version in versions if version.number == number), None)
    if shown is None:
        raise Http404(_("This template has no such version."))
    return render(
        request,
        "notify/institution/template.html",
        {
            "service": service,
            "template": template,
            "version": shown,
            "current": shown == versions[0],
            "versions": versions,
            "placeholders": rendering.placeholders(
                shown.subject_es, shown.body_es, shown.subject_en, shown.body_en
            ),
        },
    )


@manager_required
@require_http_methods(["GET", "POST"])
def template_new(request, service):
    """First the kind of message (email or text: their forms differ), then its texts."""
    chooser = TemplateChannelForm(request.GET if "channel" in request.GET else None)
    if not chooser.is_valid():
        return render(
            request, "notify/institution/template_channel.html", {"service": service, "form": chooser}
        )
    channel = chooser.cleaned_data["channel"]
    form = TemplateForm(request.POST or None, channel=channel, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.save_template(
                service=service,
                slug=form.cleaned_data["slug"],
                channel=channel,
                new=True,
                actor=_actor(request),
                **form.texts(),
            )
        except services.NotifyError as error:
            _show_errors(form, error)
        else:
            messages.success(request, _("Template saved. Check it with the preview before using it."))
            return redirect("notify:template", service.slug, version.template.slug)
    return render(
        request,
        "notify/institution/template_form.html",
        {"service": service, "form": form, "channel": channel, "creating": True},
    )


@manager_required
@require_http_methods(["GET", "POST"])
def template_edit(request, service, template_slug):
    template = _template_or_404(service, template_slug)
    current = template.versions.first()
    initial = {"essential": "yes" if template.essential else "no"}
    initial.update(
        {name: getattr(current, name) for name in ("subject_es", "subject_en", "body_es", "body_en")}
    )
    form = TemplateForm(request.POST or None, initial=initial, channel=template.channel, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.save_template(
                service=service,
                slug=template.slug,
                channel=template.channel,
                actor=_actor(request),
                **form.texts(),
            )
        except services.NotifyError as error:
            _show_errors(form, error)
        else:
            if version.number == current.number:
                messages.info(
                    request,
                    _("The texts did not change, so it is still version %(number)s.")
                    % {"number": current.number},
                )
            else:
                messages.success(
                    request,
                    _("Saved as version %(number)s. Messages already sent keep the version they used.")
                    % {"number": version.number},
                )
            return redirect("notify:template", service.slug, template.slug)
    return render(
        request,
        "notify/institution/template_form.html",
        {
            "service": service,
            "form": form,
            "channel": template.channel,
            "template": template,
            "current": current,
        },
    )


@manager_required
@require_POST
def template_archive(request, service, template_slug):
    template = services.archive_template(
        template=_template_or_404(service, template_slug), actor=_actor(request)
    )
    messages.success(
        request,
        _("Template %(name)s archived: nothing can be sent with it now. Saving it again brings it back.")
        % {"name": template.slug},
    )
    return redirect("notify:templates", service.slug)


def _preview_of(request, service, template_slug):
    """The version to preview (the current one, or ?version=N), its form, and what the form filled in."""
    template = _template_or_404(service, template_slug)
    versions = template.versions.all()
    number = request.GET.get("version", "")
    version = versions.filter(number=int(number)).first() if number.isdigit() else versions.first()
    if version is None:
        raise Http404(_("This template has no such version."))
    names = rendering.placeholders(version.subject_es, version.body_es, version.subject_en, version.body_en)
    data = request.GET if "language" in request.GET else None
    if data is None and not names:  # nothing to fill in: show it at once
        data = {"language": "es"}
    form = PreviewForm(data, placeholders=names)
    if not form.is_valid():
        return version, form, None, ""
    language = form.cleaned_data["language"]
    rendered = rendering.render_version(version, language=language, personalisation=form.personalisation())
    return version, form, rendered, language


@manager_required
def template_preview(request, service, template_slug):
    version, form, rendered, language = _preview_of(request, service, template_slug)
    context = {"service": service, "template": version.template, "version": version, "form": form}
    if rendered is not None:
        sender = localized(service, "name", language)
        context["preview"] = {"subject": rendered.subject, "language": language}
        if version.template.channel == Channel.SMS:
            length = rendering.sms_length(rendered.text)
            context["preview"].update(
                text=rendered.text,
                length=length,
                too_long=length.fragments > rendering.SMS_MAX_FRAGMENTS,
                most=rendering.SMS_MAX_FRAGMENTS,
            )
        else:
            query = request.GET.copy()
            query.setdefault("language", language)
            context["preview"].update(
                text=rendering.email_text(rendered.text, sender_name=sender),
                frame_url=reverse("notify:template-preview-email", args=[service.slug, version.template.slug])
                + "?"
                + query.urlencode(),
            )
    return render(request, "notify/institution/template_preview.html", context)


@xframe_options_sameorigin
@manager_required
def template_preview_email(request, service, template_slug):
    """The filled-in email as its recipients' mail programs get it, for the preview page's frame."""
    version, _form, rendered, language = _preview_of(request, service, template_slug)
    if rendered is None or version.template.channel != Channel.EMAIL:
        raise Http404(_("Fill in the preview form first."))
    response = HttpResponse(
        rendering.email_html(
            subject=rendered.subject,
            text=rendered.text,
            language=language,
            sender_name=localized(service, "name", language),
        )
    )
    response["Content-Security-Policy"] = PREVIEW_POLICY
    return response


# --- API keys --------------------------------------------------------------------------------------------------


@manager_required
def key_list(request, service):
    return render(
        request, "notify/institution/keys.html", {"service": service, "keys": selectors.api_keys_of(service)}
    )


@manager_required
@require_http_methods(["GET", "POST"])
def key_new(request, service):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = services.create_api_key(
                service=service,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                actor=_actor(request),
            )
        except services.NotifyError as error:
            _show_errors(form, error)
        else:
            request.session[NEW_KEY] = {"service": service.slug, "key": str(key.id), "secret": secret}
            return redirect("notify:key-created", service.slug)
    return render(request, "notify/institution/key_new.html", {"service": service, "form": form})


@manager_required
def key_created(request, service):
    """The new key's secret, once: this page takes it out of the session, so a reload shows it no more."""
    shown = request.session.get(NEW_KEY)
    key = secret = None
    if shown and shown.get("service") == service.slug:
        del request.session[NEW_KEY]
        key = selectors.api_keys_of(service).filter(id=shown["key"]).first()
        secret = shown["secret"] if key else None
    return render(
        request, "notify/institution/key_created.html", {"service": service, "key": key, "secret": secret}
    )


@manager_required
@require_http_methods(["GET", "POST"])
def key_revoke(request, service, key_id):
    key = selectors.api_keys_of(service).filter(id=key_id).first()
    if key is None:
        raise Http404(_("This sending service has no such key."))
    if key.revoked_at is not None:
        return redirect("notify:keys", service.slug)
    if request.method == "POST":
        services.revoke_api_key(key=key, actor=_actor(request))
        messages.success(
            request,
            _("Key “%(name)s” revoked: requests that use it are refused from now on.") % {"name": key.name},
        )
        return redirect("notify:keys", service.slug)
    return render(request, "notify/institution/key_revoke.html", {"service": service, "key": key})
