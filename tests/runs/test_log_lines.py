"""Log lines pasted on the import page, matched to the causes whose messages they hold."""

from __future__ import annotations

import pytest

from troubleshooter.guides.content import get_library
from troubleshooter.runs.log_lines import match_lines, message_pattern
from troubleshooter.runs.models import Run

pytestmark = pytest.mark.django_db

GUNICORN = "[2026-12-06 10:00:01 +0000] [7] [CRITICAL] WORKER TIMEOUT (pid:4242)"
NGINX = ('2026/12/06 10:00:02 [error] 31#31: *9 upstream timed out (110: Connection timed out) while reading '
         'response header from upstream, client: 10.0.0.5, server: _, request: "POST /chat HTTP/1.1"')


def test_a_listed_message_matches_with_other_numbers_in_it():
    pattern = message_pattern("[CRITICAL] WORKER TIMEOUT (pid:12345)")
    assert pattern.search(GUNICORN)
    assert not pattern.search("[CRITICAL] WORKER STARTED (pid:12)")
    assert message_pattern("object at 0x7f3c2a1b4d90 ... bound to a different event loop").search(
        "<asyncio.locks.Event object at 0x55d0 [unset]> is bound to a different event loop")


def test_pasted_server_logs_name_their_causes_with_the_lines_as_evidence():
    findings = match_lines(f"starting\n{GUNICORN}\nok\n{NGINX}\n", get_library().causes)
    named = [finding.cause.id for finding in findings]
    assert "request-timeout" in named and "idle-timeout" in named
    gunicorn = next(finding for finding in findings if finding.cause.id == "request-timeout")
    assert gunicorn.evidence[0].line_number == 2 and "WORKER TIMEOUT" in gunicorn.evidence[0].matched


def test_the_import_page_reads_log_lines_shows_the_matches_and_stores_nothing(client):
    page = client.post("/runs/import/", {"trace": f"{GUNICORN}\n{NGINX}"})
    body = page.content.decode()
    assert page.status_code == 200 and "What your log lines say" in body
    assert "<mark>[CRITICAL] WORKER TIMEOUT (pid:4242)</mark>" in body
    assert 'href="/causes/idle-timeout/"' in body
    assert not Run.objects.exists()


def test_lines_that_hold_no_listed_message_say_so(client):
    page = client.post("/runs/import/", {"trace": "INFO all good\nINFO still good"})
    assert page.status_code == 422 and "no line holds an error message a cause page lists" in page.content.decode()
