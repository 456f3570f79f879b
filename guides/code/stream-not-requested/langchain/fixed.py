"""Support chat: a chain step prepares the conversation and calls the model."""
import json
import os
from collections.abc import AsyncIterator
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()
SYSTEM = "You answer customer questions about our product, briefly."


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def answer(question: str) -> AsyncIterator[AIMessageChunk]:
    messages = [SystemMessage(SYSTEM), HumanMessage(question)]
    # astream() asks the provider to stream, and each chunk leaves this step as it arrives.
    async for chunk in chat_model().astream(messages):
        yield chunk


chain = RunnableLambda(answer)


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        # The loop looks like streaming, and now the chain has pieces to give.
        async for chunk in chain.astream(q):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
