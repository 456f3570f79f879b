"""A run's request as shell commands: curl, and the probe command with the same experiment."""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import subprocess
import sys

import httpx

from tests.support import ROOT, RUN_FORM, app_environment, csrf_token
from troubleshooter.runs.commands import as_curl, as_probe_command

PLAN = {
    "kind": "compare", "url": "https://api.example.test/v1/chat?team=a b", "method": "POST", "format": "openai",
    "body": '{"stream": true, "messages": [{"role": "user", "content": "it\'s"}]}', "body_kind": "json",
    "headers": [{"name": "Authorization", "value": "[secret]", "secret": True},
                {"name": "X-Team", "value": "blue team", "secret": False}],
    "total_seconds": 60.0, "concurrency": 1, "compare_url": "https://edge.example.test/v1/chat",
    "known_timeouts": "60, 350", "model": "", "prompt": "", "framework": "", "walk": "",
}


def test_curl_streams_the_same_request_with_secrets_as_variables():
    command = as_curl(PLAN)
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:4] == ["curl", "-N", "-sS", "--compressed"]
    assert words[words.index("-X") + 1] == "POST"
    assert "Authorization: $AUTHORIZATION" in words and "X-Team: blue team" in words
    assert words[words.index("--data-raw") + 1] == PLAN["body"]
    assert words[-1] == "https://api.example.test/v1/chat?team=a b"
    assert "[secret]" not in command


def test_the_probe_command_names_the_same_experiment():
    words = shlex.split(as_probe_command(PLAN).replace("\\\n", " "))
    assert words[:5] == ["python", "-m", "troubleshooter", "probe", PLAN["url"]]
    assert words[words.index("--compare") + 1] == PLAN["compare_url"]
    assert words[words.index("-S") + 1] == "Authorization: $AUTHORIZATION"
    assert [words[i + 1] for i, word in enumerate(words) if word == "--known-timeout"] == ["60", "350"]
    assert words[words.index("--timeout") + 1] == "60" and words[words.index("--format") + 1] == "openai"
    assert "--method" not in words  # POST is what --data implies
    assert "--repeat" in as_probe_command({**PLAN, "kind": "repeat", "repeats": 4})


def test_the_commands_on_a_run_page_run_as_they_are_once_the_secret_is_set(live_app, tmp_path):
    with httpx.Client(base_url=live_app, timeout=30) as client:
        token = csrf_token(client.get("/runs/new/").text)
        started = client.post("/runs/new/", data={
            **RUN_FORM, "csrfmiddlewaretoken": token, "format": "sse",
            "url": f"{live_app}/lab/sse/healthy/?chunks=5&delay=0.01",
            "header-TOTAL_FORMS": "1", "header-0-name": "X-Api-Key", "header-0-value": "k-secret-123",
        })
        page = client.get(started.headers["location"]).text
    shown = [html.unescape(found) for found in re.findall(r'data-copy-text="([^"]*)"', page)]
    curl, probe = (command for command in shown if command.startswith(("curl", "python")))
    assert "k-secret-123" not in page and "X_API_KEY" in page
    env = {**app_environment(tmp_path), "X_API_KEY": "k-secret-123"}
    fetched = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30, env=env)
    assert fetched.returncode == 0 and fetched.stdout.count("data: ") == 6
    probed = subprocess.run(
        ["bash", "-c", probe.replace("python -m", f"{shlex.quote(sys.executable)} -m", 1) + " \\\n  --json"],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )
    assert probed.returncode == 0, probed.stderr
    assert json.loads(probed.stdout)["outcome"] == "healthy"
    assert os.environ.get("X_API_KEY") is None
