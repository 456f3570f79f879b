"""The channel layer of the embedded default: Channels' in-memory layer, sweeping for
expired messages and group memberships at most once a second.

The stock layer sweeps every channel and every group on each send and each receive. Every
live run has a group and a control channel, and every viewer a channel, so with hundreds of
runs each wake-up walked all the others': work that grows with the square of the runs, on
the event loop that also times every chunk. Messages expire after a minute and group
memberships after a day, so a sweep that comes up to a second late changes nothing a
viewer could notice.
"""

from __future__ import annotations

import time
from typing import Any

from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer

SWEEP_SECONDS = 1.0


class InMemoryChannelLayer(StockInMemoryChannelLayer):  # type: ignore[misc]  # channels ships no types
    clock = staticmethod(time.monotonic)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_sweep = float("-inf")

    def _clean_expired(self) -> None:
        now = self.clock()
        if now - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = now
        super()._clean_expired()
