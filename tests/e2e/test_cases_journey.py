"""The whole life of an application in a real browser: a citizen finds the procedure, signs in, fills in a
multi-page form (a page that appears only for companies, a repeating group, a file), checks and sends it; an
official processes it; the citizen sees the outcome. A second journey goes through "send back for more
information". Both run with JavaScript off, as on the cheapest phone."""

import re

import pytest

from tests.cases.fixtures import PDF
from tests.conftest import PASSWORD
from ventanilla.cases.models import Case
from ventanilla.catalogue import search

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"SOL-[A-Z0-9]{8}")


@pytest.fixture
def service(transactional_db, permit_service, fast_passwords):
    search.reindex()
    return permit_service


def follow(page, locator):
    with page.expect_navigation():
        locator.click()


def submit_button(page):
    return page.locator("main form[method=post] button[type=submit]").first


def sign_in_on_the_page(page, citizen, password):
    page.locator("input[name=identifier]").fill(citizen.username)
    page.locator("input[name=password]").fill(password)
    follow(page, submit_button(page))


def apply_as_a_company(page, tmp_path, live_server, citizen, password):
    """From the home page to the confirmation; returns the case reference."""
    page.goto(live_server.url + "/en/")
    page.locator("form.search #q").fill("building permit")
    follow(page, page.locator("form.search button[type=submit]"))
    follow(page, page.get_by_role("link", name="Building permit").first)
    assert "/tramites/MUN-PRUEBA-PERMISO/" in page.url
    follow(page, page.get_by_role("link", name="Start now"))
    assert "/solicitar/" in page.url
    # Starting needs a signed-in person: the sign-in page, then back to the start page.
    follow(page, page.get_by_role("button", name="Start now"))
    if "/entrar/" in page.url:
        sign_in_on_the_page(page, citizen, password)
        follow(page, page.get_by_role("button", name="Start now"))

    # About you: the name comes from the account; an invalid phone number is explained, then fixed.
    assert page.locator("input[name=full_name]").input_value().startswith("María")
    page.locator("input[name=phone]").fill("12")
    page.get_by_label("A company").check()
    follow(page, page.get_by_role("button", name="Continue"))
    assert page.locator(".error-summary").is_visible()
    page.locator("input[name=phone]").fill("6123-4567")
    page.get_by_label("A company").check()
    follow(page, page.get_by_role("button", name="Continue"))

    # The page for companies appears because of the answer above.
    assert "/paginas/company/" in page.url
    page.locator("input[name=company_ruc-ruc]").fill("155700001-2-2020")
    page.locator("input[name=company_ruc-dv]").fill("62")
    follow(page, page.get_by_role("button", name="Continue"))

    # The works: a repeating group, grown with "Add another" (a submit button: no JavaScript needed).
    page.locator("textarea[name=description]").fill("A second floor on a house")
    page.locator("input[name=cost]").fill("18500")
    page.locator("input[name=floors-0-area]").fill("90")
    follow(page, page.get_by_role("button", name=re.compile("Add another")))
    page.locator("input[name=floors-1-area]").fill("75")
    follow(page, page.get_by_role("button", name="Continue"))

    # Evidence: the plans, a requirement of the procedure in the catalogue.
    plans = tmp_path / "plans.pdf"
    plans.write_bytes(PDF)
    page.locator("input[name=plans]").set_input_files(str(plans))
    follow(page, page.get_by_role("button", name="Continue"))

    # Check your answers, declare, send.
    assert "/revisar/" in page.url
    summary = page.locator("main").inner_text()
    for answer in (
        "+507 6123-4567",
        "155700001-2-2020",
        "A second floor on a house",
        "90",
        "75",
        "plans.pdf",
    ):
        assert answer in summary, f"{answer} is on the check-your-answers page"
    page.locator("#declaration").check()
    follow(page, page.get_by_role("button", name="Accept and send"))
    assert "/enviada/" in page.url
    reference = REFERENCE.search(page.locator(".panel").inner_text()).group(0)
    return reference


def act(page, live_server, reference, action, reason=None):
    page.goto(f"{live_server.url}/en/gestion/solicitudes/{reference}/")
    follow(page, page.get_by_role("link", name=action))
    if reason is not None:
        page.locator("textarea[name=reason]").fill(reason)
    follow(page, submit_button(page))
    assert f"/gestion/solicitudes/{reference}/" in page.url


def test_a_citizen_applies_and_an_official_approves(
    service, official, make_citizen, new_context, sign_in, live_server, tmp_path
):
    citizen = make_citizen()
    citizen_page = new_context(java_script_enabled=False).new_page()
    reference = apply_as_a_company(citizen_page, tmp_path, live_server, citizen, PASSWORD)
    case = Case.objects.get(reference=reference)
    assert (case.stage, case.state, case.answers["owner_kind"]) == ("open", "received", "company")

    # The official finds it in the queue and processes it.
    clerk_and_reviewer = official("clerk", "reviewer")
    officials = new_context(java_script_enabled=False)
    sign_in(officials, clerk_and_reviewer)
    office = officials.new_page()
    office.goto(live_server.url + "/en/gestion/solicitudes/")
    assert reference in office.locator("main").inner_text()
    act(office, live_server, reference, "Accept for review")
    act(office, live_server, reference, "Approve", reason="The plans meet the building code.")

    # The citizen sees the outcome and the reason.
    citizen_page.goto(f"{live_server.url}/en/solicitudes/{reference}/")
    status = citizen_page.locator("main").inner_text()
    assert "Approved" in status and "The plans meet the building code." in status


def test_an_official_asks_for_more_information_and_the_citizen_answers(
    service, official, make_citizen, new_context, sign_in, live_server, tmp_path
):
    citizen = make_citizen()
    citizen_page = new_context(java_script_enabled=False).new_page()
    reference = apply_as_a_company(citizen_page, tmp_path, live_server, citizen, PASSWORD)

    clerk = official("clerk")
    officials = new_context(java_script_enabled=False)
    sign_in(officials, clerk)
    office = officials.new_page()
    act(
        office,
        live_server,
        reference,
        "Ask for more information",
        reason="The plans need an engineer's stamp.",
    )

    # The citizen is told what is missing, answers with a new file, and the case goes back to the clerk.
    citizen_page.goto(f"{live_server.url}/en/cuenta/solicitudes/")
    assert "The plans need an engineer's stamp." in citizen_page.locator("main").inner_text()
    citizen_page.goto(f"{live_server.url}/en/solicitudes/{reference}/")
    follow(citizen_page, citizen_page.get_by_role("link", name="Respond"))
    citizen_page.locator("textarea[name=message]").fill("Here are the stamped plans.")
    stamped = tmp_path / "stamped.pdf"
    stamped.write_bytes(PDF)
    citizen_page.locator("input[type=file]").first.set_input_files(str(stamped))
    follow(citizen_page, citizen_page.get_by_role("button", name="Send your answer"))
    case = Case.objects.get(reference=reference)
    assert (case.stage, case.state) == ("open", "received")
    assert case.evidence.filter(in_response=True, name="stamped.pdf").exists()

    office.goto(f"{live_server.url}/en/gestion/solicitudes/{reference}/")
    history = office.locator("main").inner_text()
    assert "Here are the stamped plans." in history and "stamped.pdf" in history
