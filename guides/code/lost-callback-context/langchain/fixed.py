"""Support chat: a chain step prepares the conversation, tokens are read from the run's events."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()
SYSTEM = "You answer customer questions about our product, briefly."


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def answer(question: str, config: RunnableConfig) -> str:
    messages = [SystemMessage(SYSTEM), HumanMessage(question)]
    # The step takes the run's config and hands it on, so the callbacks that
    # astream_events() listens with reach the model on every Python version.
    reply = await chat_model().ainvoke(messages, config)
    return reply.text


chain = RunnableLambda(answer)


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    async def events():
        async for event in chain.astream_events(q, version="v2"):
            if event["event"] == "on_chat_model_stream" and event["data"]["chunk"].text:
                yield f"data: {json.dumps({'delta': event['data']['chunk'].text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
