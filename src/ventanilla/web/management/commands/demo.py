"""`ventanilla demo`: the demo accounts and the demo relying party the README documents (local installations only)."""

from datetime import date, timedelta

import pyotp
from django.core.management.base import BaseCommand
from django.db import transaction

from ventanilla.catalogue import selectors as catalogue_selectors
from ventanilla.catalogue import services as catalogue
from ventanilla.catalogue.models import CatalogueRole
from ventanilla.core.actor import Actor
from ventanilla.core.identifiers import parse_ruc
from ventanilla.identity import assurance, factors
from ventanilla.identity import selectors as identity_selectors
from ventanilla.identity import services as identity
from ventanilla.identity.oidc import services as oidc

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
            self._business(owner=people["high"], registrar=registrar, actor=actor)
            service = oidc.ensure_demo_service(actor=actor)
        self.stdout.write(
            f"\nDemo relying party: client_id {service.client_id}, client_secret {oidc.DEMO_CLIENT_SECRET}, "
            f"redirect URIs {', '.join(service.redirect_uris)}"
        )

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
