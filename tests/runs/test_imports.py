"""Importing a curl trace: the same verdict as this server's own probe on the same endpoint,
clear refusals for bad input, and secrets blanked before anything is stored."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from troubleshooter.runs.forms import IMPORT_MAX_BYTES
from troubleshooter.runs.models import Run, RunEvents

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "healthy": "sse/healthy/?chunks=20&delay=0.05",
    "buffered": "sse/buffered/?chunks=20&delay=0.05",
    "idle cut": "sse/idle-cut/?chunks=8&delay=0.1&gap=3",
    "hard cut": "sse/hard-cut/?at=2.5&delay=0.1",
    "gzip per chunk": "sse/gzip/?chunks=10&delay=0.05",
    "worker timeout": "sse/worker-timeout/?at=2.5&delay=0.1",
}


def curl_trace(url: str, *extra: str, ascii_dump: bool = False) -> str:
    """What the import page tells people to run, run for real."""
    dump = "--trace-ascii" if ascii_dump else "--trace"
    done = subprocess.run(
        ["curl", "-N", "-sS", "--compressed", "--trace-time", dump, "-", "-o", "/dev/null", *extra, url],
        capture_output=True, text=True, timeout=60,
    )
    return done.stdout + done.stderr


def probe_verdict(url: str) -> tuple[str, str]:
    out = io.StringIO()
    try:
        call_command("probe", url, "--json", "--timeout", "30", stdout=out)
    except CommandError:
        pass
    result = json.loads(out.getvalue())
    return result["outcome"], result["causes"][0]["id"] if result["causes"] else ""


def imported(client, trace: str) -> Run:
    response = client.post("/runs/import/", {"trace": trace})
    assert response.status_code == 302, response.content.decode()[-1500:]
    return Run.objects.get(pk=response["Location"].strip("/").rsplit("/", 1)[1])


def verdict(run: Run) -> tuple[str, str]:
    causes = run.report["causes"]
    return run.report["outcome"], causes[0]["id"] if causes else ""


def test_a_curl_trace_reads_to_the_same_verdict_as_the_probe_on_every_lab_endpoint(client, live_app):
    table = []
    for name, path in ENDPOINTS.items():
        url = f"{live_app}/lab/{path}"
        run = imported(client, curl_trace(url))
        table.append((name, verdict(run), probe_verdict(url)))
        assert run.source == "curl-trace" and run.state == "finished"
    print("\nendpoint | curl trace | probe")
    for name, from_trace, from_probe in table:
        print(f"{name} | {from_trace} | {from_probe}")
    assert all(from_trace == from_probe for _, from_trace, from_probe in table), table


def test_an_imported_run_has_a_timeline_a_permalink_and_says_where_it_came_from(client, live_app):
    run = imported(client, curl_trace(f"{live_app}/lab/sse/healthy/?chunks=12&delay=0.02"))
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Imported from a curl trace" in page and 'id="run-timeline"' in page
    events = [event for batch in RunEvents.objects.filter(run=run) for event in batch.events]
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert sum(1 for event in events if event["type"] == "chunk") >= 12
    downloaded = client.get(f"/runs/{run.pk}/json/").json()
    assert downloaded["outcome"] == "healthy" and len(downloaded["lanes"][0]["record"]["reads"]) >= 12
    assert "(imported from a curl trace)" in client.get("/runs/").content.decode()


def test_an_uploaded_trace_file_is_read_like_a_pasted_one(client, live_app):
    trace = curl_trace(f"{live_app}/lab/sse/buffered/?chunks=10&delay=0.05").encode()
    response = client.post("/runs/import/", {"upload": SimpleUploadedFile("trace.txt", trace)})
    run = Run.objects.get(pk=response["Location"].strip("/").rsplit("/", 1)[1])
    assert verdict(run) == ("buffered", "proxy-buffering")


def test_an_ascii_trace_gives_the_timing_and_says_the_events_could_not_be_read(client, live_app):
    run = imported(client, curl_trace(f"{live_app}/lab/sse/buffered/?chunks=10&delay=0.05", ascii_dump=True))
    assert run.report["outcome"] == "buffered"
    assert run.report["lanes"][0]["record"]["facts"]["body_unreadable"] is True


def test_secrets_in_a_trace_are_blanked_before_anything_is_stored(client, live_app):
    secret = "sk-imported-secret-0123456789"
    trace = curl_trace(f"{live_app}/lab/sse/healthy/?chunks=5&delay=0.01&api_key={secret}",
                       "-H", f"Authorization: Bearer {secret}")
    run = imported(client, trace)
    stored = json.dumps([run.plan, run.report, run.url,
                         list(RunEvents.objects.filter(run=run).values_list("events", flat=True))])
    assert secret not in stored and "[secret]" in stored
    assert secret not in client.get(f"/runs/{run.pk}/").content.decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello, this is not a trace", "This is not a curl trace"),
        ("10:00:00.000000 == Info: Connected\n10:00:00.001000 => Send header, 5 bytes (0x5)\n"
         "0000: 47 45 54 20 2f                                  GET /\n", "no response"),
        ("binary\x00data", "Null characters are not allowed"),
        ("", "Paste the trace"),
    ],
)
def test_bad_input_gets_a_clear_message_and_stores_nothing(client, text, message):
    response = client.post("/runs/import/", {"trace": text})
    assert response.status_code == 422 and message in response.content.decode()
    assert not Run.objects.exists()


def test_a_trace_cut_short_mid_stream_still_reads_what_arrived(client, live_app):
    trace = curl_trace(f"{live_app}/lab/sse/healthy/?chunks=20&delay=0.02")
    lines = trace.splitlines()
    half = "\n".join(lines[: len(lines) // 2])
    run = imported(client, half)
    assert run.report["lanes"][0]["metrics"]["chunk_count"] >= 3


def test_an_upload_over_the_size_limit_is_refused_with_its_size(client):
    big = SimpleUploadedFile("trace.txt", b"x" * (IMPORT_MAX_BYTES + 1))
    response = client.post("/runs/import/", {"upload": big})
    assert response.status_code == 422 and "the most this server reads is 20 MB" in response.content.decode()


def test_the_import_page_shows_the_curl_command_for_the_endpoint_typed_with_secrets_as_variables(client):
    page = html.unescape(client.get("/runs/import/?url=https://api.example.test/v1/stream%3Fkey%3Dsk-abcdef0123456789xyz"
                                    "&secret=Authorization").content.decode())
    command = re.search(r"<pre><code>(curl.*?)</code></pre>", page, re.DOTALL).group(1)
    assert command.startswith("curl -N -sS --compressed --trace-time --trace - -o /dev/null")
    assert '-H "Authorization: $AUTHORIZATION"' in command
    assert "sk-abcdef0123456789xyz" not in command and "key=[secret]" in command


def standalone_probe_json(tmp_path, *args: str) -> str:
    """Build the standalone probe, then run it the way a person does somewhere else: from
    another folder, checking that it brought its own engine and never loaded Django."""
    pyz = tmp_path / "troubleshooter-probe.pyz"
    call_command("buildprobe", str(pyz), stdout=io.StringIO())
    runner = tmp_path / "run_it.py"
    runner.write_text(
        "import runpy, sys\n"
        f"sys.argv = [{str(pyz)!r}, *{list(args)!r}, '--json']\n"
        "try:\n"
        f"    runpy.run_path({str(pyz)!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'django' not in sys.modules, 'the standalone probe loaded Django'\n"
        f"assert sys.modules['troubleshooter'].__file__.startswith({str(pyz)!r})\n"
    )
    done = subprocess.run([sys.executable, "-I", str(runner)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize(("name", "extra"), [("idle cut", ()), ("buffered", ()), ("hard cut", ("--repeat", "2"))])
def test_a_standalone_probes_record_imports_to_the_same_verdict(client, live_app, tmp_path, name, extra):
    url = f"{live_app}/lab/{ENDPOINTS[name]}"
    record = standalone_probe_json(tmp_path, url, *extra)
    run = imported(client, record)
    assert run.source == "probe-record" and run.kind == ("repeat" if extra else "single")
    assert verdict(run) == (json.loads(record)["outcome"], json.loads(record)["causes"][0]["id"])
    if not extra:
        assert verdict(run) == probe_verdict(url)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Imported from a standalone probe&#x27;s record" in page


def test_a_record_from_another_version_is_refused_with_what_to_do(client):
    response = client.post("/runs/import/", {"trace": json.dumps({"kind": "single", "lanes": [{}], "record_version": 99})})
    assert response.status_code == 422
    assert "another version (99)" in response.content.decode() and "Download the standalone probe" in response.content.decode()


def test_the_import_page_offers_the_standalone_probe_for_download(client):
    response = client.get("/runs/import/troubleshooter-probe.pyz")
    assert response.status_code == 200 and response.content.startswith(b"#!/usr/bin/env python3\n")
    assert "troubleshooter-probe.pyz" in response["Content-Disposition"]


def test_a_har_without_a_streamed_response_is_refused_with_what_to_do(client):
    har = {"log": {"entries": [{"request": {"url": "https://example.test/"},
                                "response": {"status": 200, "content": {"mimeType": "text/html"}}}]}}
    response = client.post("/runs/import/", {"trace": json.dumps(har)})
    assert response.status_code == 422 and "No streamed response" in response.content.decode()
