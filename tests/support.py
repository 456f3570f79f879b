"""What the tests and the benchmarks share: free loopback ports, percentiles, and the real
app served by Daphne in a process of its own."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent

# The real servers the hosted-mode tests talk to.
POSTGRES = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99 is p99); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def app_environment(workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of an app process: this one's, with its own SQLite file and nothing
    inherited that would point it at another database or channel layer."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="troubleshooter.settings",
        SECRET_KEY="live-server-test-key",
        DATABASE_URL=f"sqlite:///{workdir / 'live.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def create_user(env: dict[str, str], username: str, password: str, *, teams: Sequence[str] = (),
                staff: bool = False) -> None:
    """An account in the app's database, as an admin would make it, in the teams named."""
    script = (
        "from django.contrib.auth.models import Group, User;"
        f"user = User.objects.create_user({username!r}, password={password!r}, is_staff={staff!r});"
        f"user.groups.set([Group.objects.get_or_create(name=name)[0] for name in {list(teams)!r}])"
    )
    made = manage(env, "shell", "-v", "0", "-c", script)
    assert made.returncode == 0, made.stderr


def sign_in(client: httpx.Client, username: str, password: str) -> None:
    """Sign in through the login form; the client keeps the session cookie."""
    token = csrf_token(client.get("/accounts/login/").text)
    signed_in = client.post("/accounts/login/", data={
        "csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/runs/",
    })
    assert signed_in.status_code == 302 and signed_in.headers["location"] == "/runs/", signed_in.text[:500]


# The experiment form's fields as a person leaves them, with no header rows.
RUN_FORM = {
    "kind": "single", "method": "GET", "format": "auto", "body_kind": "json", "total_seconds": "30",
    "concurrency": "5", "header-TOTAL_FORMS": "0", "header-INITIAL_FORMS": "0",
}


def csrf_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def run_through_the_form(base: str, fields: dict[str, str], wait: float = 60,
                         account: tuple[str, str] | None = None) -> dict[str, Any]:
    """Start an experiment as a person does, through /runs/new/ (no header rows unless the
    fields say so; signed in first when an account is given), and return its JSON download
    once it is no longer running."""
    with httpx.Client(base_url=base, timeout=10) as client:
        if account is not None:
            sign_in(client, *account)
        token = csrf_token(client.get("/runs/new/").text)
        posted = client.post("/runs/new/", data={"csrfmiddlewaretoken": token, **RUN_FORM, **fields})
        assert posted.status_code == 302, posted.text[:2000]
        run_url = posted.headers["Location"]
        deadline = time.monotonic() + wait
        while True:
            downloaded: dict[str, Any] = client.get(f"{run_url}json/").json()
            if downloaded["state"] != "running" or time.monotonic() > deadline:
                downloaded["page"] = run_url
                return downloaded
            time.sleep(0.2)


def wait_until_healthy(server: subprocess.Popen[bytes], log: Path, client: httpx.Client, seconds: float = 30) -> None:
    """Until the app answers /healthz/ through `client`; its log's end if it dies or never does."""
    deadline = time.monotonic() + seconds
    with client:
        while True:
            try:
                if client.get("/healthz/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)


@contextmanager
def daphne(env: dict[str, str], log: Path, command: Sequence[str] | None = None,
           preexec_fn: object = None, cwd: Path = ROOT) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The app served on a free loopback port until the block ends; yields the process and
    its base URL once /healthz/ answers. `command` replaces Daphne's own (it gets the port)."""
    port = free_port()
    argv = [*command, str(port)] if command else [
        sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "troubleshooter.asgi:application"
    ]
    with log.open("w") as output:
        server = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  preexec_fn=preexec_fn)  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(server, log, httpx.Client(base_url=base))
            yield server, base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
