"""A run's pages: the permalink, the JSON download, cancel, run again, history, and links."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from django.utils import timezone

from tests.probe.servers import RawHTTPServer, all_at_once, openai_stream
from troubleshooter.probe import KINDS, Experiment, HeaderSpec, Limits, OutboundPolicy, ProbeSpec, run_experiment
from troubleshooter.runs import views as run_views
from troubleshooter.runs.models import Run, RunEvents

pytestmark = pytest.mark.django_db

SSE = [("Content-Type", "text/event-stream"), ("Server", "nginx")]


def recorded_run(handler, plan: dict[str, Any] | None = None, framework: str = "", walk: str = "") -> Run:
    """A finished run as the executor leaves it: numbered events in batches, and the report."""
    events: list[dict[str, Any]] = []

    def add(event: dict[str, Any]) -> None:
        events.append({**event, "seq": len(events) + 1})

    async def scenario() -> dict[str, Any]:
        async with RawHTTPServer({"/stream": handler}) as server:
            spec = ProbeSpec(url=server.url("/stream"), headers=(HeaderSpec("X-Api-Key", "k-secret", secret=True),))
            experiment = Experiment(kind=KINDS["single"], spec=spec, limits=Limits(total_seconds=5, after_terminal_seconds=0.3))
            report = await run_experiment(experiment, OutboundPolicy(allow_private=True), add)
            return report.to_json()

    report = asyncio.run(scenario())
    plan = plan or {"kind": "single", "url": "http://127.0.0.1/stream", "method": "GET", "format": "auto",
                    "headers": [{"name": "X-Api-Key", "value": "[secret]", "secret": True}], "concurrency": 1}
    run = Run.objects.create(kind="single", url=plan["url"], plan=plan, client="t", state="finished",
                             outcome=report["outcome"], report=report, finished=timezone.now(),
                             heartbeat=timezone.now(), framework=framework, walk=walk, last_seq=len(events))
    for start in range(0, len(events), 7):
        batch = events[start:start + 7]
        RunEvents.objects.create(run=run, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"], events=batch)
    return run


@pytest.fixture
def healthy_run() -> Run:
    return recorded_run(openai_stream(["Hello", " there", " friend"], gap=0.02), framework="langchain")


@pytest.fixture
def buffered_run() -> Run:
    body = b"".join(b'data: {"choices":[{"delta":{"content":"w%d "}}]}\n\n' % i for i in range(20)) + b"data: [DONE]\n\n"
    return recorded_run(all_at_once(body, 1.2, SSE), framework="llamaindex", walk="framework=llamaindex")


def test_the_permalink_renders_a_finished_run_in_full_from_the_database(client, healthy_run):
    body = client.get(f"/runs/{healthy_run.pk}/").content.decode()
    assert "Hello there friend" in body
    assert "<svg" in body and 'class="ticks"' in body
    assert "Verdict" in body and "healthy" in body
    assert "Measurements" in body and "First byte after" in body
    assert "ws-connect" not in body  # nothing to listen to once it is finished
    assert "k-secret" not in body


def test_the_verdict_links_each_cause_to_its_page_on_the_chosen_framework(client, buffered_run):
    body = client.get(f"/runs/{buffered_run.pk}/").content.decode()
    assert "buffered" in body
    assert "/causes/proxy-buffering/?framework=llamaindex" in body
    assert "/troubleshoot/?framework=llamaindex&amp;symptom=all-at-once" in body
    assert "Back to your troubleshooting walk" in body and "/troubleshoot/?framework=llamaindex" in body


def test_the_timeline_of_a_buffered_run_marks_the_wait_before_the_first_byte(client, buffered_run):
    body = client.get(f"/runs/{buffered_run.pk}/").content.decode()
    for variant in ("wide", "narrow"):  # the phone's drawing says the same
        drawing = re.search(rf'<svg class="{variant}".*?</svg>', body, re.DOTALL).group(0)
        waits = re.findall(r'<rect class="gap"[^>]*><title>([\d.]+) s without a byte</title>', drawing)
        assert len(waits) == 1 and 1.1 < float(waits[0]) < 2.0
    assert "first byte after 1.2" in body


def test_the_json_download_holds_the_verdict_metrics_and_records_without_secrets(client, healthy_run):
    response = client.get(f"/runs/{healthy_run.pk}/json/")
    assert response["Content-Disposition"] == f'attachment; filename="run-{healthy_run.pk}.json"'
    data = json.loads(response.content)
    assert data["outcome"] == "healthy"
    assert {"causes", "metrics", "lanes", "request", "state"} <= set(data)
    assert data["lanes"][0]["record"]["reads"]
    assert "k-secret" not in response.content.decode()


def test_unknown_runs_are_not_found(client):
    assert client.get("/runs/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/runs/not-a-uuid/").status_code == 404
    assert client.post("/runs/00000000-0000-0000-0000-000000000000/cancel/").status_code == 404


def test_the_history_lists_recent_runs_with_their_outcome(client, healthy_run, buffered_run):
    body = client.get("/runs/").content.decode()
    assert body.index(f"/runs/{buffered_run.pk}/") < body.index(f"/runs/{healthy_run.pk}/")  # newest first
    assert "outcome-buffered" in body and "outcome-healthy" in body


def test_cancelling_a_finished_run_changes_nothing(client, healthy_run):
    response = client.post(f"/runs/{healthy_run.pk}/cancel/")
    assert response.status_code == 302
    healthy_run.refresh_from_db()
    assert healthy_run.state == "finished"


def test_running_again_with_secret_headers_asks_for_them_again(client, healthy_run):
    response = client.post(f"/runs/{healthy_run.pk}/again/")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/new/?again={healthy_run.pk}"
    form = client.get(response["Location"]).content.decode()
    assert "type them again" in form
    assert 'value="X-Api-Key"' in form and "[secret]" not in form


def test_running_again_without_secrets_starts_a_new_run_at_once(client, monkeypatch):
    started = []
    monkeypatch.setattr(run_views.executor, "start", lambda run_id, experiment: started.append(experiment))
    plan = {"kind": "single", "url": "http://127.0.0.1:9/s", "method": "GET", "format": "sse", "body": "",
            "body_kind": "json", "headers": [{"name": "X-Team", "value": "a", "secret": False}],
            "total_seconds": 20.0, "concurrency": 1, "compare_url": "", "model": "", "prompt": "",
            "known_timeouts": "", "framework": "", "walk": ""}
    old = Run.objects.create(kind="single", url=plan["url"], plan=plan, client="t", state="finished")
    response = client.post(f"/runs/{old.pk}/again/")
    new = Run.objects.exclude(pk=old.pk).get()
    assert response["Location"] == f"/runs/{new.pk}/"
    from_socket = client.post(f"/runs/{old.pk}/again/", HTTP_HX_REQUEST="true")
    newest = Run.objects.exclude(pk__in=[old.pk, new.pk]).get()
    assert from_socket["HX-Redirect"] == f"/runs/{newest.pk}/"
    assert started[0].spec.format == "sse" and started[0].limits.total_seconds == 20.0
    assert started[0].spec.headers[0].value == "a"


def test_a_comparison_leads_its_verdict_with_the_path_that_has_the_problem(client):
    plan = {"kind": "compare", "url": "http://127.0.0.1/a", "concurrency": 1}
    lane = {"causes": [], "metrics": {"duration": 1.0}, "record": {}}
    report = {
        "kind": "compare", "outcome": "buffered", "summary": "Through the proxy: All content arrived at once.",
        "causes": [], "hints": [], "metrics": {"duration": 1.0}, "leading_lane": "through the proxy",
        "problem_found": True, "differences": ["the proxy adds Via"], "overlap": None,
        "lanes": [{**lane, "label": "direct", "outcome": "healthy", "summary": "Streamed."},
                  {**lane, "label": "through the proxy", "outcome": "buffered", "summary": "All at once."}],
    }
    run = Run.objects.create(kind="compare", url=plan["url"], plan=plan, client="t", state="finished",
                             outcome="buffered", report=report)
    body = client.get(f"/runs/{run.pk}/").content.decode()
    assert '<span class="outcome-badge">buffered</span>' in body
    assert "Through the proxy: All content" in body and "the proxy adds Via" in body


def test_a_troubleshooter_leaf_links_to_a_prefilled_experiment(client):
    page = client.get("/troubleshoot/?framework=langchain&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=nginx")
    body = page.content.decode()
    assert page.context["walk"].leaf is not None
    link = re.search(r'href="(/runs/new/\?[^"]+)"', body).group(1).replace("&amp;", "&")
    assert "framework=langchain" in link and "walk=" in link
    assert "kind=compare" in link  # proxy buffering is best shown direct vs through the proxy
    form = client.get(link).context["form"]
    assert form.initial["framework"] == "langchain"
    assert form.initial["walk"].startswith("framework=langchain&symptom=all-at-once")


def test_the_history_shows_both_addresses_of_a_comparison_and_which_one_the_verdict_is_about(client):
    plan = {"kind": "compare", "url": "http://127.0.0.1:9/direct", "compare_url": "http://127.0.0.1:9/proxied"}
    Run.objects.create(kind="compare", url=plan["url"], plan=plan, client="t", state="finished", outcome="buffered",
                       outcome_lane="through the proxy")
    listed = client.get("/runs/").content.decode()
    assert '<td data-label="Experiment">Direct vs through a proxy</td>' in listed
    assert "/direct" in listed and "/proxied" in listed
    assert re.search(r"buffered</span>\s*<span class=\"lane-name\">through the proxy</span>", listed)
