"""/metrics/ in Prometheus's format, for a scraper with the token only."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from django.utils import timezone

from tests.probe.servers import RawHTTPServer, openai_stream
from tests.support import app_environment, daphne, manage, run_through_the_form
from troubleshooter.probe import KINDS, Experiment, Limits, ProbeSpec
from troubleshooter.runs import executor
from troubleshooter.runs.models import Run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_channel_layer")]
TOKEN = "scrape-0123456789"


def sample(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def scrape(client) -> str:
    response = client.get("/metrics/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_metrics_are_off_without_a_token_and_closed_to_a_wrong_one(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics/").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics/").status_code == 401
    assert client.get("/metrics/", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_finished_run_is_counted_by_kind_and_outcome_and_leaves_nothing_running(client, settings):
    settings.METRICS_TOKEN = TOKEN
    ended = 'troubleshooter_runs_ended_total{outcome="healthy",state="finished"}'
    started = 'troubleshooter_runs_started_total{kind="single"}'
    before = scrape(client)
    run = Run.objects.create(kind="single", url="http://127.0.0.1/s", plan={"kind": "single"}, client="t",
                             heartbeat=timezone.now())

    async def scenario() -> None:
        async with RawHTTPServer({"/s": openai_stream(["a", "b"], gap=0.01)}) as server:
            spec = ProbeSpec(url=server.url("/s"))
            task = executor.start(run.pk, Experiment(kind=KINDS["single"], spec=spec, limits=Limits(total_seconds=5)))
            await task

    asyncio.run(scenario())
    after = scrape(client)
    assert sample(after, ended) == sample(before, ended) + 1
    assert sample(after, started) == sample(before, started) + 1
    assert sample(after, "troubleshooter_runs_active") == sample(before, "troubleshooter_runs_active")
    assert "troubleshooter_event_loop_lag_seconds_bucket" in after


def test_two_workers_sharing_a_multiprocess_folder_are_added_up_in_one_scrape(tmp_path):
    # With several workers on a host, a scrape lands on one of them; without the shared
    # folder it would count only that worker's runs.
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = app_environment(tmp_path, LAB_ENABLED="1", METRICS_TOKEN=TOKEN, REQUIRE_LOGIN_FOR_RUNS="0",
                          PROMETHEUS_MULTIPROC_DIR=str(shared))
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    started = 'troubleshooter_runs_started_total{kind="single"}'
    ended = 'troubleshooter_runs_ended_total{outcome="healthy",state="finished"}'
    with daphne(env, tmp_path / "first.log") as (_, first), daphne(env, tmp_path / "second.log") as (_, second):
        for base in (first, second):
            report = run_through_the_form(base, {"kind": "single", "url": f"{base}/lab/sse/healthy/?chunks=5&delay=0.01"})
            assert report["state"] == "finished" and report["outcome"] == "healthy"
        for base in (first, second):
            text = httpx.get(f"{base}/metrics/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
            assert sample(text, started) == 2 and sample(text, ended) == 2
            assert sample(text, "troubleshooter_runs_active") == 0
