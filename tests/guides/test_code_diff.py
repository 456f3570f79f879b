"""Broken and fixed code as an aligned split view that wraps long lines, or as one unified
column; the reader's choice is remembered per browser, and copying takes the whole file."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import expect

from troubleshooter.guides.content import get_library
from troubleshooter.guides.rendering import code_diff

# A LangGraph app behind a Kubernetes ingress: the walk of the incident in issue 13.
INGRESS_LEAF = "/troubleshoot/?framework=langgraph&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=ingress"
CAUSE_PAGE = "/causes/proxy-buffering/?framework=langgraph"


def texts(lines) -> list[str]:
    """Plain text of highlighted lines, for comparing with the source."""
    return [html.unescape(re.sub(r"<[^>]+>", "", line.html)) if line else None for line in lines]


# --- aligning the two files -------------------------------------------------------------


def test_a_changed_line_faces_its_fixed_counterpart_even_after_lines_were_added_above_it():
    broken = "import json\n\napp = 1\n\nreturn respond(events)\n"
    fixed = "import json\n\nHEADERS = {}\n\napp = 1\n\nreturn respond(events, headers=HEADERS)\n"
    diff = code_diff("broken.py", broken, "fixed.py", fixed)
    row = next(r for r in diff.split if r.broken and "respond" in r.broken.html)
    assert (row.broken.number, row.fixed.number) == (5, 7)
    assert row.changed


def test_an_inserted_line_leaves_a_blank_on_the_broken_side():
    diff = code_diff("broken.py", "a = 1\nb = 2\n", "fixed.py", "a = 1\nnew = 0\nb = 2\n")
    assert [(r.broken and r.broken.number, r.fixed and r.fixed.number) for r in diff.split] == [
        (1, 1), (None, 2), (2, 3)
    ]


def test_a_removed_line_leaves_a_blank_on_the_fixed_side():
    diff = code_diff("broken.py", "a = 1\nold()\nb = 2\n", "fixed.py", "a = 1\nb = 2\n")
    assert [(r.broken and r.broken.number, r.fixed and r.fixed.number) for r in diff.split] == [
        (1, 1), (2, None), (3, 2)
    ]


def test_inside_a_rewritten_block_each_line_faces_the_line_most_like_it():
    broken = "start()\nfoo(1)\nbar(2)\nend()\n"
    fixed = "start()\nsetup_everything()\nfoo(1, 2)\nflush_the_buffers()\nbar(2, 3)\nend()\n"
    diff = code_diff("broken.py", broken, "fixed.py", fixed)
    pairs = [(b, f) for b, f in zip(texts(r.broken for r in diff.split), texts(r.fixed for r in diff.split), strict=True)]
    assert ("foo(1)", "foo(1, 2)") in pairs
    assert ("bar(2)", "bar(2, 3)") in pairs
    assert (None, "setup_everything()") in pairs and (None, "flush_the_buffers()") in pairs


def test_the_unified_view_lists_a_changes_removed_lines_then_its_added_lines_with_both_numbers():
    diff = code_diff("broken.py", "a = 1\nb = 2\nc = 3\n", "fixed.py", "a = 1\nb = 20\nnew = 0\nc = 3\n")
    assert [(r.sign, r.broken_number, r.fixed_number) for r in diff.unified] == [
        (" ", 1, 1), ("-", 2, None), ("+", None, 2), ("+", None, 3), (" ", 3, 4)
    ]
    assert (diff.removed_count, diff.added_count) == (1, 2)


lines = st.lists(st.sampled_from(["a = 1", "b = 2", "call(a)", "call(a, b)", "", "return x"]), max_size=12)


@given(lines, lines)
def test_both_views_show_every_line_of_both_files_once_and_in_order(before, after):
    broken, fixed = "\n".join(before) + "\n", "\n".join(after) + "\n"
    diff = code_diff("broken.py", broken, "fixed.py", fixed)
    broken_count, fixed_count = len(diff.broken.lines), len(diff.fixed.lines)
    assert [r.broken.number for r in diff.split if r.broken] == list(range(1, broken_count + 1))
    assert [r.fixed.number for r in diff.split if r.fixed] == list(range(1, fixed_count + 1))
    assert [r.broken_number for r in diff.unified if r.broken_number] == list(range(1, broken_count + 1))
    assert [r.fixed_number for r in diff.unified if r.fixed_number] == list(range(1, fixed_count + 1))
    broken_lines, fixed_lines = broken.rstrip("\n").split("\n"), fixed.rstrip("\n").split("\n")
    for row in diff.split:
        if not row.changed:  # a row marked unchanged holds the same line on both sides
            assert broken_lines[row.broken.number - 1] == fixed_lines[row.fixed.number - 1]


# --- the page -----------------------------------------------------------------------------


def test_a_fix_renders_both_views_and_each_copy_button_carries_its_whole_file(client):
    page = client.get(CAUSE_PAGE).content.decode()
    pair = get_library().causes["proxy-buffering"].pairs["langgraph"]
    assert 'class="diff-split' in page and 'class="diff-unified' in page
    assert 'data-diff-view="split"' in page and 'data-diff-view="unified"' in page
    copied = [html.unescape(text) for text in re.findall(r'data-copy-text="([^"]*)"', page)]
    assert pair.diff.broken.text in copied and pair.diff.fixed.text in copied
    assert "<del" in page and "<ins" in page  # removed and added lines say so to screen readers


# --- in the browser ---------------------------------------------------------------------

OFF_EDGE = """(selector) => {
  // Every changed line's text must end inside its own cell, and every cell inside the code
  // block, with nothing in the block or the page scrolled sideways.
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) problems.push(`page ${page.scrollWidth} > ${page.clientWidth}`);
  const cells = [...document.querySelectorAll(selector)].filter((cell) => cell.offsetParent !== null);
  for (const cell of cells) {
    const block = cell.closest(".diff-split, .diff-unified");
    if (block.scrollWidth > block.clientWidth) problems.push(`block scrolls: ${block.scrollWidth} > ${block.clientWidth}`);
    // Measured glyph by glyph: a space that hangs at the end of a wrapped line shows nothing.
    let right = 0;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i++) {
        if (/\\s/.test(node.data[i])) continue;
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        right = Math.max(right, range.getBoundingClientRect().right);
      }
    }
    const box = cell.getBoundingClientRect();
    const frame = block.getBoundingClientRect();
    if (right > box.right + 0.5 || box.right > frame.right + 0.5) {
      problems.push(`${cell.textContent.slice(0, 40)}: text ends ${right}, cell ${box.right}, block ${frame.right}`);
    }
  }
  return {count: cells.length, problems};
}"""


def open_page(browser, base, path, width, view=None, scheme="light"):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    if view:
        context.add_init_script(f"localStorage.setItem('diffView', '{view}')")
    page = context.new_page()
    page.goto(base + path)
    return context, page


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 1280, 390])
@pytest.mark.parametrize("view", ["split", "unified"])
def test_every_changed_line_is_visible_without_scrolling_sideways(live_app, browser, artifacts, width, view):
    for scheme in ("light", "dark"):
        context, page = open_page(browser, live_app, INGRESS_LEAF, width, view, scheme)
        try:
            diff = page.locator(".leaf-fix .diff").last
            expect(diff.locator(f".diff-{view}")).to_be_visible()
            result = page.evaluate(OFF_EDGE, ".diff :is(ins, del)")
            assert result["count"] >= 2 and result["problems"] == []
            assert "X-Accel-Buffering" in diff.locator(f".diff-{view} ins").first.text_content()
            diff.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"diff-{view}-{width}-{scheme}.png"))
        finally:
            context.close()


@pytest.mark.browser
def test_in_the_split_view_a_changed_line_sits_level_with_its_counterpart(live_app, browser):
    pair = get_library().causes["proxy-buffering"].pairs["langgraph"]
    broken_number = next(n for n, line in enumerate(pair.diff.broken.text.split("\n"), 1) if "return Stream" in line)
    fixed_number = next(n for n, line in enumerate(pair.diff.fixed.text.split("\n"), 1) if "return Stream" in line)
    assert broken_number != fixed_number  # lines were added above it
    context, page = open_page(browser, live_app, CAUSE_PAGE, 1280, "split")
    try:
        row = page.locator(".diff-split .row", has=page.locator("del", has_text="return StreamingResponse"))
        broken, fixed = row.locator("del"), row.locator("ins")
        expect(fixed).to_contain_text("headers=STREAM_HEADERS")
        assert broken.bounding_box()["y"] == fixed.bounding_box()["y"]
        assert row.locator(".ln").first.text_content().split() == [str(broken_number), "−"]
        assert row.locator(".ln").last.text_content().split() == [str(fixed_number), "+"]
    finally:
        context.close()


@pytest.mark.browser
def test_the_chosen_view_is_remembered_on_the_next_page_and_after_a_reload(live_app, browser):
    context, page = open_page(browser, live_app, CAUSE_PAGE, 1366)
    try:
        split, unified = page.locator(".diff-split").first, page.locator(".diff-unified").first
        expect(split).to_be_visible()  # side by side is the default on a wide screen
        expect(unified).to_be_hidden()
        page.get_by_role("button", name="One column").first.click()
        expect(unified).to_be_visible()
        expect(split).to_be_hidden()
        expect(page.get_by_role("button", name="One column").first).to_have_attribute("aria-pressed", "true")

        page.goto(live_app + INGRESS_LEAF)
        expect(page.locator(".leaf-fix .diff-unified").last).to_be_visible()
        expect(page.locator(".leaf-fix .diff-split").last).to_be_hidden()
        page.reload()
        expect(page.locator(".leaf-fix .diff-unified").last).to_be_visible()
        page.get_by_role("button", name="Side by side").last.click()
        expect(page.locator(".leaf-fix .diff-split").last).to_be_visible()
    finally:
        context.close()


@pytest.mark.browser
def test_a_phone_starts_on_the_unified_view(live_app, browser):
    context, page = open_page(browser, live_app, CAUSE_PAGE, 390)
    try:
        expect(page.locator(".diff-unified").first).to_be_visible()
        expect(page.get_by_role("button", name="One column").first).to_have_attribute("aria-pressed", "true")
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("view", ["split", "unified"])
def test_copy_takes_the_whole_original_file_in_either_view(live_app, browser, view):
    context, page = open_page(browser, live_app, CAUSE_PAGE, 1366, view)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app)
    pair = get_library().causes["proxy-buffering"].pairs["langgraph"]
    try:
        buttons = page.locator("#code-panel button.copy")
        buttons.nth(0).click()
        assert page.evaluate("navigator.clipboard.readText()") == pair.diff.broken.text
        buttons.nth(1).click()
        assert page.evaluate("navigator.clipboard.readText()") == pair.diff.fixed.text
    finally:
        context.close()
