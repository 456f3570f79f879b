"""{% oembed_discovery %} and {% embed_panel %}: on the site's embeddable pages, the oEmbed
link portals discover, and the "Embed this" panel with its snippets and live preview.

Both look at which page is being drawn (its URL name and the object it shows), so that
base.html carries them once and error pages, which have no such object, show neither.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from troubleshooter import embedding

register = template.Library()

# Each embeddable page, and the context variable that shows it is the real page.
EMBEDDABLE_PAGES = {
    "troubleshoot": "walk",
    "cause-detail": "cause",
    "framework-detail": "framework",
    "platforms": "library",
    "run-detail": "run",
    "run-shared": "run",
}


def _page(context: template.Context) -> dict[str, Any] | None:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if request is None or match is None or match.url_name not in EMBEDDABLE_PAGES:
        return None
    if context.get(EMBEDDABLE_PAGES[match.url_name]) is None:
        return None
    site_url = request.build_absolute_uri(request.path)
    query = request.GET.urlencode()
    embed_path = embedding.embed_path_for(request.path)
    run = context.get("run") if match.url_name == "run-detail" else None
    if run is not None and run.share_token:
        # A shared run embeds through its share link, which works for every reader; the
        # run's own address works only for people signed in here.
        embed_path = reverse("embed-run-shared", args=[run.share_token])
    if embed_path is None:
        return None
    embed_url = request.build_absolute_uri(embed_path) + (f"?{query}" if query else "")
    return {
        "name": match.url_name,
        "site_url": site_url + (f"?{query}" if query else ""),
        "embed_url": embed_url,
        "run": run,
        "private_run": run is not None and not run.share_token and settings.REQUIRE_LOGIN_FOR_RUNS,
    }


@register.simple_tag(takes_context=True)
def oembed_discovery(context: template.Context) -> SafeString:
    page = _page(context)
    if page is None:
        return mark_safe("")
    href = reverse("oembed") + "?" + urlencode({"url": page["site_url"], "format": "json"})
    return render_to_string("guides/embed/_discovery.html", {"href": href})


@register.simple_tag(takes_context=True)
def embed_panel(context: template.Context) -> SafeString:
    page = _page(context)
    if page is None:
        return mark_safe("")
    request = context["request"]
    base = request.build_absolute_uri("/").rstrip("/")
    title = str(context.get("embed_title") or _title(context, page["name"]))
    return render_to_string("guides/embed/_panel.html", {
        **page,
        "snippets": embedding.snippets(page["embed_url"], base, title),
        "oembed_example": page["site_url"],
    }, request=request)


def _title(context: template.Context, name: str) -> str:
    if name == "cause-detail":
        return str(context["cause"].title)
    if name == "framework-detail":
        return f"{context['framework'].name} streaming guide"
    if name == "platforms":
        return "Platform defaults"
    if name in {"run-detail", "run-shared"}:
        return "A streaming experiment's verdict"
    return "Guided troubleshooter"
