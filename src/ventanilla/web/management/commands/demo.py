"""`ventanilla demo`: the demo accounts and the demo relying party the README documents (local installations only),
and, once the reference online services are published, their officials and a few cases at different stages."""

from datetime import date, timedelta

import pyotp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from ventanilla.cases import selectors as case_selectors
from ventanilla.cases import services as cases
from ventanilla.catalogue import selectors as catalogue_selectors
from ventanilla.catalogue import services as catalogue
from ventanilla.catalogue.models import CatalogueRole
from ventanilla.core.actor import Actor
from ventanilla.core.identifiers import parse_ruc
from ventanilla.identity import assurance, factors
from ventanilla.identity import selectors as identity_selectors
from ventanilla.identity import services as identity
from ventanilla.identity.oidc import services as oidc
from ventanilla.payments import selectors as payment_selectors
from ventanilla.payments import services as payments

# Cases whose fee the demo pays in cash at the institution's counter, and the cashier who takes it; the work
# permit's fee is left for the demo person to pay online.
PAID_AT_THE_COUNTER = {"demo-building-permit": "tramites.mupa"}
PASSWORD = "demo-ventanilla-2026"  # noqa: S105  (documented demo credential, local installations only)
STAFF = [
    ("operador", "Operador", "Demo", None, None),
    ("editor.te", "Editora", "Tribunal Electoral", CatalogueRole.Role.INSTITUTION_EDITOR, "TE"),
    ("editor.aig", "Editor", "AIG", CatalogueRole.Role.AUTHORITY_EDITOR, None),
    ("revisor.aig", "Revisora", "AIG", CatalogueRole.Role.AUTHORITY_REVIEWER, None),
]
# Fictitious people, one at each level of assurance, plus a registrar at an InfoPlaza.
CITIZENS = [
    ("8-100-101", "Ana", "Bonilla", "low"),
    ("8-100-102", "Bruno", "Castillo", "substantial"),
    ("8-100-103", "Carmen", "Díaz", "high"),
]
REGISTRAR = ("8-100-110", "Rosa", "Quintero")
INFOPLAZA = "InfoPlaza Biblioteca Nacional (demo)"
BUSINESS_RUC = "155700001-2-2020"  # fictitious
BUSINESS_NAME = "Ferretería La Demostración, S.A."
# Officials of the reference services' institutions: (username, first name, institution, workflow roles): a clerk
# and a head who holds the service's reviewing roles, if it has any, and supervises the queue.
OFFICIALS = [
    ("tramites.mupa", "Tomás", "MUN-PANAMA", ["clerk", "cashier"]),
    ("jefa.mupa", "Tania", "MUN-PANAMA", ["reviewer", "approver", "supervisor", "treasurer"]),
    ("tramites.mici", "Marta", "MICI", ["clerk", "cashier"]),
    ("jefe.mici", "Mario", "MICI", ["supervisor", "treasurer"]),
    ("tramites.dgi", "Diego", "DGI", ["clerk", "cashier"]),
    ("jefa.dgi", "Daniela", "DGI", ["supervisor", "treasurer"]),
    ("tramites.mitradel", "Laura", "MITRADEL", ["clerk", "cashier"]),
    ("jefe.mitradel", "Luis", "MITRADEL", ["reviewer", "approver", "supervisor", "treasurer"]),
    ("tramites.te", "Teresa", "TE", ["clerk", "cashier"]),
    ("jefe.te", "Tobías", "TE", ["reviewer", "supervisor", "treasurer"]),
]
# What the demo people owe beyond their cases' fees: (debtor, institution, reference, kind, concept es, en,
# amount, due in days). Illustrative amounts and concepts, not official tariffs.
OBLIGATIONS = [
    (
        "8-100-101",
        "ATTT",
        "DEMO-BOLETA-0001",
        "fine",
        "Boleta de tránsito: estacionamiento prohibido (ilustrativa)",
        "Traffic ticket: parking where prohibited (illustrative)",
        "25.00",
        20,
    ),
    (
        "8-100-101",
        "MUN-PANAMA",
        "DEMO-PLACA-2027",
        "municipal",
        "Impuesto de circulación vehicular 2027 (ilustrativo)",
        "Vehicle circulation tax 2027 (illustrative)",
        "26.00",
        60,
    ),
    (
        "business",
        "MUN-PANAMA",
        "DEMO-ACTIVIDAD-2026-12",
        "tax",
        "Impuesto municipal a la actividad comercial, diciembre de 2026 (ilustrativo)",
        "Municipal business activity tax, December 2026 (illustrative)",
        "45.00",
        15,
    ),
]
REFERENCE_SERVICES = [
    "MUN-PANAMA-PERMISO-CONSTRUCCION",
    "MICI-AVISO-OPERACION",
    "DGI-PAZ-Y-SALVO",
    "MITRADEL-PERMISO-TRABAJO-EXTRANJERO",
    "TE-CERT-NACIMIENTO",
]
# The smallest PDF a browser opens: the demo's evidence files.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
CALIDONIA = {"province": "8", "district": "8-4", "corregimiento": "8-4-4"}
BETANIA = {"province": "8", "district": "8-4", "corregimiento": "8-4-6"}


