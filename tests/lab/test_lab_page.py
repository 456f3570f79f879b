"""The lab's own page: every demo with its expected verdict and a button that runs it."""

from __future__ import annotations

import re

import pytest

from troubleshooter.lab.demos import DEMOS

pytestmark = pytest.mark.django_db


def test_the_lab_is_a_page_listing_every_demo_with_its_verdict_and_a_run_button(client):
    page = client.get("/lab/", HTTP_ACCEPT="text/html")
    body = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    for demo in DEMOS:
        assert demo.title in body
        assert f'href="/runs/new/?demo={demo.slug}"' in body
    assert re.search(r'outcome-badge small outcome-cut-off">cut-off</span> <code class="cause-id">idle-timeout', body)
    assert "http://testserver/lab/sse/worker-timeout/?at=3" in body


def test_programs_still_get_the_endpoints_as_json(client):
    assert client.get("/lab/?format=json").json()["hard cut at a set time"].endswith("/lab/sse/hard-cut/?at=3")
    listed = client.get("/lab/", HTTP_ACCEPT="application/json").json()
    assert "OpenAI-compatible (POST)" in listed


def test_the_lab_is_in_the_navigation_only_when_it_is_on(client, settings):
    assert '<a href="/lab/"' in client.get("/").content.decode()
    settings.LAB_ENABLED = False
    assert '<a href="/lab/"' not in client.get("/").content.decode()
