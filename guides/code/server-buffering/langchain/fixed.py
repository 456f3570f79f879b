"""Support chat endpoint: forwards every token as a server-sent event."""
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
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        async for chunk in chat_model().astream(q):
            # Each token leaves the process as soon as the model produces it.
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
