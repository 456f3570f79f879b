"""Support chat endpoint with a hard cap on answer length."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    # Room for a full answer; the cap now only guards against runaway output.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), max_tokens=1024)


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        finish_reason = None
        async for chunk in chat_model().astream(q):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
            # The stop reason rides on one late chunk; a usage-only chunk may follow it.
            finish_reason = chunk.response_metadata.get("finish_reason", finish_reason)
        if finish_reason == "length":
            yield f"event: truncated\ndata: {json.dumps({'reason': 'max_tokens'})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
