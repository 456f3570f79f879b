"""Code and Markdown rendering: highlighted line by line, Markdown without raw HTML."""

from __future__ import annotations

import pytest

from troubleshooter.guides.rendering import (
    highlight_lines,
    lexer_for_language,
    markdown_inline,
    markdown_to_html,
)


def test_a_multi_line_string_is_split_into_balanced_lines():
    code = 'x = """first\nsecond\nthird"""\ny = 1'
    lines = highlight_lines(code, lexer_for_language("python"))
    assert len(lines) == 4
    for line in lines:
        assert line.count("<span") == line.count("</span>")
    assert "second" in lines[1]


def test_blank_lines_are_kept_so_line_numbers_match_the_file():
    lines = highlight_lines("a = 1\n\n\nb = 2", lexer_for_language("python"))
    assert len(lines) == 4 and lines[1] == "" and lines[2] == ""


def test_code_is_escaped():
    lines = highlight_lines('s = "<script>"', lexer_for_language("python"))
    assert "<script>" not in lines[0] and "&lt;script&gt;" in lines[0]


def test_markdown_does_not_pass_raw_html_through():
    html = markdown_to_html("Hello <script>alert(1)</script>")
    assert "<script>" not in html


def test_fenced_code_in_markdown_is_highlighted():
    html = markdown_to_html("```nginx\nproxy_buffering off;\n```")
    assert 'data-lang="nginx"' in html and "proxy_buffering" in html


@pytest.mark.parametrize("command", [
    "curl -N https://your-host/your-route",
    "docker logs app 2>&1 | grep -A40 Traceback",
    "npm ls @langchain/core",
    "grep -rn stream_mode your_app/",
])
def test_a_command_to_run_gets_a_copy_button(command):
    assert 'class="copy"' in markdown_inline(f"Run `{command}` where the app runs.")


def test_a_name_in_code_gets_no_copy_button():
    assert 'class="copy"' not in markdown_inline("Set `proxy_buffering off` in the location.")
