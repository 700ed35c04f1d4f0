"""Journeys people take, in a real browser: finding a procedure and reporting an unlisted document with
JavaScript off, suggestions and printing with it on, the language switch, and pages on a 320 px wide phone."""

import re
import time

import pytest
from django.conf import settings

from ventanilla.catalogue import services
from ventanilla.catalogue.models import UnlistedDocumentReport
from ventanilla.core.actor import Actor

pytestmark = pytest.mark.e2e

PREFIX = {"es": "", "en": "/en"}
CEDULA = "/tramites/TE-CEDULA-RENOVACION/"
TITLE = {"es": "Renovación de cédula", "en": "Identity card renewal"}
CONFIRMATION = re.compile(
    r"/tramites/(?P<code>[A-Z0-9-]+)/documento-no-listado/(?P<reference>RD-[A-Z0-9]+)/(#.*)?$"
)


@pytest.fixture
def reference_catalogue(transactional_db):
    """The repository's reference data (Panama), loaded once for the test that needs real procedures."""
    services.load_reference_data(path=settings.VENTANILLA_REFERENCE_DATA, actor=Actor.system("e2e"))


def follow(page, locator):
    """Click a link or a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


def report_count_settles(expected: int) -> int:
    """The number of reports, once no request still on its way could change it (a cancelled POST may still be
    running on the server after the browser has moved on)."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        assert UnlistedDocumentReport.objects.count() <= expected
        time.sleep(0.1)
    return UnlistedDocumentReport.objects.count()


# ------------------------------------------------------------------------------------------------------------
# (a) JavaScript off: find, read, report


def test_a_newcomer_finds_a_procedure_and_reports_an_unlisted_document_without_javascript(
    reference_catalogue, context_no_js, page_for, live_server
):
    page = page_for(context_no_js, "/")
    assert page.locator(".suggestions").count() == 0, "no script runs with JavaScript off"

    # Search from the home page
    search = page.locator("form.search")
    search.locator("#q").fill("pasaporte")
    follow(page, search.locator("button[type=submit]"))
    assert "/tramites/?q=pasaporte" in page.url
    results = page.locator(".results .result__title a")
    assert results.count() >= 1
    first = results.first
    title = first.inner_text()
    assert "pasaporte" in title.lower(), f"the first result for “pasaporte” is {title!r}"

    # Open a result: the procedure page tells everything before any sign-in
    follow(page, first)
    assert page.locator("h1").inner_text() == title
    assert page.locator("#requirements").is_visible()

    # "Report it"
    follow(page, page.locator("main a[href$='/documento-no-listado/']"))
    form_url = page.url
    assert page.locator("h1").is_visible()
    assert page.locator(".error-summary").count() == 0
    form_title = page.title()

    # Submit with an empty field: the error summary links to the field
    page.locator("#id_document").fill("Carta del empleador")
    page.locator("#id_asked_on").fill("2026-02-03")
    follow(page, page.locator("main form button[type=submit]"))
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.url == form_url
    assert page.title() == f"Error: {form_title}", "the page title says there is an error"
    link = summary.locator("a[href='#id_office']")
    assert link.count() == 1
    office_group = page.locator(".form-group--error", has=page.locator("#id_office"))
    assert office_group.locator(".error-message").is_visible()
    assert page.locator("#id_office").get_attribute("aria-invalid") == "true"
    assert page.locator("#id_document").input_value() == "Carta del empleador", "what was typed is kept"
    assert UnlistedDocumentReport.objects.count() == 0
    link.click()
    assert page.evaluate("document.activeElement && document.activeElement.id") == "id_office"

    # Fix it and send: a confirmation page with a reference number
    page.locator("#id_office").fill("Regional de David")
    sent = {
        name: page.locator(f"input[name={name}]").input_value()
        for name in ("csrfmiddlewaretoken", "submission_key", "office", "document", "asked_on")
    }
    assert sent["submission_key"]
    follow(page, page.locator("main form button[type=submit]"))
    match = CONFIRMATION.search(page.url)
    assert match, page.url
    reference = match["reference"]
    assert page.locator(".panel strong").inner_text() == reference
    assert page.locator("h1").is_visible()
    report = UnlistedDocumentReport.objects.get()
    assert report.reference == reference and report.office == "Regional de David"

    # Reloading the confirmation, or sending the very same form again, files nothing new
    page.reload()
    assert page.locator(".panel strong").inner_text() == reference
    again = context_no_js.request.post(form_url, form=sent, headers={"Referer": form_url})
    assert again.ok, again.status
    assert CONFIRMATION.search(again.url)["reference"] == reference, again.url
    assert report_count_settles(1) == 1


