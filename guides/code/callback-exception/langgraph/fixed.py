"""Chat endpoint that reports streaming progress to a metrics service through a callback."""

import json
import logging
import os
from functools import lru_cache
from typing import Any

import httpx
from fastapi import FastAPI
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse

# Where the service lives: set METRICS_URL (see the framework page).
METRICS_URL = os.environ.get("METRICS_URL", "")
log = logging.getLogger(__name__)
metrics_client = httpx.AsyncClient(timeout=2)


class StreamProgress(AsyncCallbackHandler):
    """Posts a token count to the metrics service every 50 tokens."""

    def __init__(self) -> None:
        self.tokens = 0

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens += 1
        if self.tokens % 50 == 0:
            try:
                resp = await metrics_client.post(METRICS_URL, json={"tokens": self.tokens})
                resp.raise_for_status()
            except Exception:
                # A lost metrics sample is acceptable; a lost answer is not.
                log.warning("stream progress not recorded", exc_info=True)


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def respond(state: MessagesState) -> dict:
    reply = await chat_model().ainvoke(state["messages"])
    return {"messages": [reply]}


builder = StateGraph(MessagesState)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

app = FastAPI()


@app.post("/chat")
async def chat(req: ChatRequest) -> StreamingResponse:
    inputs = {"messages": [{"role": "user", "content": req.message}]}
    config = {"callbacks": [StreamProgress()]}

    async def events():
        async for token, metadata in graph.astream(inputs, config, stream_mode="messages"):
            if metadata["langgraph_node"] == "respond" and token.text:
                yield f"data: {json.dumps({'text': token.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
