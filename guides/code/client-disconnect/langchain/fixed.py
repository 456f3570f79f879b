"""Support chat endpoint that saves every answer, streaming it to the page as it comes."""
import asyncio
import json
import logging
import os
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


async def generate(q: str, out: asyncio.Queue) -> None:
    """Produce the answer into a queue, so it can be saved even if the page is slow to read."""
    async for chunk in chat_model().astream(q):
        if chunk.text:
            await out.put(chunk.text)
    await out.put(None)


@app.get("/chat")
async def chat(request: Request, q: str) -> StreamingResponse:
    async def events():
        out: asyncio.Queue = asyncio.Queue()
        producer = asyncio.create_task(generate(q, out))
        sent = 0
        try:
            while (text := await out.get()) is not None:
                if await request.is_disconnected():
                    log.info("client left after %d chunks; generation stopped", sent)
                    return
                sent += 1
                yield f"data: {json.dumps({'delta': text})}\n\n"
            await producer  # re-raises a failure of the model call
        except asyncio.CancelledError:
            log.info("stream cancelled after %d chunks: the client disconnected", sent)
            raise
        finally:
            # Every way out stops the model call: the cancellation reaches astream()'s
            # pending read, which closes the HTTP request to the provider.
            producer.cancel()
        log.info("answer complete after %d chunks", sent)
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
