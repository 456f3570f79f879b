"""The arrival timeline of a comparison, in Chromium: lanes on their own clocks, whole
labels, end marks in the verdict's colours, and text that stays legible on a phone."""

from __future__ import annotations

import re

import pytest

from tests.runs.test_run_browser import wait_until

pytestmark = pytest.mark.browser


def visible_svg(page) -> str:
    return "#run-timeline svg.wide" if page.viewport_size["width"] > 600 else "#run-timeline svg.narrow"


@pytest.fixture
def finished_comparison(live_app, page):
    page.goto(live_app + "/runs/new/?demo=compare")
    page.get_by_role("button", name="Start the experiment").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}/$"))
    wait_until(page, "document.querySelector('[data-run-state]')?.dataset.runState === 'finished'", 30_000)
    return page


@pytest.mark.parametrize("width,scheme", [(1366, "light"), (390, "dark")])
def test_a_comparisons_lanes_start_together_carry_whole_labels_and_end_in_the_verdicts_colours(
    finished_comparison, artifacts, width, scheme
):
    page = finished_comparison
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    svg = page.locator(visible_svg(page))
    assert svg.is_visible()

    starts = [float(line.get_attribute("points").split()[0].split(",")[0]) for line in svg.locator("polyline.bytes").all()]
    assert len(starts) == 2 and starts[0] == starts[1]  # each lane from its own request

    labels = svg.locator("text.lane-label").all()
    assert labels[1].text_content().startswith("through the proxy")  # whole, not "through the pro…"
    box, frame = labels[1].bounding_box(), svg.bounding_box()
    assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1

    marks = [mark.get_attribute("class") for mark in svg.locator("line.end").all()]
    assert marks == ["end end-ok", "end end-problem"]  # direct healthy, the proxy buffered

    # Legible: the axis and lane text is drawn at 10 px or more on screen at either width.
    for text in (svg.locator("text.axis").first, labels[0]):
        assert text.bounding_box()["height"] >= 10, text.text_content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#run-timeline").screenshot(path=artifacts / f"timeline-compare-{width}-{scheme}.png")
