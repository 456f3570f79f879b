"""Measuring a stream from the browser: each chunk timed where the person is, read into a
run with the same outcome the probe gives from the server side."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.runs.test_imports import ENDPOINTS, probe_verdict
from tests.runs.test_run_browser import watch_errors

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", ["healthy", "buffered", "idle cut"])
def test_a_measurement_in_the_browser_becomes_a_run_with_the_probes_outcome(live_app, page, artifacts, name):
    errors = watch_errors(page)
    url = f"{live_app}/lab/{ENDPOINTS[name]}"
    page.goto(f"{live_app}/runs/measure-in-browser/")
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_role("button", name="Measure from this browser").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}/$"), timeout=30_000)
    assert page.get_by_text("Imported from a measurement in a browser").is_visible()
    outcome = page.locator(".verdict .outcome-badge").first.text_content()
    with ThreadPoolExecutor(1) as aside:  # the probe runs its own event loop
        assert outcome == aside.submit(probe_verdict, url).result()[0]
    assert errors == []
    page.screenshot(path=artifacts / f"measured-in-browser-{name.replace(' ', '-')}.png", full_page=True)


def test_the_console_snippet_is_the_same_code_the_page_runs(live_app, page):
    page.goto(f"{live_app}/runs/measure-in-browser/?url=https://app.example.test/stream")
    snippet = page.locator(".command pre code").text_content()
    core = page.request.get(f"{live_app}/static/js/measure-core.js").text()
    assert snippet.startswith(core.strip()[:200]) and core.strip() in snippet
    assert 'url: "https://app.example.test/stream"' in snippet and "copy(JSON.stringify(record))" in snippet
