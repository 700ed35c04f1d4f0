"""Every kind of page, in Spanish and in English, passes an axe-core scan (WCAG 2.2 A and AA and best
practices) with no violation: public pages, forms in their error state, confirmation, the officials' pages."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.cases.fixtures import ANSWERS, PDF
from ventanilla.cases import services as cases
from ventanilla.identity.selectors import actor_for

pytestmark = pytest.mark.e2e

PREFIX = {"es": "", "en": "/en"}
CEDULA = "/tramites/TE-CEDULA-RENOVACION/"


def submit(page):
    """Send the page's form (the one in the main content) and wait for the answer."""
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").click()


def submit_empty(page):
    submit(page)
    assert page.locator(".error-summary").is_visible(), "the form was expected to come back with errors"


def expect_pagination(page):
    assert page.locator(".results .result").count() == 20
    assert page.locator("nav.pagination a[rel=next]").is_visible()


def show_suggestions(page):
    page.locator("#q").press_sequentially("cedula", delay=20)
    page.locator(".suggestions a").first.wait_for(state="visible")


def submit_engine_form_empty(page):
    """The online service's form pages have several submit buttons (a hidden default one, add another, save
    and come back later): press Continue, or else the form's first visible button."""
    buttons = page.locator("main form[method=post] button[type=submit]:not([aria-hidden=true])")
    continue_button = buttons.and_(page.locator("[value=continue]"))
    with page.expect_navigation():
        (continue_button if continue_button.count() else buttons).first.click()
    assert page.locator(".error-summary").is_visible(), "the form was expected to come back with errors"


def clear_and_submit(page):
    """A form page that shows the answers already given: empty them, then send."""
    for field in page.locator("main form[method=post] input[type=text], main form textarea").all():
        field.fill("")
    page.locator("main form[method=post] input[type=radio]:checked").evaluate_all(
        "radios => radios.forEach(radio => { radio.checked = false; })"
    )
    submit_engine_form_empty(page)


def expect_respond_call_to_action(page):
    assert page.locator("main a[href$='/responder/']").first.is_visible(), "the applicant is asked to respond"


def expect_cases_listed(page):
    assert page.locator("main a[href*='/solicitudes/SOL-']").count() >= 5, "the citizen's cases are listed"


def expect_queue(page):
    assert page.locator("main table tbody tr").count() >= 2, "the official's queue lists the cases"


def expect_actions(page):
    assert page.locator("main a[href*='/acciones/']").count() >= 1, "the official can act on the case"


def expect_diagram(page):
    assert page.locator("main svg").is_visible(), "the workflow diagram is on the page"


@dataclass(frozen=True)
class PageType:
    path: str
    staff: bool = False
    citizen: bool = False
    status: int = 200
    action: Callable | None = None
    # An official of the online service's institution (workflow roles), rather than a catalogue official;
    # the page needs the `engine` fixture's cases.
    case_official: bool = False
    engine: bool = False


