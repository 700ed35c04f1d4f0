import getpass

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.actor import Actor
from ventanilla.identity import selectors, services


class Command(BaseCommand):
    help = "Create a platform operator who can sign in to the admin at /admin/."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Omit to be asked (safer: it stays out of the shell history).")

    def handle(self, *, username, email, password, **options):
        if selectors.user_by_username(username):
            raise CommandError(f"A user named {username!r} already exists.")
        password = password or getpass.getpass("Password: ")
        if len(password) < 12:
            raise CommandError("The password must have at least 12 characters.")
        services.create_operator(
            username=username, email=email, password=password, actor=Actor.system("ventanilla createoperator")
        )
        self.stdout.write(self.style.SUCCESS(f"Operator {username} created. Sign in at /admin/."))