@pytest.mark.parametrize("javascript", [False, True], ids=["js-off", "js-on"])
def test_a_double_click_on_send_files_one_report(javascript, small_catalogue, new_context, page_for):
    """With JavaScript, site.js drops the second submit; without it, Chromium itself sends one POST. Either
    way the server would answer a repeated POST with the first report (see the replay in the journey above)."""
    context = new_context(java_script_enabled=javascript)
    page = page_for(context, CEDULA + "documento-no-listado/")
    page.locator("#id_office").fill("Sede central")
    page.locator("#id_document").fill("Paz y salvo")
    page.locator("#id_asked_on").fill("2026-02-03")
    page.locator("main form button[type=submit]").dblclick()
    page.wait_for_url(CONFIRMATION)
    reference = page.locator(".panel strong").inner_text()
    assert report_count_settles(1) == 1
    assert UnlistedDocumentReport.objects.get().reference == reference


def test_with_javascript_the_error_summary_takes_the_focus(small_catalogue, context, page_for):
    page = page_for(context, CEDULA + "documento-no-listado/")
    follow(page, page.locator("main form button[type=submit]"))
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.locator(".error-summary a").count() == 3  # office, document, date: the three required fields
    assert not UnlistedDocumentReport.objects.exists()


# ------------------------------------------------------------------------------------------------------------
# (b) JavaScript on: suggestions as you type, printing


@pytest.mark.parametrize("language", ["es", "en"])
def test_suggestions_appear_as_you_type_and_lead_to_the_procedure(
    language, small_catalogue, context, page_for, live_server
):
    page = page_for(context, PREFIX[language] + "/")
    box = page.locator("#q")
    suggestions = page.locator("#q-suggestions")
    assert box.get_attribute("aria-controls") == "q-suggestions"
    assert not suggestions.is_visible()
    box.press_sequentially("cedula", delay=30)
    suggestion = suggestions.locator("a", has_text=TITLE[language])
    suggestion.wait_for(state="visible")
    assert suggestions.is_visible()
    # the list sits right under the box
    box_area, list_area = box.bounding_box(), suggestions.bounding_box()
    assert list_area["y"] >= box_area["y"] + box_area["height"] - 1
    follow(page, suggestion)
    assert page.url == live_server.url + PREFIX[language] + CEDULA
    assert page.locator("h1").inner_text() == TITLE[language]


def test_the_print_button_appears_only_with_javascript(small_catalogue, context, context_no_js, page_for):
    without = page_for(context_no_js, CEDULA)
    assert without.locator("[data-print]").count() == 1
    assert not without.locator("[data-print]").is_visible()

    page = page_for(context, CEDULA)
    button = page.locator("[data-print]")
    assert button.is_visible()
    page.evaluate("window.print = function () { window.printed = true; }")
    button.click()
    assert page.evaluate("window.printed") is True


# ------------------------------------------------------------------------------------------------------------
# (c) The language switch


@pytest.mark.parametrize("path", ["/", CEDULA, "/tramites/?q=cedula", "/instituciones/TE/"])
def test_the_language_switch_goes_to_the_same_page_in_english_and_back(
    path, small_catalogue, context, page_for, live_server
):
    page = page_for(context, path)
    assert page.locator("html").get_attribute("lang") == "es"
    switch = page.locator("header a.header__lang")
    assert switch.get_attribute("hreflang") == "en" and switch.get_attribute("lang") == "en"
    spanish_heading = page.locator("h1").inner_text()

    follow(page, switch)
    assert page.url == live_server.url + "/en" + path
    assert page.locator("html").get_attribute("lang") == "en"
    if path == CEDULA:
        assert page.locator("h1").inner_text() == TITLE["en"]

    switch = page.locator("header a.header__lang")
    assert switch.get_attribute("hreflang") == "es"
    follow(page, switch)
    assert page.url == live_server.url + path
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == spanish_heading


# ------------------------------------------------------------------------------------------------------------
# (d) A 320 px wide phone


NARROW_PAGES = {
    "home": "/",
    "search-results": "/tramites/?q=cedula",
    "procedure": CEDULA,
    "report-form": CEDULA + "documento-no-listado/",
    "report-form-errors": CEDULA + "documento-no-listado/",
}


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("name", list(NARROW_PAGES))
def test_pages_fit_a_320_pixel_wide_screen(name, language, catalogue, new_context, page_for, tmp_path):
    context = new_context(viewport={"width": 320, "height": 640})
    page = page_for(context, PREFIX[language] + NARROW_PAGES[name])
    if name == "report-form-errors":
        follow(page, page.locator("main form button[type=submit]"))
        assert page.locator(".error-summary").is_visible()
    page.screenshot(path=tmp_path / f"{name}-{language}-320.png", full_page=True)

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 320, f"{name} ({language}) scrolls sideways: {scroll_width} px wide"
    heading = page.locator("h1")
    assert heading.is_visible()
    box = heading.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320, box
