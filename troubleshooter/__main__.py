"""The project's command line: `manage.py` in a checkout, `troubleshooter` once installed.

`probe` runs without starting Django: it needs only the outbound policy, which the
environment gives, and a person at a terminal should not wait for the web app (its apps,
the Daphne server, the guide library) to load before a stream is measured. Every other
command is Django's.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if argv[1:2] == ["probe"] and not any(arg.startswith(("--settings", "--pythonpath")) for arg in argv[2:]):
        from troubleshooter.environment import BadSetting, outbound_policy
        from troubleshooter.probe.cli import main as probe

        try:
            policy = outbound_policy()
        except BadSetting as error:
            print(f"probe: {error}", file=sys.stderr)
            sys.exit(2)  # the exit status of a usage error, as for a bad option
        sys.exit(probe(argv[2:], policy, prog=f"{os.path.basename(argv[0])} probe"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "troubleshooter.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
