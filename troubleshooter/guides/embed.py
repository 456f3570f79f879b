"""The guides inside other sites: /embed/ pages without the site's chrome, oEmbed, and the
stylesheet they use.

Each embed page renders the same content templates as the site page, then sends its links
where a frame needs them: its own steps (the tree's answers, a cause's framework tabs) stay
in the frame; everything else opens outside it.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from troubleshooter import embedding
from troubleshooter.embedding import EmbedOptions, frameable_by_portals
from troubleshooter.pages import HtmxHttpRequest

from . import views
from .content import Library, get_library

# The parts of a cause page an embed may show alone, besides its own sections.
CAUSE_PARTS = {"symptoms": "Symptoms", "fix": "Broken and fixed code", "infra": "Infrastructure",
               "settings": "Platform settings"}


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def render_embed(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    title: str,
    stays_inside: Callable[[str], str | None] = lambda _local: None,
    status: int = 200,
) -> HttpResponse:
    """An embed page (or, for htmx, the part it asked for) with its links sent where a
    frame needs them."""
    options = EmbedOptions.from_query(request.GET)
    site_url = request.build_absolute_uri(embedding.site_path_for(request.path))
    site_query = {k: v for k, v in request.GET.items() if k not in {*embedding.EMBED_ONLY_PARAMS, "section"}}
    if site_query:
        site_url += "?" + urlencode(site_query)
    oembed_url = (
        reverse("oembed") + "?" + urlencode({"url": site_url, "format": "json"})
        if status == 200 else ""
    )
    context = {
        **context,
        "embed": {"options": options, "title": title, "site_url": site_url, "oembed_url": oembed_url},
    }
    rendered = render_to_string(template, context, request)
    framed = embedding.rewrite_links(
        rendered,
        page_url=site_url,
        stays_inside=stays_inside,
        leaving=lambda local: request.build_absolute_uri(local),
        target=embedding.link_target(options),
    )
    response = HttpResponse(framed, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def embed_error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return render_embed(
        request, "guides/embed/error.html", {"title": title, "message": message}, title=title, status=status
    )


def _inside(site_path: Callable[[str], bool], options: EmbedOptions,
            keep: dict[str, str] | None = None) -> Callable[[str], str | None]:
    """Links to site paths that `site_path` accepts stay in the frame, at their /embed/ twin,
    carrying the frame's own options (and `keep`, such as a cause's section)."""

    def stays(local: str) -> str | None:
        path = urlsplit(local).path
        if not site_path(path):
            return None
        return embedding.EMBED_PREFIX + embedding.merged_query(local, {**(keep or {}), **options.params()})

    return stays


class AsStepSwap:
    """What the tree's view reads of `request.htmx` when htmx swaps a new step in: asked
    this way, it renders the step alone, which the frame then places in its own page."""

    target = "step"
    history_restore_request = False

    def __bool__(self) -> bool:
        return True


def _wants_part(request: HtmxHttpRequest, target: str) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request and request.htmx.target == target


@require_GET
@frameable_by_portals
def tree(request: HtmxHttpRequest) -> HttpResponse:
    """The whole walk inside the frame. The step is the site's own tree step, rendered by its
    view as the part htmx would swap in, so the frame shows exactly what the site shows."""
    options = EmbedOptions.from_query(request.GET)
    wants_part = _wants_part(request, "step")
    walk_query = request.GET.copy()
    for name in embedding.EMBED_ONLY_PARAMS:
        walk_query.pop(name, None)
    request.GET = walk_query  # type: ignore[assignment]  # the walk reads only its own answers
    request.htmx = AsStepSwap()  # type: ignore[assignment]  # what partial_or_page reads of it
    step = views.troubleshoot(request)
    request.GET = _with_options(walk_query, options)  # type: ignore[assignment]
    if step.status_code != 200:
        return embed_error(request, step.status_code, "That link does not lead anywhere",
                           _error_message(step.content.decode()))
    step_html = step.content.decode()
    title_match = re.search(r"<title>(.*?)</title>", step_html, re.DOTALL)
    title = html.unescape(title_match.group(1).split(" · ")[0].strip()) if title_match else "Guided troubleshooter"
    stays = _inside(lambda path: path == reverse("troubleshoot"), options)
    if wants_part:
        return render_embed(request, "guides/embed/_part.html", {"part_html": step_html}, title=title,
                            stays_inside=stays)
    step_html = re.sub(r"<title>.*?</title>", "", step_html, flags=re.DOTALL)
    return render_embed(request, "guides/embed/tree.html", {"step_html": step_html}, title=title,
                        stays_inside=stays)


def _with_options(query: QueryDict, options: EmbedOptions) -> QueryDict:
    restored = query.copy()
    for name, value in options.params().items():
        restored[name] = value
    return restored


def _error_message(page: str) -> str:
    # The site's error page gives the walk's own explanation in the paragraph after its title.
    found = re.search(r"</h1>\s*<p>(.*?)</p>", page, re.DOTALL)
    return html.unescape(" ".join(found.group(1).split())) if found else "This walk does not lead anywhere."


@require_GET
@frameable_by_portals
def cause(request: HtmxHttpRequest, cause_id: str) -> HttpResponse:
    """A cause page; `framework` picks the tab, `section` shows one part alone (a section's
    slug, or symptoms, fix, infra, settings)."""
    library = get_library()
    found = library.causes.get(cause_id)
    if found is None:
        return embed_error(request, 404, "No such cause", f"There is no cause called '{cause_id}'.")
    requested = request.GET.get("framework")
    if requested is not None and requested not in library.frameworks:
        return embed_error(request, 400, "Unknown framework", f"'{requested}' is not a framework this guide covers.")
    section = request.GET.get("section", "")
    section_titles = {**CAUSE_PARTS, **{part.slug: part.title for part in found.sections}}
    if section and section not in section_titles:
        return embed_error(request, 400, "Unknown section",
                           f"'{section}' is not a part of this page; one of: {', '.join(section_titles)}.")
    options = EmbedOptions.from_query(request.GET)
    context = cause_context(library, cause_id, requested)
    context.update(section=section, section_title=section_titles.get(section, ""))
    keep = {"section": section} if section else {}
    stays = _inside(lambda path: path == reverse("cause-detail", args=[cause_id]), options, keep)
    if _wants_part(request, "code-panel"):
        return render_embed(request, "guides/causes/_code_panel.html", context, title=found.title,
                            stays_inside=stays)
    return render_embed(request, "guides/embed/cause.html", context, title=found.title, stays_inside=stays)


def cause_context(library: Library, cause_id: str, framework_id: str | None) -> dict[str, Any]:
    """What a cause's content needs: its tabs (frameworks with code), the chosen pair, the
    platform settings involved."""
    found = library.causes[cause_id]
    framework_ids = [f for f in library.frameworks if f in found.pairs]
    selected = framework_id or (framework_ids[0] if framework_ids else None)
    return {
        "cause": found,
        "library": library,
        "tabs": [library.frameworks[f] for f in framework_ids],
        "framework": library.frameworks.get(selected or ""),
        "pair": found.pairs.get(selected or ""),
        "settings": library.settings_for_cause(cause_id),
        "all_pairs": [{"framework": library.frameworks[f], "pair": found.pairs[f]} for f in framework_ids],
    }


@require_GET
@frameable_by_portals
def framework(request: HttpRequest, framework_id: str) -> HttpResponse:
    library = get_library()
    if framework_id not in library.frameworks:
        return embed_error(request, 404, "No such framework", f"There is no guide for '{framework_id}'.")
    options = EmbedOptions.from_query(request.GET)
    # The other frameworks' tabs are this page's own tabs: they stay in the frame.
    stays = _inside(lambda path: path.startswith("/guides/") and path != "/guides/", options)
    return render_embed(request, "guides/embed/framework.html", framework_context(library, framework_id),
                        title=f"{library.frameworks[framework_id].name} streaming guide", stays_inside=stays)


def framework_context(library: Library, framework_id: str) -> dict[str, Any]:
    pairs = library.pairs_for_framework(framework_id)
    with_code = {pair.cause_id for pair in pairs}
    return {
        "framework": library.frameworks[framework_id],
        "library": library,
        "tabs": True,
        "entries": [(library.causes[pair.cause_id], pair) for pair in pairs],
        "infra_only": [c for c in library.causes.values() if c.id not in with_code],
    }


@require_GET
@frameable_by_portals
def platforms(request: HttpRequest) -> HttpResponse:
    return render_embed(request, "guides/embed/platforms.html", {"library": get_library()}, title="Platform defaults")


@require_GET
def stylesheet(request: HttpRequest, theme: str) -> HttpResponse:
    if theme not in embedding.THEMES:
        raise Http404("No such theme.")
    css = embedding.themed_stylesheet(theme)
    tag = '"' + hashlib.sha256(css.encode()).hexdigest()[:20] + '"'
    if request.headers.get("If-None-Match") == tag:
        return HttpResponse(status=304, headers={"ETag": tag})
    return HttpResponse(css, content_type="text/css; charset=utf-8",
                        headers={"ETag": tag, "Cache-Control": "public, max-age=300"})


# ---------------------------------------------------------------------------------------
# oEmbed: a portal that understands it embeds a page from its address alone.


def describe(path: str) -> str | None:
    """The title of an embeddable site page, or None when there is no such page."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    library = get_library()
    name, kwargs = match.url_name, match.kwargs
    if name == "troubleshoot":
        return "Guided troubleshooter"
    if name == "cause-detail":
        found = library.causes.get(kwargs["cause_id"])
        return found.title if found else None
    if name == "framework-detail":
        framework_found = library.frameworks.get(kwargs["framework_id"])
        return f"{framework_found.name} streaming guide" if framework_found else None
    if name == "platforms":
        return "Platform defaults"
    if name in {"run-detail", "run-shared"}:
        return "A streaming experiment's verdict"
    return None


@require_GET
def oembed(request: HttpRequest) -> HttpResponse:
    url = request.GET.get("url", "")
    if request.GET.get("format", "json") != "json":
        # The oEmbed specification's answer for a format the provider does not offer.
        return HttpResponse("Only format=json is offered.", status=501, content_type="text/plain")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or parts.netloc != request.get_host():
        return JsonResponse({"error": "The url must be a page of this site."}, status=404)
    embed_path = embedding.embed_path_for(parts.path)
    site_path = embedding.site_path_for(parts.path)
    title = describe(site_path) if embed_path else None
    if embed_path is None or title is None:
        return JsonResponse({"error": "That page cannot be embedded."}, status=404)
    embed_url = request.build_absolute_uri(embed_path) + (f"?{parts.query}" if parts.query else "")
    answer = embedding.oembed_answer(embed_url, base_url(request), title,
                                     _positive(request.GET.get("maxwidth")), _positive(request.GET.get("maxheight")))
    return JsonResponse(answer)


def _positive(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) > 0 else None