PAGES = {
    "home": PageType("/"),
    "home-suggestions": PageType("/", action=show_suggestions),
    "search-results": PageType("/tramites/?q=constancia", action=expect_pagination),  # 21 found
    "search-no-results": PageType("/tramites/?q=zzxqw"),
    "search-filters-open": PageType("/tramites/?q=&institution=TE&level=3&audience=citizen&topic=identity"),
    "procedure": PageType(CEDULA),
    "change-log": PageType(CEDULA + "cambios/"),
    "report-form": PageType(CEDULA + "documento-no-listado/"),
    "report-form-errors": PageType(CEDULA + "documento-no-listado/", action=submit_empty),
    "report-confirmation": PageType(CEDULA + "documento-no-listado/{report}/"),
    "institutions": PageType("/instituciones/"),
    "institution": PageType("/instituciones/TE/"),
    "topics": PageType("/temas/"),
    "levels": PageType("/niveles/"),
    "simplification": PageType("/simplificacion/"),
    "institution-plan": PageType("/instituciones/TE/simplificacion/"),
    "report-counts": PageType("/documentos-no-listados/"),
    "open-data": PageType("/datos-abiertos/"),
    "accessibility-statement": PageType("/accesibilidad/"),
    "not-found": PageType("/no-existe/", status=404),
    # Officials, signed in
    "staff-report-inbox": PageType("/gestion/reportes/", staff=True),
    "staff-report-answer": PageType("/gestion/reportes/{report}/", staff=True),
    "staff-report-answer-errors": PageType("/gestion/reportes/{report}/", staff=True, action=submit_empty),
    "staff-change-requests": PageType("/gestion/cambios/", staff=True),
    "staff-change-request": PageType("/gestion/cambios/{change}/", staff=True),
    "staff-change-request-errors": PageType("/gestion/cambios/{change}/", staff=True, action=submit_empty),
    "staff-propose-change": PageType("/gestion/tramites/TE-CEDULA-RENOVACION/proponer/", staff=True),
    "staff-propose-errors": PageType("/gestion/cambios/nuevo/", staff=True, action=submit_empty),
    "staff-institution-plan-form": PageType("/instituciones/TE/simplificacion/", staff=True),
    # Identity: signing in and registering, then a signed-in citizen's account
    "sign-in": PageType("/entrar/"),
    "sign-in-errors": PageType("/entrar/", action=submit_empty),
    "register": PageType("/registro/"),
    "register-errors": PageType("/registro/", action=submit_empty),
    "reset": PageType("/recuperar-acceso/"),
    "levels-of-assurance": PageType("/niveles-de-confianza/"),
    "account": PageType("/cuenta/", citizen=True),
    "account-sessions": PageType("/cuenta/sesiones/", citizen=True),
    "account-history": PageType("/cuenta/historial/", citizen=True),
    "account-consents": PageType("/cuenta/consentimientos/", citizen=True),
    "account-delegations": PageType("/cuenta/delegaciones/", citizen=True),
    "delegation-errors": PageType("/cuenta/delegaciones/nueva/", citizen=True, action=submit_empty),
    "account-businesses": PageType("/cuenta/empresas/", citizen=True),
    "business-errors": PageType("/cuenta/empresas/nueva/", citizen=True, action=submit_empty),
    "security": PageType("/cuenta/seguridad/", citizen=True),
    "authenticator-app": PageType("/cuenta/seguridad/aplicacion/", citizen=True),
    "authenticator-app-errors": PageType("/cuenta/seguridad/aplicacion/", citizen=True, action=submit_empty),
    "step-up": PageType("/verificacion-adicional/?level=substantial&next=/cuenta/", citizen=True),
    # The online service (the transaction engine): applying, following a case, processing it
    "engine-start": PageType("/tramites/MUN-PRUEBA-PERMISO/solicitar/", engine=True),
    "engine-form": PageType("/solicitudes/{fresh}/paginas/applicant/", citizen=True, engine=True),
    "engine-form-errors": PageType(
        "/solicitudes/{fresh}/paginas/applicant/", citizen=True, engine=True, action=clear_and_submit
    ),
    "engine-repeat": PageType("/solicitudes/{draft}/paginas/works/", citizen=True, engine=True),
    "engine-repeat-errors": PageType(
        "/solicitudes/{draft}/paginas/works/", citizen=True, engine=True, action=clear_and_submit
    ),
    "engine-upload": PageType("/solicitudes/{draft}/paginas/documents/", citizen=True, engine=True),
    "engine-upload-errors": PageType(
        "/solicitudes/{fresh}/paginas/documents/", citizen=True, engine=True, action=submit_engine_form_empty
    ),
    "engine-check": PageType("/solicitudes/{draft}/revisar/", citizen=True, engine=True),
    "engine-confirmation": PageType("/solicitudes/{received}/enviada/", citizen=True, engine=True),
    "engine-mine": PageType("/cuenta/solicitudes/", citizen=True, engine=True, action=expect_cases_listed),
    "engine-detail": PageType(
        "/solicitudes/{sent_back}/", citizen=True, engine=True, action=expect_respond_call_to_action
    ),
    "engine-respond": PageType("/solicitudes/{sent_back}/responder/", citizen=True, engine=True),
    "engine-respond-errors": PageType(
        "/solicitudes/{sent_back}/responder/", citizen=True, engine=True, action=submit_engine_form_empty
    ),
    "engine-withdraw": PageType("/solicitudes/{received}/retirar/", citizen=True, engine=True),
    "engine-decided": PageType("/solicitudes/{approved}/", citizen=True, engine=True),
    "engine-inbox": PageType("/gestion/solicitudes/", case_official=True, engine=True, action=expect_queue),
    "engine-work": PageType(
        "/gestion/solicitudes/{received}/", case_official=True, engine=True, action=expect_actions
    ),
    "engine-act": PageType(
        "/gestion/solicitudes/{in_review}/acciones/approve/", case_official=True, engine=True
    ),
    "engine-act-errors": PageType(
        "/gestion/solicitudes/{in_review}/acciones/approve/",
        case_official=True,
        engine=True,
        action=submit_engine_form_empty,
    ),
    "engine-service": PageType("/servicios/MUN-PRUEBA-PERMISO/", engine=True, action=expect_diagram),
}
ENGINE_PAGES = [name for name, kind in PAGES.items() if kind.engine]


