"""The notifications API for institutions: send with your own templates, follow each message's status. Keys are
per sending service (`Authorization: Bearer ntf_live_…` or `ntf_test_…`); a test key's messages are accepted and
reported but never leave the platform."""

from datetime import datetime

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.security import HttpBearer

from ventanilla.core import idempotency, paging
from ventanilla.core.i18n import localized

from . import rendering, selectors, services
from .models import ApiKey, Message, TemplateVersion
from .plugins import InvalidReceipt

TAG = "Notifications"


class ServiceKey(HttpBearer):
    def authenticate(self, request, token: str) -> ApiKey | None:
        return services.api_key_for(token)


router = Router(auth=ServiceKey(), tags=[TAG])


class MessageIn(Schema):
    template: str = Field(..., max_length=80, description="The template's id or name (slug).")
    to: str = Field(
        ..., max_length=254, description="An email address, or a mobile number with country code."
    )
    personalisation: dict[str, str | int | float] = Field(default_factory=dict)
    reference: str = Field("", max_length=100, description="Your own reference, to find the message again.")
    language: str = Field("es", pattern="^(es|en)$")


class MessageOut(Schema):
    id: str
    reference: str
    channel: str
    to: str
    template: str
    template_version: int
    language: str
    subject: str
    body: str
    status: str
    status_description: str
    test: bool
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None


class MessagePage(Schema):
    items: list[MessageOut]
    next: str | None


class TemplateOut(Schema):
    id: str
    name: str
    channel: str
    essential: bool
    version: int
    subject_es: str
    subject_en: str
    body_es: str
    body_en: str
    placeholders: list[str]


class PreviewIn(Schema):
    personalisation: dict[str, str | int | float] = Field(default_factory=dict)
    language: str = Field("es", pattern="^(es|en)$")


class PreviewOut(Schema):
    subject: str
    body: str
    html: str | None
    sms_fragments: int | None


def _refusal(error: services.NotifyError) -> JsonResponse:
    errors = [{"field": field, "message": str(message)} for field, message in error.errors.items()]
    return JsonResponse({"detail": str(error), "errors": errors}, status=error.status)


def _message(message: Message) -> dict:
    return {
        "id": str(message.id),
        "reference": message.reference,
        "channel": message.channel,
        "to": message.to,
        "template": str(message.template_version.template_id),
        "template_version": message.template_version.number,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        "status": message.status,
        "status_description": str(Message.Status(message.status).label),
        "test": message.test,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "completed_at": message.completed_at,
    }


def _template(version: TemplateVersion) -> dict:
    template = version.template
    return {
        "id": str(template.id),
        "name": template.slug,
        "channel": template.channel,
        "essential": template.essential,
        "version": version.number,
        "subject_es": version.subject_es,
        "subject_en": version.subject_en,
        "body_es": version.body_es,
        "body_en": version.body_en,
        "placeholders": rendering.placeholders(
            version.subject_es, version.body_es, version.subject_en, version.body_en
        ),
    }


@router.post(
    "/messages",
    response={201: MessageOut},
    summary="Send an email or a text message with one of your templates",
    description=(
        "The template decides the channel. The message is saved and queued at once (201); follow its `status`. "
        "Send an `Idempotency-Key` header so that a retried request sends nothing twice. Every request, a "
        "retried one too, counts towards the service's rate limit; over it the answer is 429."
    ),
)
def send_message(
    request, body: MessageIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    key: ApiKey = request.auth

    def produce() -> dict:
        message = services.send_from_api(
            key=key,
            template_id=body.template,
            to=body.to,
            personalisation={name: str(value) for name, value in body.personalisation.items()},
            reference=body.reference,
            language=body.language,
        )
        return MessageOut(**_message(message)).model_dump(mode="json")  # stored as the replayable answer

    try:
        services.check_rate_limit(service=key.service)  # before, and outside, the transaction that sends
        return idempotency.respond(
            owner=f"notify:{key.service_id}:{key.kind}",
            scope="notify.send",
            key=idempotency_key,
            body=body.model_dump(),
            status=201,
            produce=produce,
        )
    except services.NotifyError as error:
        return _refusal(error)


@router.get("/messages/{message_id}", response=MessageOut, summary="One message and its delivery status")
def get_message(request, message_id: str):
    message = selectors.message_of(request.auth.service, message_id)
    if message is None:
        return JsonResponse({"detail": _("No message of your service has this id.")}, status=404)
    return _message(message)


@router.get(
    "/messages",
    response=MessagePage,
    summary="Your service's messages, newest first (cursor paging: pass `next` as `after`)",
)
def list_messages(
    request,
    status: str = Query(
        "", pattern="^(|created|sending|delivered|temporary-failure|permanent-failure|technical-failure)$"
    ),
    reference: str = Query("", max_length=100),
    after: str | None = Query(None, max_length=200),
    page_size: int = Query(50, ge=1, le=250),
):
    found = selectors.messages_of(request.auth.service, status=status, reference=reference).select_related(
        "template_version"
    )
    return paging.api_page(found, after=after, size=page_size, render=_message)


@router.get("/templates", response=list[TemplateOut], summary="Your service's templates, newest versions")
def list_templates(request):
    versions = [
        selectors.current_version(service=request.auth.service, template=template.slug)
        for template in selectors.templates_of(request.auth.service)
    ]
    return [_template(version) for version in versions if version is not None]


def _version_or_404(request, template_id: str):
    version = selectors.current_version(service=request.auth.service, template=template_id)
    if version is None:
        return None, JsonResponse(
            {"detail": _("No template of your service has this id or name.")}, status=404
        )
    return version, None


@router.get("/templates/{template_id}", response=TemplateOut, summary="One template (by id or name)")
def get_template(request, template_id: str):
    version, missing = _version_or_404(request, template_id)
    return missing or _template(version)


@router.post(
    "/templates/{template_id}/preview",
    response=PreviewOut,
    summary="See a template filled in, without sending anything",
)
def preview_template(request, template_id: str, body: PreviewIn):
    version, missing = _version_or_404(request, template_id)
    if missing:
        return missing
    channel = version.template.channel
    try:
        rendered = rendering.render_version(
            version,
            language=body.language,
            personalisation={name: str(value) for name, value in body.personalisation.items()},
        )
    except rendering.MissingPersonalisation as error:
        return _refusal(services.NotifyError(str(error), errors={"personalisation": str(error)}))
    sender = localized(request.auth.service, "name", body.language)
    return {
        "subject": rendered.subject,
        "body": rendered.text,
        "html": rendering.email_html(
            subject=rendered.subject, text=rendered.text, language=body.language, sender_name=sender
        )
        if channel == "email"
        else None,
        "sms_fragments": rendering.sms_length(rendered.text).fragments if channel == "sms" else None,
    }


@router.post(
    "/receipts/{provider}",
    auth=None,
    url_name="notify_receipts",
    include_in_schema=False,
)
def delivery_receipts(request, provider: str):
    """Signed delivery receipts from an SMS provider (each provider plugin checks its own signature)."""
    try:
        services.record_receipts(provider_name=provider, body=request.body, headers=request.headers)
    except (InvalidReceipt, LookupError):
        return HttpResponse(status=400)
    return HttpResponse(status=204)
