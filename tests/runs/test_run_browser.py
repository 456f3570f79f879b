"""Live experiments in headless Chromium: start one, watch it grow, reload mid-run, read the verdict."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from troubleshooter.lab.views import word

pytestmark = pytest.mark.browser

CHUNKS = 70


def tick_count(page: Page) -> int:
    return page.locator("#run-timeline path.ticks").first.get_attribute("d").count("M")


def shown_seq(page: Page) -> int:
    return int(page.locator("[data-run-seq]").get_attribute("data-run-seq"))


def wait_until(page: Page, expression: str, timeout_ms: int = 10_000) -> None:
    """Polls from the test side: the page's CSP forbids the eval that wait_for_function uses."""
    for _ in range(timeout_ms // 50):
        if page.evaluate(f"() => Boolean({expression})"):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout_ms} ms: {expression}")


def start(page: Page, live_app: str, url: str, known_timeouts: str = "") -> None:
    page.goto(live_app + "/runs/new/")
    page.get_by_label("Endpoint URL").fill(url)
    if known_timeouts:
        page.locator("details.more summary").click()
        page.get_by_label(re.compile("Timeouts your infrastructure")).fill(known_timeouts)
    page.get_by_role("button", name="Start the experiment").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}/$"))


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_a_healthy_stream_grows_live_survives_a_reload_and_ends_healthy(live_app, page, artifacts):
    errors = watch_errors(page)
    start(page, live_app, f"{live_app}/lab/sse/healthy/?chunks={CHUNKS}&delay=0.06")
    expect(page.locator("#run-state-heading")).to_contain_text("Running")

    wait_until(page, "document.querySelector('#run-timeline path.ticks')?.getAttribute('d')?.length > 20")
    first = tick_count(page)
    page.wait_for_timeout(700)
    assert tick_count(page) > first, "the timeline did not grow"
    page.screenshot(path=artifacts / "run-healthy-live.png", full_page=True)

    page.reload()
    expect(page.locator("#run-state-heading")).to_contain_text("Running")
    before = shown_seq(page)
    wait_until(page, f"Number(document.querySelector('[data-run-seq]').dataset.runSeq) > {before}")
    text = page.locator("#run-text-0").inner_text()
    shown = text.split()
    # After the reload the page holds exactly the first N words, in order: nothing missed, nothing twice.
    assert 0 < len(shown) < CHUNKS
    assert shown == [word(i).strip() for i in range(len(shown))]

    expect(page.locator("#verdict-heading")).to_be_visible(timeout=15_000)
    expect(page.locator("#verdict-heading")).to_contain_text("healthy")
    final_text = page.locator("#run-text-0").inner_text()
    assert final_text.split() == [word(i).strip() for i in range(CHUNKS)]
    assert tick_count(page) >= CHUNKS // 2  # chunks that share a pixel column share a tick
    expect(page.locator("#run-state-heading")).to_contain_text("Finished")
    page.screenshot(path=artifacts / "run-healthy-finished.png", full_page=True)
    assert errors == []


def test_a_silence_then_a_cut_is_shown_and_named_as_the_timeout_the_user_gave(live_app, page, artifacts):
    errors = watch_errors(page)
    start(page, live_app, f"{live_app}/lab/sse/idle-cut/?chunks=8&delay=0.1&gap=3", known_timeouts="3")
    page.wait_for_timeout(1800)
    page.screenshot(path=artifacts / "run-idle-cut-live.png", full_page=True)
    expect(page.locator("#verdict-heading")).to_be_visible(timeout=15_000)
    expect(page.locator("#verdict-heading")).to_contain_text("cut-off")
    causes = page.locator(".verdict-causes")
    expect(causes).to_contain_text("idle-timeout")
    expect(causes).to_contain_text("3 s timeout you said your infrastructure uses")
    assert page.locator("#run-timeline rect.gap").count() >= 1
    page.screenshot(path=artifacts / "run-idle-cut-finished.png", full_page=True)

    page.locator(".verdict-causes a").first.click()
    expect(page.locator("h1")).to_be_visible()
    assert "/causes/" in page.url
    assert errors == []


def test_cancel_stops_a_run_and_the_page_says_so(live_app, page):
    start(page, live_app, f"{live_app}/lab/sse/healthy/?chunks=500&delay=0.05")
    wait_until(page, "Number(document.querySelector('[data-run-seq]').dataset.runSeq) > 10")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#run-state-heading")).to_contain_text("Cancelled", timeout=5000)
    expect(page.locator(".verdict")).to_contain_text("You cancelled this run")
