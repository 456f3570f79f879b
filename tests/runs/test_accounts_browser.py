"""Signing in, choosing a team and sharing a run, in Chromium at desktop and phone widths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import app_environment, create_user, daphne, manage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def private_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("private")
    env = app_environment(workdir, REQUIRE_LOGIN_FOR_RUNS="1", LAB_ENABLED="1")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    create_user(env, "alice", "correct horse battery", teams=["sre"])
    with daphne(env, workdir / "daphne.log") as (_, base):
        yield base


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width,scheme", [(1366, "light"), (390, "dark")])
def test_a_person_signs_in_starts_a_run_for_their_team_and_shares_it_read_only(
    browser, private_app, artifacts, width, scheme
):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{private_app}/runs/new/?demo=healthy")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert fits_the_width(page)
    page.screenshot(path=artifacts / f"sign-in-{width}-{scheme}.png", full_page=True)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/runs/new/?demo=healthy")

    account = page.locator("header.site .account")
    assert account.is_visible() and "alice" in account.inner_text()
    page.get_by_label("Visible to").select_option(label="Me and the team sre")
    assert fits_the_width(page)
    page.get_by_role("button", name="Start the experiment").click()
    page.wait_for_selector('[data-run-state="finished"]', timeout=30_000)

    page.get_by_role("button", name="Create a share link").click()
    link = page.locator("#share-url")
    link.wait_for()
    shared_url = link.input_value()
    assert "/runs/shared/" in shared_url
    assert page.get_by_text("Your team sre sees this run").is_visible()
    box, viewport = link.bounding_box(), page.viewport_size
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    assert fits_the_width(page)
    page.locator("#share").screenshot(path=artifacts / f"share-{width}-{scheme}.png")

    stranger = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    shared = stranger.new_page()
    shared.goto(shared_url)
    assert shared.get_by_text("A shared run, read-only").is_visible()
    assert shared.get_by_role("button", name="Run again").count() == 0
    assert shared.locator("#share").count() == 0
    shared.screenshot(path=artifacts / f"shared-run-{width}-{scheme}.png", full_page=True)
    stranger.close()
    context.close()


@pytest.mark.parametrize("width,scheme", [(1366, "light"), (390, "dark")])
def test_a_person_makes_a_token_from_the_account_menu_copies_it_and_revokes_it(
    browser, private_app, artifacts, width, scheme
):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=private_app)
    page = context.new_page()
    page.goto(f"{private_app}/accounts/login/?next=/causes/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/causes/")
    page.locator("header.site .account").get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/accounts/tokens/")

    page.get_by_label("What it is for").fill(f"browser test at {width} px")
    page.get_by_role("button", name="Make a token").click()
    token = page.locator("#new-token")
    token.wait_for()
    page.locator(".new-token button.copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == token.inner_text()
    assert fits_the_width(page)
    page.screenshot(path=artifacts / f"api-tokens-{width}-{scheme}.png", full_page=True)

    # Every token's Revoke button sits inside the page, not past its right edge.
    revoke = page.get_by_role("button", name=f"Revoke browser test at {width} px")
    box, viewport = revoke.bounding_box(), page.viewport_size
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    revoke.click()
    page.wait_for_url("**/accounts/tokens/")
    assert page.get_by_role("button", name=f"Revoke browser test at {width} px").count() == 0
    context.close()
