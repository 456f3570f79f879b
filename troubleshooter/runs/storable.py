"""Text a target sent, made fit to store and to show.

A stream may carry any character, and two of them cannot be kept as they are: PostgreSQL
refuses a NUL inside JSON, and a lone surrogate (JSON's "\\ud800", never valid on its own)
can be neither stored in PostgreSQL nor sent to a browser as UTF-8. A run that met either
lost every write after it. They are replaced by characters that say what was there: NUL by
U+2400 SYMBOL FOR NULL and a lone surrogate by U+FFFD, the replacement character the probe
already uses for bytes that are not UTF-8. Everything else is kept; pages escape it.
"""

from __future__ import annotations

import re
from typing import Any

from troubleshooter.probe.record import map_strings

NUL_SHOWN_AS = "\u2400"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _replace(match: re.Match[str]) -> str:
    return NUL_SHOWN_AS if match.group() == "\x00" else "\ufffd"


def storable_text(text: str) -> str:
    return _UNSTORABLE.sub(_replace, text) if _UNSTORABLE.search(text) else text


def storable(value: Any) -> Any:
    """The same JSON-like value with every string (keys too) made storable."""
    return map_strings(value, storable_text)
