"""/healthz/ says the process lives; /readyz/ says its database and channel layer answer."""

from __future__ import annotations

import httpx
import pytest

from tests.support import app_environment, daphne, free_port, manage


@pytest.mark.django_db
def test_an_embedded_app_is_alive_and_ready(client):
    assert client.get("/healthz/").json() == {"status": "ok"}
    ready = client.get("/readyz/")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


@pytest.mark.hosted
def test_a_worker_whose_redis_is_gone_is_alive_but_not_ready(tmp_path, scratch_database):
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=nothing_there)
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with daphne(env, tmp_path / "daphne.log") as (_, base):
        alive = httpx.get(f"{base}/healthz/", timeout=10)
        ready = httpx.get(f"{base}/readyz/", timeout=10)
    assert alive.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["database"] == "ok"
    assert body["channel_layer"].startswith(("unreachable", "no answer"))
