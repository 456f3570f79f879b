"""Support chat endpoint that stops generating as soon as the client goes away."""
import asyncio
import json
import logging
import os
from contextlib import aclosing
from functools import lru_cache

from fastapi import FastAPI, Request
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)
app = FastAPI()


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@app.get("/chat")
async def chat(request: Request, q: str) -> StreamingResponse:
    async def events():
        sent = 0
        try:
            # aclosing() shuts the model stream, and its HTTP request, the moment we leave.
            async with aclosing(chat_model().astream(q)) as stream:
                async for chunk in stream:
                    if await request.is_disconnected():
                        log.info("client left after %d chunks; generation stopped", sent)
                        return
                    if chunk.text:
                        sent += 1
                        yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        except asyncio.CancelledError:
            log.info("stream cancelled after %d chunks: the client disconnected", sent)
            raise
        log.info("answer complete after %d chunks", sent)
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
