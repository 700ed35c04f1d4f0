import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.actor import Actor
from ventanilla.identity.models import RelyingParty
from ventanilla.identity.oidc import keys, services
from ventanilla.identity.oidc.server import metadata


class Command(BaseCommand):
    help = (
        "The OpenID Connect provider: `rotate-keys` makes a new signing key (the old one stays published for a "
        "day), `register` registers a service (relying party), `demo-service` makes the documented demo one, "
        "`discovery` prints the discovery document."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        commands.add_parser("rotate-keys", help="Make a new signing key and retire the current one.")
        register = commands.add_parser(
            "register", help="Register a service. A client_secret_basic one gets a secret, printed once."
        )
        register.add_argument("--client-id", required=True)
        register.add_argument("--name-es", required=True)
        register.add_argument("--name-en", required=True)
        register.add_argument("--institution", help="Code of the institution that runs the service.")
        register.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        register.add_argument("--post-logout-redirect-uri", action="append", default=[])
        register.add_argument("--backchannel-logout-uri", default="")
        register.add_argument("--sector", default="", help="Default: the institution's code.")
        register.add_argument("--subject-type", choices=RelyingParty.SubjectType.values, default="pairwise")
        register.add_argument(
            "--auth-method", choices=RelyingParty.AuthMethod.values, default="private_key_jwt"
        )
        register.add_argument("--jwks-file", help="The service's public keys (JWKS), for private_key_jwt.")
        register.add_argument("--jwks-uri", default="")
        register.add_argument(
            "--claim",
            action="append",
            default=[],
            help='A claim the service asks for, as JSON: {"claim": "email", "essential": true, '
            '"purpose_es": "…", "purpose_en": "…"}',
        )
        register.add_argument("--minimum-level", choices=["low", "substantial", "high"], default="low")
        commands.add_parser(
            "demo-service", help="Create or refresh the demo service documented in the README."
        )
        commands.add_parser("discovery", help="Print the discovery document.")

    def handle(self, *args, subcommand, **options):
        getattr(self, "_" + subcommand.replace("-", "_"))(**options)

    def _rotate_keys(self, **options):
        key = keys.rotate(actor=Actor.system("ventanilla oidc rotate-keys"))
        self.stdout.write(self.style.SUCCESS(f"New signing key {key.kid}; the previous one stays published."))

    def _register(self, **options):
        institution = None
        if options["institution"]:
            institution = catalogue.institution_by_code(options["institution"])
            if institution is None:
                raise CommandError(f"No institution with the code {options['institution']!r}.")
        try:
            claims = [json.loads(text) for text in options["claim"]]
            jwks = json.loads(Path(options["jwks_file"]).read_text()) if options["jwks_file"] else {}
        except (OSError, json.JSONDecodeError) as error:
            raise CommandError(str(error)) from error
        try:
            registration = services.register_relying_party(
                actor=Actor.system("ventanilla oidc register"),
                client_id=options["client_id"],
                name_es=options["name_es"],
                name_en=options["name_en"],
                institution=institution,
                redirect_uris=options["redirect_uris"],
                post_logout_redirect_uris=options["post_logout_redirect_uri"],
                backchannel_logout_uri=options["backchannel_logout_uri"],
                sector=options["sector"],
                subject_type=options["subject_type"],
                token_endpoint_auth_method=options["auth_method"],
                jwks=jwks,
                jwks_uri=options["jwks_uri"],
                claims=claims,
                minimum_level=options["minimum_level"],
            )
        except ValidationError as error:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            raise CommandError(problems) from error
        self.stdout.write(self.style.SUCCESS(f"Registered {registration.service.client_id}."))
        if registration.client_secret:
            self.stdout.write(f"client_secret (shown once): {registration.client_secret}")

    def _demo_service(self, **options):
        service = services.ensure_demo_service(actor=Actor.system("ventanilla oidc demo-service"))
        self.stdout.write(
            f"client_id {service.client_id}, client_secret {services.DEMO_CLIENT_SECRET}, "
            f"redirect URIs {', '.join(service.redirect_uris)}"
        )

    def _discovery(self, **options):
        self.stdout.write(json.dumps(metadata(), indent=2, ensure_ascii=False))
