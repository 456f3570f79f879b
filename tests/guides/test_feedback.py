""""Did this solve it?" answers are stored."""

from __future__ import annotations

import pytest

from troubleshooter.guides.models import Feedback

pytestmark = pytest.mark.django_db


def test_an_answer_is_stored_and_the_reader_is_sent_back_to_the_page(client):
    response = client.post(
        "/causes/idle-timeout/feedback/", {"solved": "yes", "framework": "langgraph", "comment": "heartbeats did it"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/causes/idle-timeout/?framework=langgraph#feedback"
    feedback = Feedback.objects.get()
    assert (feedback.cause_id, feedback.framework_id, feedback.solved, feedback.comment) == (
        "idle-timeout", "langgraph", True, "heartbeats did it",
    )


def test_htmx_gets_a_thank_you_in_place(client):
    response = client.post(
        "/causes/token-limit/feedback/", {"solved": "no", "framework": ""},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="feedback",
    )
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert Feedback.objects.get().solved is False


@pytest.mark.parametrize(
    "data",
    [{}, {"solved": "maybe"}, {"solved": "yes", "framework": "cobol"}, {"solved": "yes", "comment": "x" * 2001}],
)
def test_bad_feedback_is_refused_clearly_and_nothing_is_stored(client, data):
    response = client.post("/causes/token-limit/feedback/", data)
    assert response.status_code == 400
    assert "could not be saved" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_feedback_for_an_unknown_cause_is_a_404(client):
    assert client.post("/causes/gremlins/feedback/", {"solved": "yes"}).status_code == 404


def test_feedback_needs_a_csrf_token():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/causes/token-limit/feedback/", {"solved": "yes"})
    assert response.status_code == 403
    assert Feedback.objects.count() == 0
