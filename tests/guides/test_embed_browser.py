"""Embedding in a real browser: a documentation portal on a second loopback origin frames a
cause page and the tree with host.js. The frames render without the site's chrome, follow
their content's height through tab switches and tree steps, send links out of the frame,
and a portal that is not in EMBED_ALLOWED_ORIGINS is refused by frame-ancestors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support import app_environment, daphne, free_port, manage

pytestmark = pytest.mark.browser

CAUSE = "/embed/causes/proxy-buffering/?framework=langchain&section=fix"


class Portal:
    """A stand-in for a docs portal: one page, served from its own loopback origin."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                body = pages.get(self.path.split("?")[0], "not found").encode()
                self.send_response(200 if self.path.split("?")[0] in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def portal_page(app: str, *frames: tuple[str, str]) -> str:
    iframes = "\n".join(
        f'<iframe id="{name}" src="{app}{path}" title="{name}" height="150" style="width: 100%; border: 0;"></iframe>'
        for name, path in frames
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Team docs</title></head>"
        f"<body style='margin: 0 auto; max-width: 60rem; font-family: sans-serif'><h1>Team docs</h1>{iframes}"
        f'<script src="{app}/static/embed/host.js" defer></script></body></html>'
    )


@pytest.fixture(scope="module")
def portals() -> Iterator[tuple[Portal, Portal]]:
    allowed, stranger = Portal(), Portal()
    yield allowed, stranger
    allowed.close()
    stranger.close()


@pytest.fixture(scope="module")
def embedding_app(tmp_path_factory: pytest.TempPathFactory, portals: tuple[Portal, Portal]) -> Iterator[str]:
    """The app, allowing the first portal (not the second) to frame its /embed/ pages."""
    workdir = tmp_path_factory.mktemp("embedding")
    env = app_environment(workdir, EMBED_ALLOWED_ORIGINS=portals[0].origin)
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with daphne(env, workdir / "daphne.log") as (_server, base_url):
        allowed, stranger = portals
        for portal in portals:
            portal.pages["/cause"] = portal_page(base_url, ("cause", CAUSE))
            portal.pages["/both"] = portal_page(base_url, ("cause", CAUSE), ("tree", "/embed/troubleshoot/"))
            portal.pages["/site-page"] = portal_page(base_url, ("page", "/causes/proxy-buffering/"))
            portal.pages["/dark"] = portal_page(base_url, ("cause", CAUSE + "&theme=dark"))
        yield base_url


def frame_height(page: Any, frame_id: str) -> int:
    return int(page.eval_on_selector(f"#{frame_id}", "frame => frame.getBoundingClientRect().height"))


def content_height(frame: Any) -> int:
    return int(frame.evaluate("Math.ceil(document.getElementById('embed-root').getBoundingClientRect().height)"))


def wait_frame_follows_content(page: Any, frame_id: str, timeout: float = 10.0) -> int:
    """Waits until the frame is as tall as what it shows, read twice in a row; returns it.

    Both sides are measured again on every try: right after a tab switch the content may
    still be laying out, and host.js resizes after it.
    """
    inner = page.locator(f"#{frame_id}").element_handle().content_frame()
    deadline = time.monotonic() + timeout
    agreed = 0
    while True:
        height, wanted = frame_height(page, frame_id), content_height(inner)
        agreed = agreed + 1 if abs(height - wanted) <= 1 else 0
        if agreed == 2:
            return height
        assert time.monotonic() < deadline, f"frame {height} px, content {wanted} px"
        page.wait_for_timeout(50)


def wait_sized_to_content(page: Any, frame_id: str) -> int:
    """Waits until host.js has made the frame as tall as what it shows; returns that height."""
    page.frame_locator(f"#{frame_id}").locator("#embed-root").wait_for()
    inner = page.locator(f"#{frame_id}").element_handle().content_frame()
    page.wait_for_function(
        """(id) => {
            const f = document.getElementById(id);
            const sized = Number(f.dataset.troubleshooterHeight);
            return sized > 0 && Math.abs(f.getBoundingClientRect().height - sized) <= 1;
        }""",
        arg=frame_id,
    )
    height = frame_height(page, frame_id)
    assert abs(height - content_height(inner)) <= 1
    return height


def test_a_portal_frames_a_cause_page_without_chrome_sized_to_its_content(page, embedding_app, portals):
    page.goto(f"{portals[0].origin}/cause")
    height = wait_sized_to_content(page, "cause")
    assert height > 400  # the whole fix, not the 150 px the portal gave it
    frame = page.frame_locator("#cause")
    assert frame.locator("header.site").count() == 0 and frame.locator("footer.site").count() == 0
    assert frame.locator("#fix-heading").is_visible()
    assert frame.get_by_role("link", name="Open in the troubleshooter").get_attribute("target") == "_top"


def test_the_frame_follows_a_framework_tab_switch(page, embedding_app, portals):
    page.goto(f"{portals[0].origin}/cause")
    before = wait_sized_to_content(page, "cause")
    frame = page.frame_locator("#cause")
    inner = page.locator("#cause").element_handle().content_frame()
    heights = {}
    for name in ("LlamaIndex", "AutoGen", "LangGraph"):
        frame.locator("nav.tabs a", has_text=name).click()
        frame.locator("nav.tabs a.current", has_text=name).wait_for()
        heights[name] = wait_frame_follows_content(page, "cause")
    # The tab's code differs in length, and the frame followed each one.
    assert len({before, *heights.values()}) > 1
    assert inner.url.startswith(embedding_app + "/embed/causes/proxy-buffering/?framework=langgraph")


def test_the_tree_walks_inside_its_frame_and_grows_to_the_answer(page, embedding_app, portals):
    page.goto(f"{portals[0].origin}/both")
    first = wait_sized_to_content(page, "tree")
    frame = page.frame_locator("#tree")
    inner = page.locator("#tree").element_handle().content_frame()
    for _ in range(8):
        if frame.locator("ol.ranked").count():
            break
        question = frame.locator("#step-heading").inner_text()
        frame.locator("a.answer").first.click()
        frame.locator("#step-heading").filter(has_not_text=question).wait_for()
    assert frame.locator("ol.ranked").count() == 1, "the walk reached its likely causes"
    assert page.url == f"{portals[0].origin}/both"  # the walk never left the portal's page
    page.wait_for_function(
        "([id, want]) => Math.abs(document.getElementById(id).getBoundingClientRect().height - want) <= 1",
        arg=["tree", content_height(inner)],
    )
    assert frame_height(page, "tree") > first + 200
    # A cause's link leaves the frame: the portal's whole window goes to the troubleshooter.
    cause_link = frame.locator("ol.ranked h3 a").first
    assert cause_link.get_attribute("target") == "_top"
    href = cause_link.get_attribute("href")
    assert href.startswith(embedding_app + "/causes/")
    cause_link.click()
    page.wait_for_url(href)
    assert page.locator("header.site").count() == 1


def violations_reported(page: Any, url: str) -> list[str]:
    """What Chromium reports while loading `url`: its console and its log and issue reports
    through the DevTools protocol, where a frame-ancestors refusal is recorded."""
    reports: list[str] = []
    page.on("console", lambda message: reports.append(message.text))
    session = page.context.new_cdp_session(page)
    session.on("Log.entryAdded", lambda event: reports.append(event["entry"]["text"]))
    session.on("Audits.issueAdded", lambda event: reports.append(str(event["issue"])))
    session.send("Log.enable")
    session.send("Audits.enable")
    page.goto(url)
    page.wait_for_timeout(1500)
    return reports


def test_a_portal_not_in_the_list_is_refused_by_frame_ancestors(page, embedding_app, portals):
    reports = violations_reported(page, f"{portals[1].origin}/cause")
    assert any("frame-ancestors" in report for report in reports), reports
    inner = page.locator("#cause").element_handle().content_frame()
    assert inner.locator("#embed-root").count() == 0


def test_the_site_pages_themselves_refuse_even_the_allowed_portal(page, embedding_app, portals):
    reports = violations_reported(page, f"{portals[0].origin}/site-page")
    assert any("frame-ancestors" in report for report in reports), reports
    inner = page.locator("#page").element_handle().content_frame()
    assert inner.locator("header.site").count() == 0


def test_screenshots_of_an_embedded_cause_page_light_dark_and_phone(browser, embedding_app, portals, artifacts):
    for name, path, width, scheme in (
        ("embed-cause-light", "/cause", 1280, "light"),
        ("embed-cause-dark", "/dark", 1280, "light"),
        ("embed-cause-auto-dark", "/cause", 1280, "dark"),
        ("embed-cause-phone", "/cause", 390, "light"),
    ):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{portals[0].origin}{path}")
        wait_sized_to_content(page, "cause")
        inner = page.locator("#cause").element_handle().content_frame()
        overflow = inner.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: the frame scrolls sideways by {overflow} px"
        if "dark" in name:
            background = inner.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background in {"rgb(16, 19, 23)", "rgba(0, 0, 0, 0)"}, background
            text = inner.evaluate("getComputedStyle(document.body).color")
            assert text == "rgb(230, 233, 238)", text
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        context.close()
