"""End-to-end fixtures: one headless Chromium (Debian's, never downloaded) per session, a fresh browser
context per test, pytest-django's live server, a catalogue rich enough to show every part of every page, and
helpers to open a page, sign an official in and scan a page with axe-core."""

import os
from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

from tests.conftest import PASSWORD
from tests.identity.helpers import sign_in_with_second_factor
from ventanilla.catalogue import search, selectors, services
from ventanilla.catalogue.models import CatalogueRole, Office, Procedure
from ventanilla.catalogue.schemas import ProcedureDoc
from ventanilla.core.actor import Actor
from ventanilla.identity.selectors import actor_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000

# WCAG 2.0, 2.1 and 2.2 at levels A and AA (what the accessibility statement promises), plus best practices.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}

JUSTIFICATION = "Ley 5 de 2007 requires the applicant's tax registration for this procedure."


# ------------------------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Debian's chromium is needed at {CHROMIUM} (apt-get install chromium); none is downloaded"
        )
    # Playwright's sync API keeps an asyncio loop marked as running in this thread for as long as it lives,
    # which makes Django's ORM believe it is called from async code (SynchronousOnlyOperation), in these tests
    # and in any test that runs after them in the same session. Everything here is synchronous: allow it until
    # the browser is closed.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _new_context(browser, **options):
    context = browser.new_context(locale="es-PA", **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def context(browser, live_server):
    """A fresh browser context (cookies, storage) with JavaScript on."""
    context = _new_context(browser)
    yield context
    context.close()


@pytest.fixture
def context_no_js(browser, live_server):
    """A fresh browser context with JavaScript off: every page must work without it."""
    context = _new_context(browser, java_script_enabled=False)
    yield context
    context.close()


@pytest.fixture
def new_context(browser, live_server):
    """Contexts with other options (a small viewport, JavaScript off); all closed after the test."""
    made = []

    def make(**options):
        made.append(_new_context(browser, **options))
        return made[-1]

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page_for(live_server):
    """page_for(context, "/tramites/") opens live_server.url + path in a new page of the context."""

    def open_page(context, path: str, *, expect_status: int | None = 200):
        page = context.new_page()
        response = page.goto(live_server.url + path)
        if expect_status is not None:
            assert response is not None and response.status == expect_status, (
                f"GET {path} answered {response.status if response else 'nothing'}, expected {expect_status}"
            )
        return page

    return open_page


@pytest.fixture
def sign_in(live_server):
    """sign_in(context, user): the context is signed in as the user through the real sign-in page (the same
    session as a browser's), with the second factor when the user has an authenticator app (officials)."""

    def add_session(context, user, password=PASSWORD):
        client = Client()
        if getattr(user, "totp_secret", None):
            sign_in_with_second_factor(user, client=client)
        else:
            answer = client.post("/entrar/", {"identifier": user.get_username(), "password": password})
            assert answer.status_code == 302, "the sign-in page refused the person"
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return add_session


# ------------------------------------------------------------------------------------------------------------
# axe-core


_axe = Axe()


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}")
        lines.append(f"    {violation.get('helpUrl', '')}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    target: {target}")
            lines.append(f"      html: {node.get('html', '').strip()[:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n        ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


@pytest.fixture
def scan():
    """scan(page) runs axe-core on the page and fails with a readable list of violations, if any."""

    def run(page, *, label: str = ""):
        results = _axe.run(page, options=AXE_OPTIONS)
        violations = results.response["violations"]
        where = label or page.url
        if violations:
            pytest.fail(
                f"{len(violations)} accessibility violation(s) on {where}:\n{format_violations(violations)}",
                pytrace=False,
            )
        return results

    return run


# ------------------------------------------------------------------------------------------------------------
# Data


@pytest.fixture
def fast_passwords(settings):
    """People sign in through the real page in these tests: hash their passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalogue(transactional_db, small_catalogue, make_user, make_citizen, fast_passwords):
    """The small catalogue of tests/conftest.py, plus everything the pages can show: a procedure with steps,
    legal basis, offices and a published change; a pending change; an open report; a simplification plan;
    two pages of search results."""
    te, cedula = small_catalogue["te"], small_catalogue["cedula"]
    te.website = "https://www.tribunal-electoral.gob.pa"
    te.phone = "507-1234"
    te.province = "Panamá"
    te.save()
    Office.objects.create(
        institution=te,
        name_es="Sede central",
        name_en="Head office",
        address="Ancón, Avenida Omar Torrijos",
        hours_es="Lunes a viernes, 8:00 a 16:00",
        hours_en="Monday to Friday, 8:00 to 16:00",
        phone="507-1234",
    )

    # Enough procedures for a second page of search results (20 a page).
    more = Procedure.objects.bulk_create(
        Procedure(
            code=f"TE-CONSTANCIA-{n:02}",
            institution=te,
            title_es=f"Constancia número {n}",
            title_en=f"Certificate number {n}",
            description_es="Una constancia del registro civil.",
            description_en="A civil registry certificate.",
            audience="citizen",
            channels=["office"],
            level=1,
            status="published",
            languages=["es"],
        )
        for n in range(1, 22)
    )
    search.reindex([procedure.id for procedure in more])

    editor = make_user(role=CatalogueRole.Role.INSTITUTION_EDITOR, institution=te)
    official = make_user(role=CatalogueRole.Role.AUTHORITY_REVIEWER)
    CatalogueRole.objects.create(user=official, role=CatalogueRole.Role.AUTHORITY_EDITOR)

    document = selectors.procedure_document(cedula)
    richer = ProcedureDoc.model_validate(
        {
            **document,
            "channels": ["office", "online"],
            "sign_in_level": "substantial",
            "steps": [
                {"es": "Solicite una cita.", "en": "Book an appointment."},
                {
                    "es": "Acuda a la oficina con su cédula.",
                    "en": "Go to the office with your identity card.",
                },
            ],
            "legal_basis": [{"instrument": "Ley 31 de 2006", "article": "artículo 12"}],
            "processing_time": {"typical": 3, "max": 10, "unit": "working"},
            "silence": {"rule": "negative", "es": "Se entiende negada.", "en": "It is deemed refused."},
            "output": {
                "es": "Cédula nueva",
                "en": "A new identity card",
                "validity_es": "10 años",
                "validity_en": "10 years",
            },
            "appeal": {"es": "Recurso de reconsideración.", "en": "A request for reconsideration."},
            "illustrative": True,
        }
    )
    published = services.submit_change(
        user=editor, actor=actor_for(editor), doc=richer, justification=JUSTIFICATION
    )
    services.review_change(
        change_id=published.id,
        user=official,
        actor=actor_for(official),
        approve=True,
        note="Checked against the law.",
    )
    cedula.refresh_from_db()
    pending = services.submit_change(
        user=editor,
        actor=actor_for(editor),
        doc=ProcedureDoc.model_validate({**selectors.procedure_document(cedula), "level": 4}),
        justification=JUSTIFICATION,
    )
    report = services.report_unlisted_document(
        procedure=cedula,
        office="Regional de David",
        document="Carta del empleador",
        asked_on=date(2026, 2, 3),
        actor=Actor.system("e2e"),
    )
    services.set_plan_item(
        user=editor, actor=actor_for(editor), procedure=cedula, year=2026, target_level=4, reengineering=True
    )
    return {
        **small_catalogue,
        "editor": editor,
        "official": official,
        "citizen": make_citizen(),
        "pending_change": pending,
        "report": report,
    }
