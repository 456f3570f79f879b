"""Every demo names what it demonstrates: its outcome, and the cause it shows first, through
the web form and through the probe command alike."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support import run_through_the_form
from troubleshooter.lab.demos import DEMOS, Demo, demo_initial


def top_cause(result: dict) -> str:
    return result["causes"][0]["id"] if result["causes"] else ""


def command_line(demo: Demo, origin: str) -> list[str]:
    """The probe command a person would type for the demo."""
    fields = demo_initial(demo, origin)
    args = [fields["url"], "--format", demo.format, "--json", "--timeout", "30"]
    if demo.method != "GET":
        args += ["--method", demo.method]
    if demo.body:
        args += ["--data", demo.body]
    if demo.kind == "compare":
        args += ["--compare", fields["compare_url"]]
    if demo.kind == "parallel":
        args += ["--concurrency", str(demo.concurrency)]
    if demo.kind == "repeat":
        args += ["--repeat", str(demo.concurrency)]
    return args


@pytest.mark.parametrize("demo", DEMOS, ids=[demo.slug for demo in DEMOS])
def test_the_probe_command_names_what_each_demo_demonstrates(demo, live_app):
    out = io.StringIO()
    try:
        call_command("probe", *command_line(demo, live_app), stdout=out)
    except CommandError:
        pass  # a problem found exits 1; the JSON says which
    result = json.loads(out.getvalue())
    assert (result["outcome"], top_cause(result)) == (demo.outcome, demo.cause), result["causes"][:2]


@pytest.mark.parametrize("demo", DEMOS, ids=[demo.slug for demo in DEMOS])
def test_the_web_form_names_what_each_demo_demonstrates(demo, live_app):
    fields = {key: str(value) for key, value in demo_initial(demo, live_app).items()}
    result = run_through_the_form(live_app, fields)
    assert result["state"] == "finished"
    assert (result["outcome"], top_cause(result)) == (demo.outcome, demo.cause), result["causes"][:2]


def test_vary_paces_successive_requests_differently_so_repeated_runs_never_match_by_chance():
    from django.test import RequestFactory

    from troubleshooter.lab.views import token_pace

    factory = RequestFactory()
    paces = [token_pace(factory.get("/lab/sse/hard-cut/", {"vary": "0.3"}), 0.1)() for _ in range(3)]
    assert len({round(pace, 6) for pace in paces}) == 3
    steady = token_pace(factory.get("/lab/sse/hard-cut/"), 0.1)
    assert steady() == steady() == 0.1
