from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from troubleshooter.runs import tokens
from troubleshooter.runs.models import ApiToken


class Command(BaseCommand):
    help = ("Make an API token for a user (printed once; only its hash is kept), "
            "list a user's tokens, or revoke one.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, to tell tokens apart later")
        parser.add_argument("--list", action="store_true", help="list the user's tokens (ids, never secrets)")
        parser.add_argument("--revoke", metavar="KEY_ID", help="revoke the token with this id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get_by_natural_key(options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user called '{options['username']}'.") from None
        if options["list"]:
            for token in ApiToken.objects.filter(user=user):
                used = f"last used {token.last_used:%Y-%m-%d %H:%M}" if token.last_used else "never used"
                self.stdout.write(f"{token.key_id}  {token.name or '-'}  made {token.created:%Y-%m-%d}, {used}")
            return
        if options["revoke"]:
            if not tokens.revoke(user, options["revoke"]):
                raise CommandError(f"{user.get_username()} has no token {options['revoke']}.")
            self.stdout.write(f"Revoked {options['revoke']}.")
            return
        # Only the token on stdout, so that `TOKEN=$(manage.py apitoken alice)` works.
        self.stdout.write(tokens.issue(user, options["name"]))
        self.stderr.write("Keep it now: the server stores only its hash and cannot show it again.")
