import pytest
from django.utils import timezone

from ventanilla.core.actor import Actor
from ventanilla.notify import services
from ventanilla.notify.models import ApiKey
from ventanilla.notify.plugins import Provider, Sent, providers


@providers.register("tests-phone")
class RecordingSms(Provider):
    """An SMS provider for tests: records what it is given; `failures` queues what the next sends raise."""

    channel = "sms"
    sent: list[dict] = []
    failures: list[Exception] = []

    def send(self, *, message_id, to, subject, text, html, sender):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append({"message_id": message_id, "to": to, "text": text})
        return Sent(reference=f"tests-{len(self.sent)}", delivered=False)


@pytest.fixture
def sms_outbox(settings):
    """The SMS sent in this test (by RecordingSms); append TemporaryFailure/PermanentFailure to `.failures`."""
    settings.VENTANILLA_SMS_PROVIDER = "tests-phone"
    RecordingSms.sent.clear()
    RecordingSms.failures.clear()
    return RecordingSms


@pytest.fixture
def sending_service(db):
    """make(slug="padron", rate_limit_per_minute=3000) → an institution's sending service (no institution)."""

    def make(slug="padron", **fields):
        return services.create_sending_service(
            slug=slug,
            name_es="Padrón Municipal",
            name_en="Municipal Register",
            actor=Actor.system("tests"),
            **fields,
        )

    return make


@pytest.fixture
def reminder(sending_service):
    """A non-essential email template of the "padron" service, with placeholders ((name)) and ((due))."""
    return services.save_template(
        service=sending_service(),
        slug="recordatorio",
        channel="email",
        essential=False,
        subject_es="Recordatorio para ((name))",
        subject_en="Reminder for ((name))",
        body_es="Hola, ((name)): el pago vence el ((due)).\n\nMás en https://example.org/pagos",
        body_en="Hello ((name)): the payment is due on ((due)).\n\nMore at https://example.org/pagos",
        actor=Actor.system("tests"),
    )


@pytest.fixture
def api_key(db):
    """api_key(service, kind="live") → (ApiKey, the secret to send as a bearer token)."""

    def make(service, kind=ApiKey.Kind.LIVE):
        return services.create_api_key(service=service, name="tests", kind=kind, actor=Actor.system("tests"))

    return make


@pytest.fixture
def with_phone():
    """with_phone(user, "+50761234567") → the user with that mobile number confirmed."""

    def make(user, phone="+50761234567"):
        user.phone, user.phone_verified_at = phone, timezone.now()
        user.save(update_fields=["phone", "phone_verified_at"])
        return user

    return make
