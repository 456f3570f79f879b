"""The experiment form says where it came from: the troubleshooter's answers, carried
through demos and shown with a way back to change them."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest

from troubleshooter.guides.content import get_library

pytestmark = pytest.mark.django_db

WALK = "framework=langgraph&symptom=all-at-once"


def symptom_label() -> str:
    question = get_library().tree.questions["symptom"]
    return next(answer.label for answer in question.answers if answer.id == "all-at-once")


def test_a_form_opened_from_the_troubleshooter_shows_the_answers_it_came_from(client):
    page = client.get("/runs/new/?" + urlencode({"kind": "compare", "framework": "langgraph", "walk": WALK}))
    body = html.unescape(page.content.decode())
    note = re.search(r'<p class="from-answers" role="note">(.*?)</p>', body, re.DOTALL).group(1)
    assert "From your answers: <strong>LangGraph</strong>, " + symptom_label() in note
    assert f'href="/troubleshoot/?{WALK}">change</a>' in note
    assert "directly and through your proxy" in body  # the intro speaks of the experiment chosen


def test_a_form_opened_directly_has_no_such_note_and_speaks_of_one_request(client):
    body = client.get("/runs/new/").content.decode()
    assert "from-answers" not in body and "Send one request to your endpoint" in body


def test_a_demo_keeps_the_framework_and_the_walk(client):
    page = client.get("/runs/new/?" + urlencode({"framework": "langgraph", "walk": WALK}))
    link = re.search(r'href="(\?demo=buffered[^"]*)"', page.content.decode()).group(1).replace("&amp;", "&")
    assert "framework=langgraph" in link and "walk=" in link
    form = client.get("/runs/new/" + link).context["form"]
    assert form.initial["framework"] == "langgraph" and form.initial["walk"] == WALK
    assert form.initial["url"].endswith("/lab/sse/buffered/?chunks=40&delay=0.05")


def test_a_walk_that_no_longer_fits_the_tree_still_shows_the_framework(client):
    page = client.get("/runs/new/?" + urlencode({"framework": "autogen", "walk": "framework=autogen&gone=away"}))
    assert "From your answers: <strong>AutoGen</strong>" in page.content.decode()
