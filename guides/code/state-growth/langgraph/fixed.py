"""Multi-turn chat: each conversation's history lives in a LangGraph checkpointer."""

import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.messages import RemoveMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse

HISTORY_TOKEN_BUDGET = 6000  # roughly what the model sees of the past, and what state keeps


class ChatRequest(BaseModel):
    thread_id: str
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def respond(state: MessagesState) -> dict:
    kept = trim_messages(
        state["messages"],
        max_tokens=HISTORY_TOKEN_BUDGET,
        token_counter=count_tokens_approximately,
        strategy="last",
        start_on="human",
        include_system=True,
    ) or state["messages"][-1:]
    reply = await chat_model().ainvoke(kept)
    # Delete what fell outside the budget, so the checkpoint stops growing as well.
    kept_ids = {m.id for m in kept}
    dropped = [RemoveMessage(id=m.id) for m in state["messages"] if m.id not in kept_ids]
    return {"messages": [*dropped, reply]}


builder = StateGraph(MessagesState)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile(checkpointer=InMemorySaver())

app = FastAPI()


@app.post("/chat")
async def chat(req: ChatRequest) -> StreamingResponse:
    inputs = {"messages": [{"role": "user", "content": req.message}]}
    config = {"configurable": {"thread_id": req.thread_id}}

    async def events():
        async for token, metadata in graph.astream(inputs, config, stream_mode="messages"):
            if metadata["langgraph_node"] == "respond" and token.text:
                yield f"data: {json.dumps({'text': token.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
