"""Signed PDFs checked by an independent validator (poppler's pdfsig with the platform CA trusted in an NSS
database), the timestamp authority checked by openssl, and every answer the verification gives: valid, tampered,
revoked, expired, unknown issuer, a trusted foreign issuer, not signed, unreadable."""

import io
import subprocess
from datetime import timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client
from django.utils import timezone
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ventanilla.documents import keys, services, verification
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
    report = pdfsig(pdf_of(document), tmp_path, trust=[keys.ca().pem])
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


def _foreign_signed_pdf(issue, citizen, tmp_path):
    """A PDF signed by another country's issuer: its own CA and signer, made here with cryptography."""
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()

    def certificate(subject, issuer, public_key, signing_key, is_ca):
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=not is_ca,
                    content_commitment=not is_ca,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=is_ca,
                    crl_sign=is_ca,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(signing_key, hashes.SHA256())
        )

    ca = certificate(
        "Autoridad Certificadora de Prueba (CRI)",
        "Autoridad Certificadora de Prueba (CRI)",
        ca_key.public_key(),
        ca_key,
        True,
    )
    signer = certificate(
        "Dirección de Licencias de Prueba (CRI)",
        "Autoridad Certificadora de Prueba (CRI)",
        signer_key.public_key(),
        ca_key,
        False,
    )
    # Any unsigned PDF will do as the foreign document: our renderer makes one.
    document = issue(citizen)
    from ventanilla.documents import pdf as rendering

    unsigned = rendering.render(document, "es")
    as_asn1 = lambda cert: asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))  # noqa: E731
    key = load_private_key_from_pemder_data(
        signer_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        passphrase=None,
    )
    signer_object = signers.SimpleSigner(
        signing_cert=as_asn1(signer),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([as_asn1(ca)]),
    )
    out = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="Firma", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer_object,
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(unsigned)))
    return out.getvalue(), ca.public_bytes(serialization.Encoding.PEM).decode()


def test_an_unknown_issuer_is_reported_and_a_trusted_foreign_one_verifies(
    issue, make_citizen, tmp_path, system_actor
):
    signed, ca_pem = _foreign_signed_pdf(issue, make_citizen(), tmp_path)
    unknown = verification.verify_pdf(signed)
    assert unknown.status == "unknown_issuer"
    assert "Dirección de Licencias de Prueba" in unknown.signer
    issuer = services.trust_issuer(
        country="CRI", name="Registro de licencias de prueba", certificate_pem=ca_pem, actor=system_actor
    )
    trusted = verification.verify_pdf(signed)
    assert (trusted.status, trusted.foreign) == ("valid", issuer)
    assert trusted.document is None  # the platform keeps no record of a foreign document
    services.distrust_issuer(issuer=issuer, actor=system_actor)
    assert verification.verify_pdf(signed).status == "unknown_issuer"


def test_unsigned_and_unreadable_files(issue, make_citizen):
    from ventanilla.documents import pdf as rendering

    assert verification.verify_pdf(rendering.render(issue(make_citizen()), "es")).status == "not_signed"
    assert verification.verify_pdf(b"this is not a pdf").status == "unreadable"
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
