"""`manage.py probe URL`: the probe's command line (troubleshooter.probe.cli) inside Django.

`manage.py probe` normally runs that command line without starting Django at all (see
manage.py): a stream measured from a terminal should not wait for the web app to load. This
command is what `call_command("probe", ...)` and `manage.py help` see; both paths build
the same experiments and print the same report.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from troubleshooter.probe import cli
from troubleshooter.runs.outbound import outbound_policy


class Command(BaseCommand):
    help = "Measure a streaming endpoint: time every chunk, tell how it ended, and name the cause."
    # It reads no guide and no table: the checks would only delay the measurement.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            status = cli.execute(options, outbound_policy(), self.stdout)
        except cli.UsageError as error:
            raise CommandError(str(error), returncode=cli.EXIT_USAGE) from None
        if status != cli.EXIT_HEALTHY:
            raise CommandError("a problem was found", returncode=status)
