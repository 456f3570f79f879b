"""The API against its own OpenAPI document, property-based (schemathesis): whatever a
client sends within (or just outside) the document, no answer is a server error, and every
answer is one the document describes, in status, content type, headers and body."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from troubleshooter.runs import executor, tokens

# Enough to find a crash or a drifted schema on each operation, few enough to run in
# well under a minute.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def api_schema(db, monkeypatch, in_memory_channel_layer) -> Any:
    # Runs are claimed but never started: generated URLs must not be probed.
    monkeypatch.setattr(executor, "start", lambda run_id, experiment: None)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def token(db) -> str:
    return tokens.issue(User.objects.create_user("schemathesis"))


def test_every_answer_matches_the_document_and_none_is_a_server_error(api_schema, token, settings):
    settings.REQUIRE_LOGIN_FOR_RUNS = True
    # One operation at a time, each with its own examples. (schemathesis' pytest plugin
    # does not run under this pytest; its strategies do.)
    tried = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            # Excluded: "valid by the document, so it must be accepted". A run the form
            # refuses (a URL this server may not reach, a kind's missing setting) is a 422
            # with the form's messages, which the document describes; no 500 is allowed.
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                   excluded_checks=[positive_data_acceptance])

        call()
    assert {"POST /api/v1/runs", "GET /api/v1/runs/{run_id}/events", "GET /api/v1/causes"} <= set(tried)
