"""Support chat endpoint with no plan for the provider failing."""
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


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        # An overload or server error halfway through escapes this generator: the
        # connection just closes, and the client cannot tell a failure from a cut-off.
        async for chunk in chat_model().astream(q):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
