from django.conf import settings
from django.core.management.base import BaseCommand

from ventanilla.notify import sandbox_sms


class Command(BaseCommand):
    help = "Run the sandbox SMS provider: a pretend SMS gateway in its own HTTP process (see notify/sandbox_sms.py)."

    def add_arguments(self, parser):
        sandbox_sms.arguments(parser, secret=settings.VENTANILLA_SMS_SANDBOX_SECRET)

    def handle(self, *, host, port, secret, receipt_delay, **options):
        self.stdout.write(f"Sandbox SMS listening on http://{host}:{port}/")
        sandbox_sms.serve(host=host, port=port, secret=secret, receipt_delay=receipt_delay)
