"""The pages of people who manage a sending service: an institution's integrators manage theirs (operators
every one), write versioned templates and preview them, follow the messages and make API keys whose secret is
shown once. Anyone else finds nothing."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.identity.helpers import sign_in, sign_in_with_second_factor
from ventanilla.core.actor import Actor
from ventanilla.core.models import AuditEntry
from ventanilla.identity.models import StaffRole
from ventanilla.notify import services
from ventanilla.notify.models import ApiKey, Message, Template

SYSTEM = Actor.system("tests")
EMAIL = {
    "essential": "no",
    "subject_es": "Recordatorio para ((nombre))",
    "body_es": "Hola, ((nombre)): su impuesto vence el ((fecha)).",
    "subject_en": "Reminder for ((nombre))",
    "body_en": "Hello ((nombre)): your tax is due on ((fecha)).",
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, *args, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"notify:{name}", args=args)


def page(browser, name: str, *args, page_language: str = "en", **query) -> str:
    response = browser.get(url(name, *args, language=page_language), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def mupa_service(small_catalogue):
    return services.create_sending_service(
        slug="mupa-avisos",
        name_es="Municipio – Avisos",
        name_en="Municipality – Notices",
        institution=small_catalogue["mupa"],
        actor=SYSTEM,
    )


@pytest.fixture
def te_service(small_catalogue):
    """Another institution's sending service, with a template, a message and a key."""
    service = services.create_sending_service(
        slug="te-avisos",
        name_es="TE – Avisos",
        name_en="TE – Notices",
        institution=small_catalogue["te"],
        actor=SYSTEM,
    )
    version = services.save_template(
        service=service,
        slug="cita",
        channel="sms",
        essential=True,
        body_es="Cita ((dia))",
        body_en="Appointment ((dia))",
        actor=SYSTEM,
    )
    services.send(
        version=version,
        channel="sms",
        to="+50761234567",
        language="es",
        personalisation={"dia": "lunes"},
        test=True,
    )
    services.create_api_key(service=service, name="te", kind="live", actor=SYSTEM)
    return service


@pytest.fixture
def integrator(make_user, small_catalogue):
    """An integrator of the Municipality of Panamá, signed in with a second factor."""
    user = make_user()
    StaffRole.objects.create(user=user, role=StaffRole.Role.INTEGRATOR, institution=small_catalogue["mupa"])
    return sign_in_with_second_factor(user)


# --- Who gets in -----------------------------------------------------------------------------------------------


def test_an_integrator_manages_their_institutions_service_and_finds_nothing_of_another(
    integrator, mupa_service, te_service
):
    listing = page(integrator, "services")
    assert "Municipality – Notices" in listing and "TE – Notices" not in listing
    assert "Municipality of Panamá" in page(integrator, "service", "mupa-avisos")
    theirs = te_service.messages.get()
    key = te_service.api_keys.get()
    for name, args in [
        ("service", ["te-avisos"]),
        ("message", ["te-avisos", theirs.id]),
        ("templates", ["te-avisos"]),
        ("template", ["te-avisos", "cita"]),
        ("template-preview", ["te-avisos", "cita"]),
        ("keys", ["te-avisos"]),
        ("key-revoke", ["te-avisos", key.id]),
        # Another service's message or template through one's own service is not there either.
        ("message", ["mupa-avisos", theirs.id]),
        ("template", ["mupa-avisos", "cita"]),
        ("key-revoke", ["mupa-avisos", key.id]),
    ]:
        assert integrator.get(url(name, *args)).status_code == 404, name
    assert integrator.post(url("key-revoke", "te-avisos", key.id)).status_code == 404
    assert integrator.post(url("template-archive", "te-avisos", "cita")).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None and Template.objects.get(slug="cita").archived_at is None


def test_an_operator_manages_every_sending_service(make_user, mupa_service, te_service):
    operator = make_user()
    operator.is_superuser = True
    operator.save(update_fields=["is_superuser"])
    listing = page(sign_in_with_second_factor(operator), "services")
    assert "Municipality – Notices" in listing and "TE – Notices" in listing


