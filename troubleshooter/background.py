"""Background tasks a worker keeps one of per event loop (its heartbeat, the lag sampler)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any


class OnePerLoop:
    """Runs `factory()` as a task in whichever event loop asks for it, once per loop, and
    again if it ended. The task gets a context of its own: the request that first asks for
    it is gone long before it ends, and so is that request's thread for database work."""

    def __init__(self, factory: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._factory = factory
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def ensure(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._factory(), name=self._name, context=contextvars.Context())
