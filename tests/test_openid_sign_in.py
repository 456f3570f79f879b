"""Signing in with OpenID Connect, against a provider on loopback that speaks the protocol."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.support import app_environment, daphne, manage

CLIENT_ID = "troubleshooter"
CLIENT_SECRET = "provider-shared-secret-for-tests-only"


class Provider(BaseHTTPRequestHandler):
    """The two endpoints the app calls itself: the token exchange and userinfo."""

    nonce = ""
    claims: dict[str, object] = {}
    token_requests: list[dict[str, list[str]]] = []

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        length = int(self.headers["Content-Length"])
        form = parse_qs(self.rfile.read(length).decode())
        Provider.token_requests.append(form)
        if form.get("code") != ["the-code"]:
            return self._json({"error": "invalid_grant"}, status=400)
        id_token = jwt.encode(
            {"iss": "http://provider.test", "aud": CLIENT_ID, "sub": "user-1", "nonce": Provider.nonce,
             "iat": int(time.time()), "exp": int(time.time()) + 300},
            CLIENT_SECRET, algorithm="HS256",
        )
        self._json({"id_token": id_token, "access_token": "access-1", "token_type": "Bearer"})

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("Authorization") != "Bearer access-1":
            return self._json({"error": "invalid_token"}, status=401)
        self._json({"sub": "user-1", **Provider.claims})

    def _json(self, body: dict[str, object], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_person_signs_in_with_the_organisations_provider_and_joins_existing_teams(tmp_path, provider):
    env = app_environment(
        tmp_path, REQUIRE_LOGIN_FOR_RUNS="1", OIDC_RP_CLIENT_ID=CLIENT_ID, OIDC_RP_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_RP_SIGN_ALGO="HS256", OIDC_OP_AUTHORIZATION_ENDPOINT=f"{provider}/authorize",
        OIDC_OP_TOKEN_ENDPOINT=f"{provider}/token", OIDC_OP_USER_ENDPOINT=f"{provider}/userinfo",
    )
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    made = manage(env, "shell", "-v", "0", "-c",
                  "from django.contrib.auth.models import Group; Group.objects.create(name='sre')")
    assert made.returncode == 0, made.stderr
    Provider.claims = {"preferred_username": "carol", "email": "carol@example.test", "groups": ["sre", "not-a-team"]}
    with daphne(env, tmp_path / "daphne.log") as (_, base), httpx.Client(base_url=base) as browser:
        login = browser.get("/accounts/login/?next=/runs/")
        assert "Sign in with your organisation" in login.text
        started = browser.get("/oidc/authenticate/", params={"next": "/runs/"})
        assert started.status_code == 302
        authorize = urlsplit(started.headers["location"])
        asked = parse_qs(authorize.query)
        assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{provider}/authorize"
        assert asked["client_id"] == [CLIENT_ID] and asked["redirect_uri"] == [f"{base}/oidc/callback/"]
        Provider.nonce = asked["nonce"][0]

        # A callback with a state this browser was never given is refused.
        forged = browser.get("/oidc/callback/", params={"code": "the-code", "state": "forged"})
        assert forged.status_code in (302, 400)
        assert browser.get("/runs/").headers["location"].startswith("/accounts/login/")

        back = browser.get("/oidc/callback/", params={"code": "the-code", "state": asked["state"][0]})
        assert back.status_code == 302 and back.headers["location"] == "/runs/", back.text[:500]
        runs = browser.get("/runs/")
        assert runs.status_code == 200 and "carol" in runs.text
    teams = manage(env, "shell", "-v", "0", "-c",
                   "from django.contrib.auth.models import User;"
                   "print(*User.objects.get(username='carol').groups.values_list('name', flat=True))")
    assert teams.stdout.split() == ["sre"]
    assert Provider.token_requests[-1]["grant_type"] == ["authorization_code"]


def test_a_half_configured_provider_stops_the_app_at_start_up_naming_what_is_missing(tmp_path):
    env = app_environment(tmp_path, OIDC_RP_CLIENT_ID=CLIENT_ID, OIDC_OP_TOKEN_ENDPOINT="http://127.0.0.1:9/token")
    checked = manage(env, "check")
    assert checked.returncode != 0
    assert "OIDC_OP_AUTHORIZATION_ENDPOINT" in checked.stderr and "OIDC_OP_JWKS_ENDPOINT" in checked.stderr
