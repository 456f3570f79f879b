"""`manage.py probe` as a person runs it: a process of its own that measures without
starting Django, under the same outbound policy as the web app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT, app_environment

REPORT_WHETHER_DJANGO_LOADED = """
import atexit, runpy, sys
atexit.register(lambda: print("django loaded" if "django" in sys.modules else "django not loaded", file=sys.stderr))
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def probe_process(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = app_environment(tmp_path, **env)
    return subprocess.run(
        [sys.executable, "-c", REPORT_WHETHER_DJANGO_LOADED, "probe", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def stream(live_app: str) -> str:
    return f"{live_app}/lab/sse/healthy/?chunks=4&delay=0.01"


def test_the_probe_command_measures_without_loading_django(tmp_path, stream):
    done = probe_process(tmp_path, stream, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "healthy"
    assert "django not loaded" in done.stderr


def test_other_commands_still_run_through_django(tmp_path):
    done = probe_process(tmp_path)  # `manage.py probe` with no URL: argparse's usage error
    assert done.returncode == 2
    assert "url" in done.stderr.lower()
    checked = subprocess.run(
        [sys.executable, "-c", REPORT_WHETHER_DJANGO_LOADED, "check"],
        cwd=ROOT, env=app_environment(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "django loaded" in checked.stderr


def test_a_hosted_probe_refuses_loopback_unless_its_network_is_allowed(tmp_path, stream):
    hosted = {"REDIS_URL": "redis://127.0.0.1:6379/15"}
    refused = probe_process(tmp_path, stream, "--json", **hosted)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["outcome"] == "blocked"

    allowed = probe_process(tmp_path, stream, "--json", PROBE_ALLOWED_NETWORKS="10.0.0.0/8, 127.0.0.0/8", **hosted)
    assert allowed.returncode == 0, allowed.stdout[-2000:]
    assert json.loads(allowed.stdout)["outcome"] == "healthy"


def test_a_mistyped_allowed_network_is_a_clear_usage_error(tmp_path, stream):
    done = probe_process(tmp_path, stream, PROBE_ALLOWED_NETWORKS="10.0.0.0/33")
    assert done.returncode == 2
    assert "PROBE_ALLOWED_NETWORKS: '10.0.0.0/33' is not a network in CIDR form" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_target_cannot_run_escape_sequences_on_the_terminal_that_reads_the_report(tmp_path, live_app):
    done = probe_process(tmp_path, f"{live_app}/lab/sse/odd-bytes/?delay=0.01", "--known-timeout", "60")
    assert done.returncode == 0, done.stderr
    assert not set(done.stdout) & ({chr(c) for c in range(32) if chr(c) not in "\n"} | {"\x7f"})
    assert "healthy" in done.stdout


def test_escape_sequences_quoted_from_an_error_body_are_shown_not_run(tmp_path, live_app):
    done = probe_process(tmp_path, f"{live_app}/lab/sse/odd-bytes/?error=1")
    assert done.returncode == 1, done.stderr
    assert "Event loop is closed" in done.stdout  # quoted as evidence
    assert not set(done.stdout) & ({chr(c) for c in range(32) if chr(c) not in "\n"} | {"\x7f"})
    assert "\\x1b[31m" in done.stdout and "\\x07" in done.stdout
