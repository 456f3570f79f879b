"""An incremental Server-Sent Events parser, following the WHATWG spec.

It is fed bytes exactly as they come off the wire, in whatever pieces, and
gives the same result for any split of the same bytes. That matters here: a
probe that mis-parses a CR at a chunk boundary would report a cut-off that
is not there. Memory is bounded: a line or an event longer than the limit
raises TooLong instead of buffering without end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat

_LINE_END = re.compile(rb"\r\n|\r|\n")
_UTF8_BOM = b"\xef\xbb\xbf"


class TooLong(Exception):
    """A line (or an event's data) exceeded the configured byte limit."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} longer than {limit} bytes")
        self.what = what
        self.limit = limit


@dataclass(frozen=True, slots=True)
class SSEMessage:
    event: str  # "message" when the stream did not name one
    data: str
    id: str  # the last event id in effect when this event was dispatched
    retry: int | None  # the reconnection time most recently set, if any


@dataclass(frozen=True, slots=True)
class SSEComment:
    text: str


SSEItem = SSEMessage | SSEComment
# A message as (event, data, id, retry): what SSEMessage holds, without an object per event.
CompactItem = tuple[str, str, str, int | None] | SSEComment


class LineSplitter:
    """Splits bytes into lines at CR, LF or CRLF, across chunk boundaries."""

    def __init__(self, max_line_bytes: int) -> None:
        self._max_line_bytes = max_line_bytes
        self._pending = bytearray()
        # A CR ended the previous chunk; if the next byte is LF it belongs to
        # that same line end and must not produce an empty line.
        self._skip_leading_lf = False

    @property
    def has_partial_line(self) -> bool:
        return bool(self._pending)

    @property
    def skips_leading_lf(self) -> bool:
        return self._skip_leading_lf

    def feed(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        if self._skip_leading_lf and data[:1] == b"\n":
            data = data[1:]
        self._skip_leading_lf = False
        if b"\r" not in data:
            return self._split_on_lf(data)
        lines: list[bytes] = []
        start = 0
        for match in _LINE_END.finditer(data):
            piece = data[start : match.start()]
            if self._pending:
                self._pending += piece
                self._check_length(len(self._pending))
                piece = bytes(self._pending)
                self._pending.clear()
            else:
                self._check_length(len(piece))
            lines.append(piece)
            start = match.end()
            if match.group() == b"\r" and start == len(data):
                self._skip_leading_lf = True
        rest = data[start:]
        if rest:
            self._check_length(len(self._pending) + len(rest))
            self._pending += rest
        return lines

    def _split_on_lf(self, data: bytes) -> list[bytes]:
        """The common case, LF line ends only: one split in C instead of a regex per line."""
        lines = data.split(b"\n")
        rest = lines.pop()
        if lines:
            if self._pending:
                self._pending += lines[0]
                lines[0] = bytes(self._pending)
                self._pending.clear()
            self._check_length(max(map(len, lines)))
        if rest:
            self._check_length(len(self._pending) + len(rest))
            self._pending += rest
        return lines

    def _check_length(self, length: int) -> None:
        if length > self._max_line_bytes:
            raise TooLong("a line", self._max_line_bytes)

    def take_partial_line(self) -> bytes:
        partial = bytes(self._pending)
        self._pending.clear()
        return partial


class SSEParser:
    """Feed bytes, get SSE messages and comments (comments are kept because
    heartbeats are evidence: they are what keeps idle timeouts away)."""

    def __init__(self, max_line_bytes: int = 1 << 20) -> None:
        self._lines = LineSplitter(max_line_bytes)
        self._max_event_bytes = max_line_bytes
        self._start = bytearray()  # the first bytes, until we know whether they are a BOM
        self._started = False
        self._event_type = ""
        self._data: list[str] = []
        self._data_size = 0
        self._last_event_id = ""
        self._retry: int | None = None
        self.invalid_utf8 = False  # some line held bytes that are not UTF-8

    @property
    def has_pending_event(self) -> bool:
        """True when the stream so far ends inside an event (no blank line yet)."""
        return bool(self._data) or self._lines.has_partial_line or bool(self._start)

    def feed(self, data: bytes) -> list[SSEItem]:
        return [SSEMessage(*item) if isinstance(item, tuple) else item for item in self.feed_compact(data)]

    def feed_compact(self, data: bytes) -> list[CompactItem]:
        """Like feed(), with each message as an (event, data, id, retry) tuple.

        A flood brings hundreds of thousands of events a second, nearly all of
        them `data: ...` and a blank line. Where a stretch of the input is
        exactly that, it is taken apart with a few passes in C instead of a
        Python step per line; everything else goes line by line.
        """
        data = self._strip_bom(data)
        items: list[CompactItem] = []
        start = 0
        if not self._at_event_boundary():
            # Finish the event in progress the general way first.
            cut = data.find(b"\n\n")
            start = len(data) if cut < 0 else cut + 2
            self._feed_lines(data[:start], items)
            if not self._at_event_boundary():
                self._feed_lines(data[start:], items)
                return items
        last = data.rfind(b"\n\n", start)
        if last >= 0:
            run = self._plain_run(data[start : last + 2])
            if run is not None:
                items += zip(repeat("message"), run, repeat(self._last_event_id), repeat(self._retry))
                start = last + 2
        self._feed_lines(data[start:], items)
        return items

    def _at_event_boundary(self) -> bool:
        return not (self._data or self._event_type or self._lines.has_partial_line or self._lines.skips_leading_lf)

    def _plain_run(self, chunk: bytes) -> list[str] | None:
        """The data of each event when `chunk` is nothing but events of one
        `data: ` line each (LF line ends, valid UTF-8, within the line limit),
        else None. Read at an event boundary, such a chunk means exactly
        that to the general rules too."""
        if len(chunk) > self._max_event_bytes or not chunk.startswith(b"data: ") or b"\r" in chunk:
            return None
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            return None
        run = text[6:-2].split("\n\ndata: ")
        # Two line feeds per event and none elsewhere: no event has a second
        # line or a field other than data.
        if text.count("\n") != 2 * len(run):
            return None
        return run

    def _feed_lines(self, data: bytes, items: list[CompactItem]) -> None:
        pending = self._data
        for line in self._lines.feed(data):
            if line[:5] == b"data:":
                value = line[6:] if line[5:6] == b" " else line[5:]
                try:
                    text = value.decode("utf-8")
                except UnicodeDecodeError:
                    text = self._decode(value)
                self._add_data(text)
            elif not line:
                if pending:
                    text = pending[0] if len(pending) == 1 else "\n".join(pending)
                    items.append((self._event_type or "message", text, self._last_event_id, self._retry))
                    pending.clear()
                    self._data_size = 0
                self._event_type = ""
            else:
                comment = self._process_line(line)
                if comment is not None:
                    items.append(comment)

    def finish(self) -> list[SSEComment]:
        """End of stream. Per the spec an unterminated event is dropped, but a
        final comment line without a line end is still reported."""
        if not self._started and self._start:
            self._started = True
            leftover, self._start = bytes(self._start), bytearray()
            self._lines.feed(leftover)
        partial = self._lines.take_partial_line()
        items: list[SSEComment] = []
        if partial.startswith(b":"):
            items.append(SSEComment(self._decode(partial[1:])))
        return items

    def _strip_bom(self, data: bytes) -> bytes:
        if self._started:
            return data
        # The BOM itself may be split across chunks, so hold up to 3 bytes.
        self._start += data
        if len(self._start) < len(_UTF8_BOM) and _UTF8_BOM.startswith(bytes(self._start)):
            return b""
        self._started = True
        head = bytes(self._start)
        self._start = bytearray()
        return head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head

    def _process_line(self, raw: bytes) -> SSEComment | None:
        """A non-blank line that feed_compact() did not handle inline."""
        line = self._decode(raw)
        if line.startswith(":"):
            return SSEComment(line[1:])
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._apply_field(name, value)
        return None

    def _apply_field(self, name: str, value: str) -> None:
        if name == "event":
            self._event_type = value
        elif name == "data":
            self._add_data(value)
        elif name == "id":
            if "\x00" not in value:
                self._last_event_id = value
        elif name == "retry":
            if value and value.isascii() and value.isdigit():
                self._retry = int(value)
        # Any other field name is ignored, as the spec says.

    def _add_data(self, value: str) -> None:
        self._data_size += len(value) + 1
        if self._data_size > self._max_event_bytes:
            raise TooLong("an event's data", self._max_event_bytes)
        self._data.append(value)

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.invalid_utf8 = True
            return raw.decode("utf-8", errors="replace")
