"""Signed PDFs checked by an independent validator (poppler's pdfsig with the platform CA trusted in an NSS
database), the timestamp authority checked by openssl, and every answer the verification gives: valid, tampered,
revoked, expired, unknown issuer, a trusted foreign issuer, not signed, unreadable."""

import io
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ventanilla.documents import keys, services, verification
from ventanilla.documents import pdf as rendering
from ventanilla.documents.management.commands.documents import sign_as_another_issuer
from ventanilla.documents.models import Certificate, DocumentFile


def pdf_of(document, language="es") -> bytes:
    return bytes(DocumentFile.objects.get(document=document, language=language).pdf)


def pdfsig(pdf: bytes, tmp_path, *, trust: list[str]) -> str:
    database = tmp_path / "nss"
    database.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{database}", "--empty-password"], check=True)
    for number, pem in enumerate(trust):
        (tmp_path / f"ca{number}.pem").write_text(pem)
        subprocess.run(
            [
                "certutil",
                "-A",
                "-d",
                f"sql:{database}",
                "-n",
                f"ca{number}",
                "-t",
                "CT,C,C",
                "-i",
                str(tmp_path / f"ca{number}.pem"),
            ],
            check=True,
        )
    (tmp_path / "document.pdf").write_bytes(pdf)
    done = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{database}", str(tmp_path / "document.pdf")],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


def test_pdfsig_validates_the_signature_and_trusts_the_platform_ca(issue, make_citizen, tmp_path):
    document = issue(make_citizen())
    published = Client().get("/confianza/ca.pem").content.decode()  # the CA as the trust page hands it out
    report = pdfsig(pdf_of(document), tmp_path, trust=[published])
    assert "Signature is Valid" in report, report
    assert "Certificate is Trusted" in report, report
    assert "Total document signed" in report, report
    assert "Autoridad de Tr" in report  # the institution signs, not the platform


def test_pdfsig_does_not_trust_it_without_the_ca(issue, make_citizen, tmp_path):
    report = pdfsig(pdf_of(issue(make_citizen())), tmp_path, trust=[])
    assert "Signature is Valid" in report
    assert "Certificate is Trusted" not in report


def test_the_timestamp_authority_answers_rfc3161_as_openssl_checks_it(db, tmp_path):
    (tmp_path / "data.txt").write_text("what was stamped")
    subprocess.run(
        [
            "openssl",
            "ts",
            "-query",
            "-data",
            str(tmp_path / "data.txt"),
            "-sha256",
            "-cert",
            "-out",
            str(tmp_path / "q.tsq"),
        ],
        check=True,
    )
    answer = Client().post(
        "/tsa", data=(tmp_path / "q.tsq").read_bytes(), content_type="application/timestamp-query"
    )
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "r.tsr").write_bytes(answer.content)
    (tmp_path / "ca.pem").write_text(keys.ca().pem)
    (tmp_path / "tsa.pem").write_text(keys.tsa().pem)
    done = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-in",
            str(tmp_path / "r.tsr"),
            "-queryfile",
            str(tmp_path / "q.tsq"),
            "-CAfile",
            str(tmp_path / "ca.pem"),
            "-untrusted",
            str(tmp_path / "tsa.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


def test_a_platform_that_signed_nothing_yet_publishes_its_ca(db):
    anyone = Client()
    trust = anyone.get("/api/v1/trust-list").json()
    published = anyone.get("/confianza/ca.pem").content.decode()
    assert trust["authorities"] == [keys.ca().pem] == [published]
    assert "BEGIN CERTIFICATE" in published


def test_the_timestamp_authority_refuses_what_is_not_a_request(db, tmp_path):
    answer = Client().post("/tsa", data=b"hello", content_type="application/timestamp-query")
    assert answer.status_code == 200
    (tmp_path / "r.tsr").write_bytes(answer.content)
    shown = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Rejected" in shown and "wrong format" in shown, shown
    assert Client().post("/tsa", data=b"x", content_type="text/plain").status_code == 415


def test_a_signed_document_is_valid_by_file_and_by_code(issue, make_citizen):
    document = issue(make_citizen())
    by_file = verification.verify_pdf(pdf_of(document))
    assert (by_file.status, by_file.document) == ("valid", document)
    assert by_file.signed_at is not None
    assert verification.verify_code(document.code).status == "valid"


def test_a_byte_changed_inside_the_signed_range_is_tampered(issue, make_citizen):
    pdf = bytearray(pdf_of(issue(make_citizen())))
    position = pdf.index(b"/Producer")
    pdf[position + 2] ^= 0x01
    assert verification.verify_pdf(bytes(pdf)).status == "tampered"


def test_a_change_appended_after_signing_is_tampered(issue, make_citizen):
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_of(issue(make_citizen()))))
    writer.root["/Lang"] = generic.TextStringObject("en")  # any change at all, even an innocent one
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    verdict = verification.verify_pdf(out.getvalue())
    assert verdict.status == "tampered"


