"""Logs carry a request id; LOG_FORMAT=json writes one JSON object per line."""

from __future__ import annotations

import json
import re

import httpx

from tests.support import app_environment, daphne, manage


def test_json_logs_name_the_request_that_wrote_them(tmp_path):
    env = app_environment(tmp_path, LOG_FORMAT="json")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    log = tmp_path / "daphne.log"
    with daphne(env, log) as (_, base):
        given = httpx.get(f"{base}/no-such-page/", headers={"X-Request-Id": "edge-4711"}, timeout=10)
        forged = httpx.get(f"{base}/no-such-page/", headers={"X-Request-Id": "a b\tc"}, timeout=10)
    assert given.headers["X-Request-Id"] == "edge-4711"
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-Id"])  # not the client's text
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    not_found = [line for line in lines if "Not Found" in line.get("message", "")]
    assert {line["request_id"] for line in not_found} == {"edge-4711", forged.headers["X-Request-Id"]}
    assert {"time", "level", "logger", "message", "request_id"} <= set(not_found[0])


def test_an_unknown_log_format_stops_the_app_at_start_up(tmp_path):
    done = manage(app_environment(tmp_path, LOG_FORMAT="xml"), "check")
    assert done.returncode != 0
    assert "LOG_FORMAT must be text or json" in done.stderr
