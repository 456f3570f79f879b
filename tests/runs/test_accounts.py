"""Accounts when runs need a login: who starts, sees, cancels and shares a run."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client
from django.utils import timezone

from tests.support import RUN_FORM
from troubleshooter.runs import views as run_views
from troubleshooter.runs.consumers import RunConsumer
from troubleshooter.runs.models import Run

pytestmark = pytest.mark.django_db

PLAN = {"kind": "single", "url": "http://127.0.0.1:9/stream", "method": "GET", "format": "sse", "body": "",
        "body_kind": "json", "headers": [], "total_seconds": 20.0, "concurrency": 1, "compare_url": "",
        "model": "", "prompt": "", "known_timeouts": "", "framework": "", "walk": ""}


@pytest.fixture(autouse=True)
def runs_need_a_login(settings) -> None:
    settings.REQUIRE_LOGIN_FOR_RUNS = True


@pytest.fixture
def started(monkeypatch) -> list[Any]:
    """Runs are created as the form makes them, but never really started."""
    experiments: list[Any] = []
    monkeypatch.setattr(run_views.executor, "start", lambda run_id, experiment: experiments.append(experiment))
    return experiments


def person(name: str, *teams: str, staff: bool = False) -> Client:
    user = User.objects.create_user(name, password="pw-" + name, is_staff=staff)
    user.groups.set([Group.objects.get_or_create(name=team)[0] for team in teams])
    client = Client()
    client.force_login(user)
    return client


def finished_run(owner: str | None, team: str | None = None, url: str = PLAN["url"]) -> Run:
    return Run.objects.create(
        kind="single", url=url, plan={**PLAN, "url": url}, client="t", state="cancelled", finished=timezone.now(),
        owner=User.objects.get(username=owner) if owner else None,
        team=Group.objects.get_or_create(name=team)[0] if team else None,
    )


def test_starting_a_run_asks_a_stranger_to_sign_in_while_guides_stay_public(client):
    response = client.get("/runs/new/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/runs/new/"
    assert client.get("/runs/")["Location"].startswith("/accounts/login/")
    for public in ("/", "/troubleshoot/", "/causes/", "/search/?q=nginx", "/lab/"):
        assert client.get(public).status_code == 200, public


def test_a_person_signs_in_with_a_password_and_lands_on_their_runs(client):
    User.objects.create_user("alice", password="correct horse")
    page = client.get("/accounts/login/?next=/runs/new/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and "correct username and password" in wrong.content.decode()
    right = client.post("/accounts/login/", {"username": "alice", "password": "correct horse", "next": "/runs/new/"})
    assert right["Location"] == "/runs/new/"
    assert "alice" in client.get("/runs/new/").content.decode()


def test_a_run_belongs_to_whoever_started_it_and_the_team_they_chose(started):
    alice = person("alice", "sre", "platform")
    form = alice.get("/runs/new/").content.decode()
    assert "Me and the team platform" in form and "Me and the team sre" in form
    sre = Group.objects.get(name="sre")
    response = alice.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"], "team": str(sre.pk)})
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.owner.username == "alice" and run.team == sre


def test_a_team_a_person_is_not_in_cannot_be_chosen(started):
    Group.objects.create(name="elsewhere")
    alice = person("alice")
    alice.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"], "team": str(Group.objects.get().pk)})
    assert Run.objects.get().team is None


def test_only_the_owner_the_team_and_staff_see_a_run(client):
    alice, bob, carol, admin = person("alice", "sre"), person("bob"), person("carol", "sre"), person("root", staff=True)
    run = finished_run("alice", team="sre")
    for viewer in (alice, carol, admin):
        assert viewer.get(f"/runs/{run.pk}/").status_code == 200
        assert viewer.get(f"/runs/{run.pk}/json/").json()["state"] == "cancelled"
    assert bob.get(f"/runs/{run.pk}/").status_code == 404
    assert bob.get(f"/runs/{run.pk}/json/").status_code == 404
    assert bob.get(f"/runs/new/?again={run.pk}").status_code == 404
    assert client.get(f"/runs/{run.pk}/")["Location"] == f"/accounts/login/?next=/runs/{run.pk}/"


def test_the_history_lists_my_runs_and_my_teams_runs_and_nobody_elses():
    alice, bob = person("alice", "sre"), person("bob", "sre")
    person("dave")
    mine = finished_run("alice", url="http://127.0.0.1:9/mine")
    teams = finished_run("bob", team="sre", url="http://127.0.0.1:9/team")
    finished_run("bob", url="http://127.0.0.1:9/bobs-own")
    finished_run("dave", url="http://127.0.0.1:9/daves")
    listed = alice.get("/runs/").content.decode()
    assert "/mine" in listed and "/team" in listed
    assert "/bobs-own" not in listed and "/daves" not in listed
    assert f"/runs/{mine.pk}/" in listed and f"/runs/{teams.pk}/" in listed
    assert "/bobs-own" in bob.get("/runs/").content.decode()


def test_credentials_in_a_target_url_never_show_in_anyones_list(started):
    alice = person("alice")
    alice.post("/runs/new/", {**RUN_FORM, "url": "http://admin:hunter2@127.0.0.1:9/v1?api_key=sk-abc123456789"})
    listed = alice.get("/runs/").content.decode()
    assert Run.objects.count() == 1
    assert "hunter2" not in listed and "sk-abc123456789" not in listed and "127.0.0.1:9/v1" in listed


def test_only_the_owner_the_team_and_staff_may_cancel_a_run():
    alice, bob = person("alice"), person("bob")
    run = Run.objects.create(kind="single", url=PLAN["url"], plan=PLAN, client="t", owner=User.objects.get(username="alice"),
                             heartbeat=timezone.now())
    assert bob.post(f"/runs/{run.pk}/cancel/").status_code == 404
    assert bob.post(f"/runs/{run.pk}/again/").status_code == 404
    assert alice.post(f"/runs/{run.pk}/cancel/").status_code == 302


def test_a_shared_link_shows_the_run_read_only_to_anyone_until_sharing_stops(client):
    alice, bob = person("alice"), person("bob")
    run = finished_run("alice")
    assert bob.post(f"/runs/{run.pk}/share/").status_code == 404
    page = alice.get(f"/runs/{run.pk}/").content.decode()
    assert "Create a share link" in page
    alice.post(f"/runs/{run.pk}/share/")
    run.refresh_from_db()
    assert run.share_token and len(run.share_token) >= 32
    assert f"/runs/shared/{run.share_token}/" in alice.get(f"/runs/{run.pk}/").content.decode()

    shared = client.get(f"/runs/shared/{run.share_token}/")
    text = shared.content.decode()
    assert shared.status_code == 200 and shared["Referrer-Policy"] == "no-referrer"
    assert "read-only" in text and "started by alice" in text
    assert "Run again" not in text and "Edit and run again" not in text and "/share/" not in text
    assert f"/runs/{run.pk}/" not in text  # the id would only lead a stranger to a sign-in page
    assert client.get(f"/runs/shared/{run.share_token}/json/").json()["state"] == "cancelled"

    token = run.share_token
    alice.post(f"/runs/{run.pk}/share/", {"stop": "1"})
    assert client.get(f"/runs/shared/{token}/").status_code == 404
    assert client.get("/runs/shared/not-a-real-token/").status_code == 404


def test_a_person_is_limited_by_runs_at_once_wherever_they_connect_from(settings, started):
    settings.RUNS_MAX_ACTIVE_PER_USER = 2
    settings.RUNS_MAX_ACTIVE_PER_CLIENT = 100
    alice = person("alice")
    statuses = [
        alice.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"]}, REMOTE_ADDR=f"10.0.0.{n}").status_code
        for n in range(1, 5)
    ]
    assert statuses == [302, 302, 429, 429]
    assert "You have 2 experiments running" in alice.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"]}).content.decode()
    # Someone else from the same address is counted on their own.
    assert person("bob").post("/runs/new/", {**RUN_FORM, "url": PLAN["url"]}).status_code == 302


def test_a_person_is_limited_by_runs_started_in_an_hour(settings, started):
    settings.RUNS_PER_HOUR_PER_USER = 3
    alice = person("alice")
    for _ in range(3):
        finished_run("alice")
    refused = alice.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"]})
    assert refused.status_code == 429 and "in the last hour" in refused.content.decode()
    Run.objects.update(created=timezone.now() - timezone.timedelta(hours=2))
    assert alice.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"]}).status_code == 302


def test_an_open_deployment_lets_anyone_start_and_see_runs(settings, client, started):
    settings.REQUIRE_LOGIN_FOR_RUNS = False
    assert client.post("/runs/new/", {**RUN_FORM, "url": PLAN["url"]}).status_code == 302
    run = finished_run(None)
    assert client.get(f"/runs/{run.pk}/").status_code == 200
    assert "Sign in" not in client.get("/runs/").content.decode()


def watch(run: Run, user: Any, query: str = "") -> int | None:
    """Open a run's socket as this user; the close code if it was refused, else None."""
    async def attempt() -> int | None:
        communicator = WebsocketCommunicator(RunConsumer.as_asgi(), f"/runs/{run.pk}/ws/?{query}")
        communicator.scope["url_route"] = {"kwargs": {"run_id": run.pk}}
        communicator.scope["user"] = user
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return None if connected else code

    return asyncio.run(attempt())


