from django.core.management.base import BaseCommand, CommandError

from ventanilla.core import audit


class Command(BaseCommand):
    help = "Check the audit log: `ventanilla audit verify` reports any entry edited or deleted after it was written."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *, action, **options):
        checked, problems = audit.verify()
        if problems:
            for problem in problems:
                self.stderr.write(f"entry #{problem.seq}: {problem.message}")
            raise CommandError(
                f"The audit log has been tampered with: {len(problems)} problem(s) in {checked} entries."
            )
        self.stdout.write(self.style.SUCCESS(f"The audit log is intact: {checked} entries verified."))
