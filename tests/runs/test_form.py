"""The experiment form: validation, secrets, demos, limits, and starting a run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from troubleshooter.lab.demos import DEMOS
from troubleshooter.probe.record import SECRET_PLACEHOLDER
from troubleshooter.runs import views as run_views
from troubleshooter.runs.forms import RunForm
from troubleshooter.runs.models import Run

pytestmark = pytest.mark.django_db


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "single",
        "url": "http://127.0.0.1:9/stream",
        "method": "GET",
        "format": "auto",
        "body": "",
        "body_kind": "json",
        "total_seconds": "30",
        "concurrency": "5",
        "header-TOTAL_FORMS": "3",
        "header-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


@pytest.fixture
def started(monkeypatch) -> list[tuple[Any, Any]]:
    """Runs the view started, without running them."""
    calls: list[tuple[Any, Any]] = []
    monkeypatch.setattr(run_views.executor, "start", lambda run_id, experiment: calls.append((run_id, experiment)))
    return calls


def test_a_valid_form_builds_the_experiment_with_its_limits():
    form = RunForm(form_data(url="http://127.0.0.1:9/s", total_seconds="12"))
    assert form.is_valid(), form.errors
    assert form.experiment is not None
    assert form.experiment.kind.id == "single"
    assert form.experiment.limits.total_seconds == 12
    assert form.experiment.spec.method == "GET"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"url": "ftp://example.test/x"}, "url", "scheme"),
        ({"url": "not a url"}, "url", ""),
        ({"method": "POST", "body": "{not json"}, "body", "not valid JSON"),
        ({"method": "GET", "body": '{"a": 1}'}, "body", "GET request has no body"),
        ({"total_seconds": "100000"}, "total_seconds", "between"),
        ({"kind": "parallel", "concurrency": "500"}, "concurrency", ""),
        ({"kind": "compare", "compare_url": ""}, "compare_url", "required"),
        ({"kind": "langchain", "model": ""}, "model", "required"),
        ({"known_timeouts": "sixty"}, "known_timeouts", "not a number"),
    ],
)
def test_bad_input_is_refused_with_a_message_on_the_field(overrides, field, message):
    form = RunForm(form_data(**overrides))
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])


def test_a_bad_header_is_refused_and_its_row_says_why():
    form = RunForm(form_data(**{"header-0-name": "Bad Name", "header-0-value": "x"}))
    assert not form.is_valid()
    assert "one word of letters, digits and dashes" in " ".join(form.header_formset.forms[0].non_field_errors())
    assert "Some headers need fixing." in form.non_field_errors()


@pytest.mark.parametrize("value", ["a\x00b", "a\rInjected: 1", "a\nb", "a\x7fb"])
def test_a_header_value_with_control_characters_is_refused_on_its_row(client, value):
    data = form_data(**{"header-0-name": "X-Trace", "header-0-value": value})
    assert not RunForm(data).is_valid()
    response = client.post("/runs/new/", data)
    assert response.status_code == 422
    assert "Some headers need fixing." in response.content.decode()


def test_a_form_posted_without_header_rows_has_no_headers():
    data = form_data()
    del data["header-TOTAL_FORMS"], data["header-INITIAL_FORMS"]
    form = RunForm(data)
    assert form.is_valid(), form.errors
    assert form.experiment.spec.headers == ()


def test_secret_headers_are_sent_but_the_plan_keeps_only_a_placeholder():
    form = RunForm(form_data(**{
        "header-0-name": "X-Team", "header-0-value": "payments",
        "header-1-name": "X-Custom-Secret-Thing", "header-1-value": "hunter2", "header-1-secret": "1",
        "header-2-name": "Authorization", "header-2-value": "Bearer sk-live-abc",
    }))
    assert form.is_valid(), form.errors
    assert form.experiment is not None
    sent = {header.name: header.value for header in form.experiment.spec.headers}
    assert sent["Authorization"] == "Bearer sk-live-abc"
    assert form.experiment.api_key == "sk-live-abc"
    plan = json.dumps(form.plan())
    assert "hunter2" not in plan and "sk-live-abc" not in plan
    assert plan.count(SECRET_PLACEHOLDER) == 2
    assert "payments" in plan


def test_a_form_shown_again_never_contains_a_secret_value(client):
    data = form_data(url="ftp://nope", **{"header-0-name": "Authorization", "header-0-value": "Bearer sk-live-abc"})
    response = client.post("/runs/new/", data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "sk-live-abc" not in body
    assert "type them again" in body
    assert 'value="Authorization"' in body


def test_credentials_in_the_url_are_redacted_in_the_plan():
    form = RunForm(form_data(url="http://user:pw@127.0.0.1:9/s?api_key=abc&x=1"))
    assert form.is_valid(), form.errors
    assert "pw" not in form.plan()["url"] and "abc" not in form.plan()["url"]
    assert "x=1" in form.plan()["url"]


def test_each_demo_fills_in_a_form_that_validates(client):
    for demo in DEMOS:
        page = client.get(f"/runs/new/?demo={demo.slug}")
        assert page.status_code == 200
        initial = page.context["form"].initial
        data = form_data(**{key: value for key, value in initial.items() if value not in (None, "")})
        form = RunForm(data)
        assert form.is_valid(), (demo.slug, form.errors)
        assert "/lab/" in form.cleaned_data["url"]


def test_the_form_page_lists_the_demos_and_every_experiment_kind(client):
    body = client.get("/runs/new/").content.decode()
    assert "Try it on a demo endpoint" in body
    for label in ("One stream", "Several streams in parallel", "Direct vs through a proxy", "LangChain"):
        assert label in body


def test_demos_are_not_offered_when_the_lab_is_off(client, settings):
    settings.LAB_ENABLED = False
    body = client.get("/runs/new/?demo=healthy").content.decode()
    assert "Try it on a demo endpoint" not in body
    assert "/lab/" not in body


def test_starting_a_run_stores_it_and_opens_its_page(client, started):
    response = client.post("/runs/new/", form_data(**{"header-0-name": "X-Api-Key", "header-0-value": "k-123"}))
    assert response.status_code == 302
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.state == "running" and run.kind == "single"
    assert "k-123" not in json.dumps(run.plan)
    assert started[0][0] == run.pk
    assert started[0][1].spec.headers[0].value == "k-123"


def test_too_many_running_experiments_for_one_client_are_refused(client, started, settings):
    settings.RUNS_MAX_ACTIVE_PER_CLIENT = 2
    for _ in range(2):
        assert client.post("/runs/new/", form_data()).status_code == 302
    refused = client.post("/runs/new/", form_data())
    assert refused.status_code == 429
    assert "You have 2 experiments running" in refused.content.decode()
    assert Run.objects.count() == 2


def test_the_server_wide_limit_applies_to_everyone(client, started, settings):
    settings.RUNS_MAX_ACTIVE = 1
    assert client.post("/runs/new/", form_data()).status_code == 302
    refused = client.post("/runs/new/", form_data(), REMOTE_ADDR="127.0.0.2")
    assert refused.status_code == 429
    assert "running on this server already" in refused.content.decode()


def test_another_header_row_can_be_added_with_and_without_javascript(client):
    row = client.get("/runs/header-row/?index=3").content.decode()
    assert 'name="header-3-name"' in row and 'value="4"' in row
    assert client.get("/runs/header-row/?index=99").status_code == 204
    page = client.get("/runs/new/?rows=5").content.decode()
    assert 'name="header-4-name"' in page


def test_the_troubleshooter_walk_prefills_framework_kind_and_walk(client):
    page = client.get("/runs/new/?framework=langgraph&kind=parallel&walk=framework%3Dlanggraph")
    form = page.context["form"]
    assert form.initial["framework"] == "langgraph"
    assert form.initial["kind"] == "parallel"
    assert form.initial["walk"] == "framework=langgraph"


def test_a_100_kb_header_value_is_refused_for_its_length_not_its_lines(client):
    data = form_data(**{"header-0-name": "X-Trace", "header-0-value": "v" * 100_000})
    response = client.post("/runs/new/", data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "at most 8000 characters" in body or "at most 8,000 characters" in body
    assert "fits on one line" not in body
