"""Print a new personal API token for a user (operators and scripts)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from members import services


class Command(BaseCommand):
    help = "Create a personal API token for the user with this e-mail and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the e-mail {email!r}.")
        _, token = services.create_api_token(user)
        self.stdout.write(token)
