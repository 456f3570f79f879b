"""Per-user API tokens: shown once, stored as a hash, checked in constant time, revocable."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from troubleshooter.runs import tokens
from troubleshooter.runs.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def runs_need_a_login(settings) -> None:
    settings.REQUIRE_LOGIN_FOR_RUNS = True


def test_a_token_is_stored_only_as_a_hash_and_lets_its_user_in(client):
    alice = User.objects.create_user("alice")
    token = tokens.issue(alice, "ci")
    key_id, secret = token.split(".")
    stored = ApiToken.objects.get()
    assert stored.key_id == key_id and secret not in stored.digest and len(stored.digest) == 64
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    stored.refresh_from_db()
    assert stored.last_used is not None


def test_a_wrong_unknown_or_revoked_token_is_refused_even_when_runs_are_open(client, settings):
    settings.REQUIRE_LOGIN_FOR_RUNS = False
    alice = User.objects.create_user("alice")
    token = tokens.issue(alice)
    key_id = token.split(".")[0]
    for wrong in (f"{key_id}.not-the-secret", "nope.nope", "no-dot-at-all", token + "x"):
        response = client.get("/api/v1/runs", headers={"Authorization": f"Bearer {wrong}"})
        assert response.status_code == 401 and response.json()["detail"] == "This API token is not valid."
    assert tokens.revoke(alice, key_id)
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # Without any token, open runs still answer.
    assert client.get("/api/v1/runs").status_code == 200


def test_a_deactivated_persons_token_stops_working():
    alice = User.objects.create_user("alice")
    token = tokens.issue(alice)
    assert tokens.user_for(token) == alice
    alice.is_active = False
    alice.save()
    assert tokens.user_for(token) is None


def test_the_secret_is_compared_in_constant_time_even_for_an_unknown_key_id(monkeypatch):
    compared: list[tuple[str, str]] = []
    monkeypatch.setattr(tokens.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or a == b)
    token = tokens.issue(User.objects.create_user("alice"))
    tokens.user_for(token)
    tokens.user_for("unknown.whatever")
    assert len(compared) == 2


def test_the_apitoken_command_makes_lists_and_revokes_tokens():
    User.objects.create_user("alice")
    out, err = io.StringIO(), io.StringIO()
    call_command("apitoken", "alice", "--name", "ci", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert tokens.user_for(token).username == "alice" and "only its hash" in err.getvalue()
    key_id = token.split(".")[0]
    listed = io.StringIO()
    call_command("apitoken", "alice", "--list", stdout=listed)
    assert key_id in listed.getvalue() and token.split(".")[1] not in listed.getvalue()
    call_command("apitoken", "alice", "--revoke", key_id, stdout=io.StringIO())
    assert tokens.user_for(token) is None
    with pytest.raises(CommandError, match="no user called 'bob'"):
        call_command("apitoken", "bob")
