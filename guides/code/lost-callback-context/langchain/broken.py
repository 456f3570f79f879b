"""Support chat: a chain step prepares the conversation, tokens are read from the run's events."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()
SYSTEM = "You answer customer questions about our product, briefly."


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def answer(question: str) -> str:
    messages = [SystemMessage(SYSTEM), HumanMessage(question)]
    # On Python 3.10 and earlier (with langchain-core before 1.4.8) the run's callbacks do
    # not reach this call: astream_events() never hears of the model, so no tokens appear.
    reply = await chat_model().ainvoke(messages)
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
