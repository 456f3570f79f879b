from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from troubleshooter.runs.retention import prune


class Command(BaseCommand):
    help = "Delete runs that ended more than RUNS_KEEP_DAYS days ago (default 30), with their events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help=f"keep this many days instead (now {settings.RUNS_KEEP_DAYS}; 0 keeps everything)")

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = prune(keep_days=options["days"])
        self.stdout.write(
            f"Deleted {pruned.runs} runs with {pruned.events} event batches, and {pruned.workers} departed workers."
        )