@pytest.mark.django_db(transaction=True)
def test_a_runs_socket_answers_only_those_who_may_see_it(in_memory_channel_layer):
    person("alice")
    person("bob")
    run = finished_run("alice")
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    assert watch(run, alice) is None
    assert watch(run, bob) == 4404
    assert watch(run, AnonymousUser()) == 4404
    token = run.share()
    assert watch(run, AnonymousUser(), f"share={token}") is None
    assert watch(run, AnonymousUser(), f"share={token}x") == 4404


class TestTrustedHeaderSignIn:
    @pytest.fixture(autouse=True)
    def proxy_signs_people_in(self, settings) -> None:
        settings.AUTH_TRUSTED_HEADER = "X-Forwarded-User"
        settings.AUTH_PROXY_NETWORKS = (ipaddress.ip_network("10.0.0.2/32"),)
        settings.AUTHENTICATION_BACKENDS = [
            "django.contrib.auth.backends.ModelBackend", "troubleshooter.sign_in.TrustedHeaderBackend",
        ]

    def test_the_proxy_names_the_user_and_their_account_is_made(self, client):
        page = client.get("/runs/", HTTP_X_FORWARDED_USER="erin", REMOTE_ADDR="10.0.0.2")
        assert page.status_code == 200 and "erin" in page.content.decode()
        assert User.objects.filter(username="erin").exists()

    def test_the_header_from_anywhere_but_the_proxy_is_ignored(self, client):
        User.objects.create_user("root", is_staff=True)
        page = client.get("/runs/", HTTP_X_FORWARDED_USER="root", REMOTE_ADDR="10.0.0.3")
        assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")

    def test_a_header_session_ends_when_the_proxy_stops_vouching(self, client):
        assert client.get("/runs/", HTTP_X_FORWARDED_USER="erin", REMOTE_ADDR="10.0.0.2").status_code == 200
        assert client.get("/runs/", REMOTE_ADDR="10.0.0.2").status_code == 302

    def test_another_name_from_the_proxy_replaces_the_session_user(self, client):
        client.get("/runs/", HTTP_X_FORWARDED_USER="erin", REMOTE_ADDR="10.0.0.2")
        page = client.get("/runs/", HTTP_X_FORWARDED_USER="frank", REMOTE_ADDR="10.0.0.2")
        assert "frank" in page.content.decode() and "erin" not in page.content.decode()


def test_createsuperuser_makes_staff_who_see_every_run_and_manage_teams_in_the_admin(monkeypatch, client):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "admin-password-for-tests")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.test")
    person("alice")
    run = finished_run("alice")
    assert client.login(username="root", password="admin-password-for-tests")
    assert client.get(f"/runs/{run.pk}/").status_code == 200
    assert client.get("/admin/auth/group/add/").status_code == 200
