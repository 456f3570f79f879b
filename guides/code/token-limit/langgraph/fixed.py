"""Chat endpoint that streams answers from a one-node LangGraph graph."""

import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Room for a full answer; the cap is still there as a cost guard.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), max_tokens=2000)


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

    async def events():
        hit_limit = False
        async for token, metadata in graph.astream(inputs, stream_mode="messages"):
            if metadata["langgraph_node"] != "respond":
                continue
            if token.text:
                yield f"data: {json.dumps({'text': token.text})}\n\n"
            # The chunk that closes the answer carries the provider's finish_reason.
            if token.response_metadata.get("finish_reason") == "length":
                hit_limit = True
        if hit_limit:
            yield f"event: truncated\ndata: {json.dumps({'reason': 'max_tokens'})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