@pytest.fixture
def engine(catalogue, permit_service, official, submitted_case):
    """The test online service (tests/cases/permit.yaml) and the catalogue's citizen's cases in every stage:
    a fresh draft, a complete draft, one received, one sent back for more information, one in review and
    one approved; and an official who holds every workflow role of the service."""
    citizen, actor = catalogue["citizen"], actor_for(catalogue["citizen"])
    clerk = official("clerk", "reviewer")

    def draft():
        case, _created = cases.start_case(
            version=permit_service,
            subject=f"user:{citizen.public_id}",
            subject_label=str(citizen),
            applicant=citizen,
            filed_by=citizen,
            start_key="",
            actor=actor,
        )
        return case

    def moved(*actions):
        case = submitted_case(citizen=citizen)
        for action_key, reason in actions:
            inputs = {"reason": reason} if reason else {}
            case = cases.act(
                case=case, action_key=action_key, inputs=inputs, official=clerk, actor=actor_for(clerk)
            )
        return case

    complete = cases.save_page(
        case=draft(),
        page_key="documents",
        values=dict(ANSWERS),
        uploads={"plans": [SimpleUploadedFile("plans.pdf", PDF, content_type="application/pdf")]},
        actor=actor,
        user=citizen,
    )
    return {
        "official": clerk,
        "fresh": draft().reference,
        "draft": complete.reference,
        "received": moved().reference,
        "sent_back": moved(("ask_for_information", "The plans need an engineer's stamp.")).reference,
        "in_review": moved(("accept", None)).reference,
        "approved": moved(("accept", None), ("approve", "The plans meet the building code.")).reference,
    }


def open_page_type(name, language, *, catalogue, context, page_for, sign_in, request):
    kind = PAGES[name]
    engine = request.getfixturevalue("engine") if kind.engine else {}
    if kind.staff:
        sign_in(context, catalogue["official"])
    if kind.case_official:
        sign_in(context, engine["official"])
    if kind.citizen:
        sign_in(context, catalogue["citizen"])
    references = {key: value for key, value in engine.items() if key != "official"}
    path = PREFIX[language] + kind.path.format(
        report=catalogue["report"].reference, change=catalogue["pending_change"].id, **references
    )
    page = page_for(context, path, expect_status=kind.status)
    if kind.staff or kind.citizen or kind.case_official:
        assert "/entrar/" not in page.url, "the person was not signed in"
    if kind.action:
        kind.action(page)
    return page, path


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_accessibility_violations(
    name, language, catalogue, context, page_for, sign_in, scan, request
):
    page, path = open_page_type(
        name,
        language,
        catalogue=catalogue,
        context=context,
        page_for=page_for,
        sign_in=sign_in,
        request=request,
    )
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").count() == 1, "every page has exactly one main heading"
    scan(page, label=f"{name} in {language} ({path})")


# axe-core cannot tell whether a hint or an error message is tied to its field, nor whether the focus can be
# seen; these two checks can.

