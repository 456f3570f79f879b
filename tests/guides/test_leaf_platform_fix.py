"""A tree leaf shows first the fix for the platform the person named on the way (the ingress
annotation for "a Kubernetes ingress"), then the fix in their framework's code."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.core.checks import run_checks
from playwright.sync_api import expect

from troubleshooter.guides.content import get_library
from troubleshooter.guides.tree import platform_fix, walk

INGRESS_LEAF = "/troubleshoot/?framework=langgraph&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=ingress"
ALB_LEAF = "/troubleshoot/?framework=langchain&symptom=stops-early&cut-when=after-pause&idle-where=alb"
OTHER_PROXY_LEAF = "/troubleshoot/?framework=langgraph&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=other"
HTMX_STEP = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "step"}


def walk_of(query: str):
    library = get_library()
    return library, walk(library.tree, parse_qs(query.partition("?")[2]))


def test_an_answer_that_names_a_platform_says_which_platforms_it_means():
    question = get_library().tree.questions["proxy-kind"]
    assert question.answer("ingress").platforms == ("ingress-nginx", "nginx-inc-ingress")
    assert question.answer("other").platforms == ()


def test_the_platform_fix_of_a_walk_is_the_likeliest_causes_snippets_for_the_named_platform():
    library, current = walk_of(INGRESS_LEAF)
    fix = platform_fix(current, library.causes)
    assert fix is not None
    assert fix.answer.label == "A Kubernetes ingress"
    assert fix.cause.id == "proxy-buffering"
    assert [s.platform_id for s in fix.snippets] == ["ingress-nginx", "nginx-inc-ingress"]


def test_a_walk_that_named_no_platform_has_no_platform_fix():
    library, current = walk_of(OTHER_PROXY_LEAF)
    assert platform_fix(current, library.causes) is None


def test_a_later_cause_supplies_the_snippet_when_the_likeliest_has_none_for_that_platform():
    library, current = walk_of(
        "/troubleshoot/?framework=autogen&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=gateway"
    )
    fix = platform_fix(current, library.causes)
    assert fix.cause.id == "serverless-limits"  # the first two causes have no gateway or lambda snippet
    assert {s.platform_id for s in fix.snippets} <= {"aws-api-gateway", "aws-lambda", "vercel"}


@pytest.mark.parametrize("htmx", [False, True])
def test_the_leaf_shows_the_ingress_annotation_before_the_app_code_fix(client, htmx):
    response = client.get(INGRESS_LEAF, **(HTMX_STEP if htmx else {}))
    html = response.content.decode()
    platform_heading, app_fix = html.index('id="platform-fix-heading"'), html.index("The fix for LangGraph")
    assert platform_heading < app_fix
    platform_section = html[platform_heading:app_fix]
    assert "A Kubernetes ingress" in platform_section
    assert "ingress-nginx: pin proxy-buffering off on the streaming Ingress" in platform_section
    assert 'nginx.ingress.kubernetes.io/proxy-buffering: &quot;off&quot;' in platform_section  # the whole YAML


def test_a_load_balancer_named_on_the_way_brings_its_idle_timeout_settings_first(client):
    html = client.get(ALB_LEAF).content.decode()
    assert html.index("AWS ALB: raise the idle timeout (Terraform)") < html.index("The fix for LangChain")
    assert "ingress-nginx: raise proxy-read-timeout" not in html  # only what the person named


def test_a_leaf_reached_without_naming_a_platform_shows_only_the_app_code_fix(client):
    html = client.get(OTHER_PROXY_LEAF).content.decode()
    assert 'id="platform-fix-heading"' not in html
    assert "The fix for LangGraph" in html


def test_an_answer_naming_an_unknown_platform_fails_the_guides_check(guides_copy):
    tree = guides_copy / "tree.yaml"
    text = tree.read_text()
    assert "platforms: [ingress-nginx, nginx-inc-ingress]" in text
    tree.write_text(text.replace("platforms: [ingress-nginx, nginx-inc-ingress]", "platforms: [ingress-nginx, k8s-magic]"))
    messages = [m.msg for m in run_checks(tags=["guides"])]
    assert any("proxy-kind.answers[1].platforms" in m and "'k8s-magic'" in m for m in messages), messages


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 390])
def test_on_screen_the_ingress_fix_comes_first_and_fits_the_width(live_app, browser, artifacts, width):
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        try:
            page.goto(live_app + INGRESS_LEAF)
            platform = page.locator(".platform-fix")
            expect(platform).to_contain_text('nginx.ingress.kubernetes.io/proxy-buffering: "off"')
            app_fix = page.get_by_role("heading", name="The fix for LangGraph", exact=False)
            assert platform.bounding_box()["y"] < app_fix.bounding_box()["y"]
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0
            platform.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"leaf-platform-fix-{width}-{scheme}.png"))
        finally:
            context.close()
