"""The deploy kit works as documented: real nginx with deploy/nginx.conf in front of two
Daphne workers on unix sockets, PostgreSQL and Redis, with the documented hosted settings."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets

from tests.kit import NGINX, insecure_tls, kit_deployment, write_nginx
from tests.support import REDIS, ROOT, RUN_FORM, app_environment, create_user, csrf_token, daphne, manage, sign_in

pytestmark = pytest.mark.hosted

HOSTED_SETTINGS = ROOT / "deploy" / "environment.example"


def documented_settings() -> dict[str, str]:
    """The variables deploy/environment.example sets (its commented lines are options)."""
    values = {}
    for line in HOSTED_SETTINGS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_every_setting_the_app_reads_is_documented_in_the_environment_reference():
    read = set(re.findall(r'(?:environ\.get|env_flag|env_list|networks_setting)\("([A-Z_]+)"',
                          (ROOT / "troubleshooter" / "settings.py").read_text()
                          + (ROOT / "troubleshooter" / "environment.py").read_text()))
    documented = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", HOSTED_SETTINGS.read_text(), re.MULTILINE))
    development_only = {"DEBUG", "DATA_DIR", "GUIDES_DIR", "DB_CONN_MAX_AGE", "PROBE_ALLOW_PRIVATE"}
    assert read - documented - development_only == set()


def test_the_deploy_check_is_clean_with_the_documented_hosted_settings(tmp_path, scratch_database):
    env = app_environment(tmp_path, **{**documented_settings(), "DATABASE_URL": scratch_database, "REDIS_URL": REDIS,
                                       "STATIC_ROOT": str(tmp_path / "static")})
    checked = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_the_nginx_site_passes_nginx_own_check(tmp_path):
    conf = write_nginx(tmp_path, 8443, 8080, workers=2)
    checked = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


async def watch_until_final(url: str, origin: str, cookie: str, seen: list[str], wait: float) -> str:
    """Follow a run's page socket; on a dropped connection open it again, as the page's
    htmx extension does. Returns the final update (the one that replaces the live run)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            async with websockets.connect(url, origin=origin, additional_headers={"Cookie": cookie},
                                          ssl=insecure_tls()) as socket:
                async for message in socket:
                    seen.append(str(message))
                    if 'id="run-live"' in str(message):
                        return str(message)
        except (OSError, websockets.ConnectionClosed, websockets.InvalidStatus):
            await asyncio.sleep(0.3)
    raise AssertionError(f"no final update within {wait} s; last: {seen[-1:]}")


def test_through_nginx_a_run_is_watched_interrupted_by_a_killed_worker_shared_and_pruned(tmp_path, scratch_database):
    """Sign in, start a run and watch it over the websocket, all through nginx; kill the
    worker that runs it; the other worker tells the page it was interrupted."""
    lab_env = app_environment(tmp_path / "lab", LAB_ENABLED="1", DATABASE_URL=f"sqlite:///{tmp_path / 'lab.db'}")
    (tmp_path / "lab").mkdir()
    with daphne(lab_env, tmp_path / "lab.log") as (_, lab), \
            kit_deployment(tmp_path, scratch_database, REDIS, LAB_ENABLED="0", PROBE_ALLOW_PRIVATE="1",
                           AUTH_TRUSTED_HEADER="X-Forwarded-User", AUTH_PROXY_NETWORKS="unix") as site:
        create_user(site.env, "alice", "correct horse battery")

        # Plain HTTP only redirects; static files come from nginx, cached for good.
        assert httpx.get(site.plain + "/runs/").headers["location"] == site.base.replace(
            f":{site.base.rsplit(':', 1)[1]}", "") + "/runs/"
        with site.client() as browser:
            home = browser.get("/")
            stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', home.text).group(1)
            served = browser.get(stylesheet)
            assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
            assert "strict-transport-security" in home.headers

            # A client cannot sign itself in with the proxy's header: nginx drops it.
            forged = browser.get("/runs/", headers={"X-Forwarded-User": "alice"})
            assert forged.status_code == 302 and forged.headers["location"].startswith("/accounts/login/")

            sign_in(browser, "alice", "correct horse battery")
            token = csrf_token(browser.get("/runs/new/").text)
            started = browser.post("/runs/new/", data={
                **RUN_FORM, "csrfmiddlewaretoken": token, "format": "sse", "total_seconds": "120",
                "url": f"{lab}/lab/sse/healthy/?chunks=2000&delay=0.05",
            })
            assert started.status_code == 302, started.text[:2000]
            run_path = started.headers["location"]
            run_id = run_path.strip("/").rsplit("/", 1)[1]
            cookie = f"sessionid={browser.cookies['sessionid']}"

        socket_url = site.base.replace("https", "wss", 1) + run_path + "ws/?after=0"

        async def scenario() -> tuple[list[str], str, float]:
            seen: list[str] = []
            async with websockets.connect(socket_url, origin=site.base, additional_headers={"Cookie": cookie},
                                          ssl=insecure_tls()) as socket:
                while len(seen) < 3:
                    seen.append(str(await asyncio.wait_for(socket.recv(), 10)))
            with psycopg.connect(scratch_database) as conn:
                pid = conn.execute("SELECT w.pid FROM runs_run r JOIN runs_worker w ON w.id = r.worker_id "
                                   "WHERE r.id = %s", [run_id]).fetchone()[0]
            killed = site.worker_by_pid(pid)
            site.kill(killed)
            killed_at = time.monotonic()
            final = await watch_until_final(socket_url, site.base, cookie, seen, wait=30)
            return seen, final, time.monotonic() - killed_at

        seen, final, noticed = asyncio.run(scenario())
        print(f"interrupted shown {noticed:.1f} s after the kill")
        assert "Interrupted" in final
        assert re.search(r'data-run-seq="(\d+)"', seen[0])
        with site.client(cookies={"sessionid": cookie.split("=", 1)[1]}) as browser:
            page = browser.get(run_path)
            assert page.status_code == 200 and "Interrupted" in page.text
            assert browser.get(run_path + "json/").json()["state"] == "interrupted"
            # Sharing, through nginx: a stranger reads the run by its link alone.
            token = csrf_token(page.text)
            browser.post(run_path + "share/", data={"csrfmiddlewaretoken": token})
            shared_path = re.search(r'value="https://[^/]+(/runs/shared/[^"]+)"', browser.get(run_path).text).group(1)
        with site.client() as stranger:
            assert stranger.get(run_path).status_code == 302  # to the sign-in page
            assert "A shared run, read-only" in stranger.get(shared_path).text

        # Retention, on this deployment's database: an old run goes, with its events.
        with psycopg.connect(scratch_database) as conn:
            conn.execute("UPDATE runs_run SET finished = now() - interval '40 days' WHERE id = %s", [run_id])
        pruned = manage(site.env, "pruneruns")
        assert "Deleted 1 runs" in pruned.stdout, pruned.stderr
        with site.client() as stranger:
            assert stranger.get(shared_path).status_code == 404


@pytest.fixture(autouse=True)
def nginx_is_installed() -> None:
    assert Path(NGINX).exists(), "nginx comes from apt-get (make test installs it)"
