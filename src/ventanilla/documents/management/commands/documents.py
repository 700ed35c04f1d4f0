"""`ventanilla documents`: the platform's certificates, their rotation, the trust list of foreign issuers, and the
documents demo."""

import io
import json
from datetime import timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from jwcrypto import jwk
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.actor import Actor
from ventanilla.identity import selectors as identity

from ... import keys, pdf, selectors, services
from ...models import Certificate, Document

DEMO_HOLDER = "8-100-101"  # Ana Bonilla, the demo's first citizen
DEMO_FOREIGN = {
    "country": "CRI",
    "name": "Emisor extranjero de demostración (ilustrativo, no oficial)",
    "issuer": "https://emisor-demo.example/licencias",
}


def _certificate(subject: str, issuer: str, public_key, signing_key, *, is_ca: bool) -> x509.Certificate:
    now = timezone.now()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(keys.key_usage(authority=is_ca), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def sign_as_another_issuer(unsigned_pdf: bytes, *, authority: str, signer: str) -> tuple[bytes, str]:
    """`unsigned_pdf` signed by an issuer outside this platform: its own CA and signer, made here. Answers the
    signed PDF and that CA's certificate (PEM), which is what a trust list would hold for it."""
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(authority, authority, ca_key.public_key(), ca_key, is_ca=True)
    signing = _certificate(signer, authority, signer_key.public_key(), ca_key, is_ca=False)

    def asn1(certificate):
        return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))

    key = signer_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer_object = signers.SimpleSigner(
        signing_cert=asn1(signing),
        signing_key=load_private_key_from_pemder_data(key, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs([asn1(ca)]),
    )
    metadata = signers.PdfSignatureMetadata(field_name="Firma", subfilter=fields.SigSeedSubFilter.PADES)
    signed = signers.PdfSigner(metadata, signer=signer_object).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(unsigned_pdf))
    )
    return signed.getvalue(), ca.public_bytes(serialization.Encoding.PEM).decode()


