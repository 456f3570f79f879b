"""Plain-text answer stream, carried over from the completion-model version of the app."""
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


@app.get("/answer")
async def answer(q: str) -> StreamingResponse:
    async def tokens():
        async for chunk in chat_model().astream(q):
            # Each chunk is an AIMessageChunk; .text (a property in langchain-core 1.x)
            # gives its text whether .content is a string or a list of content blocks.
            if chunk.text:
                yield chunk.text

    return StreamingResponse(tokens(), media_type="text/plain; charset=utf-8")
