"""Notification pages in a real browser: axe-core finds nothing on either side, in both languages, and the email
preview (a sandboxed frame with the email's own styles) shows the filled-in message."""

import io

import pytest
from django.core.management import call_command

from ventanilla.identity.models import StaffRole
from ventanilla.notify import selectors, services
from ventanilla.notify.models import Message, SendingService

pytestmark = pytest.mark.e2e
BASE = "/gestion/avisos/mupa-avisos"


@pytest.fixture
def integrator(transactional_db, small_catalogue, make_user, fast_passwords):
    """An integrator of the municipality with its demo sending service and one text message sent."""
    user = make_user()
    StaffRole.objects.create(user=user, role=StaffRole.Role.INTEGRATOR, institution=small_catalogue["mupa"])
    call_command("notify", "demo", stdout=io.StringIO())
    service = SendingService.objects.get(slug="mupa-avisos")
    sms = selectors.current_version(service=service, template="cita-confirmada")
    values = {"referencia": "C-1", "fecha": "lunes", "hora": "9:00", "lugar": "Calle 50"}
    user.message = services.send(
        version=sms, channel="sms", to="+50761234567", language="es", personalisation=values, reference="R-1"
    )
    return user


@pytest.mark.parametrize("prefix", ["", "/en"], ids=["es", "en"])
def test_the_sending_service_pages_have_no_accessibility_violations(
    integrator, context, page_for, sign_in, scan, prefix
):
    sign_in(context, integrator)
    paths = [
        "/gestion/avisos/",
        "/gestion/avisos/nuevo/",
        f"{BASE}/",
        f"{BASE}/mensajes/{integrator.message.id}/",
        f"{BASE}/plantillas/",
        f"{BASE}/plantillas/nueva/?channel=email",
        f"{BASE}/plantillas/recordatorio-impuesto/",
        f"{BASE}/plantillas/recordatorio-impuesto/editar/",
        f"{BASE}/plantillas/cita-confirmada/vista-previa/?language=es&p_referencia=C-1&p_fecha=lunes&p_hora=9&p_lugar=Calle",
        f"{BASE}/claves/",
        f"{BASE}/claves/nueva/",
    ]
    for path in paths:
        page = page_for(context, prefix + path)
        scan(page, label=prefix + path)
        page.close()
    page = page_for(context, f"{prefix}{BASE}/plantillas/nueva/?channel=sms")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    scan(page, label="template errors")


def test_the_email_preview_shows_the_filled_in_email_in_its_frame(
    integrator, context, page_for, sign_in, scan
):
    sign_in(context, integrator)
    page = page_for(
        context,
        f"{BASE}/plantillas/recordatorio-impuesto/vista-previa/"
        "?language=es&p_nombre=Ana&p_impuesto=inmueble&p_fecha=5&p_monto=1&p_url=https://x.example/",
    )
    assert "Hola, Ana" in page.frame_locator("iframe").locator("body").inner_text()
    scan(page, label="email preview")


@pytest.mark.parametrize("prefix", ["", "/en"], ids=["es", "en"])
def test_the_persons_message_pages_have_no_accessibility_violations(
    transactional_db,
    make_citizen,
    submitted_case,
    fast_passwords,
    settings,
    context,
    page_for,
    sign_in,
    scan,
    prefix,
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    citizen = make_citizen()
    citizen.phone = "+50761112233"
    citizen.save(update_fields=["phone"])
    submitted_case(citizen)
    sign_in(context, citizen)
    message = Message.objects.get(recipient=f"user:{citizen.public_id}", channel="inbox")
    paths = (
        "/cuenta/mensajes/",
        f"/cuenta/mensajes/{message.id}/",
        "/cuenta/avisos/",
        "/cuenta/avisos/confirmar-celular/",
        "/cuenta/",
    )
    for path in paths:
        page = page_for(context, prefix + path)
        scan(page, label=prefix + path)
        page.close()
