"""Support chat: a chain step prepares the conversation and calls the model."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()
SYSTEM = "You answer customer questions about our product, briefly."


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def answer(question: str) -> AIMessage:
    messages = [SystemMessage(SYSTEM), HumanMessage(question)]
    # ainvoke() asks the provider for the finished reply: this step has one piece to give.
    return await chat_model().ainvoke(messages)


chain = RunnableLambda(answer)


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        # The loop looks like streaming, but the chain yields the whole reply once, at the end.
        async for chunk in chain.astream(q):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
