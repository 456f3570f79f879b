"""A HAR recorded by Chromium while it loads a lab stream, imported: the same outcome as the
probe on the same endpoint, and the page says what a HAR cannot show."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.runs.test_imports import ENDPOINTS, imported, probe_verdict

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module", autouse=True)
def database_beside_the_browser() -> Iterator[None]:
    # Playwright's sync API keeps an event loop running in this thread for the module; the
    # test client's database calls beside it are still plain synchronous calls.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def chromium_har(browser, tmp_path, url: str) -> str:
    """A HAR as Chromium records it, while it loads the streamed response."""
    har = tmp_path / "page.har"
    context = browser.new_context(record_har_path=str(har), record_har_content="embed")
    page = context.new_page()
    page.goto(url, wait_until="load", timeout=30_000)
    context.close()  # writes the file
    return har.read_text()


@pytest.mark.parametrize("name", ["healthy", "buffered"])
def test_a_har_recorded_by_chromium_reads_to_the_probes_outcome(client, browser, live_app, tmp_path, name):
    url = f"{live_app}/lab/{ENDPOINTS[name]}"
    run = imported(client, chromium_har(browser, tmp_path, url))
    assert run.source == "har"
    with ThreadPoolExecutor(1) as aside:  # the probe runs its own event loop; this thread has Playwright's
        assert run.report["outcome"] == aside.submit(probe_verdict, url).result()[0]
    assert run.report["lanes"][0]["record"]["facts"]["per_chunk_times"] is False
    assert "only how long the browser waited" in client.get(f"/runs/{run.pk}/").content.decode()

