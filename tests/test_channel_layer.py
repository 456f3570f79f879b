"""The embedded channel layer delivers like Channels' own, and sweeps for expired messages
once a second instead of on every send and receive."""

from __future__ import annotations

import asyncio

from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer

from troubleshooter.channel_layer import SWEEP_SECONDS, InMemoryChannelLayer


def test_group_messages_reach_every_member():
    async def scenario() -> list[dict]:
        layer = InMemoryChannelLayer()
        channels = [await layer.new_channel() for _ in range(3)]
        for channel in channels:
            await layer.group_add("run.abc", channel)
        await layer.group_send("run.abc", {"type": "run.progress", "seq": 7})
        return [await layer.receive(channel) for channel in channels]

    assert asyncio.run(scenario()) == [{"type": "run.progress", "seq": 7}] * 3


def test_hundreds_of_sends_within_a_second_sweep_once(monkeypatch):
    sweeps: list[float] = []
    clock = [1000.0]
    monkeypatch.setattr(StockInMemoryChannelLayer, "_clean_expired", lambda self: sweeps.append(clock[0]))
    monkeypatch.setattr(InMemoryChannelLayer, "clock", staticmethod(lambda: clock[0]))

    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        channel = await layer.new_channel()
        await layer.group_add("run.abc", channel)
        for _ in range(300):
            await layer.group_send("run.abc", {"type": "run.progress"})
            await layer.receive(channel)
        clock[0] += SWEEP_SECONDS
        await layer.group_send("run.abc", {"type": "run.progress"})

    asyncio.run(scenario())
    assert sweeps == [1000.0, 1000.0 + SWEEP_SECONDS]


def test_expired_messages_are_still_dropped_by_the_next_sweep(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(InMemoryChannelLayer, "clock", staticmethod(lambda: clock[0]))

    async def scenario() -> bool:
        layer = InMemoryChannelLayer(expiry=0)
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "old"})
        await asyncio.sleep(0.01)
        clock[0] += SWEEP_SECONDS
        await layer.group_send("nobody", {"type": "new"})  # a group send sweeps once it is due
        return channel in layer.channels

    assert asyncio.run(scenario()) is False
