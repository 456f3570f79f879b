"""Run limits hold under bursts: the check and the claim are one step, in one worker and
across workers."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

import httpx
import pytest

from tests.support import REDIS, RUN_FORM, app_environment, csrf_token, daphne, manage


async def post_at_once(bases: list[str], count: int, target: str) -> list[int]:
    clients = [httpx.AsyncClient(base_url=base, timeout=60) for base in bases]
    try:
        tokens = [csrf_token((await client.get("/runs/new/")).text) for client in clients]
        posts = [
            clients[index % len(clients)].post(
                "/runs/new/", data={**RUN_FORM, "format": "sse", "url": target,
                                    "csrfmiddlewaretoken": tokens[index % len(clients)]}
            )
            for index in range(count)
        ]
        return [response.status_code for response in await asyncio.gather(*posts)]
    finally:
        for client in clients:
            await client.aclose()


def test_sixteen_posts_at_once_from_one_address_start_exactly_the_per_client_limit(tmp_path):
    env = app_environment(tmp_path, LAB_ENABLED="1", RUNS_MAX_ACTIVE_PER_CLIENT="3", RUNS_MAX_ACTIVE="20")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with daphne(env, tmp_path / "daphne.log") as (_, base):
        statuses = asyncio.run(post_at_once([base], 16, f"{base}/lab/sse/healthy/?chunks=100&delay=0.05"))
    assert sorted(statuses) == [302] * 3 + [429] * 13


@pytest.mark.hosted
def test_eighty_posts_across_two_workers_start_exactly_the_deployment_limit(tmp_path, scratch_database):
    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS, LAB_ENABLED="1",
                          PROBE_ALLOW_PRIVATE="1", RUNS_MAX_ACTIVE="20", RUNS_MAX_ACTIVE_PER_CLIENT="100",
                          REQUIRE_LOGIN_FOR_RUNS="0")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with ExitStack() as workers:
        bases = [workers.enter_context(daphne(env, tmp_path / f"worker{n}.log"))[1] for n in (1, 2)]
        target = f"{bases[0]}/lab/sse/healthy/?chunks=200&delay=0.05"
        statuses = asyncio.run(post_at_once(bases, 80, target))
    assert sorted(statuses) == [302] * 20 + [429] * 60
