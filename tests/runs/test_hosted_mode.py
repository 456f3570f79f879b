"""The hosted parts for real: PostgreSQL through DATABASE_URL, Redis through REDIS_URL."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid

import httpx
import psycopg
import pytest
import websockets

from tests.support import (
    POSTGRES,
    REDIS,
    RUN_FORM,
    app_environment,
    create_user,
    csrf_token,
    daphne,
    manage,
    run_through_the_form,
    sign_in,
)

pytestmark = pytest.mark.hosted


def test_the_app_migrates_and_stores_feedback_in_postgresql(tmp_path, scratch_database):
    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS)
    migrate = manage(env, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    store = manage(
        env, "shell", "-v", "0", "-c",
        "from troubleshooter.guides.models import Feedback;"
        "Feedback.objects.create(cause_id='idle-timeout', framework_id='langchain', solved=True);"
        "from django.db import connection; print(connection.vendor, Feedback.objects.count())",
    )
    assert store.returncode == 0, store.stderr
    assert store.stdout.split() == ["postgresql", "1"]
    with psycopg.connect(scratch_database) as conn:
        row = conn.execute("SELECT cause_id, framework_id, solved FROM guides_feedback").fetchone()
    assert row == ("idle-timeout", "langchain", True)


def test_the_deploy_check_passes_with_the_hosted_settings(tmp_path, scratch_database):
    env = app_environment(
        tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS, SECRET_KEY="k" * 64,
    )
    result = manage(env, "check")
    assert result.returncode == 0, result.stderr


def test_messages_cross_the_redis_channel_layer_between_two_layer_instances():
    from channels_redis.core import RedisChannelLayer

    async def round_trip() -> dict:
        sender = RedisChannelLayer(hosts=[REDIS])
        receiver = RedisChannelLayer(hosts=[REDIS])
        group = f"test-{uuid.uuid4().hex}"
        channel = await receiver.new_channel()
        await receiver.group_add(group, channel)
        await sender.group_send(group, {"type": "run.event", "seq": 7})
        message = await asyncio.wait_for(receiver.receive(channel), timeout=5)
        await receiver.group_discard(group, channel)
        await sender.flush()
        return message

    assert asyncio.run(round_trip()) == {"type": "run.event", "seq": 7}


def test_an_idle_viewer_outlasts_the_redis_clients_default_read_timeout():
    """redis-py 8 gives up reading after 5 s by default; the layer the settings build must
    let a viewer wait quietly for longer (a stream with a long silence)."""
    from troubleshooter.settings import redis_channel_layer

    backend = redis_channel_layer(REDIS)

    async def wait_quietly() -> str:
        from channels_redis.core import RedisChannelLayer

        quiet = RedisChannelLayer(**backend["CONFIG"])
        channel = await quiet.new_channel()
        try:
            await asyncio.wait_for(quiet.receive(channel), timeout=7)
        except TimeoutError:
            return "still waiting"
        finally:
            await quiet.flush()
        return "received"

    assert asyncio.run(wait_quietly()) == "still waiting"


def test_a_run_started_on_one_worker_is_watched_and_cancelled_from_another(tmp_path, scratch_database):
    """Two Daphne workers on one PostgreSQL and one Redis, as a team would host it: signed
    in on one, the same session watches and cancels on the other; a stranger's socket is
    refused."""
    env = app_environment(
        tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS, LAB_ENABLED="1", PROBE_ALLOW_PRIVATE="1",
    )
    assert manage(env, "migrate", "--noinput").returncode == 0
    create_user(env, "alice", "correct horse battery")
    with daphne(env, tmp_path / "first.log") as (_first, first_base), \
            daphne(env, tmp_path / "second.log") as (_second, second_base):
        with httpx.Client(base_url=first_base) as signing_in:
            sign_in(signing_in, "alice", "correct horse battery")
            session = {"sessionid": signing_in.cookies["sessionid"]}

        async def scenario() -> tuple[list[str], dict]:
            async with httpx.AsyncClient(base_url=first_base, cookies=session) as client:
                token = csrf_token((await client.get("/runs/new/")).text)
                started = await client.post("/runs/new/", data={
                    **RUN_FORM, "csrfmiddlewaretoken": token, "format": "sse",
                    "url": f"{first_base}/lab/sse/healthy/?chunks=400&delay=0.05", "total_seconds": "60",
                    "header-TOTAL_FORMS": "1",
                    "header-0-name": "Authorization", "header-0-value": "Bearer sk-hosted-secret",
                })
                assert started.status_code == 302, started.text
                run_path = started.headers["location"]
            messages: list[str] = []
            socket_url = second_base.replace("http", "ws", 1) + run_path + "ws/?after=0"
            with pytest.raises(websockets.InvalidStatus) as refused:  # closed before it was accepted
                async with websockets.connect(socket_url, origin=second_base):
                    pass
            assert refused.value.response.status_code == 403
            cookie = {"Cookie": f"sessionid={session['sessionid']}"}
            async with websockets.connect(socket_url, origin=second_base, additional_headers=cookie) as viewer:
                while len(messages) < 5:
                    messages.append(await asyncio.wait_for(viewer.recv(), 5))
                async with httpx.AsyncClient(base_url=second_base, cookies=session) as other:
                    token = csrf_token((await other.get(run_path)).text)
                    cancelled = await other.post(run_path + "cancel/", data={"csrfmiddlewaretoken": token})
                    assert cancelled.status_code == 302
                async for message in viewer:
                    messages.append(message)
                async with httpx.AsyncClient(base_url=second_base, cookies=session) as other:
                    report = (await other.get(run_path + "json/")).json()
            return messages, report

        messages, report = asyncio.run(asyncio.wait_for(scenario(), 60))
    seqs = [int(re.search(r'data-run-seq="(\d+)"', message).group(1)) for message in messages]
    assert seqs == sorted(seqs) and seqs[-1] > seqs[0]  # woken through Redis, in order
    assert 'id="run-live"' in messages[-1] and "Cancelled" in messages[-1]
    assert report["state"] == "cancelled"
    assert report["lanes"][0]["record"]["ending"]["kind"] == "cancelled"
    with psycopg.connect(scratch_database) as conn:
        stored = conn.execute(
            "SELECT string_agg(events::text, '') FROM runs_runevents"
        ).fetchone()[0] + conn.execute("SELECT string_agg(plan::text || report::text, '') FROM runs_run").fetchone()[0]
    assert "sk-hosted-secret" not in stored
    assert "[secret]" in stored


def test_odd_bytes_in_a_stream_are_stored_in_postgresql_and_the_run_ends_with_its_verdict(tmp_path, scratch_database):
    """A NUL, terminal escapes, a lone surrogate and bytes that are not UTF-8: PostgreSQL
    refuses the first and third in JSON, and the run used to end "interrupted" with nothing."""
    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS, LAB_ENABLED="1",
                          PROBE_ALLOW_PRIVATE="1", REQUIRE_LOGIN_FOR_RUNS="0")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with daphne(env, tmp_path / "daphne.log") as (_, base):
        report = run_through_the_form(base, {"kind": "single", "url": f"{base}/lab/sse/odd-bytes/?delay=0.02"})
        page = httpx.get(base + report["page"], timeout=10)
    assert report["state"] == "finished" and report["outcome"] == "healthy"
    texts = [event.get("text", "") for event in report["lanes"][0]["record"]["events"]]
    assert texts[:5] == ["a\u2400b ", "\x1b[31mred\x1b[0m ", "\x1b]0;owned\x07 ", "\ufffd ", "\ufffd\ufffd "]
    assert page.status_code == 200 and "a\u2400b" in page.text
    with psycopg.connect(scratch_database) as conn:
        stored = conn.execute("SELECT string_agg(events::text, '') FROM runs_runevents").fetchone()[0]
    assert "a\u2400b" in stored


def test_a_burst_of_200_form_posts_holds_at_most_the_configured_database_connections(tmp_path, scratch_database):
    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS, LAB_ENABLED="1",
                          PROBE_ALLOW_PRIVATE="1", DB_POOL_SIZE="8", RUNS_MAX_ACTIVE_PER_CLIENT="500",
                          REQUIRE_LOGIN_FOR_RUNS="0",
                          RUNS_MAX_ACTIVE="500")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    database = scratch_database.rpartition("/")[2]
    held: list[int] = []
    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            while not done.is_set():
                count = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
                ).fetchone()[0]
                held.append(count)
                time.sleep(0.02)

    with daphne(env, tmp_path / "daphne.log") as (_, base):
        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                token = csrf_token((await client.get("/runs/new/")).text)
                data = {**RUN_FORM, "csrfmiddlewaretoken": token, "format": "sse",
                        "url": f"{base}/lab/sse/healthy/?chunks=20&delay=0.05"}
                responses = await asyncio.gather(*(client.post("/runs/new/", data=data) for _ in range(200)))
                return [response.status_code for response in responses]

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            statuses = asyncio.run(burst())
            time.sleep(3)  # the runs it started write their events meanwhile
        finally:
            done.set()
            watcher.join()
    assert statuses == [302] * 200
    assert max(held) <= 8, f"the app held up to {max(held)} connections"
