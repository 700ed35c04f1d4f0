"""`ventanilla notify`: an operator sets up an institution's sending service, its keys and a test message from
the command line; `demo` gives the Municipality of Panamá a working one."""

import io
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from ventanilla.notify.models import ApiKey, Message, SendingService, Template

API = "/api/v1/notify/messages"


def notify(*args) -> str:
    out = io.StringIO()
    call_command("notify", *args, stdout=out)
    return out.getvalue()


def secret_in(printed: str) -> str:
    return re.search(r"(ntf_(?:live|test)_\S+)", printed).group(1)


def test_a_service_and_its_key_are_set_up_and_the_key_sends(small_catalogue):
    notify(
        "create-service",
        "mupa-impuestos",
        "--name-es",
        "Impuestos",
        "--name-en",
        "Taxes",
        "--institution",
        "MUN-PANAMA",
        "--rate-limit",
        "60",
    )
    service = SendingService.objects.get(slug="mupa-impuestos")
    assert service.institution == small_catalogue["mupa"] and service.rate_limit_per_minute == 60
    with pytest.raises(CommandError, match="Ya existe"):
        notify("create-service", "mupa-impuestos", "--name-es", "Otro", "--name-en", "Other")
    with pytest.raises(CommandError, match="No institution"):
        notify("create-service", "otro", "--name-es", "Otro", "--name-en", "Other", "--institution", "NOPE")
    with pytest.raises(CommandError, match="lowercase"):
        notify("create-service", "no vale", "--name-es", "Otro", "--name-en", "Other")

    printed = notify("create-key", "mupa-impuestos", "--name", "Sistema tributario", "--kind", "test")
    secret = secret_in(printed)
    assert ApiKey.objects.get(service=service).secret_hash not in printed
    with pytest.raises(CommandError, match="no sending service"):
        notify("create-key", "nope", "--name", "x", "--kind", "live")

    call_command("notify", "demo", stdout=io.StringIO())  # a template to send with, on another service
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
        API, {"template": "cita", "to": "+50761234567"}, content_type="application/json"
    )
    assert response.status_code == 422, "a key sends only its own service's templates"


def test_the_demo_gives_the_municipality_two_templates_and_a_working_test_key(small_catalogue):
    printed = notify("demo")
    service = SendingService.objects.get(institution=small_catalogue["mupa"])
    templates = {template.slug: template for template in Template.objects.filter(service=service)}
    assert (
        templates["recordatorio-impuesto"].channel == "email"
        and not templates["recordatorio-impuesto"].essential
    )
    assert templates["cita-confirmada"].channel == "sms" and templates["cita-confirmada"].essential
    secret = secret_in(printed)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
        API,
        {
            "template": "cita-confirmada",
            "to": "+50761234567",
            "personalisation": {"referencia": "C-1", "fecha": "lunes 4", "hora": "9:00", "lugar": "Calle 50"},
        },
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["test"] is True
    assert len(printed.strip().splitlines()) == 1, "one tidy line in the demo's output"

    again = notify("demo")
    assert secret_in(again) != secret
    assert all(template.versions.count() == 1 for template in Template.objects.filter(service=service))
    # The previous run's key stops working: only the last printed one is live.
    assert ApiKey.objects.filter(service=service, revoked_at__isnull=True).count() == 1


def test_the_demo_says_why_it_made_nothing_without_the_municipality(db):
    assert "MUN-PANAMA" in notify("demo")
    assert not SendingService.objects.exclude(slug="ventanilla").exists()


def test_send_test_sends_one_message_and_list_counts_it(small_catalogue, run_tasks_immediately):
    notify("demo")
    printed = notify(
        "send-test",
        "mupa-avisos",
        "recordatorio-impuesto",
        "vecina@example.org",
        "--language",
        "en",
        "-p",
        "nombre=Ana",
        "-p",
        "impuesto=inmueble",
        "-p",
        "fecha=5 May",
        "-p",
        "monto=120.00",
        "-p",
        "url=https://example.org/pagar",
    )
    message = Message.objects.get()
    assert str(message.id) in printed and message.status == "delivered"
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Reminder: your inmueble tax is due on 5 May"
    with pytest.raises(CommandError, match="fecha"):
        notify("send-test", "mupa-avisos", "recordatorio-impuesto", "vecina@example.org", "-p", "nombre=Ana")
    with pytest.raises(CommandError, match="dirección de correo"):
        notify("send-test", "mupa-avisos", "recordatorio-impuesto", "not-an-address")
    listing = notify("list")
    assert re.search(r"mupa-avisos\s+MUN-PANAMA\s+1 sent in 7 days\s+2 templates\s+1 keys", listing)


def test_load_templates_adds_nothing_twice(db):
    assert "0 new versions" in notify("load-templates")
