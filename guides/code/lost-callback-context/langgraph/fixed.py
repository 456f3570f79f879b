"""Chat endpoint that answers through a one-node LangGraph graph."""

import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.runnables import RunnableConfig
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Built on first use, so importing this module needs no API key.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def respond(state: MessagesState, config: RunnableConfig) -> dict:
    # The node takes the run's config and passes it on, so the streaming callback of
    # "messages" reaches the model on every Python version.
    reply = await chat_model().ainvoke(state["messages"], config)
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

    async def events():
        async for token, metadata in graph.astream(inputs, stream_mode="messages"):
            if metadata["langgraph_node"] == "respond" and token.text:
                yield f"data: {json.dumps({'text': token.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