DESCRIBED_BY = """() => [...document.querySelectorAll("main .form-group")].flatMap(group => {
  // a group of inputs (choices, a date in three boxes) is described as a whole, on its fieldset
  const field = group.querySelector("fieldset[aria-describedby]") ||
    group.querySelector("input:not([type=hidden]), select, textarea");
  if (!field) return [];
  const ids = (field.getAttribute("aria-describedby") || "").split(/\\s+/).filter(Boolean);
  const wanted = [...group.querySelectorAll(".hint, .error-message")].map(el => el.id || "(none)");
  const problems = [];
  for (const id of ids) {
    if (!document.getElementById(id)) problems.push(`aria-describedby names "${id}": no such element`);
  }
  for (const id of wanted) {
    if (!ids.includes(id)) problems.push(`its hint or error message (id "${id}") is not in aria-describedby`);
  }
  return problems.map(problem => `#${field.id}: ${problem}`);
})"""
SUMMARY_LINKS = """() => [...document.querySelectorAll(".error-summary a")].map(a => a.getAttribute("href"))
  .filter(href => !href.startsWith("#") || href.length < 2 || !document.getElementById(href.slice(1)))
  .map(href => `the error summary links to "${href}", which is no field of the page`)"""


ERROR_PAGES = [
    "report-form-errors",
    "sign-in-errors",
    "register-errors",
    "delegation-errors",
    "staff-report-answer-errors",
    "staff-change-request-errors",
    "staff-propose-errors",
    "engine-form-errors",
    "engine-repeat-errors",
    "engine-upload-errors",
    "engine-respond-errors",
    "engine-act-errors",
]


@pytest.mark.parametrize("name", ERROR_PAGES)
def test_hints_and_errors_are_tied_to_their_fields(name, catalogue, context, page_for, sign_in, request):
    """Each link of the error summary leads to its field, and a screen reader reads a field's hint and error
    message when the field takes the focus."""
    page, _path = open_page_type(
        name, "es", catalogue=catalogue, context=context, page_for=page_for, sign_in=sign_in, request=request
    )
    problems = page.evaluate(SUMMARY_LINKS) + page.evaluate(DESCRIBED_BY)
    assert problems == [], "\n".join(problems)


FOCUS_PAGES = [
    "procedure",
    "search-filters-open",
    "simplification",
    "report-form-errors",
    "engine-form-errors",
    "engine-check",
    "engine-work",
]
SEEN_BEFORE = """el => { window.e2eSeen = window.e2eSeen || new WeakSet();
  if (window.e2eSeen.has(el)) return true; window.e2eSeen.add(el); return false; }"""
FOCUS_BOX = """el => { const r = el.getBoundingClientRect();
  return {x: Math.max(r.x - 8, 0), y: Math.max(r.y - 8, 0), width: r.width + 16, height: r.height + 16}; }"""


@pytest.mark.parametrize("name", FOCUS_PAGES)
def test_the_keyboard_focus_can_always_be_seen(name, catalogue, context, page_for, sign_in, request):
    """Tab through the page: every element that takes the focus looks different with it (WCAG 2.4.7)."""
    page, path = open_page_type(
        name, "es", catalogue=catalogue, context=context, page_for=page_for, sign_in=sign_in, request=request
    )
    page.evaluate("document.activeElement && document.activeElement.blur()")
    unseen, visited = [], []
    for _ in range(120):
        page.keyboard.press("Tab")
        element = page.evaluate_handle("document.activeElement")
        if page.evaluate("el => !el || el === document.body", element):
            break
        if page.evaluate(SEEN_BEFORE, element):
            break  # round the page and back to the start
        description = page.evaluate("el => el.outerHTML.slice(0, 140)", element)
        visited.append(description)
        element.scroll_into_view_if_needed()
        clip = page.evaluate(FOCUS_BOX, element)
        focused = page.screenshot(clip=clip, animations="disabled")
        page.evaluate("el => el.blur()", element)
        unfocused = page.screenshot(clip=clip, animations="disabled")
        page.evaluate("el => el.focus()", element)
        if focused == unfocused:
            unseen.append(description)
    assert len(visited) > 5, f"only {len(visited)} elements took the focus on {path}"
    assert unseen == [], f"on {path}, no visible change when these take the focus:\n" + "\n".join(unseen)