def test_others_are_asked_to_sign_in_or_find_nothing(client, make_citizen, make_user, mupa_service):
    response = client.get(url("service", "mupa-avisos", language="es"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("identity:sign-in"))
    # An official without a second factor in this session is asked for one first.
    official = sign_in(make_user())
    response = official.get(url("services"))
    assert response.status_code == 302 and "/verificacion-adicional/" in response["Location"]
    citizen = sign_in_with_second_factor(make_citizen(level="substantial"))
    for name, args in [("services", []), ("service-new", []), ("service", ["mupa-avisos"])]:
        assert citizen.get(url(name, *args)).status_code == 404, name


def test_an_integrator_creates_a_sending_service_for_their_institution(integrator, small_catalogue):
    form = page(integrator, "service-new")
    assert "Municipality of Panamá" in form and "Electoral Tribunal" not in form
    response = integrator.post(
        url("service-new"),
        {
            "name_es": "Citas",
            "name_en": "Appointments",
            "slug": "Citas Municipales",
            "institution": small_catalogue["mupa"].id,
        },
    )
    assert response.status_code == 200 and 'class="error-summary"' in response.content.decode()
    response = integrator.post(
        url("service-new"),
        {
            "name_es": "Citas",
            "name_en": "Appointments",
            "slug": "citas",
            "institution": small_catalogue["mupa"].id,
        },
    )
    assert response.status_code == 302 and response["Location"] == url("service", "citas")
    response = integrator.post(
        url("service-new"),
        {"name_es": "Otra", "name_en": "Other", "slug": "citas", "institution": small_catalogue["mupa"].id},
    )
    assert "Another sending service has this name" in response.content.decode()


# --- Templates -------------------------------------------------------------------------------------------------


def test_a_template_is_written_then_edited_into_versions(integrator, mupa_service):
    choose = page(integrator, "template-new", "mupa-avisos")
    assert 'name="channel"' in choose and 'type="radio"' in choose
    new_email = url("template-new", "mupa-avisos") + "?channel=email"
    response = integrator.post(new_email, {"slug": "recordatorio", **EMAIL})
    assert response.status_code == 302 and response["Location"] == url(
        "template", "mupa-avisos", "recordatorio"
    )
    template = Template.objects.get(service=mupa_service, slug="recordatorio")
    assert [v.number for v in template.versions.all()] == [1] and not template.essential
    shown = page(integrator, "template", "mupa-avisos", "recordatorio")
    assert "((nombre))" in shown and "Reminder for ((nombre))" in shown

    edit = url("template-edit", "mupa-avisos", "recordatorio")
    assert "Hello ((nombre)): your tax is due on ((fecha))." in page(
        integrator, "template-edit", "mupa-avisos", "recordatorio"
    )
    changed = {**EMAIL, "body_en": "Hello ((nombre)): pay by ((fecha))."}
    response = integrator.post(edit, changed, follow=True)
    assert "Saved as version 2" in response.content.decode()
    response = integrator.post(edit, changed, follow=True)
    assert "still version 2" in response.content.decode()
    assert [v.number for v in template.versions.all()] == [2, 1]
    first = page(integrator, "template-version", "mupa-avisos", "recordatorio", 1)
    assert "your tax is due on" in first and "an earlier one" in first

    # A name already used is not overwritten by a new template.
    response = integrator.post(new_email, {"slug": "recordatorio", **EMAIL})
    assert response.status_code == 200 and "this one is taken" in response.content.decode()
    assert template.versions.count() == 2


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_template_with_problems_is_explained_beside_each_field(integrator, mupa_service, language):
    new_email = url("template-new", "mupa-avisos", language=language) + "?channel=email"
    response = integrator.post(
        new_email, {**EMAIL, "slug": "aviso", "body_es": "", "body_en": "Hello ((nombre)), ((extra))"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and f'<html lang="{language}">' in html
    assert 'class="error-summary"' in html and 'href="#id_body_es"' in html
    assert 'id="id_body_es_error"' in html
    response = integrator.post(
        new_email, {**EMAIL, "slug": "aviso", "body_en": "Hello ((nombre)), ((extra))"}
    )
    html = response.content.decode()
    assert 'href="#id_body_en"' in html and "extra" in html and 'id="id_body_en_error"' in html
    assert not Template.objects.filter(slug="aviso").exists()


def test_an_archived_template_cannot_be_sent_until_saved_again(integrator, mupa_service):
    integrator.post(url("template-new", "mupa-avisos") + "?channel=email", {"slug": "recordatorio", **EMAIL})
    response = integrator.post(url("template-archive", "mupa-avisos", "recordatorio"), follow=True)
    assert "archived" in response.content.decode()
    assert Template.objects.get(slug="recordatorio").archived_at is not None
    integrator.post(url("template-edit", "mupa-avisos", "recordatorio"), EMAIL)
    assert Template.objects.get(slug="recordatorio").archived_at is None


def test_the_preview_fills_in_the_placeholders_and_counts_text_message_parts(integrator, mupa_service):
    integrator.post(url("template-new", "mupa-avisos") + "?channel=email", {"slug": "recordatorio", **EMAIL})
    form = page(integrator, "template-preview", "mupa-avisos", "recordatorio")
    assert 'name="p_nombre"' in form and 'name="p_fecha"' in form and "<iframe" not in form
    missing = page(integrator, "template-preview", "mupa-avisos", "recordatorio", language="en", p_nombre="")
    assert 'class="error-summary"' in missing and 'href="#id_p_fecha"' in missing
    values = {"language": "en", "p_nombre": "Ana", "p_fecha": "5 May"}
    shown = page(integrator, "template-preview", "mupa-avisos", "recordatorio", **values)
    assert "Reminder for Ana" in shown and "Hello Ana: your tax is due on 5 May." in shown
    frame = re.search(r'<iframe src="([^"]+)" title="([^"]+)"', shown)
    assert frame and "Reminder for Ana" in frame.group(2)
    email = integrator.get(frame.group(1).replace("&amp;", "&"))
    assert email.status_code == 200 and "sandbox" in email["Content-Security-Policy"]
    assert "Hello Ana: your tax is due on 5 May." in email.content.decode()
    assert Message.objects.count() == 0, "a preview sends nothing"

    text = {
        "essential": "yes",
        "body_es": "Su cita es el ((dia)). " + "Texto largo. " * 15,
        "body_en": "On ((dia)).",
    }
    integrator.post(url("template-new", "mupa-avisos") + "?channel=sms", {"slug": "cita", **text})
    shown = page(integrator, "template-preview", "mupa-avisos", "cita", language="es", p_dia="lunes")
    assert "Su cita es el lunes. Texto largo." in shown
    assert re.search(r"\d+ characters: sent as 2 text messages joined together", shown)
    shown = page(integrator, "template-preview", "mupa-avisos", "cita", language="en", p_dia="lunes")
    assert "On lunes." in shown and "9 characters: sent as 1 text message." in shown


# --- Messages --------------------------------------------------------------------------------------------------


def test_the_dashboard_counts_and_filters_the_messages_and_shows_one_in_plain_words(integrator, mupa_service):
    version = services.save_template(
        service=mupa_service,
        slug="cita",
        channel="sms",
        essential=True,
        body_es="Cita ((dia))",
        body_en="On ((dia))",
        actor=SYSTEM,
    )
    sent = [
        services.send(
            version=version,
            channel="sms",
            to=f"+5076123456{n}",
            language="es",
            personalisation={"dia": "lunes"},
            reference=f"REF-{n}",
        )
        for n in range(3)
    ]
    Message.objects.filter(id=sent[0].id).update(status="permanent-failure", failure="opted-out")
    dashboard = page(integrator, "service", "mupa-avisos")
    assert "+50761234562" in dashboard and "REF-1" in dashboard
    assert re.search(
        r'<th scope="row">Not delivered: the address or number does not exist</th><td class="num"><a [^>]+>1</a>',
        dashboard,
    )
    only = page(integrator, "service", "mupa-avisos", status="permanent-failure")
    assert "+50761234560" in only and "+50761234561" not in only
    by_reference = page(integrator, "service", "mupa-avisos", reference="REF-2")
    assert "+50761234562" in by_reference and "+50761234560" not in by_reference
    one = page(integrator, "message", "mupa-avisos", sent[0].id)
    assert "chose not to receive messages that are not essential" in one and "Cita lunes" in one


def test_the_messages_are_paged_by_a_cursor(integrator, mupa_service, monkeypatch):
    from ventanilla.notify.views import institution

    monkeypatch.setattr(institution, "PAGE_SIZE", 2)
    version = services.save_template(
        service=mupa_service,
        slug="cita",
        channel="sms",
        essential=True,
        body_es="Cita",
        body_en="On",
        actor=SYSTEM,
    )
    for n in range(3):
        services.send(version=version, channel="sms", to=f"+5076123456{n}", language="es", personalisation={})
    first = page(integrator, "service", "mupa-avisos")
    following = re.search(r'rel="next" href="\?after=([^"]+)"', first).group(1)
    second = page(integrator, "service", "mupa-avisos", after=following)
    assert "+50761234560" in second and "+50761234562" not in second and 'rel="next"' not in second
    assert "+50761234562" in page(integrator, "service", "mupa-avisos", after="made-up")


# --- API keys --------------------------------------------------------------------------------------------------


def test_a_key_is_shown_once_works_and_once_revoked_is_refused(integrator, mupa_service):
    services.save_template(
        service=mupa_service,
        slug="cita",
        channel="sms",
        essential=True,
        body_es="Cita ((dia))",
        body_en="On ((dia))",
        actor=SYSTEM,
    )
    response = integrator.post(url("key-new", "mupa-avisos"), {"name": "", "kind": ""})
    assert 'class="error-summary"' in response.content.decode()
    response = integrator.post(url("key-new", "mupa-avisos"), {"name": "Sistema de citas", "kind": "test"})
    assert response.status_code == 302 and response["Location"] == url("key-created", "mupa-avisos")
    shown = page(integrator, "key-created", "mupa-avisos")
    secret = re.search(r'value="(ntf_test_[^"]+)"', shown).group(1)
    assert "only time the key is shown" in shown
    again = page(integrator, "key-created", "mupa-avisos")
    assert secret not in again and "no longer shown" in again
    assert secret not in str(dict(integrator.session.items()))

    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"template": "cita", "to": "+50761234567", "personalisation": {"dia": "lunes"}}
    response = api.post("/api/v1/notify/messages", body, content_type="application/json")
    assert response.status_code == 201 and response.json()["test"] is True
    key = ApiKey.objects.get(name="Sistema de citas")
    listing = page(integrator, "keys", "mupa-avisos")
    assert f"ntf_test_{key.prefix}_" in listing and secret not in listing

    confirm = page(integrator, "key-revoke", "mupa-avisos", key.id)
    assert "Revoke the key “Sistema de citas”?" in confirm
    response = integrator.post(url("key-revoke", "mupa-avisos", key.id), follow=True)
    assert "revoked" in response.content.decode()
    response = api.post("/api/v1/notify/messages", body, content_type="application/json")
    assert response.status_code == 401


def test_the_pages_are_in_spanish_at_their_spanish_addresses(integrator, mupa_service):
    for name in ("service", "templates", "keys", "key-new"):
        html = page(integrator, name, "mupa-avisos", page_language="es")
        assert '<html lang="es">' in html and "Municipio – Avisos" in html
    assert url("keys", "mupa-avisos", language="es") == "/gestion/avisos/mupa-avisos/claves/"


# --- The operators' admin --------------------------------------------------------------------------------------


def test_operators_see_everything_in_the_admin_and_revoke_keys_through_the_services(make_user, te_service):
    operator = make_user()
    operator.is_superuser = True
    operator.save(update_fields=["is_superuser"])
    admin = sign_in_with_second_factor(operator)
    for model in ("sendingservice", "apikey", "template", "templateversion", "message", "preference"):
        response = admin.get(f"/admin/notify/{model}/", {"q": "not-a-uuid"})
        assert response.status_code == 200, model
    key = te_service.api_keys.get()
    response = admin.get(f"/admin/notify/apikey/{key.pk}/change/")
    assert (
        key.secret_hash in response.content.decode() and 'name="secret_hash"' not in response.content.decode()
    )
    admin.post("/admin/notify/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    response = admin.post(
        "/admin/notify/sendingservice/add/",
        {
            "slug": "nuevo-servicio",
            "name_es": "Nuevo",
            "name_en": "New",
            "rate_limit_per_minute": 60,
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="notify.service_created", object_id="nuevo-servicio").exists()
