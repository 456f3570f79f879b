from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from troubleshooter.probe import standalone


class Command(BaseCommand):
    help = "Write the standalone probe (one file, no Django) whose --json output /runs/import/ reads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", nargs="?", default="troubleshooter-probe.pyz", help="where to write it")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        size = len(standalone.build(out))
        self.stdout.write(f"Wrote {out} ({size / 1024:.0f} KiB). Run it with Python 3.11+ after: "
                          f"pip install {standalone.DEPENDENCIES}")
