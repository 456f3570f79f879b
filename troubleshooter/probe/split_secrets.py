"""Secrets a target echoes back across several pieces of text.

Content arrives in small pieces (a model's tokens are a few characters each), so a secret
the target echoes back may be cut across many events, none of which holds it whole, while
the page and the report show their text joined. The guard holds back the events whose
joined text so far could still turn into a secret (its end is the start of one), blanks a
secret wherever it completes, and lets the rest go. An event is never lost or reordered
among the content events; its time stamp stays the time it arrived; only the moment it is
passed on may wait for the next piece.
"""

from __future__ import annotations

from collections.abc import Sequence

from .record import SECRET_PLACEHOLDER, Event


class SplitSecretGuard:
    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = sorted(secrets, key=len, reverse=True)
        self.held: list[Event] = []

    def take(self, event: Event) -> list[Event]:
        """Add a content event; returns the held ones (and it) that are now safe to pass on."""
        self.held.append(event)
        self._blank_complete_secrets()
        joined = "".join(held.text for held in self.held)
        keep_from = len(joined) - self._unfinished_tail(joined)
        released: list[Event] = []
        offset = 0
        while self.held and offset + len(self.held[0].text) <= keep_from:
            offset += len(self.held[0].text)
            released.append(self.held.pop(0))
        return released

    def flush(self) -> list[Event]:
        released, self.held = self.held, []
        return released

    def _unfinished_tail(self, joined: str) -> int:
        """How many characters at the end of `joined` are the start of a secret."""
        longest = 0
        for secret in self._secrets:
            for length in range(min(len(secret) - 1, len(joined)), longest, -1):
                if joined.endswith(secret[:length]):
                    longest = length
                    break
        return longest

    def _blank_complete_secrets(self) -> None:
        for secret in self._secrets:
            joined = "".join(held.text for held in self.held)
            start = joined.find(secret)
            while start != -1:
                self._blank_span(start, start + len(secret))
                joined = "".join(held.text for held in self.held)
                start = joined.find(secret)

    def _blank_span(self, start: int, end: int) -> None:
        """The placeholder where the span starts; its other pieces removed from their events."""
        offset = 0
        placed = False
        for held in self.held:
            text = held.text
            low, high = max(start, offset) - offset, min(end, offset + len(text)) - offset
            offset += len(text)
            if low >= high:
                continue
            held.text = text[:low] + ("" if placed else SECRET_PLACEHOLDER) + text[high:]
            placed = True
