"""Documents pages in a real browser: axe-core finds nothing on the verification pages (every answer), the holder's
and the institution's pages, in both languages; without JavaScript a verifier uploads a PDF and a holder makes a
share link."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from ventanilla.cases import services as cases
from ventanilla.core.actor import Actor
from ventanilla.documents import services
from ventanilla.documents.models import DocumentFile

pytestmark = pytest.mark.e2e


@pytest.fixture
def documents(transactional_db, attt, issue, make_citizen, make_user, fast_passwords, tmp_path):
    actor = Actor.system("tests")
    citizen = make_citizen()
    valid = issue(citizen)
    revoked = issue(citizen, source="LIC-REVOKED", title_es="Permiso de carga", title_en="Freight permit")
    services.revoke_document(document=revoked, reason="Emitido por error", actor=actor)
    expired = issue(
        citizen,
        source="LIC-OLD",
        valid_from=timezone.now() - timedelta(days=900),
        expires_at=timezone.now() - timedelta(days=10),
    )
    link = services.share_document(document=valid, days=7, actor=actor)
    supervisor = make_user()
    cases.grant_role(user=supervisor, institution=attt, role="supervisor", actor=actor)
    pdf = tmp_path / "licencia.pdf"
    pdf.write_bytes(bytes(DocumentFile.objects.get(document=valid).pdf))
    return {
        "citizen": citizen,
        "valid": valid,
        "revoked": revoked,
        "expired": expired,
        "link": link,
        "supervisor": supervisor,
        "pdf": pdf,
    }


@pytest.mark.parametrize("prefix", ["", "/en"], ids=["es", "en"])
def test_the_public_pages_have_no_accessibility_violations(documents, context, page_for, scan, prefix):
    for path, status in (
        ("/verificar/", 200),
        (f"/verificar/{documents['valid'].code}/", 200),
        (f"/verificar/{documents['revoked'].code}/", 200),
        (f"/verificar/{documents['expired'].code}/", 200),
        ("/verificar/AAAA-BBBB-CCCC/", 404),
        (f"/compartido/{documents['link'].token}/", 200),
        ("/compartido/no-such-link/", 410),
        ("/confianza/", 200),
    ):
        page = page_for(context, prefix + path, expect_status=status)
        scan(page, label=prefix + path)
        page.close()
    page = page_for(context, prefix + "/verificar/")
    page.locator("form[enctype] button[type=submit]").click()
    assert page.locator(".error-summary").is_visible()
    scan(page, label="no file chosen")


@pytest.mark.parametrize("prefix", ["", "/en"], ids=["es", "en"])
def test_the_holders_and_institutions_pages_have_no_accessibility_violations(
    documents, context, page_for, sign_in, scan, prefix
):
    sign_in(context, documents["citizen"])
    for path in (
        "/cuenta/documentos/",
        f"/cuenta/documentos/{documents['valid'].code}/",
        f"/cuenta/documentos/{documents['revoked'].code}/",
    ):
        page = page_for(context, prefix + path)
        scan(page, label=prefix + path)
        page.close()
    context.clear_cookies()
    sign_in(context, documents["supervisor"])
    for path in ("/gestion/documentos/ATTT/", f"/gestion/documentos/ATTT/{documents['valid'].code}/"):
        page = page_for(context, prefix + path)
        scan(page, label=prefix + path)
        page.close()


def test_without_javascript_a_verifier_uploads_and_a_holder_shares(
    documents, context_no_js, page_for, sign_in, live_server
):
    page = page_for(context_no_js, "/en/verificar/")
    page.set_input_files("input[type=file]", str(documents["pdf"]))
    page.locator("form[enctype] button[type=submit]").click()
    assert "Valid:" in page.locator(".notice").inner_text()
    assert documents["valid"].holder_name in page.content()
    sign_in(context_no_js, documents["citizen"])
    page = page_for(context_no_js, f"/en/cuenta/documentos/{documents['valid'].code}/")
    page.select_option("select[name=days]", "1")
    page.get_by_role("button", name="Make a share link").click()
    shared = page.locator(".notice--success a").get_attribute("href")
    page.goto(live_server.url + urlsplit(shared).path)
    assert "Valid:" in page.locator(".notice").inner_text()
