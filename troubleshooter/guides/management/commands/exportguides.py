"""manage.py exportguides DIR --base-url URL: every cause page and framework guide as an HTML
fragment, plus one stylesheet, for documentation portals that cannot frame a page.

A fragment has no script and no site chrome: a <link> to the stylesheet beside it, then one
<div class="streaming-troubleshooter"> that the stylesheet is scoped to, so pasted into a
portal it styles only itself. Every framework's fix is shown one after another (tabs need
script), and links to the troubleshooter point at the base URL given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.loader import render_to_string

from troubleshooter import embedding
from troubleshooter.guides.content import get_library
from troubleshooter.guides.embed import cause_context, framework_context

STYLESHEET = "streaming-troubleshooter.css"
# Relative links in the rendered templates resolve against this placeholder site.
RENDERED_AT = "http://export.invalid"


def fragment(template: str, context: dict[str, Any], site_path: str, base_url: str, depth: int) -> str:
    body = render_to_string(template, context)
    linked = embedding.rewrite_links(
        body,
        page_url=RENDERED_AT + site_path,
        stays_inside=lambda _local: None,
        leaving=lambda local: base_url + local,
        target=None,
    )
    css = "../" * depth + STYLESHEET
    return (
        f'<link rel="stylesheet" href="{css}">\n'
        f'<div class="{embedding.EXPORT_SCOPE}">\n{linked.strip()}\n'
        f'<p class="embed-open"><a href="{base_url}{site_path}">Open in the troubleshooter</a></p>\n</div>\n'
    )


class Command(BaseCommand):
    help = "Write every cause page and framework guide as an HTML fragment, plus one CSS file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--base-url", required=True, help="where the troubleshooter is served, e.g. https://t.example")

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = str(options["base_url"]).rstrip("/")
        if urlsplit(base_url).scheme not in {"http", "https"} or not urlsplit(base_url).netloc:
            raise CommandError(f"--base-url must be an http(s) address, not {base_url!r}")
        out: Path = options["directory"]
        library = get_library()
        (out / "causes").mkdir(parents=True, exist_ok=True)
        (out / "guides").mkdir(parents=True, exist_ok=True)
        (out / STYLESHEET).write_text(embedding.scoped_stylesheet(), encoding="utf-8")
        for cause_id in library.causes:
            context = {**cause_context(library, cause_id, None), "all_frameworks": True, "section": ""}
            html = fragment("guides/embed/_cause.html", context, f"/causes/{cause_id}/", base_url, 1)
            (out / "causes" / f"{cause_id}.html").write_text(html, encoding="utf-8")
        for framework_id in library.frameworks:
            context = {**framework_context(library, framework_id), "tabs": False, "open_all": True}
            html = fragment("guides/embed/_framework.html", context, f"/guides/{framework_id}/", base_url, 1)
            (out / "guides" / f"{framework_id}.html").write_text(html, encoding="utf-8")
        self.stdout.write(
            f"Wrote {len(library.causes)} cause pages and {len(library.frameworks)} framework guides to {out}"
        )
