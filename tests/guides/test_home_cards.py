"""Framework cards (home page, framework list) keep their long API names inside the card."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from troubleshooter.guides.content import get_library
from troubleshooter.guides.rendering import breakable_code

TEXT_OUTSIDE = """() => {
  // Every line box of every card's text must sit inside that card's border.
  const problems = [];
  for (const card of document.querySelectorAll(".tile")) {
    const frame = card.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(card);
    for (const box of range.getClientRects()) {
      if (box.width === 0) continue;
      if (box.left < frame.left - 0.5 || box.right > frame.right + 0.5) {
        problems.push(`${card.textContent.trim().slice(0, 30)}: text ${box.left}-${box.right}, card ${frame.left}-${frame.right}`);
      }
    }
  }
  return {cards: document.querySelectorAll(".tile").length, problems};
}"""


def test_a_long_call_may_break_after_a_parenthesis_or_comma_and_before_a_dot():
    assert breakable_code("index.as_query_engine(streaming=True)") == "index<wbr>.as_query_engine(<wbr>streaming=True)"
    assert breakable_code('f(a, "<b>")') == 'f(<wbr>a,<wbr> "&lt;b&gt;")'
    assert breakable_code("3.5") == "3.5"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path, name", [("/", "home"), ("/guides/", "frameworks")])
def test_each_framework_cards_text_stays_inside_the_card(live_app, browser, artifacts, width, scheme, path, name):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(live_app + path)
        tiles = page.locator(".tile")
        expect(tiles.first).to_be_visible()
        result = page.evaluate(TEXT_OUTSIDE)
        assert result["cards"] == len(get_library().frameworks)
        assert result["problems"] == []
        tiles.first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"{name}-cards-{width}-{scheme}.png"))
    finally:
        context.close()


@pytest.mark.browser
def test_every_streaming_api_of_a_framework_is_named_on_its_card(live_app, page):
    page.goto(live_app + "/")
    for framework in get_library().frameworks.values():
        card = page.locator(".tile", has_text=framework.name)
        for api in framework.streaming_apis[:2]:
            expect(card.locator("code", has_text=api)).to_have_count(1)
