"""Support chat endpoint served behind nginx; the response opts out of proxy buffering."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()

# Sent with every streamed answer so proxies pass each event straight through.
STREAM_HEADERS = {
    "X-Accel-Buffering": "no",  # nginx: turn proxy_buffering off for this response only
    "Cache-Control": "no-cache",  # no cache in the path may hold or replay the body
}


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        async for chunk in chat_model().astream(q):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
