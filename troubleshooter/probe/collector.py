"""Fewer cyclic garbage collections while streams are being recorded.

A stream's events are kept until its report is built, so a flood leaves a hundred thousand
objects alive, and the JSON of every chunk allocates a few containers that count towards
the collector's threshold. With Python's default schedule (a collection every 700
allocations, older generations every 10 of those) the collector walks the kept events
again and again: a tenth of a flood's ingest time, and pauses that every other stream in
the process feels as lag. While any probe runs, the schedule is stretched; when the last
one ends, the schedule that was in place comes back. Only the cyclic collector's timing
changes: memory is still freed by reference counting as soon as nothing uses it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STRETCHED = (20_000, 20, 20)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(now, stretched) for now, stretched in zip(_saved, STRETCHED, strict=True)))
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
