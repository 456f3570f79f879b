"""Framework guides: every cause that happens in that framework's code, with its fix."""

from __future__ import annotations

import pytest

from troubleshooter.guides.content import get_library
from troubleshooter.vocabulary import FRAMEWORK_IDS


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_each_framework_page_lists_its_fixes_and_the_infrastructure_causes(client, framework_id):
    response = client.get(f"/guides/{framework_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    library = get_library()
    for pair in library.pairs_for_framework(framework_id):
        assert f'id="{pair.cause_id}"' in html
    assert "Also check your infrastructure" in html
    assert 'href="/causes/request-timeout/"' in html


def test_the_framework_list_links_every_guide(client):
    html = client.get("/guides/").content.decode()
    for framework_id in FRAMEWORK_IDS:
        assert f'href="/guides/{framework_id}/"' in html


def test_an_unknown_framework_guide_is_a_404_page(client):
    response = client.get("/guides/cobol/")
    assert response.status_code == 404


def test_the_platform_defaults_page_lists_every_platform(client):
    html = client.get("/platforms/").content.decode()
    for platform_id in get_library().platforms:
        assert f'id="{platform_id}"' in html


def test_the_home_page_offers_every_entry_point(client):
    html = client.get("/").content.decode()
    assert 'href="/troubleshoot/?framework=langchain"' in html
    assert 'href="/guides/autogen/"' in html
    assert 'href="/causes/idle-timeout/"' in html
    assert 'action="/search/"' in html
    assert "/static/django_htmx/htmx-2.min.js" in html  # served by the app, not a CDN
