"""Guide pages inside other sites: the options an embed takes, where its links go, who may
frame it, the snippets a portal pastes, the oEmbed answer and the stylesheets.

Plain functions over strings and settings; the views in guides/embed.py and runs/embed.py
call them. The HTML rewritten here is always the app's own rendered templates (attributes
in double quotes), never markup from elsewhere.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.clickjacking import xframe_options_exempt

Theme = Literal["auto", "light", "dark"]
LinkTarget = Literal["top", "new"]
THEMES: tuple[Theme, ...] = ("auto", "light", "dark")
LINK_TARGETS: tuple[LinkTarget, ...] = ("top", "new")
# The message both scripts speak; host.js and child.js spell the same names.
HEIGHT_MESSAGE = "streaming-troubleshooter:height"
DEFAULT_HEIGHT = 600
EMBED_PREFIX = "/embed"


@dataclass(frozen=True)
class EmbedOptions:
    """How the portal asked for the frame: colours, and where leaving links open."""

    theme: Theme = "auto"
    links: LinkTarget = "top"

    @classmethod
    def from_query(cls, query: Any) -> EmbedOptions:
        theme = query.get("theme", "auto")
        links = query.get("links", "top")
        return cls(
            theme=theme if theme in THEMES else "auto",
            links=links if links in LINK_TARGETS else "top",
        )

    def params(self) -> dict[str, str]:
        """Only what differs from the defaults, so embed URLs stay short."""
        params: dict[str, str] = {}
        if self.theme != "auto":
            params["theme"] = self.theme
        if self.links != "top":
            params["links"] = self.links
        return params


# Where each embeddable page lives, as a path pattern of the site and of its /embed/ twin.
# The run pages are embeddable too: the verdict, by id (for those who may see the run) or by
# share token.
EMBEDDABLE = (
    re.compile(r"^/troubleshoot/$"),
    re.compile(r"^/causes/[a-z0-9-]+/$"),
    re.compile(r"^/guides/[a-z0-9-]+/$"),
    re.compile(r"^/platforms/$"),
    re.compile(r"^/runs/[0-9a-f-]{36}/$"),
    re.compile(r"^/runs/shared/[A-Za-z0-9_-]+/$"),
)
# The page's own query parameters an embed keeps: the walk (any), a cause's tab and section.
EMBED_ONLY_PARAMS = {"theme", "links"}


def embed_path_for(path: str) -> str | None:
    """The /embed/ twin of a site path, or None if that page cannot be embedded. An /embed/
    path is its own twin."""
    if path.startswith(EMBED_PREFIX + "/"):
        path = path[len(EMBED_PREFIX):]
    if any(pattern.match(path) for pattern in EMBEDDABLE):
        return EMBED_PREFIX + path
    return None


def site_path_for(embed_path: str) -> str:
    return embed_path[len(EMBED_PREFIX):] if embed_path.startswith(EMBED_PREFIX + "/") else embed_path


def with_query(path: str, params: dict[str, str] | list[tuple[str, str]]) -> str:
    encoded = urlencode(params)
    return f"{path}?{encoded}" if encoded else path


# ---------------------------------------------------------------------------------------
# Links: which stay in the frame, which leave it.

_ANCHOR = re.compile(r"<a\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?')
_HTMX_ATTRIBUTES = {"hx-get", "hx-post", "hx-target", "hx-swap", "hx-push-url", "hx-select", "hx-boost"}


def _tag(attributes: list[tuple[str, str | None]]) -> str:
    parts = [name if value is None else f'{name}="{value}"' for name, value in attributes]
    return "<a " + " ".join(parts) + ">" if parts else "<a>"


def rewrite_links(
    page_html: str,
    *,
    page_url: str,
    stays_inside: Callable[[str], str | None],
    leaving: Callable[[str], str],
    target: str | None,
) -> str:
    """Every link of a rendered page, sent where an embedded (or exported) copy needs it.

    `page_url` is the site URL the HTML was rendered for (relative links resolve against
    it). `stays_inside(path_and_query)` gives the in-frame URL of a link that stays in the
    frame, or None; every other link goes to `leaving(path_and_query)` with `target`, and
    loses its htmx attributes, since it is no longer a swap inside this page. In-page
    anchors (#...) stay as they are."""

    def one(match: re.Match[str]) -> str:
        attributes = [(m.group(1), m.group(2)) for m in _ATTRIBUTE.finditer(match.group(1))]
        href = next((html.unescape(value) for name, value in attributes if name == "href" and value), None)
        if href is None or href.startswith("#"):
            return match.group(0)
        absolute = urljoin(page_url, href)
        parts = urlsplit(absolute)
        if parts.netloc != urlsplit(page_url).netloc:
            return match.group(0)  # a link to another site opens as the page meant it
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        # The frame's own "open in the troubleshooter" link always leaves, even where the
        # page it names is one whose links would stay.
        leaves = any(name == "data-leave-frame" for name, _value in attributes)
        inside = None if leaves else stays_inside(local)
        if inside is not None:
            rewritten = [
                (name, html.escape(inside + fragment) if name == "href" else (
                    html.escape(inside) if name == "hx-get" else value))
                for name, value in attributes
            ]
            return _tag(rewritten)
        kept = [
            (name, value) for name, value in attributes
            if name not in _HTMX_ATTRIBUTES and name not in {"target", "rel", "href"}
        ]
        out: list[tuple[str, str | None]] = [("href", html.escape(leaving(local) + fragment)), *kept]
        if target:
            out.append(("target", target))
            if target == "_blank":
                out.append(("rel", "noopener"))
        return _tag(out)

    return _ANCHOR.sub(one, page_html)


def merged_query(local: str, extra: dict[str, str]) -> str:
    """A path and query with `extra` parameters put in (replacing any of the same name)."""
    parts = urlsplit(local)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return with_query(parts.path, [*params, *extra.items()])


def link_target(options: EmbedOptions) -> str:
    return "_blank" if options.links == "new" else "_top"


# ---------------------------------------------------------------------------------------
# Framing: only /embed/ pages, only by the portals named in EMBED_ALLOWED_ORIGINS.


def frame_ancestors() -> list[str]:
    # 'self' lets the "Embed this" panel show its live preview on the site's own pages.
    return [SELF, *settings.EMBED_ALLOWED_ORIGINS]


def frameable_by_portals(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The page may be framed by the allowed portals: CSP frame-ancestors names them (read
    when the page is served, so a changed setting applies), and X-Frame-Options, which can
    only say DENY or SAMEORIGIN to browsers that do not know CSP, is left off."""

    @wraps(view)
    def framed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        return csp_replace({"frame-ancestors": frame_ancestors()})(lambda _request: response)(request)

    return xframe_options_exempt(framed)


NOT_FRAMEABLE = [NONE]


# ---------------------------------------------------------------------------------------
# What a portal pastes.


def host_script_url(base_url: str) -> str:
    # The unhashed name: a portal keeps this address for years, and WhiteNoise serves it
    # whether or not the deployment collected hashed copies.
    return f"{base_url}{settings.STATIC_URL}embed/host.js"


def snippets(embed_url: str, base_url: str, title: str) -> dict[str, str]:
    """The iframe for any HTML page, and the same for MkDocs and Docusaurus (MDX)."""
    src = html.escape(embed_url)
    label = html.escape(title)
    script = host_script_url(base_url)
    iframe = (
        f'<iframe src="{src}" title="{label}" loading="lazy" height="{DEFAULT_HEIGHT}"\n'
        f'        style="width: 100%; border: 0;"></iframe>\n'
        f'<script src="{html.escape(script)}" defer></script>'
    )
    mkdocs = (
        "<!-- docs/page.md: Markdown passes the frame through as it is -->\n"
        f'<iframe src="{src}" title="{label}" loading="lazy" height="{DEFAULT_HEIGHT}"\n'
        f'        style="width: 100%; border: 0;"></iframe>\n\n'
        "# mkdocs.yml: once for the whole site, so every frame follows its content's height\n"
        "extra_javascript:\n"
        f"  - {script}"
    )
    docusaurus = (
        "{/* docs/page.mdx */}\n"
        f'<iframe src="{embed_url}" title={json.dumps(title)} loading="lazy" height="{DEFAULT_HEIGHT}"\n'
        "        style={{width: '100%', border: 0}} />\n\n"
        "// docusaurus.config.js: once for the whole site\n"
        f"scripts: [{{src: '{script}', defer: true}}],"
    )
    return {"iframe": iframe, "mkdocs": mkdocs, "docusaurus": docusaurus}


def oembed_answer(
    embed_url: str, base_url: str, title: str, max_width: int | None, max_height: int | None
) -> dict[str, Any]:
    """The oEmbed 1.0 JSON for a page: a rich embed whose HTML is the iframe and host.js."""
    height = min(DEFAULT_HEIGHT, max_height) if max_height else DEFAULT_HEIGHT
    width = min(800, max_width) if max_width else 800
    return {
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": "Streaming troubleshooter",
        "provider_url": base_url + "/",
        "width": width,
        "height": height,
        "html": (
            f'<iframe src="{html.escape(embed_url)}" title="{html.escape(title)}" loading="lazy" '
            f'width="{width}" height="{height}" style="max-width: 100%; border: 0;"></iframe>'
            f'<script src="{html.escape(host_script_url(base_url))}" defer></script>'
        ),
    }


# ---------------------------------------------------------------------------------------
# Stylesheets: the site's own, with the theme fixed, or scoped for exported fragments.

_DARK_QUERY = "@media (prefers-color-scheme: dark)"
STYLESHEETS = ("css/app.css", "css/code.css", "embed/embed.css")


def _static_text(name: str) -> str:
    found = finders.find(name)
    if not found:
        raise FileNotFoundError(name)
    return Path(str(found)).read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def themed_stylesheet(theme: Theme) -> str:
    """The site's stylesheets in one, with the colours the portal chose. The dark palette is
    written as media queries on the reader's system setting; a fixed theme turns those
    queries always on (dark) or always off (light) rather than repeating every colour."""
    css = "\n".join(_static_text(name) for name in STYLESHEETS)
    if theme == "dark":
        css = css.replace(_DARK_QUERY, "@media all") + "\n:root { color-scheme: dark; }\n"
    elif theme == "light":
        css = css.replace(_DARK_QUERY, "@media not all") + "\n:root { color-scheme: light; }\n"
    return css


def _top_level_blocks(css: str) -> list[str]:
    """A stylesheet cut into its top-level rules and at-rules (comments dropped)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    blocks, depth, start = [], 0, 0
    for index, char in enumerate(css):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                blocks.append(css[start:index + 1].strip())
                start = index + 1
        elif char == ";" and depth == 0:
            blocks.append(css[start:index + 1].strip())
            start = index + 1
    return [block for block in blocks if block]


EXPORT_SCOPE = "streaming-troubleshooter"


def scoped_stylesheet() -> str:
    """The stylesheets for exported fragments: every rule nested under the fragment's root
    class, so that pasted into a portal they style only the fragment. :root, html and body
    rules apply to the root itself; @keyframes cannot nest and stay at the top."""
    css = "\n".join(_static_text(name) for name in STYLESHEETS[:2])
    hoisted, nested = [], []
    for block in _top_level_blocks(css):
        if block.startswith("@keyframes"):
            hoisted.append(block)
            continue
        block = re.sub(r"(^|[\s,}])(:root|html|body)(?=[\s,{\[:.])", r"\1&", block)
        nested.append(block)
    body = "\n".join(nested)
    return "\n".join(hoisted) + f"\n.{EXPORT_SCOPE} {{\n{body}\n}}\n"

