"""Upgrading a deployment made when every model lived in one app ("troubleshooter"):
`migrate` brings its feedback and saved runs into the guides and runs apps, drops the old
tables and keeps handing out fresh ids, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.support import REDIS, ROOT, app_environment, manage

OLD_SCHEMA = ROOT / "tests" / "old_schema"
RUN_ID = uuid.UUID("6f1c2a7e-3b44-4d8e-9a51-0c2d7e5f9b13")
CREATED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
PLAN = {"kind": "single", "url": "http://127.0.0.1:9/stream", "method": "GET", "headers": []}
REPORT = {"kind": "single", "outcome": "buffered", "causes": [{"id": "proxy-buffering"}], "lanes": []}
EVENTS = [{"type": "request", "seq": 1}, {"type": "chunk", "seq": 2, "text": "héllo"}]

PRINT_STATE = """
import json
from django.db import connection
from troubleshooter.guides.models import Feedback
from troubleshooter.runs.models import Run
run = Run.objects.get()
fresh = Feedback.objects.create(cause_id="idle-timeout", framework_id="", solved=False, comment="")
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'troubleshooter'")
    old_migrations = cursor.fetchone()[0]
print(json.dumps({
    "tables": sorted(t for t in connection.introspection.table_names() if t.startswith("troubleshooter_")),
    "feedback": sorted((f.id, f.cause_id, f.framework_id, f.solved, f.comment) for f in Feedback.objects.exclude(pk=fresh.pk)),
    "fresh_feedback_id": fresh.id,
    "run": [str(run.pk), run.kind, run.state, run.outcome, run.plan, run.report, run.created.isoformat()],
    "events": [[b.first_seq, b.last_seq, b.events] for b in run.batches.order_by("first_seq")],
    "old_migrations": old_migrations,
}))
"""

FEEDBACK = [(7, "proxy-buffering", "langgraph", True, "the annotation fixed it"), (9, "idle-timeout", "", False, "")]


def seed(execute: Any, placeholder: str, run_id: Any, as_json: Any) -> None:
    """The rows an 0.1 deployment would hold, written with the old tables' own columns."""
    p = placeholder
    for row in FEEDBACK:
        execute(f'INSERT INTO "troubleshooter_feedback" ("id", "cause_id", "framework_id", "solved", "comment", '
                f'"created") VALUES ({p}, {p}, {p}, {p}, {p}, {p})', (*row, CREATED))
    execute(f'INSERT INTO "troubleshooter_run" ("id", "created", "finished", "heartbeat", "kind", "state", "url", '
            f'"plan", "framework", "walk", "client", "last_seq", "outcome", "report") '
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
            (run_id, CREATED, CREATED, CREATED, "single", "finished", PLAN["url"], as_json(PLAN), "langgraph", "",
             "c1", 2, "buffered", as_json(REPORT)))
    execute(f'INSERT INTO "troubleshooter_runevents" ("id", "first_seq", "last_seq", "events", "run_id") '
            f"VALUES ({p}, {p}, {p}, {p}, {p})", (40, 1, 2, as_json(EVENTS), run_id))
    for name in ("0001_initial", "0002_runs"):
        execute(f'INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ({p}, {p}, {p})',
                ("troubleshooter", name, CREATED))


def upgraded_state(env: dict[str, str]) -> dict[str, Any]:
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    shown = manage(env, "shell", "-v", "0", "-c", PRINT_STATE)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def assert_everything_came_across(state: dict[str, Any]) -> None:
    assert state["tables"] == []
    assert state["feedback"] == [list(row) for row in FEEDBACK]
    assert state["fresh_feedback_id"] > 9
    assert state["run"] == [str(RUN_ID), "single", "finished", "buffered", PLAN, REPORT, CREATED.isoformat()]
    assert state["events"] == [[1, 2, EVENTS]]
    assert state["old_migrations"] == 0


def test_an_embedded_sqlite_deployment_keeps_its_feedback_and_runs(tmp_path):
    database = tmp_path / "old.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.executescript((OLD_SCHEMA / "sqlite.sql").read_text())
        seed(connection.execute, "?", RUN_ID.hex, json.dumps)
    env = app_environment(tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert_everything_came_across(upgraded_state(env))


@pytest.mark.hosted
def test_a_hosted_postgresql_deployment_keeps_its_feedback_and_runs(tmp_path, scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as connection:
        connection.execute((OLD_SCHEMA / "postgresql.sql").read_text())
        seed(connection.execute, "%s", RUN_ID, psycopg.types.json.Jsonb)
    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS)
    assert_everything_came_across(upgraded_state(env))


def test_a_new_database_has_no_old_tables_to_bring_across(tmp_path):
    env = app_environment(tmp_path)
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(tmp_path / "live.sqlite3") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"guides_feedback", "runs_run", "runs_runevents"} <= tables
    assert not {table for table in tables if table.startswith("troubleshooter_")}
