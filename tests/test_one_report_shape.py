"""An experiment reports in one shape wherever it runs: `manage.py probe --json` prints what
the web run's JSON download holds, key for key, for the same experiment."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support import ROOT, app_environment, run_through_the_form

# What only a stored run has: its identity, its life and the request as the form kept it.
RUN_ONLY_KEYS = {"id", "state", "created", "finished", "request"}


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and kinds of values, not the values themselves.
    Every item of a list must have the same shape, so a list is described by its items."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        shapes = [shape(item) for item in value]
        return ["list", *sorted({json.dumps(s, sort_keys=True) for s in shapes})]
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """What a report says that does not depend on the clock."""
    return {
        "kind": report["kind"],
        "outcome": report["outcome"],
        "causes": [cause["id"] for cause in report["causes"]],
        "leading_lane": report["leading_lane"],
        "problem_found": report["problem_found"],
        "lanes": [
            {
                "label": lane["label"],
                "outcome": lane["outcome"],
                "causes": [cause["id"] for cause in lane["causes"]],
                "content_events": lane["metrics"]["content_event_count"],
                "status": lane["record"]["status"],
                "ending": lane["record"]["ending"]["kind"],
            }
            for lane in report["lanes"]
        ],
    }


def cli_report(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "manage.py", "probe", *args, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("cli_args", "form_fields"),
    [
        (["{lab}/sse/buffered/?chunks=6&delay=0.02"], {"kind": "single", "url": "{lab}/sse/buffered/?chunks=6&delay=0.02"}),
        (
            ["{lab}/sse/healthy/?chunks=6&delay=0.02", "--compare", "{lab}/sse/buffered/?chunks=6&delay=0.02"],
            {"kind": "compare", "url": "{lab}/sse/healthy/?chunks=6&delay=0.02",
             "compare_url": "{lab}/sse/buffered/?chunks=6&delay=0.02"},
        ),
        (
            ["{lab}/sse/healthy/?chunks=6&delay=0.02", "--concurrency", "3"],
            {"kind": "parallel", "url": "{lab}/sse/healthy/?chunks=6&delay=0.02", "concurrency": "3"},
        ),
    ],
    ids=["single", "compare", "parallel"],
)
def test_the_cli_json_and_the_run_download_share_one_shape_and_verdict(live_app, tmp_path, cli_args, form_fields):
    lab = f"{live_app}/lab"
    from_cli = cli_report(app_environment(tmp_path), *(arg.format(lab=lab) for arg in cli_args))
    from_web = run_through_the_form(live_app, {key: value.format(lab=lab) for key, value in form_fields.items()})

    assert from_web["state"] == "finished"
    del from_web["page"]
    assert RUN_ONLY_KEYS <= set(from_web)
    stored_report = {key: value for key, value in from_web.items() if key not in RUN_ONLY_KEYS}
    assert shape(from_cli) == shape(stored_report)
    assert comparable(from_cli) == comparable(stored_report)
