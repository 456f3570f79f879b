"""Content-Encoding, undone by hand.

httpx would decode for us, but then we could not time each network read, and
we could not see what compression did to the stream. The case that matters
most: middleware that gzips every chunk as a gzip member of its own. That is
valid gzip, but curl, httpx and the SDKs built on httpx decode only the first
member and then report a clean end. We decode all members (so the rest of the
probe sees the whole stream) and report how many there were.

Output is produced in bounded pieces, so a compression bomb hits the byte
limit instead of memory.
"""

from __future__ import annotations

import zlib
from typing import Any

# Small enough that one piece can never blow memory, large enough that a
# normal stream is one piece per read.
PIECE_BYTES = 64 * 1024

try:  # brotli is optional; without it "br" bodies are timed but not parsed
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None


class DecodeFailed(Exception):
    """The body is not valid for its Content-Encoding."""


class _Identity:
    def feed(self, data: bytes) -> list[bytes]:
        return [data] if data else []

    def finish(self) -> list[bytes]:
        return []

    def facts(self) -> dict[str, Any]:
        return {}


class _GzipMembers:
    """gzip, including bodies made of several concatenated gzip members."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(wbits=31)
        self.members = 0
        self._member_open = False
        self.first_member_bytes = 0
        self.truncated = False

    def feed(self, data: bytes) -> list[bytes]:
        pieces: list[bytes] = []
        while data:
            if not self._member_open:
                self._inflater = zlib.decompressobj(wbits=31)
                self.members += 1
                self._member_open = True
            try:
                out = self._inflater.decompress(data, PIECE_BYTES)
            except zlib.error as error:
                raise DecodeFailed(f"invalid gzip data in member {self.members}: {error}") from None
            if out:
                pieces.append(out)
                if self.members == 1:
                    self.first_member_bytes += len(out)
            if self._inflater.eof:
                self._member_open = False
                data = self._inflater.unused_data
            else:
                data = self._inflater.unconsumed_tail
        return pieces

    def finish(self) -> list[bytes]:
        if not self._member_open:
            return []
        # The body ended inside a member: keep what it held, and say so.
        self.truncated = True
        tail = self._inflater.flush()
        return [tail] if tail else []

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"gzip_members": self.members}
        if self.truncated:
            facts["gzip_truncated"] = True
        if self.members > 1:
            facts["first_gzip_member_bytes"] = self.first_member_bytes
            facts["clients_that_stop_after_the_first_member"] = "curl, httpx and the SDKs built on httpx"
        return facts


class _Deflate:
    """"deflate" is meant to be zlib-wrapped, but some servers send raw
    deflate; like browsers, accept both."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj()
        self._first = True

    def feed(self, data: bytes) -> list[bytes]:
        pieces: list[bytes] = []
        if self._first and data:
            self._first = False
            try:
                out = self._inflater.decompress(data, PIECE_BYTES)
            except zlib.error:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data)
            pieces.append(out)
            data = self._inflater.unconsumed_tail
        while data:
            try:
                out = self._inflater.decompress(data, PIECE_BYTES)
            except zlib.error as error:
                raise DecodeFailed(f"invalid deflate data: {error}") from None
            pieces.append(out)
            data = self._inflater.unconsumed_tail
        return [piece for piece in pieces if piece]

    def finish(self) -> list[bytes]:
        tail = self._inflater.flush()
        return [tail] if tail else []

    def facts(self) -> dict[str, Any]:
        return {}


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def feed(self, data: bytes) -> list[bytes]:
        try:
            out = self._decompressor.process(data)
        except brotli.error as error:
            raise DecodeFailed(f"invalid brotli data: {error}") from None
        return [out[i : i + PIECE_BYTES] for i in range(0, len(out), PIECE_BYTES)]

    def finish(self) -> list[bytes]:
        return []

    def facts(self) -> dict[str, Any]:
        return {}


class _Undecodable:
    """An encoding we cannot undo: reads are still timed, nothing is parsed."""

    def __init__(self, encoding: str, why: str) -> None:
        self.encoding = encoding
        self.why = why

    def feed(self, data: bytes) -> list[bytes]:
        return []

    def finish(self) -> list[bytes]:
        return []

    def facts(self) -> dict[str, Any]:
        return {"undecoded_encoding": self.encoding, "undecoded_because": self.why}


_Stage = _Identity | _GzipMembers | _Deflate | _Brotli | _Undecodable


def _stage_for(encoding: str) -> _Stage:
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return _GzipMembers()
    if encoding == "deflate":
        return _Deflate()
    if encoding == "br":
        if brotli is None:
            return _Undecodable("br", "the brotli package is not installed")
        return _Brotli()
    return _Undecodable(encoding, "this encoding is not supported")


class Decompressor:
    """Undoes a (possibly layered) Content-Encoding, piece by piece."""

    def __init__(self, content_encoding: str | None) -> None:
        names = [name.strip().lower() for name in (content_encoding or "").split(",") if name.strip()]
        # Encodings are listed in the order they were applied; undo in reverse.
        self._stages: list[_Stage] = [_stage_for(name) for name in reversed(names)] or [_Identity()]
        self.encoding = ", ".join(names)

    def feed(self, data: bytes) -> list[bytes]:
        pieces = [data]
        for stage in self._stages:
            pieces = [out for piece in pieces for out in stage.feed(piece)]
        return pieces

    def finish(self) -> list[bytes]:
        pieces: list[bytes] = []
        for stage in self._stages:
            pieces = [out for piece in pieces for out in stage.feed(piece)] + stage.finish()
        return pieces

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        for stage in self._stages:
            facts.update(stage.facts())
        return facts
