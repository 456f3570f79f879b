"""The run API: start, read, list and cancel runs with the web form's rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from troubleshooter.probe.record import SECRET_PLACEHOLDER
from troubleshooter.runs import executor, tokens
from troubleshooter.runs.models import Run

pytestmark = pytest.mark.django_db

TARGET = "http://127.0.0.1:9/stream"
SECRET = "sk-live-do-not-keep-me"


@pytest.fixture
def started(monkeypatch) -> list[Any]:
    """Runs are claimed as the API makes them, but never really started."""
    experiments: list[Any] = []
    monkeypatch.setattr(executor, "start", lambda run_id, experiment: experiments.append(experiment))
    return experiments


def start(client: Client, **fields: Any) -> Any:
    return client.post("/api/v1/runs", {"url": TARGET, "format": "sse", **fields}, content_type="application/json")


def bearer(name: str, *teams: str) -> dict[str, str]:
    user = User.objects.create_user(name)
    user.groups.set([Group.objects.get_or_create(name=team)[0] for team in teams])
    return {"Authorization": f"Bearer {tokens.issue(user)}"}


def test_a_run_starts_from_json_and_its_secret_header_is_used_but_never_stored_or_echoed(client, started):
    response = start(client, headers=[{"name": "Authorization", "value": f"Bearer {SECRET}"},
                                      {"name": "X-Trace", "value": "visible"}])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "running" and body["outcome"] is None and body["request"]["url"] == TARGET
    assert body["request"]["headers"] == [
        {"name": "Authorization", "value": SECRET_PLACEHOLDER, "secret": True},
        {"name": "X-Trace", "value": "visible", "secret": False},
    ]
    assert SECRET not in response.content.decode()
    run = Run.objects.get(pk=body["id"])
    assert SECRET not in json.dumps(run.plan) and SECRET not in run.url
    # The experiment handed to the executor is the only place the secret lives.
    assert [h.value for h in started[0].spec.headers] == [f"Bearer {SECRET}", "visible"]


def test_a_secret_ticked_by_hand_is_kept_out_as_well(client, started):
    body = start(client, headers=[{"name": "X-Tenant", "value": "acme-private", "secret": True}]).json()
    assert body["request"]["headers"][0]["value"] == SECRET_PLACEHOLDER
    assert "acme-private" not in json.dumps(Run.objects.get(pk=body["id"]).plan)


def test_a_request_the_form_would_refuse_gets_the_forms_messages_by_field(client, started):
    refused = start(client, url="ftp://example.com/stream", total_seconds=100000)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert set(errors) >= {"url", "total_seconds"} and all(errors.values())
    with_body = start(client, method="GET", body='{"q": 1}')
    assert with_body.status_code == 422 and "GET request has no body" in with_body.json()["errors"]["body"][0]
    bad_header = start(client, headers=[{"name": "Bad Name", "value": "x"}])
    assert bad_header.status_code == 422 and "headers.0.row" in bad_header.json()["errors"]
    assert not started and not Run.objects.exists()


def test_a_form_post_from_another_site_cannot_start_a_run(client, started):
    response = client.post("/api/v1/runs", data=json.dumps({"url": TARGET}), content_type="text/plain")
    assert response.status_code == 415 and not started


def test_the_limits_refuse_a_run_too_many_with_429(client, started, settings):
    settings.RUNS_MAX_ACTIVE_PER_CLIENT = 1
    assert start(client).status_code == 201
    refused = start(client)
    assert refused.status_code == 429 and "1 experiments running" in refused.json()["detail"]
    assert len(started) == 1


def test_a_run_reads_in_the_same_shape_as_its_json_download(client, started):
    created = start(client).json()
    read = client.get(f"/api/v1/runs/{created['id']}")
    assert read.status_code == 200 and "private" in read["Cache-Control"]
    assert read.json() == client.get(f"/runs/{created['id']}/json/").json() == created


def test_a_finished_run_reads_with_its_outcome_and_report(client):
    report = {"kind": "single", "outcome": "buffered", "causes": [{"id": "proxy-buffering"}], "lanes": [],
              "leading_lane": "", "problem_found": True}
    run = Run.objects.create(kind="single", url=TARGET, plan={"url": TARGET}, client="t", state="finished",
                             finished=timezone.now(), outcome="buffered", report=report)
    body = client.get(f"/api/v1/runs/{run.pk}").json()
    assert body["outcome"] == "buffered" and body["causes"] == [{"id": "proxy-buffering"}]
    assert body["problem_found"] is True and body["finished"]
    listed = client.get("/api/v1/runs").json()
    assert listed[0]["id"] == str(run.pk) and listed[0]["outcome"] == "buffered"


def test_with_login_required_a_stranger_is_refused_and_a_token_or_a_session_is_let_in(client, started, settings):
    settings.REQUIRE_LOGIN_FOR_RUNS = True
    assert start(client).status_code == 401
    assert client.get("/api/v1/runs").status_code == 401
    alice = bearer("alice")
    created = client.post("/api/v1/runs", {"url": TARGET}, content_type="application/json", headers=alice)
    assert created.status_code == 201
    run = Run.objects.get(pk=created.json()["id"])
    assert run.owner is not None and run.owner.username == "alice"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(run.owner)
    assert browser.get(f"/api/v1/runs/{run.pk}").status_code == 200
    # A browser's session must carry its CSRF token to change anything.
    assert browser.post(f"/api/v1/runs/{run.pk}/cancel").status_code == 403


def test_each_person_sees_only_their_own_and_their_teams_runs(client, started, settings):
    settings.REQUIRE_LOGIN_FOR_RUNS = True
    alice, bob, carol = bearer("alice", "sre"), bearer("bob", "sre"), bearer("carol")
    team = Group.objects.get(name="sre")
    shared = client.post("/api/v1/runs", {"url": TARGET, "team": team.pk}, content_type="application/json",
                         headers=alice).json()
    own = client.post("/api/v1/runs", {"url": TARGET + "?mine"}, content_type="application/json",
                      headers=alice).json()
    assert Run.objects.get(pk=shared["id"]).team == team
    assert {r["id"] for r in client.get("/api/v1/runs", headers=alice).json()} == {shared["id"], own["id"]}
    assert [r["id"] for r in client.get("/api/v1/runs", headers=bob).json()] == [shared["id"]]
    assert client.get("/api/v1/runs", headers=carol).json() == []
    # Not found, not forbidden: a stranger learns nothing about whether the run exists.
    assert client.get(f"/api/v1/runs/{own['id']}", headers=bob).status_code == 404
    assert client.post(f"/api/v1/runs/{own['id']}/cancel", headers=carol).status_code == 404
    assert client.get(f"/api/v1/runs/{own['id']}/events", headers=carol).status_code == 404


def test_cancelling_asks_a_running_run_to_stop_and_leaves_an_ended_one_alone(client, started, monkeypatch):
    asked: list[Any] = []

    async def request_cancel(run_id):
        asked.append(run_id)

    monkeypatch.setattr(executor, "request_cancel", request_cancel)
    running = start(client).json()
    response = client.post(f"/api/v1/runs/{running['id']}/cancel")
    assert response.status_code == 202 and response.json() == {"id": running["id"], "state": "running",
                                                               "cancelling": True}
    Run.objects.filter(pk=running["id"]).update(state="cancelled", finished=timezone.now())
    again = client.post(f"/api/v1/runs/{running['id']}/cancel").json()
    assert again == {"id": running["id"], "state": "cancelled", "cancelling": False}
    assert [str(run_id) for run_id in asked] == [running["id"]]
