"""Builds a Record while a run happens, and tells a listener about each step.

Both the HTTP and the WebSocket side of the engine write through a Recorder,
so limits, time stamps and live events behave the same for every transport.
"""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from .events import LiveEvent, OnEvent, StreamEvent
from .formats import BodyDecoder
from .policy import OutboundPolicy, Resolver, Target, TargetRefused, TargetUnresolvable, check_target
from .record import (
    SECRET_PLACEHOLDER,
    Ending,
    Event,
    Hop,
    Read,
    Record,
    map_strings,
    pick_headers_that_matter,
    redact_url,
)
from .spec import Limits, ProbeSpec
from .split_secrets import SplitSecretGuard

logger = logging.getLogger(__name__)


class LimitReached(Exception):
    """One of our own limits stopped the run."""

    def __init__(self, limit: str, reason: str) -> None:
        super().__init__(reason)
        self.limit = limit
        self.reason = reason


class Recorder:
    """Builds a Record as things happen, enforces the count limits, and tells
    the listener about each step, as live events of the lane it is told."""

    def __init__(self, spec: ProbeSpec, limits: Limits, on_event: OnEvent | None, lane: str = "stream") -> None:
        self.started = time.monotonic()
        self.limits = limits
        self.lane = lane
        self.record = Record(
            request=spec.request_info(),
            started_at=datetime.now(UTC).isoformat(),
            started_monotonic=self.started,
            format=spec.format,
        )
        self._on_event = on_event
        self._secrets = spec.secret_values()
        self._split_guard = SplitSecretGuard(self._secrets) if self._secrets else None
        self._raw_bytes = 0
        self._decoded_bytes = 0
        self.terminal_seen = False
        self._forced_ending: tuple[str, str] | None = None

    def force_ending(self, kind: str, reason: str) -> None:
        """Whatever ends the run later, record it as this kind (the reason
        keeps both)."""
        self._forced_ending = (kind, reason)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def emit(self, payload: LiveEvent) -> None:
        if self._on_event is None:
            return
        if self._secrets:
            # Anything a target sent may echo a secret: headers, a reason phrase, a Location.
            payload = self._blanked(payload)
        try:
            result = self._on_event(payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            # A broken listener (a closed browser socket) must not lose the run.
            self.record.facts["listener_errors"] = self.record.facts.get("listener_errors", 0) + 1
            logger.warning("probe listener failed on a %s event", payload["type"], exc_info=True)

    async def start(self) -> None:
        await self.emit({"type": "request", "t": 0.0, "stream": self.lane, "request": asdict(self.record.request)})

    async def add_hop(self, url: str, target: Target) -> None:
        self.record.hops.append(Hop(url=redact_url(url), addresses=list(target.addresses)))
        await self.emit(
            {"type": "resolved", "t": self.elapsed(), "stream": self.lane, "host": target.host,
             "addresses": list(target.addresses)}
        )

    async def note_redirect(self, status: int, location: str) -> None:
        if self.record.hops:
            self.record.hops[-1].status = status
            self.record.hops[-1].location = redact_url(location)
        await self.emit({"type": "redirect", "t": self.elapsed(), "stream": self.lane, "status": status,
                         "location": redact_url(location)})

    async def set_response(self, status: int, http_version: str, headers: Any) -> None:
        record = self.record
        record.status = status
        record.http_version = http_version
        record.headers = pick_headers_that_matter(headers)
        record.time_to_headers = self.elapsed()
        if record.hops:
            record.hops[-1].status = status
        await self.emit(
            {
                "type": "response",
                "t": record.time_to_headers,
                "stream": self.lane,
                "status": status,
                "http_version": http_version,
                "headers": dict(record.headers),
            }
        )

    async def add_read(self, size: int) -> float:
        """Record a read that arrived just now; returns its time."""
        t = self.elapsed()
        self._raw_bytes += size
        self.record.reads.append(Read(t=t, size=size))
        if self._on_event is not None:
            await self.emit({"type": "chunk", "t": t, "stream": self.lane, "size": size,
                             "index": len(self.record.reads) - 1})
        if self._raw_bytes > self.limits.max_bytes:
            raise LimitReached("bytes", f"more than {self.limits.max_bytes} bytes arrived")
        if len(self.record.reads) >= self.limits.max_reads:
            raise LimitReached("reads", f"{self.limits.max_reads} reads arrived")
        return t

    def count_decoded(self, size: int) -> None:
        self._decoded_bytes += size
        self.record.facts["decoded_bytes"] = self._decoded_bytes
        if self._decoded_bytes > self.limits.max_bytes:
            raise LimitReached("bytes", f"the body decoded to more than {self.limits.max_bytes} bytes")

    async def add_events(self, events: list[Event], t: float) -> None:
        # Secrets a target echoes are blanked in what is emitted (emit) and, once the run
        # ends, in the record (_blank_record); split ones by the guard in _guarded.
        if self._on_event is None:
            self._keep_events(events, t)
            return
        for event in events:
            if len(self.record.events) >= self.limits.max_events:
                raise LimitReached("events", f"more than {self.limits.max_events} events arrived")
            event.t = t
            self.record.events.append(event)
            if event.kind == "terminal":
                self.terminal_seen = True
            for ready in self._guarded(event):
                await self.emit(self._live(ready))

    def _guarded(self, event: Event) -> list[Event]:
        """The events safe to pass on now that `event` arrived (see split_secrets)."""
        guard = self._split_guard
        if guard is None:
            return [event]
        if event.kind == "content":
            return guard.take(event)
        return [*guard.flush(), event]  # a secret does not run on across other events

    def _live(self, event: Event) -> StreamEvent:
        """Built field by field: this runs for every event of a flood, and a generic
        conversion (asdict's deep copy) cost more than parsing the event did."""
        live: StreamEvent = {"type": "event", "kind": event.kind, "t": event.t, "stream": self.lane}
        if event.text:
            live["text"] = event.text
        if event.finish_reason is not None:
            live["finish_reason"] = event.finish_reason
        if event.name is not None:
            live["name"] = event.name
        if event.detail is not None:
            live["detail"] = event.detail
        if event.usage is not None:
            live["usage"] = event.usage
        return live

    def _blank_text(self, text: str) -> str:
        if any(secret in text for secret in self._secrets):
            for secret in self._secrets:  # longest first, so a secret inside another goes whole
                text = text.replace(secret, SECRET_PLACEHOLDER)
        return text

    def _blanked(self, value: Any) -> Any:
        """The same JSON-like value with every secret replaced, in keys and values alike."""
        return map_strings(value, self._blank_text)

    def _blank_record(self) -> None:
        """The last pass over what the target could have echoed into the record: kept
        headers, hops and Locations, the ending's reason (a reason phrase, an error message),
        facts (an error body, a close reason) and every text an event carries."""
        record = self.record
        record.headers = self._blanked(record.headers)
        for hop in record.hops:
            hop.url = self._blank_text(hop.url)
            hop.location = self._blank_text(hop.location) if hop.location else hop.location
        if record.ending is not None:
            record.ending.reason = self._blank_text(record.ending.reason)
        record.facts = self._blanked(record.facts)
        for event in record.events:
            for name in ("text", "detail", "name", "finish_reason"):
                value = getattr(event, name)
                if value:
                    setattr(event, name, self._blank_text(value))

    def _keep_events(self, events: list[Event], t: float) -> None:
        """add_events() with nobody listening: the same record and limit, a
        read's worth of events at a time instead of one by one."""
        if self._split_guard is not None:
            for event in events:
                self._guarded(event)  # blanks split secrets in place; nobody is waiting for them
        kept = self.record.events
        room = self.limits.max_events - len(kept)
        batch = events if len(events) <= room else events[: max(room, 0)]
        for event in batch:
            event.t = t
            if event.kind == "terminal":
                self.terminal_seen = True
        kept += batch
        if len(batch) < len(events):
            raise LimitReached("events", f"more than {self.limits.max_events} events arrived")

    def note_decoder(self, decoder: BodyDecoder) -> None:
        self.record.format = decoder.format
        self.record.expects_terminal = decoder.expects_terminal
        self.record.facts.update(decoder.facts())

    async def end(self, kind: str, reason: str = "", limit: str | None = None) -> None:
        """Set the ending once; the first cause of the end wins."""
        if self.record.ending is not None:
            return
        if self._forced_ending is not None:
            forced_kind, forced_reason = self._forced_ending
            kind, reason = forced_kind, f"{forced_reason}; {reason}" if reason else forced_reason
        ending = self.record.ending = Ending(kind=kind, t=self.elapsed(), reason=reason, limit=limit)
        if self._split_guard is not None:
            for held in self._split_guard.flush():
                await self.emit(self._live(held))
        if self._secrets:
            self._blank_record()
        if limit is None:
            await self.emit({"type": "end", "kind": kind, "t": ending.t, "stream": self.lane, "reason": reason})
        else:
            await self.emit({"type": "end", "kind": kind, "t": ending.t, "stream": self.lane, "reason": reason,
                             "limit": limit})

    async def end_body(self, reason_if_clean: str = "") -> None:
        if self.terminal_seen:
            await self.end("terminal-event", reason_if_clean)
        else:
            await self.end("clean-close", reason_if_clean or "the body ended without a terminal event")


async def checked_target(
    url: str, policy: OutboundPolicy, resolver: Resolver, recorder: Recorder
) -> Target | None:
    """The checked target for `url`, or None after recording why not."""
    try:
        target = await check_target(url, policy, resolver)
    except TargetRefused as refused:
        await recorder.end("blocked", refused.reason)
        return None
    except TargetUnresolvable as unresolvable:
        await recorder.end("connect-error", str(unresolvable))
        return None
    await recorder.add_hop(url, target)
    return target
