from django.conf import settings
from django.core.management.base import BaseCommand

from ventanilla.payments import sandbox_gateway


class Command(BaseCommand):
    help = (
        "Run the sandbox payment gateway: a pretend card and bank gateway in its own HTTP process "
        "(see payments/sandbox_gateway.py)."
    )

    def add_arguments(self, parser):
        sandbox_gateway.arguments(parser, secret=settings.VENTANILLA_PAYMENTS_SANDBOX_SECRET)

    def handle(self, *, host, port, secret, callback_delay, **options):
        self.stdout.write(f"Sandbox payment gateway listening on http://{host}:{port}/")
        sandbox_gateway.serve(host=host, port=port, secret=secret, callback_delay=callback_delay)
