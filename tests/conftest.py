from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support import POSTGRES, ROOT, app_environment, daphne, manage
from troubleshooter.guides import content

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def fresh_content_cache() -> Iterator[None]:
    content.reset_cache()
    yield
    content.reset_cache()


@pytest.fixture
def guides_copy(tmp_path: Path, settings) -> Path:
    """A private copy of the real guides that a test may break."""
    copy = tmp_path / "guides"
    shutil.copytree(ROOT / "guides", copy)
    settings.GUIDES_DIR = copy
    return copy


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app served by Daphne on a free loopback port, as `make run` serves it."""
    workdir = tmp_path_factory.mktemp("live")
    env = app_environment(workdir)
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with daphne(env, workdir / "daphne.log") as (_server, base_url):
        yield base_url


@pytest.fixture
def in_memory_channel_layer(settings) -> Iterator[None]:
    """A channel layer of the test's own: nothing left over from another test."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "troubleshooter.channel_layer.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running in this thread while
    # it is open, and tests in other modules call asyncio.run().
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A PostgreSQL database of its own on the real server, dropped afterwards."""
    name = f"troubleshooter_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
