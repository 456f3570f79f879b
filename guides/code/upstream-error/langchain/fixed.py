"""Support chat endpoint that reports provider failures to the client."""
import json
import logging
import os
from functools import lru_cache

import httpx
import openai
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)
app = FastAPI()


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    # Retries cover 429s, 5xx and dropped connections before the stream starts.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), max_retries=4)


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        try:
            async for chunk in chat_model().astream(q):
                if chunk.text:
                    yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        except (openai.APIError, httpx.HTTPError) as exc:
            # Text may already be on screen, so say the answer is incomplete and why.
            log.warning("model stream failed: %r", exc)
            retry = isinstance(exc, (openai.RateLimitError, openai.APIConnectionError))
            error = {"error": {"type": type(exc).__name__, "retryable": retry}}
            yield f"event: error\ndata: {json.dumps(error)}\n\n"
            return
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
