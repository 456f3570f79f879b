"""The lab's WebSocket stream, for probing the WebSocket transport."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .views import BadParameter, bounded, openai_chunk, word


class LabStreamConsumer(AsyncWebsocketConsumer):
    """ws://.../lab/ws/?chunks=20&delay=0.05: OpenAI-style JSON messages, then [DONE]."""

    async def connect(self) -> None:
        if not settings.LAB_ENABLED:
            await self.close(code=4404)
            return
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            chunks = int(bounded(query.get("chunks", [None])[0], "chunks", 20, 1, 5000))
            delay = bounded(query.get("delay", [None])[0], "delay", 0.05, 0, 5)
        except BadParameter as exc:
            await self.send(text_data=json.dumps({"error": {"message": str(exc)}}))
            await self.close(code=1008)
            return
        self.sender = asyncio.create_task(self.stream(chunks, delay))

    async def stream(self, chunks: int, delay: float) -> None:
        for index in range(chunks):
            await self.send(text_data=openai_chunk(index, word(index)).decode()[len("data: "):].strip())
            await asyncio.sleep(delay)
        await self.send(text_data="[DONE]")
        await self.close(code=1000)

    async def disconnect(self, code: int) -> None:
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()