def demo_answers(*, ruc: dict) -> dict:
    """The answers of the demo cases, by start key (dates relative to today, so they stay valid)."""
    today = date.today()
    return {
        "demo-birth-certificate-draft": {"relationship": "child"},
        "demo-building-permit": {
            "applicant_name": "Bruno Castillo",
            "applicant_phone": "+50761000102",
            "owner_kind": "self",
            "property_number": "30412",
            "site_address": {**BETANIA, "line": "Calle 71 San Francisco, lote 12"},
            "plans_registration": "DOC-2025-4471",
            "works_kind": "extension",
            "use": "housing",
            "description": "Ampliación de la vivienda: una segunda planta con dos recámaras y un baño.",
            "built_area": 85,
            "declared_cost": {"amount": "42000.00", "currency": "USD"},
            "start_date": (today + timedelta(days=45)).isoformat(),
            "duration_months": 8,
            "professionals": [
                {"name": "Ingrid Moreno", "role": "architect", "licence_number": "2009-001-117"},
                {"name": "Constructora Ejemplo, S.A.", "role": "builder", "licence_number": "C-1450"},
            ],
        },
        "demo-tax-clearance": {
            "taxpayer_kind": "person",
            "taxpayer_cedula": "8-100-101",
            "contact_email": "ana@demo.invalid",
            "purpose": "bank",
        },
        "demo-notice-of-operation": {
            "business_name": BUSINESS_NAME,
            "business_ruc": ruc,
            "holder_kind": "company",
            "representative_cedula": "8-100-103",
            "has_trade_name": True,
            "trade_name": "Ferretería La Demo",
            "activity_kind": "commercial",
            "activity_description": "Venta al por menor de herramientas y materiales de construcción.",
            "sells_alcohol": False,
            "premises_address": {**CALIDONIA, "line": "Avenida Justo Arosemena, local 4"},
            "invested_capital": {"amount": "25000.00", "currency": "USD"},
            "employees": 6,
            "start_date": today.isoformat(),
            "sworn_statement": True,
        },
        "demo-work-permit": {
            "employer_name": BUSINESS_NAME,
            "employer_ruc": ruc,
            "panamanian_staff": 18,
            "foreign_staff": 1,
            "worker_name": "Julián Restrepo Gómez",
            "nationality": "Colombiana",
            "passport_number": "AX1234567",
            "worker_birth_date": "1988-04-12",
            "residence_number": "E-8-123456",
            "category": "general",
            "had_previous_permits": False,
            "position": "Jefe de bodega",
            "duties": "Organiza el inventario, recibe la mercancía y dirige al personal de bodega.",
            "monthly_salary": {"amount": "1400.00", "currency": "USD"},
            "contract_start": (today + timedelta(days=20)).isoformat(),
            "contract_term": "fixed",
            "contract_months": 12,
            "lawyer_name": "Carmen Díaz",
            "lawyer_licence": "12345",
            "lawyer_phone": "+50762000103",
        },
    }


