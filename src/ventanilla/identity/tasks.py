"""Mail to people about their account, sent in the background in the person's language."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import task

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


@task()
def send_account_email(*, template: str, to: str, language: str, context: dict, attempt: int = 1) -> str:
    """Render identity/email/<template>{_subject.txt,.txt,.html} in `language` and send it as plain text with
    an HTML alternative. A failure to hand the message to the mail server is retried with backoff."""
    with translation.override(language):
        values = {**context, "site_name": settings.VENTANILLA_SITE_NAME, "language": language}
        subject = " ".join(render_to_string(f"identity/email/{template}_subject.txt", values).split())
        text = render_to_string(f"identity/email/{template}.txt", values)
        html = render_to_string(f"identity/email/{template}.html", values)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except OSError:
        logger.exception("Could not send %s mail (attempt %s)", template, attempt)
        if attempt >= MAX_ATTEMPTS:
            return "failed"
        send_account_email.using(run_after=timezone.now() + timedelta(seconds=30 * 2**attempt)).enqueue(
            template=template, to=to, language=language, context=context, attempt=attempt + 1
        )
        return "retrying"
    return "sent"
