"""A signed-in person makes, sees and revokes their own API tokens in the browser, without
asking an operator for `manage.py apitoken`."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from troubleshooter.runs import tokens
from troubleshooter.runs.models import ApiToken
from troubleshooter.runs.tokens import MAX_TOKENS_PER_PERSON

pytestmark = pytest.mark.django_db

PAGE = "/accounts/tokens/"


@pytest.fixture(autouse=True)
def runs_need_a_login(settings) -> None:
    settings.REQUIRE_LOGIN_FOR_RUNS = True


@pytest.fixture
def alice(client) -> User:
    person = User.objects.create_user("alice", password="a long enough secret")
    client.force_login(person)
    return person


def token_on(html: str) -> str:
    found = re.search(r'id="new-token">([^<]+)<', html)
    assert found, "the page shows no new token"
    return found.group(1)


def test_someone_signed_out_is_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/accounts/tokens/")
    assert client.post(PAGE, {"name": "ci"}).status_code == 302
    assert not ApiToken.objects.exists()


def test_the_account_menu_links_to_the_tokens_page(client, alice):
    html = client.get("/").content.decode()
    assert f'href="{PAGE}"' in html and "API tokens" in html


def test_a_new_token_is_shown_once_works_against_the_api_and_is_never_listed_again(client, alice):
    made = client.post(PAGE, {"name": "CI"})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]  # no cache keeps the one copy of the secret
    token = token_on(made.content.decode())
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    listed = client.get(PAGE).content.decode()
    key_id, secret = token.split(".")
    assert key_id in listed and "CI" in listed
    assert secret not in listed and 'id="new-token"' not in listed


def test_revoking_a_token_refuses_it_at_once(client, alice):
    token = token_on(client.post(PAGE, {"name": "laptop"}).content.decode())
    key_id = token.split(".")[0]
    response = client.post(f"{PAGE}{key_id}/revoke/")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert key_id not in client.get(PAGE).content.decode()


def test_nobody_sees_or_revokes_another_persons_tokens(client, alice):
    bob = User.objects.create_user("bob")
    bobs = tokens.issue(bob, "bob's script")
    key_id = bobs.split(".")[0]
    assert key_id not in client.get(PAGE).content.decode()
    assert client.post(f"{PAGE}{key_id}/revoke/").status_code == 404
    assert ApiToken.objects.filter(key_id=key_id).exists()


def test_revoking_needs_a_post_with_the_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    key_id = tokens.issue(alice).split(".")[0]
    assert browser.get(f"{PAGE}{key_id}/revoke/").status_code == 405
    assert browser.post(f"{PAGE}{key_id}/revoke/").status_code == 403
    assert browser.post(PAGE, {"name": "no csrf"}).status_code == 403
    assert ApiToken.objects.filter(key_id=key_id).exists() and ApiToken.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "error"),
    [("nul\x00byte", "Null characters are not allowed"), ("x" * 101, "at most 100 characters")],
)
def test_a_bad_name_gets_a_clear_error_and_no_token(client, alice, name, error):
    response = client.post(PAGE, {"name": name})
    assert response.status_code == 400 and error in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_name_with_markup_is_shown_as_text(client, alice):
    client.post(PAGE, {"name": "<script>alert(1)</script>"})
    html = client.get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_one_person_may_hold_a_limited_number_of_tokens(client, alice):
    for index in range(MAX_TOKENS_PER_PERSON):
        tokens.issue(alice, f"token {index}")
    refused = client.post(PAGE, {"name": "one too many"})
    assert refused.status_code == 400 and "Revoke one to make another" in refused.content.decode()
    assert ApiToken.objects.filter(user=alice).count() == MAX_TOKENS_PER_PERSON
    assert "Revoke one to make another" in client.get(PAGE).content.decode()


# Two posts from a person one token short of the cap: each is held, after it has counted the
# person's tokens and before it writes the new one, until the other has counted too (or for
# three seconds, when the other cannot count yet because it waits for the first).
RACING_POSTS = """
import json
import threading
from django.contrib.auth.models import User
from django.test import Client
from troubleshooter.runs import tokens
from troubleshooter.runs.models import ApiToken
from troubleshooter.runs.tokens import MAX_TOKENS_PER_PERSON

person = User.objects.create_user("racer", password="a long enough secret")
for index in range(MAX_TOKENS_PER_PERSON - 1):
    tokens.issue(person, f"token {index}")
both_counted = threading.Barrier(2, timeout=3)
write = ApiToken.objects.create

def write_once_both_counted(**fields):
    try:
        both_counted.wait()
    except threading.BrokenBarrierError:
        pass
    return write(**fields)

ApiToken.objects.create = write_once_both_counted
statuses = []

def post():
    client = Client(HTTP_HOST="localhost")
    client.force_login(person)
    statuses.append(client.post("/accounts/tokens/", {"name": "racing"}).status_code)

posts = [threading.Thread(target=post) for _ in range(2)]
for thread in posts:
    thread.start()
for thread in posts:
    thread.join()
print(json.dumps({"statuses": sorted(statuses), "held": ApiToken.objects.filter(user=person).count(),
                  "cap": MAX_TOKENS_PER_PERSON}))
"""


@pytest.mark.hosted
def test_two_racing_posts_cannot_take_a_person_past_the_cap_in_postgresql(tmp_path, scratch_database):
    from tests.support import REDIS, app_environment, manage

    env = app_environment(tmp_path, DATABASE_URL=scratch_database, REDIS_URL=REDIS, REQUIRE_LOGIN_FOR_RUNS="1")
    assert manage(env, "migrate", "--noinput").returncode == 0
    raced = manage(env, "shell", "-v", "0", "-c", RACING_POSTS)
    assert raced.returncode == 0, raced.stderr
    outcome = json.loads(raced.stdout)
    assert outcome["statuses"] == [200, 400] and outcome["held"] == outcome["cap"]
