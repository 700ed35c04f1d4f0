"""`ventanilla notify`: sending services, their keys and templates, from the command line."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ventanilla.catalogue import selectors as catalogue
from ventanilla.core.actor import Actor

from ... import selectors, services
from ...models import ApiKey, Channel, SendingService

# The demo: the Municipality of Panamá reminds people of a tax and confirms appointments by text message.
DEMO_INSTITUTION = "MUN-PANAMA"
DEMO_SERVICE = {
    "slug": "mupa-avisos",
    "name_es": "Municipio de Panamá – Avisos",
    "name_en": "Municipality of Panamá – Notices",
}
DEMO_TEMPLATES = {
    "recordatorio-impuesto": {
        "channel": Channel.EMAIL,
        "essential": False,
        "subject_es": "Recordatorio: su impuesto de ((impuesto)) vence el ((fecha))",
        "subject_en": "Reminder: your ((impuesto)) tax is due on ((fecha))",
        "body_es": (
            "Hola, ((nombre)):\n\n"
            "Le recordamos que el impuesto de ((impuesto)) de su propiedad vence el ((fecha)). "
            "El monto es de B/. ((monto)).\n\n"
            "Puede pagarlo en línea en ((url))\n\n"
            "Si ya lo pagó, no tiene que hacer nada."
        ),
        "body_en": (
            "Hello ((nombre)),\n\n"
            "This is a reminder that the ((impuesto)) tax on your property is due on ((fecha)). "
            "The amount is B/. ((monto)).\n\n"
            "You can pay it online at ((url))\n\n"
            "If you have already paid, there is nothing to do."
        ),
    },
    "cita-confirmada": {
        "channel": Channel.SMS,
        "essential": True,
        "body_es": "Municipio de Panamá: su cita ((referencia)) es el ((fecha)) a las ((hora)) en ((lugar)).",
        "body_en": (
            "Municipality of Panamá: your appointment ((referencia)) is on ((fecha)) at ((hora)) at ((lugar))."
        ),
    },
}


class Command(BaseCommand):
    help = (
        "Notifications: `load-templates` loads the platform's own templates, `create-service` and `create-key` "
        "set up an institution's sending service, `list` shows the services, `send-test` sends one message, "
        "`demo` makes the demo sending service."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        commands.add_parser("load-templates", help="Load the platform's templates from data/templates.yaml.")
        service = commands.add_parser("create-service", help="Create an institution's sending service.")
        service.add_argument("slug", metavar="SLUG", help="Short name: lowercase letters, digits, hyphens.")
        service.add_argument("--name-es", required=True)
        service.add_argument("--name-en", required=True)
        service.add_argument("--institution", help="Code of the institution whose integrators manage it.")
        service.add_argument("--rate-limit", type=int, default=3000, help="Messages a minute (default 3000).")
        key = commands.add_parser("create-key", help="Create an API key; the key is printed once.")
        key.add_argument("slug", metavar="SLUG", help="The sending service.")
        key.add_argument("--name", required=True, help="Where the key is used.")
        key.add_argument("--kind", choices=ApiKey.Kind.values, required=True)
        commands.add_parser("list", help="List the sending services and their messages of the last 7 days.")
        test = commands.add_parser("send-test", help="Send one message with a service's template.")
        test.add_argument("slug", metavar="SLUG", help="The sending service.")
        test.add_argument("template", metavar="TEMPLATE", help="The template's name.")
        test.add_argument("to", metavar="TO", help="An email address or a mobile number with country code.")
        test.add_argument("--language", choices=["es", "en"], default="es")
        test.add_argument(
            "-p",
            "--personalisation",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A placeholder's value; repeat for each.",
        )
        commands.add_parser("demo", help="Create the demo sending service of the Municipality of Panamá.")

    def handle(self, *args, subcommand, **options):
        getattr(self, "_" + subcommand.replace("-", "_"))(**options)

    def _service(self, slug: str) -> SendingService:
        service = SendingService.objects.filter(slug=slug).first()
        if service is None:
            raise CommandError(f"There is no sending service {slug!r} (see `ventanilla notify list`).")
        return service

    def _load_templates(self, **options):
        added = services.load_platform_templates()
        self.stdout.write(self.style.SUCCESS(f"Platform templates loaded: {added} new versions."))

    def _create_service(self, *, slug, name_es, name_en, institution, rate_limit, **options):
        try:
            validate_slug(slug)
        except ValidationError as error:
            raise CommandError(f"{slug!r}: use lowercase letters, digits and hyphens.") from error
        owner = None
        if institution:
            owner = catalogue.institution_by_code(institution)
            if owner is None:
                raise CommandError(f"No institution with the code {institution!r}.")
        try:
            service = services.create_sending_service(
                slug=slug,
                name_es=name_es,
                name_en=name_en,
                institution=owner,
                rate_limit_per_minute=rate_limit,
                actor=Actor.system("ventanilla notify create-service"),
            )
        except services.NotifyError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Created the sending service {service.slug}."))

    def _create_key(self, *, slug, name, kind, **options):
        try:
            key, secret = services.create_api_key(
                service=self._service(slug),
                name=name,
                kind=kind,
                actor=Actor.system("ventanilla notify create-key"),
            )
        except services.NotifyError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Created the {key.kind} key {key.name!r} of {slug}."))
        self.stdout.write(f"API key (shown once): {secret}")

    def _list(self, **options):
        found = list(SendingService.objects.select_related("institution").order_by("slug"))
        recent = selectors.message_counts(found, since=timezone.now() - timedelta(days=7))
        if not found:
            self.stdout.write("No sending services.")
        for service in found:
            owner = service.institution.code if service.institution else "-"
            stopped = "" if service.active else "  (stopped)"
            self.stdout.write(
                f"{service.slug:<24} {owner:<16} {recent.get(service.id, 0):>7} sent in 7 days  "
                f"{service.templates.count():>3} templates  "
                f"{service.api_keys.filter(revoked_at__isnull=True).count():>2} keys{stopped}"
            )

    def _send_test(self, *, slug, template, to, language, personalisation, **options):
        service = self._service(slug)
        values = {}
        for pair in personalisation:
            name, separator, value = pair.partition("=")
            if not separator:
                raise CommandError(f"Write each value as name=value, not {pair!r}.")
            values[name.strip()] = value
        version = selectors.current_version(service=service, template=template)
        if version is None:
            raise CommandError(f"{slug} has no template {template!r}.")
        channel = version.template.channel
        problem = selectors.address_error(channel, to)
        if problem:
            raise CommandError(problem)
        try:
            message = services.send(
                version=version,
                channel=channel,
                to=selectors.normal_address(channel, to),
                language=language,
                personalisation=values,
                reference="send-test",
            )
        except services.NotifyError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Queued message {message.id} ({message.channel} to {message.to}).")
        )

    def _demo(self, **options):
        actor = Actor.system("ventanilla demo")
        institution = catalogue.institution_by_code(DEMO_INSTITUTION)
        if institution is None:
            self.stdout.write(f"No demo sending service: the catalogue has no {DEMO_INSTITUTION}.")
            return
        with transaction.atomic():
            service = SendingService.objects.filter(slug=DEMO_SERVICE["slug"]).first()
            if service is None:
                service = services.create_sending_service(
                    institution=institution, actor=actor, **DEMO_SERVICE
                )
            for slug, fields in DEMO_TEMPLATES.items():
                services.save_template(service=service, slug=slug, actor=actor, **fields)
            # A new test key each run (its secret exists only in this output), replacing the previous run's.
            for old in selectors.api_keys_of(service).filter(name="demo", revoked_at__isnull=True):
                services.revoke_api_key(key=old, actor=actor)
            _key, secret = services.create_api_key(
                service=service, name="demo", kind=ApiKey.Kind.TEST, actor=actor
            )
        self.stdout.write(
            f"\nDemo sending service {service.slug} ({DEMO_INSTITUTION}), templates "
            f"{', '.join(DEMO_TEMPLATES)}: test API key {secret} (managed at "
            f"{reverse('notify:service', args=[service.slug])} by its institution's integrators)"
        )