class Command(BaseCommand):
    help = (
        "Create the demo accounts and demo relying party documented in the README (local installations only); "
        "prints API tokens and the authenticator keys of the demo people."
    )

    def handle(self, **options):
        actor = Actor.system("ventanilla demo")
        with transaction.atomic():
            self._staff(actor)
            registrar = self._person(*REGISTRAR, level="substantial", actor=actor)
            assurance.grant_staff_role(user=registrar, role="registrar", place=INFOPLAZA, actor=actor)
            people = {
                level: self._person(number, first, last, level=level, actor=actor, registrar=registrar)
                for number, first, last, level in CITIZENS
            }
            business = self._business(owner=people["high"], registrar=registrar, actor=actor)
            service = oidc.ensure_demo_service(actor=actor)
            published = {code: case_selectors.published_version(code) for code in REFERENCE_SERVICES}
            published = {code: version for code, version in published.items() if version is not None}
            officials = self._officials(published, actor=actor)
            # The head of the municipality also manages its notifications, as its integrator.
            if "jefa.mupa" in officials:
                mupa = catalogue_selectors.institution_by_code("MUN-PANAMA")
                assurance.grant_staff_role(
                    user=officials["jefa.mupa"], role="integrator", institution=mupa, actor=actor
                )
            self._obligations(people=people, business=business, actor=actor)
            self._cases(published, officials, people=people, business=business, actor=actor)
        self.stdout.write(
            f"\nDemo relying party: client_id {service.client_id}, client_secret {oidc.DEMO_CLIENT_SECRET}, "
            f"redirect URIs {', '.join(service.redirect_uris)}"
        )
        call_command("notify", "demo", stdout=self.stdout)
        call_command("documents", "demo", stdout=self.stdout)

    def _staff(self, actor):
        for username, first, last, role, institution_code in STAFF:
            user = identity_selectors.user_by_username(username)
            if user is None:
                create = identity.create_operator if role is None else identity.create_user
                extra = {} if role is None else {"first_name": first, "last_name": last, "is_staff": True}
                user = create(
                    username=username,
                    email=f"{username}@demo.invalid",
                    password=PASSWORD,
                    actor=actor,
                    **extra,
                )
            if role:
                institution = (
                    catalogue_selectors.institution_by_code(institution_code) if institution_code else None
                )
                catalogue.grant_role(user=user, role=role, institution=institution, actor=actor)
            token = identity.issue_api_token(user=user, name="demo", actor=actor)
            # The admin and the officials' pages ask for a second factor.
            key = self._authenticator_key(user, actor=actor)
            self.stdout.write(f"{username:<12} password {PASSWORD}  API token {token}{key}")

    def _person(self, number, first, last, *, level, actor, registrar=None):
        person = identity_selectors.user_by_username(number)
        if person is None:
            person = identity.create_person(
                document_type="cedula",
                document_number=number,
                nationality="PAN",
                first_name=first,
                last_name=last,
                email=f"{first.lower()}@demo.invalid",
                password=PASSWORD,
                actor=actor,
            )
        if not person.phone_verified_at:  # a confirmed mobile, so the demo's text messages reach the sandbox
            phone = f"+507610{number.replace('-', '')[-5:]}"
            identity.update_profile(
                user=person, preferred_language=person.preferred_language, phone=phone, actor=actor
            )
            identity.confirm_phone(user=person, phone=phone, actor=actor)
        key = self._authenticator_key(person, actor=actor) if level != "low" else ""
        if level == "high" and person.identity_verified_at is None:
            assurance.record_identity_check(
                person=person,
                official=registrar,
                document_type="cedula",
                document_number=number,
                document_expiry=date.today() + timedelta(days=365 * 5),
                place=INFOPLAZA,
                notes="Demo",
                actor=actor,
            )
        self.stdout.write(f"{number:<12} password {PASSWORD}  level {level}{key}")
        return person

    def _authenticator_key(self, user, *, actor) -> str:
        """An authenticator app for `user` (the same on every run), described by its key."""
        if not factors.has_second_factor(user):
            device = factors.start_totp_enrolment(user=user)
            secret = factors.secret_for_typing(device).replace(" ", "")
            factors.confirm_totp_device(
                user=user, device_id=device.id, name="demo", code=pyotp.TOTP(secret).now(), actor=actor
            )
        device = factors.totp_devices(user).first()
        return f"  authenticator key {factors.secret_for_typing(device).replace(' ', '')}"

    def _business(self, *, owner, registrar, actor):
        ruc = parse_ruc(BUSINESS_RUC)
        representation = identity.declare_representation(
            person=owner, ruc=ruc.canonical, dv=ruc.dv, name=BUSINESS_NAME, actor=actor
        )
        if representation.status == "pending":
            identity.confirm_representation(
                representation_id=representation.public_id, official=registrar, actor=actor
            )
        self.stdout.write(
            f"{BUSINESS_NAME} (RUC {ruc.canonical} DV {ruc.dv}): represented by {owner.username}"
        )
        return representation.business

    # --- The reference online services: officials and cases ------------------------------------------------

    def _officials(self, published: dict, *, actor) -> dict:
        """The officials of the institutions whose reference service is published, by username."""
        institutions = {version.service.procedure.institution.code for version in published.values()}
        missing = [code for code in REFERENCE_SERVICES if code not in published]
        if missing:
            self.stdout.write(
                f"\nNot published yet, so left out of the demo: {', '.join(missing)} "
                "(run `ventanilla services load-reference`, or start with `ventanilla serve`)."
            )
        officials = {}
        for username, first, institution_code, roles in OFFICIALS:
            if institution_code not in institutions:
                continue
            institution = catalogue_selectors.institution_by_code(institution_code)
            user = identity_selectors.user_by_username(username)
            if user is None:
                user = identity.create_user(
                    username=username,
                    email=f"{username}@demo.invalid",
                    password=PASSWORD,
                    first_name=first,
                    last_name=institution_code,
                    actor=actor,
                )
            for role in roles:
                cases.grant_role(user=user, institution=institution, role=role, actor=actor)
            token = identity.issue_api_token(user=user, name="demo", actor=actor)
            key = self._authenticator_key(user, actor=actor)
            self.stdout.write(
                f"{username:<20} password {PASSWORD}  {institution_code} {'+'.join(roles)}  API token {token}{key}"
            )
            officials[username] = user
        return officials

    def _cases(self, published: dict, officials: dict, *, people: dict, business, actor) -> None:
        """A case at each stage a person meets: a draft, one being reviewed, one sent back, one approved and
        one just received. Made once: running the demo again finds them by their start keys."""
        ana, bruno, carmen = people["low"], people["substantial"], people["high"]
        business_subject = (f"business:{business.public_id}", business.name)
        answers = demo_answers(ruc={"ruc": business.ruc, "dv": business.dv})
        plans = [
            ("demo-birth-certificate-draft", "TE-CERT-NACIMIENTO", ana, None, "whose"),
            ("demo-building-permit", "MUN-PANAMA-PERMISO-CONSTRUCCION", bruno, None, "documents"),
            ("demo-tax-clearance", "DGI-PAZ-Y-SALVO", ana, None, "purpose"),
            ("demo-notice-of-operation", "MICI-AVISO-OPERACION", carmen, business_subject, "premises"),
            (
                "demo-work-permit",
                "MITRADEL-PERMISO-TRABAJO-EXTRANJERO",
                carmen,
                business_subject,
                "documents",
            ),
        ]
        steps = {
            "demo-building-permit": [("tramites.mupa", "accept", {})],
            "demo-tax-clearance": [
                (
                    "tramites.dgi",
                    "ask_to_regularise",
                    {
                        "reason": "Falta la declaración de rentas de 2024. Preséntela en e-Tax 2.0 y responda aquí."
                    },
                )
            ],
            "demo-notice-of-operation": [
                (
                    "tramites.mici",
                    "register",
                    {"reason": "Datos verificados con el Registro Público y la DGI."},
                )
            ],
        }
        for start_key, code, person, subject, page in plans:
            version = published.get(code)
            if version is None:
                continue
            subject, label = subject or (f"user:{person.public_id}", str(person))
            person_actor = identity_selectors.actor_for(person)
            case, created = cases.start_case(
                version=version,
                subject=subject,
                subject_label=label,
                applicant=person,
                filed_by=person,
                start_key=start_key,
                actor=person_actor,
            )
            if created:
                uploads = {
                    field.key: [
                        SimpleUploadedFile(f"{field.key}.pdf", DEMO_PDF, content_type="application/pdf")
                    ]
                    for field in case_selectors.definition_of(version).form.fields_by_key.values()
                    if field.type == "file" and page == "documents"
                }
                case = cases.save_page(
                    case=case,
                    page_key=page,
                    values=answers[start_key],
                    uploads=uploads,
                    actor=person_actor,
                    user=person,
                )
                if start_key != "demo-birth-certificate-draft":
                    case = cases.submit(case=case, actor=person_actor)
                if start_key in PAID_AT_THE_COUNTER and case.stage == "awaiting_payment":
                    case = self._pay_at_the_counter(
                        case, officials[PAID_AT_THE_COUNTER[start_key]], actor=actor
                    )
                for username, action, inputs in steps.get(start_key, []):
                    official = officials[username]
                    case = cases.act(
                        case=case,
                        action_key=action,
                        inputs=inputs,
                        official=official,
                        actor=identity_selectors.actor_for(official),
                    )
            where = f" ({case.state})" if case.state and case.stage != "awaiting_payment" else ""
            self.stdout.write(
                f"Case {case.reference} {code} for {person.username}: {case.get_stage_display()}{where}"
            )

    def _obligations(self, *, people: dict, business, actor) -> None:
        """What the demo people owe, to several institutions (posted once: the references are the institutions')."""
        by_number = {person.username: person for person in people.values()}
        for number, code, reference, kind, concept_es, concept_en, amount, days in OBLIGATIONS:
            institution = catalogue_selectors.institution_by_code(code)
            if institution is None:
                continue
            debtor, label = (
                (f"ruc:{business.ruc}", business.name)
                if number == "business"
                else (f"cedula:{number}", str(by_number[number]))
            )
            payments.post_obligation(
                institution=institution,
                data=payments.ObligationIn(
                    reference=reference,
                    debtor=debtor,
                    debtor_label=label,
                    kind=kind,
                    concept_es=concept_es,
                    concept_en=concept_en,
                    amount=amount,
                    due_date=date.today() + timedelta(days=days),
                    legal_basis="Demo",
                ),
                actor=actor,
            )

    def _pay_at_the_counter(self, case, cashier, *, actor):
        """The fee paid in cash to the institution's cashier, with a receipt; the case moves on at once (the
        payment's event would move it a moment later; the second time changes nothing)."""
        obligation = payment_selectors.obligation_for_source(f"case:{case.reference}")
        payment = payments.record_counter_payment(
            obligation_ids=[obligation.id],
            debtor_keys={obligation.debtor},
            subject=obligation.debtor,
            subject_label=obligation.debtor_label,
            cashier=cashier,
            actor=identity_selectors.actor_for(cashier, channel="office"),
        )
        self.stdout.write(f"Fee of {case.reference} paid at the counter: receipt {payment.receipt_number}")
        return cases.fee_paid(reference=case.reference, receipt=payment.receipt_number, actor=actor)
