"""Email through Django's mail backend: SMTP when VENTANILLA_SMTP_HOST is set, the console otherwise. The SMTP
server's acceptance is delivery as far as the platform can know."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import PermanentFailure, Provider, Sent, TemporaryFailure, providers


@providers.register("mail")
class Mail(Provider):
    channel = "email"

    def send(self, *, message_id: str, to: str, subject: str, text: str, html: str, sender: str) -> Sent:
        email = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            reply_to=[sender] if sender else None,
            # The message id lets a receiving system drop a copy, should a retry follow a lost acknowledgement.
            headers={"Message-ID": f"<{message_id}@{settings.VENTANILLA_MAIL_DOMAIN}>"},
            connection=get_connection(timeout=settings.VENTANILLA_NOTIFY_TIMEOUT),
        )
        email.attach_alternative(html, "text/html")
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"The mail server refused {to}: {codes}") from error
            raise TemporaryFailure(f"The mail server deferred {to}: {codes}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise TemporaryFailure(f"The mail server could not be reached: {error!r}") from error
        return Sent(reference=message_id, delivered=True)
