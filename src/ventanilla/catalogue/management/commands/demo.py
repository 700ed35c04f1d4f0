from django.core.management.base import BaseCommand

from ventanilla.catalogue import selectors, services
from ventanilla.catalogue.models import CatalogueRole
from ventanilla.core.actor import Actor
from ventanilla.identity import selectors as identity_selectors
from ventanilla.identity import services as identity

PASSWORD = "demo-ventanilla-2026"  # noqa: S105  (documented demo credential, local installations only)
ACCOUNTS = [
    ("operador", "Operador", "Demo", None, None),
    ("editor.te", "Editora", "Tribunal Electoral", CatalogueRole.Role.INSTITUTION_EDITOR, "TE"),
    ("editor.aig", "Editor", "AIG", CatalogueRole.Role.AUTHORITY_EDITOR, None),
    ("revisor.aig", "Revisora", "AIG", CatalogueRole.Role.AUTHORITY_REVIEWER, None),
]


class Command(BaseCommand):
    help = (
        "Create the demo accounts documented in the README (local installations only) and print API tokens."
    )

    def handle(self, **options):
        actor = Actor.system("ventanilla demo")
        for username, first, last, role, institution_code in ACCOUNTS:
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
                institution = selectors.institution_by_code(institution_code) if institution_code else None
                services.grant_role(user=user, role=role, institution=institution, actor=actor)
            token = identity.issue_api_token(user=user, name="demo", actor=actor)
            self.stdout.write(f"{username:<12} password {PASSWORD}  API token {token}")
