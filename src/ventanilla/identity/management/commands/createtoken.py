from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.actor import Actor
from ventanilla.identity import selectors, services


class Command(BaseCommand):
    help = "Issue an API token for a user (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *, username, name, **options):
        user = selectors.user_by_username(username)
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        raw = services.issue_api_token(user=user, name=name, actor=Actor.system("ventanilla createtoken"))
        self.stdout.write(raw)