class Command(BaseCommand):
    help = (
        "Official documents: `certificates` lists the platform's certificates, `rotate` replaces one, `trust` and "
        "`distrust` keep the list of foreign issuers, `demo` issues the demo documents."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        commands.add_parser("certificates", help="List the CA, timestamp and institutions' certificates.")
        rotate = commands.add_parser("rotate", help="Retire a certificate and make its successor.")
        rotate.add_argument("kind", choices=Certificate.Kind.values)
        rotate.add_argument("--institution", help="The institution's code (for kind issuer).")
        trust = commands.add_parser("trust", help="Trust a foreign issuer's documents and/or credentials.")
        trust.add_argument("--country", required=True, help="ISO 3166-1 alpha-3, e.g. CRI.")
        trust.add_argument("--name", required=True)
        trust.add_argument("--certificate", type=Path, help="Its CA certificate (PEM file), for its PDFs.")
        trust.add_argument("--issuer", default="", help="Its credential issuer identifier (the `iss` URL).")
        trust.add_argument("--jwks", type=Path, help="Its public keys (JWKS file), for its credentials.")
        distrust = commands.add_parser("distrust", help="Remove a foreign issuer from the trust list.")
        distrust.add_argument("id", help="The issuer's id (see `certificates`).")
        commands.add_parser(
            "demo", help="Issue the demo documents (after `ventanilla demo` made the people)."
        )

    def handle(self, *args, subcommand, **options):
        getattr(self, "_" + subcommand)(**options)

    def _certificates(self, **options):
        keys.ca(), keys.tsa()
        for certificate in Certificate.objects.select_related("institution").order_by("kind", "-created_at"):
            state = f"retired {certificate.retired_at:%Y-%m-%d}" if certificate.retired_at else "in use"
            self.stdout.write(
                f"{certificate.kind:<7} {certificate.serial[:16]:<17} until {certificate.not_after:%Y-%m-%d}  "
                f"{state:<18} {certificate.subject}"
            )
        for issuer in selectors.trusted_foreign_issuers():
            self.stdout.write(f"foreign {issuer.id}  {issuer.country}  {issuer.name}")

    def _rotate(self, *, kind, institution, **options):
        owner = None
        if kind == Certificate.Kind.ISSUER:
            owner = catalogue.institution_by_code(institution or "")
            if owner is None:
                raise CommandError("Give the institution's code with --institution.")
        certificate = services.rotate_certificate(
            kind=kind, institution=owner, actor=Actor.system("ventanilla documents rotate")
        )
        self.stdout.write(
            self.style.SUCCESS(f"New {kind} certificate {certificate.serial}: {certificate.subject}")
        )

    def _trust(self, *, country, name, certificate, issuer, jwks, **options):
        try:
            trusted = services.trust_issuer(
                country=country,
                name=name,
                certificate_pem=certificate.read_text() if certificate else "",
                credential_issuer=issuer,
                jwks=json.loads(jwks.read_text()) if jwks else {},
                actor=Actor.system("ventanilla documents trust"),
            )
        except (OSError, ValueError, services.DocumentError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Trusted {trusted.name} ({trusted.country}): {trusted.id}"))

    def _distrust(self, *, id, **options):
        found = selectors.trusted_foreign_issuers().filter(id=id).first() if id else None
        if found is None:
            raise CommandError(f"No trusted foreign issuer {id!r}.")
        services.distrust_issuer(issuer=found, actor=Actor.system("ventanilla documents distrust"))
        self.stdout.write(self.style.SUCCESS(f"{found.name} is no longer trusted."))

    def _demo(self, **options):
        """Ana's driving licence (category B, with her address, which a credential lets her keep to herself), and
        a foreign issuer on the trust list with a signed document and a credential of theirs to try."""
        actor = Actor.system("ventanilla documents demo")
        ana = identity.user_by_username(DEMO_HOLDER)
        attt = catalogue.institution_by_code("ATTT")
        if ana is None:
            raise CommandError("Run `ventanilla demo` first: it makes the demo people.")
        if attt is None:
            self.stdout.write("The catalogue has no ATTT (load the reference data): no demo licence.")
            return
        licence = selectors.document_for_source(attt, "DEMO-LICENCIA-0001")
        if licence is not None:  # made by an earlier run
            self.stdout.write(f"Document {licence.code}: Ana's driving licence")
            self._demo_foreign(licence, actor)
            return
        issued_on = timezone.now() - timedelta(days=300)
        licence, _created = services.issue_document(
            institution=attt,
            data=services.DocumentIn(
                kind=Document.Kind.LICENCE,
                holder=f"user:{ana.public_id}",
                holder_name=ana.get_full_name(),
                holder_identifier=ana.document_number,
                title_es="Licencia de conducir (ilustrativa)",
                title_en="Driving licence (illustrative)",
                source="DEMO-LICENCIA-0001",
                language=ana.preferred_language or "es",
                valid_from=issued_on,
                expires_at=issued_on + timedelta(days=4 * 365),
                fields=[
                    {
                        "key": "vehicle_categories",
                        "label_es": "Categorías",
                        "label_en": "Categories",
                        "value": ["B"],
                    },
                    {
                        "key": "birthdate",
                        "label_es": "Fecha de nacimiento",
                        "label_en": "Date of birth",
                        "value": "1991-03-08",
                    },
                    {
                        "key": "address",
                        "label_es": "Dirección",
                        "label_en": "Address",
                        "value": "Calle 50, Edificio Las Palmas, Apto. 4B, Bella Vista, Panamá",
                    },
                ],
            ),
            actor=actor,
        )
        self.stdout.write(
            f"Document {licence.code}: Ana's driving licence ({pdf.verification_url(licence.code)})"
        )
        self._demo_foreign(licence, actor)

    def _demo_foreign(self, sample: Document, actor: Actor):
        folder = settings.VAR_DIR / "demo"
        folder.mkdir(exist_ok=True)
        if selectors.trusted_foreign_issuers().filter(country=DEMO_FOREIGN["country"]).exists():
            self.stdout.write(f"Foreign demo issuer already trusted; its samples are in {folder}")
            return
        unsigned = pdf.render(sample, "es")
        signed, ca_pem = sign_as_another_issuer(
            unsigned, authority="Autoridad certificadora extranjera (demo)", signer=DEMO_FOREIGN["name"]
        )
        unknown, _untrusted = sign_as_another_issuer(
            unsigned, authority="Autoridad que nadie conoce (demo)", signer="Firmante desconocido (demo)"
        )
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid="demo-1")
        credential = SDJWTIssuer(
            {
                "iss": DEMO_FOREIGN["issuer"],
                "vct": "https://emisor-demo.example/vct/licencia",
                SDObj("vehicle_categories"): ["B"],
                SDObj("holder_name"): "Persona de ejemplo",
                SDObj("address"): "Avenida Central 100, San José",
            },
            key,
            sign_alg="ES256",
            extra_header_parameters={"typ": "dc+sd-jwt", "kid": "demo-1"},
        ).sd_jwt_issuance
        services.trust_issuer(
            country=DEMO_FOREIGN["country"],
            name=DEMO_FOREIGN["name"],
            certificate_pem=ca_pem,
            credential_issuer=DEMO_FOREIGN["issuer"],
            jwks={"keys": [key.export_public(as_dict=True)]},
            note="Solo para probar la verificación de emisores extranjeros / Only to try foreign issuers",
            actor=actor,
        )
        (folder / "documento-extranjero.pdf").write_bytes(signed)
        (folder / "documento-emisor-desconocido.pdf").write_bytes(unknown)
        (folder / "credencial-extranjera.sd-jwt").write_text(credential)
        self.stdout.write(
            f"Foreign demo issuer trusted; try {folder}/documento-extranjero.pdf, documento-emisor-desconocido.pdf "
            "and credencial-extranjera.sd-jwt on /verificar/"
        )
