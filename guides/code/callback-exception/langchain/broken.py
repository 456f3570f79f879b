"""Support chat that mirrors every token to a live dashboard through a callback."""
import asyncio
import json
import logging
import os
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)
app = FastAPI()
# Drained by the supervisors' dashboard; bounded so a stalled dashboard cannot eat memory.
live_feed: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)


class LiveFeed(AsyncCallbackHandler):
    raise_error = True  # so that a broken feed "cannot go unnoticed"

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        # Raises asyncio.QueueFull once the dashboard falls behind. With raise_error set,
        # LangChain re-raises it out of astream() and the user's answer stops mid-sentence.
        live_feed.put_nowait(token)


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        async for chunk in chat_model().astream(q, config={"callbacks": [LiveFeed()]}):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
