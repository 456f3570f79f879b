"""Run every broken/fixed pair against the lab's model and record what the probe measured."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from troubleshooter.guides import proving


class Command(BaseCommand):
    help = "Prove the guides' code pairs: each broken sample shows its cause, each fixed one streams."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", action="append", default=[], metavar="CAUSE[/FRAMEWORK]",
                            help="prove only these pairs (repeatable)")
        parser.add_argument("--json", action="store_true", help="print one JSON list of results")
        parser.add_argument("--parallel", type=int, default=3, help="pairs proven at once (default 3)")
        parser.add_argument("--write", type=Path, default=None, metavar="FILE",
                            help="merge the results into this file (default: guides/proofs.json); "
                                 "--no-write to leave it alone")
        parser.add_argument("--no-write", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        pairs = proving.select_pairs(proving.discover_pairs(Path(settings.GUIDES_DIR)), options["only"])
        if not pairs:
            raise CommandError(f"no pair matches {', '.join(options['only'])}")
        as_json = options["json"]

        def report(result: proving.PairResult) -> None:
            # Per-pair timings as they finish, on stderr when stdout carries the JSON.
            stream = self.stderr if as_json else self.stdout
            stream.write(f"{result.status:>16}  {result.cause}/{result.framework}  {result.seconds:5.1f} s"
                         f"{'  ' + result.reason if result.reason else ''}")
            if not as_json:
                stream.write(f"{'':>18}broken: {result.broken}\n{'':>18}fixed:  {result.fixed}")

        started = time.monotonic()
        results = asyncio.run(proving.prove_all(pairs, parallel=options["parallel"], on_result=report))
        total = time.monotonic() - started
        if not options["no_write"]:
            target = options["write"] or Path(settings.GUIDES_DIR) / "proofs.json"
            proving.merge_into(target, proving.proofs_document(results, total))
        if as_json:
            keys = ("cause", "framework", "broken", "fixed", "status", "seconds", "reason")
            self.stdout.write(json.dumps([{key: result.to_json()[key] for key in keys} for result in results],
                                         indent=1))
        else:
            counts = {status: sum(r.status == status for r in results) for status in proving.STATUSES}
            self.stdout.write(f"{len(results)} pairs in {total:.1f} s: "
                              + ", ".join(f"{count} {status}" for status, count in counts.items()))
        if any(result.status == "failed" for result in results):
            raise CommandError("some pairs are not proven")