def test_revoked_and_expired_documents_say_so(issue, make_citizen, system_actor):
    citizen = make_citizen()
    revoked = issue(citizen)
    services.revoke_document(document=revoked, reason="Suspendida por resolución 12-2026", actor=system_actor)
    assert verification.verify_pdf(pdf_of(revoked)).status == "revoked"
    assert verification.verify_code(revoked.code).status == "revoked"
    expired = issue(
        citizen,
        valid_from=timezone.now() - timedelta(days=400),
        expires_at=timezone.now() - timedelta(days=1),
    )
    assert verification.verify_pdf(pdf_of(expired)).status == "expired"
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/en/verificar/{revoked.code}/")
    assert "Revoked" in page.content.decode() and "Suspendida por resolución 12-2026" in page.content.decode()


def test_an_unknown_issuer_is_reported_and_a_trusted_foreign_one_verifies(
    issue, make_citizen, tmp_path, system_actor
):
    signed, ca_pem = sign_as_another_issuer(
        rendering.render(issue(make_citizen()), "es"),
        authority="Autoridad Certificadora de Prueba (CRI)",
        signer="Dirección de Licencias de Prueba (CRI)",
    )
    unknown = verification.verify_pdf(signed)
    assert unknown.status == "unknown_issuer"
    assert "Dirección de Licencias de Prueba" in unknown.signer
    issuer = services.trust_issuer(
        country="CRI", name="Registro de licencias de prueba", certificate_pem=ca_pem, actor=system_actor
    )
    trusted = verification.verify_pdf(signed)
    assert (trusted.status, trusted.foreign) == ("valid", issuer)
    assert trusted.signer == "Dirección de Licencias de Prueba (CRI)"
    page = (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .post("/en/verificar/", {"file": io.BytesIO(signed)})
        .content.decode()
    )
    assert "known only to its issuer" in page and "Registro de licencias de prueba (CRI)" in page
    assert trusted.document is None  # the platform keeps no record of a foreign document
    services.distrust_issuer(issuer=issuer, actor=system_actor)
    assert verification.verify_pdf(signed).status == "unknown_issuer"


def test_unsigned_and_unreadable_files(issue, make_citizen):
    assert verification.verify_pdf(rendering.render(issue(make_citizen()), "es")).status == "not_signed"
    assert verification.verify_pdf(b"this is not a pdf").status == "unreadable"
    signed = pdf_of(issue(make_citizen()))
    for broken in (
        signed[: len(signed) // 2],
        signed.replace(b"/ByteRange", b"/ByteRangX"),
        b"%PDF-1.7\n" + b"\x00" * 500,
    ):
        assert verification.verify_pdf(broken).status in ("unreadable", "not_signed", "tampered")
    assert verification.verify_code("AAAA-BBBB-CCCC").status == "not_found"


def test_rotation_keeps_what_was_signed_valid(issue, make_citizen, attt, system_actor):
    citizen = make_citizen()
    before = issue(citizen)
    old_signer = keys.signer_of(attt)
    services.rotate_certificate(kind=Certificate.Kind.CA, actor=system_actor)
    after = issue(citizen)
    assert DocumentFile.objects.get(document=after).certificate != old_signer
    assert verification.verify_pdf(pdf_of(before)).status == "valid"
    assert verification.verify_pdf(pdf_of(after)).status == "valid"
    assert len(keys.authorities()) == 2


@pytest.mark.django_db(transaction=True)
def test_many_threads_signing_and_verifying_at_once_all_get_whole_signatures(
    issue, make_citizen, attt, system_actor
):
    """A server signs and verifies in several threads, and right after it starts (or after a rotation) they all
    read certificates nobody has read before: each signature must still come out whole, each check right."""
    document = issue(make_citizen())
    unsigned = rendering.render(document, "es")
    services.rotate_certificate(kind=Certificate.Kind.CA, actor=system_actor)
    signer = keys.signer_of(attt)  # made here (with the new TSA), so that the threads only read the database
    keys.tsa()
    start, signed, verdicts, failures = threading.Barrier(8), [], [], []

    def sign_and_verify():
        try:
            start.wait()
            signed.append(rendering.sign(unsigned, certificate=signer, reason="Licencia de conducir"))
            verdicts.append(verification.verify_pdf(pdf_of(document)).status)
        except Exception as error:  # the test reports whatever a thread met
            failures.append(error)
        finally:
            connection.close()

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns as often as they can, as on a busy server
    try:
        threads = [threading.Thread(target=sign_and_verify) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert failures == []
    assert verdicts == ["valid"] * 8
    trusting = ValidationContext(trust_roots=[keys.asn1(keys.ca())], allow_fetching=False)
    for data in signed:
        status = validate_pdf_signature(PdfFileReader(io.BytesIO(data)).embedded_signatures[0], trusting)
        assert status.bottom_line and status.timestamp_validity.valid


@pytest.mark.parametrize("language,expected", [("es", "Revocado"), ("en", "Revoked")])
def test_the_verification_page_in_both_languages(issue, make_citizen, system_actor, language, expected):
    document = issue(make_citizen())
    services.revoke_document(document=document, reason="Error de emisión", actor=system_actor)
    prefix = "" if language == "es" else "/en"
    page = Client().post(f"{prefix}/verificar/", {"file": io.BytesIO(pdf_of(document))})
    assert page.status_code == 200
    assert expected in page.content.decode()
    assert document.holder_name in page.content.decode()
    empty = Client().post(f"{prefix}/verificar/", {})
    assert empty.status_code == 400
    assert "error-summary" in empty.content.decode()
