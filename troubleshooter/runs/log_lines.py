"""Log lines pasted from the person's servers (gunicorn, uvicorn, Daphne, nginx's error log,
a load balancer's or a platform's logs), matched to causes by the error messages each cause
page lists. The numbers in a message (a pid, a duration, an address) differ from one log to
the next, so each listed message is matched as a pattern in which they may be anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from troubleshooter.guides.content import Cause

# Pasted logs are read line by line; past this many lines the rest is not looked at.
MAX_LINES = 20_000
# A listed message this short would match ordinary words ("ALB 460" is a search phrase,
# not a log line): only messages with some length become patterns.
SHORTEST_MESSAGE = 12


@dataclass(frozen=True)
class Evidence:
    line_number: int
    line: str
    start: int
    end: int

    @property
    def before(self) -> str:
        return self.line[: self.start]

    @property
    def matched(self) -> str:
        return self.line[self.start : self.end]

    @property
    def after(self) -> str:
        return self.line[self.end :]


@dataclass
class Finding:
    cause: Cause
    message: str  # the cause page's message that matched
    evidence: list[Evidence] = field(default_factory=list)


def message_pattern(message: str) -> re.Pattern[str]:
    """A listed message as a pattern: its numbers and hex addresses may be any, and a
    '...' stands for anything."""
    parts = re.split(r"(0x[0-9a-fA-F]+|\d+(?:\.\d+)?|\.\.\.|…)", message.strip())
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        elif part in ("...", "…"):
            pattern += ".*?"
        elif part.startswith("0x"):
            pattern += r"0x[0-9a-fA-F]+"
        else:
            pattern += r"\d+(?:\.\d+)?"
    return re.compile(pattern, re.IGNORECASE)


@lru_cache(maxsize=4)
def _patterns(causes_key: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, str, re.Pattern[str]]]:
    # Longest first: a line is credited with the fullest message it holds.
    return sorted(
        (
            (cause_id, message, message_pattern(message))
            for cause_id, messages in causes_key
            for message in messages
            if len(message.strip()) >= SHORTEST_MESSAGE
        ),
        key=lambda item: -len(item[1]),
    )


def match_lines(text: str, causes: Mapping[str, Cause]) -> list[Finding]:
    """Causes whose listed messages appear in the pasted lines, the one with the most
    matching lines first, each with the lines as evidence."""
    key = tuple((cause_id, cause.errors) for cause_id, cause in sorted(causes.items()))
    patterns = _patterns(key)
    findings: dict[str, Finding] = {}
    for number, line in _lines(text):
        for cause_id, message, pattern in patterns:
            found = pattern.search(line)
            if found is None:
                continue
            finding = findings.setdefault(cause_id, Finding(causes[cause_id], message))
            if len(finding.evidence) < 5 and not any(e.line_number == number for e in finding.evidence):
                finding.evidence.append(Evidence(number, line, found.start(), found.end()))
    # A message that several causes list says less about each of them than one only one lists.
    listed_by: dict[str, int] = {}
    for _, message, _ in patterns:
        listed_by[message.lower()] = listed_by.get(message.lower(), 0) + 1

    def weight(finding: Finding) -> float:
        return len(finding.evidence) / listed_by.get(finding.message.lower(), 1)

    return sorted(findings.values(), key=lambda finding: (-weight(finding), finding.cause.id))


def _lines(text: str) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(text.splitlines()[:MAX_LINES], start=1):
        line = line.strip()
        if line:
            yield number, line[:2000]
