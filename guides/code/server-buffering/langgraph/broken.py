"""Chat endpoint that answers through a one-node LangGraph graph."""

import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Built on first use, so importing this module needs no API key.
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
async def chat(req: ChatRequest) -> dict:
    inputs = {"messages": [{"role": "user", "content": req.message}]}
    pieces = []
    async for token, metadata in graph.astream(inputs, stream_mode="messages"):
        if metadata["langgraph_node"] == "respond" and token.text:
            pieces.append(token.text)
    # The tokens did stream, but only into this list: the client gets one JSON
    # body after the model has finished.
    return {"reply": "".join(pieces)}
