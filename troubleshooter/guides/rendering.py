"""Markdown and code to HTML, done once when the guides load.

Code is highlighted line by line (not as one block) so that a page can mark the lines a fix
changed, number them, and let a copy button take the text without the numbers.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound


def _highlight_fence(code: str, lang: str, _attrs: str) -> str:
    lines = highlight_lines(code.rstrip("\n"), lexer_for_language(lang))
    body = "".join(f'<span class="line">{line}</span>' for line in lines)
    return f'<pre class="code" data-lang="{escape(lang or "text")}"><code>{body}</code></pre>'


# Raw HTML stays off: guide text is reviewed, but nothing in it should be able to run script.
_markdown = MarkdownIt("commonmark", {"html": False, "highlight": _highlight_fence}).enable("table")

# Inline code that is a command to run gets a copy button: a person following the tree has a
# terminal open and should not have to select a long curl line by hand.
COPYABLE_COMMANDS = ("curl ", "kubectl ", "gcloud ", "aws ", "nginx ", "python ", "pip ")


def _code_inline(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    content = tokens[index].content
    code = f"<code>{escape(content)}</code>"
    if not content.startswith(COPYABLE_COMMANDS):
        return code
    ident = "cmd-" + hashlib.sha1(content.encode()).hexdigest()[:10]
    return (f'<span class="command"><code id="{ident}">{escape(content)}</code>'
            f'<button type="button" class="copy" data-copy="{ident}" hidden>Copy</button></span>')


_markdown.add_render_rule("code_inline", _code_inline)


def markdown_to_html(text: str) -> str:
    html: str = _markdown.render(text)  # markdown-it types render()'s result as Any
    return html


def markdown_inline(text: str) -> str:
    html: str = _markdown.renderInline(text)  # typed as Any, like render()
    return html


def plain_text(markdown: str) -> str:
    """Text for the search index: Markdown with its punctuation stripped."""
    text = re.sub(r"```[^\n]*\n", "", markdown)
    text = re.sub(r"[`*_#>|\[\]()]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_LANGUAGE_BY_SUFFIX = {
    ".py": "python",
    ".conf": "nginx",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".json": "json",
    ".sh": "bash",
    ".js": "javascript",
    ".ts": "typescript",
    ".tf": "terraform",
    ".ini": "ini",
    ".txt": "text",
    ".md": "markdown",
}
_LANGUAGE_BY_NAME = {"Dockerfile": "docker", "Procfile": "bash"}


def language_for_file(name: str) -> str:
    if name in _LANGUAGE_BY_NAME:
        return _LANGUAGE_BY_NAME[name]
    for suffix, language in _LANGUAGE_BY_SUFFIX.items():
        if name.endswith(suffix):
            return language
    return "text"


def lexer_for_language(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language or "text", stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def _css_class(token_type: _TokenType) -> str:
    while token_type not in STANDARD_TYPES:
        token_type = token_type.parent
    css_class: str = STANDARD_TYPES[token_type]  # Pygments ships no types
    return css_class


def highlight_lines(code: str, lexer: Lexer) -> list[str]:
    """Highlight `code` and return one HTML string per source line.

    Tokens that span lines (docstrings, multi-line strings) are split at each newline and
    reopened on the next line, so every returned line is balanced HTML.
    """
    lines: list[str] = [""]
    for token_type, value in lexer.get_tokens(code):
        css = _css_class(token_type)
        for index, piece in enumerate(value.split("\n")):
            if index:
                lines.append("")
            if piece:
                text = escape(piece, quote=False)
                lines[-1] += f'<span class="{css}">{text}</span>' if css else text
    source_line_count = code.count("\n") + 1
    return lines[:source_line_count]


@dataclass(frozen=True)
class CodeLine:
    number: int
    html: str
    changed: bool


@dataclass(frozen=True)
class CodeView:
    """A file ready for the page: its highlighted lines and the raw text for copying."""

    name: str
    language: str
    text: str
    lines: tuple[CodeLine, ...]

    @property
    def changed_count(self) -> int:
        return sum(1 for line in self.lines if line.changed)


def code_view(name: str, text: str, changed: frozenset[int] = frozenset()) -> CodeView:
    language = language_for_file(name)
    html_lines = highlight_lines(text.rstrip("\n"), lexer_for_language(language))
    lines = tuple(
        CodeLine(number=index, html=html, changed=index in changed)
        for index, html in enumerate(html_lines, start=1)
    )
    return CodeView(name=name, language=language, text=text, lines=lines)


def changed_line_numbers(before: str, after: str) -> tuple[frozenset[int], frozenset[int]]:
    """Line numbers (1-based) removed from `before` and added in `after`."""
    before_lines = before.rstrip("\n").split("\n")
    after_lines = after.rstrip("\n").split("\n")
    removed: set[int] = set()
    added: set[int] = set()
    matcher = difflib.SequenceMatcher(a=before_lines, b=after_lines, autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed.update(range(a_start + 1, a_end + 1))
        added.update(range(b_start + 1, b_end + 1))
    return frozenset(removed), frozenset(added)


def code_pair_views(
    broken_name: str, broken: str, fixed_name: str, fixed: str
) -> tuple[CodeView, CodeView]:
    removed, added = changed_line_numbers(broken, fixed)
    return code_view(broken_name, broken, removed), code_view(fixed_name, fixed, added)
