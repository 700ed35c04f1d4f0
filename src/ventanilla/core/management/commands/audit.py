from django.core.management.base import BaseCommand, CommandError

from ventanilla.core import audit


class Command(BaseCommand):
    help = (
        "The audit log: `ventanilla audit verify` seals what is waiting (as the workers do every minute), then "
        "reports any entry edited or deleted after it was sealed; `ventanilla audit seal` only seals."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "seal"])

    def handle(self, *, action, **options):
        sealed = audit.seal()
        if action == "seal":
            self.stdout.write(f"{sealed} entries sealed.")
            return
        checked, problems = audit.verify()
        if problems:
            for problem in problems:
                self.stderr.write(f"entry #{problem.position}: {problem.message}")
            raise CommandError(
                f"The audit log has been tampered with: {len(problems)} problem(s) in {checked} entries."
            )
        self.stdout.write(self.style.SUCCESS(f"The audit log is intact: {checked} entries verified."))
