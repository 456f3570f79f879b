"""Markdown and code to HTML, done once when the guides load.

Code is highlighted line by line (not as one block) so that a page can number the lines, set
a broken file's lines level with the fixed file's in two columns or interleave them in one,
and mark the lines a fix changed.
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
COPYABLE_COMMANDS = ("curl ", "kubectl ", "gcloud ", "aws ", "nginx ", "python ", "pip ", "docker ", "npm ", "grep ")


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


def breakable_code(text: str) -> str:
    """HTML for a long call in a narrow box: it may break after an opening parenthesis or a
    comma and before a dot, where a reader expects a call to go on, rather than between any
    two letters."""
    html = re.sub(r"([(,])", r"\1<wbr>", escape(text, quote=False))
    return re.sub(r"(?<=[A-Za-z_)\]])\.(?=[A-Za-z_])", "<wbr>.", html)  # not inside 3.5


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


# Wrapped code stays readable when a wrapped line continues under its own indentation rather
# than at the left margin; the stylesheet has a class for each even indentation up to this.
MAX_WRAP_INDENT = 24


@dataclass(frozen=True)
class CodeLine:
    number: int
    html: str
    indent: int  # leading spaces, rounded down to even and capped at MAX_WRAP_INDENT


def _wrap_indent(source_line: str) -> int:
    spaces = len(source_line) - len(source_line.lstrip(" "))
    return min(spaces, MAX_WRAP_INDENT) // 2 * 2


@dataclass(frozen=True)
class CodeView:
    """A file ready for the page: its highlighted lines and the raw text for copying."""

    name: str
    language: str
    text: str
    lines: tuple[CodeLine, ...]


def code_view(name: str, text: str) -> CodeView:
    language = language_for_file(name)
    source = text.rstrip("\n")
    html_lines = highlight_lines(source, lexer_for_language(language))
    lines = tuple(
        CodeLine(number=number, html=html, indent=_wrap_indent(source_line))
        for number, (html, source_line) in enumerate(zip(html_lines, source.split("\n"), strict=True), start=1)
    )
    return CodeView(name=name, language=language, text=text, lines=lines)


@dataclass(frozen=True)
class SplitRow:
    """One row of the side-by-side view: a broken line level with the fixed line that took
    its place. None is the blank left opposite a line that only one file has."""

    broken: CodeLine | None
    fixed: CodeLine | None
    changed: bool


@dataclass(frozen=True)
class UnifiedRow:
    """One row of the one-column view: sign is " " for a line both files share, "-" for a
    line only the broken file has, "+" for one only the fixed file has."""

    sign: str
    broken_number: int | None
    fixed_number: int | None
    line: CodeLine


@dataclass(frozen=True)
class CodeDiff:
    broken: CodeView
    fixed: CodeView
    split: tuple[SplitRow, ...]
    unified: tuple[UnifiedRow, ...]

    @property
    def removed_count(self) -> int:
        return sum(1 for row in self.unified if row.sign == "-")

    @property
    def added_count(self) -> int:
        return sum(1 for row in self.unified if row.sign == "+")


# Two lines at least this alike (difflib's ratio) are one line edited, not two unrelated ones.
_SAME_LINE_EDITED = 0.6


def _pair_rewritten(before: list[str], after: list[str], a: int, b: int) -> list[tuple[int | None, int | None]]:
    """Pair the lines of a rewritten block (indexes into before and after), each line with
    the most similar line on the other side, keeping both orders.

    The best-matching pair splits the block in two and each half is paired the same way, as
    difflib's Differ does; what matches nothing is paired by position, since a replaced line
    usually stands where the old one stood, and the rest faces a blank.
    """
    best, best_i, best_j = _SAME_LINE_EDITED, -1, -1
    matcher = difflib.SequenceMatcher(autojunk=False)
    for j, line_after in enumerate(after):
        matcher.set_seq2(line_after)
        for i, line_before in enumerate(before):
            matcher.set_seq1(line_before)
            if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best and matcher.ratio() > best:
                best, best_i, best_j = matcher.ratio(), i, j
    if best_i < 0:
        length = max(len(before), len(after))
        return [
            (a + k if k < len(before) else None, b + k if k < len(after) else None) for k in range(length)
        ]
    return [
        *_pair_rewritten(before[:best_i], after[:best_j], a, b),
        (a + best_i, b + best_j),
        *_pair_rewritten(before[best_i + 1 :], after[best_j + 1 :], a + best_i + 1, b + best_j + 1),
    ]


def code_diff(broken_name: str, broken: str, fixed_name: str, fixed: str) -> CodeDiff:
    """Both files highlighted, and aligned two ways: side by side, where line 47 of the broken
    file faces line 51 of the fixed one when that is what it became, and as one column."""
    broken_view, fixed_view = code_view(broken_name, broken), code_view(fixed_name, fixed)
    before = broken.rstrip("\n").split("\n")
    after = fixed.rstrip("\n").split("\n")
    split: list[SplitRow] = []
    unified: list[UnifiedRow] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(a_start, a_end), range(b_start, b_end), strict=True):
                old, new = broken_view.lines[i], fixed_view.lines[j]
                split.append(SplitRow(broken=old, fixed=new, changed=False))
                unified.append(UnifiedRow(sign=" ", broken_number=old.number, fixed_number=new.number, line=new))
            continue
        for old_index, new_index in _pair_rewritten(before[a_start:a_end], after[b_start:b_end], a_start, b_start):
            split.append(
                SplitRow(
                    broken=broken_view.lines[old_index] if old_index is not None else None,
                    fixed=fixed_view.lines[new_index] if new_index is not None else None,
                    changed=True,
                )
            )
        # One column reads like a patch: the whole old block, then the whole new one.
        for old in broken_view.lines[a_start:a_end]:
            unified.append(UnifiedRow(sign="-", broken_number=old.number, fixed_number=None, line=old))
        for new in fixed_view.lines[b_start:b_end]:
            unified.append(UnifiedRow(sign="+", broken_number=None, fixed_number=new.number, line=new))
    return CodeDiff(broken=broken_view, fixed=fixed_view, split=tuple(split), unified=tuple(unified))
