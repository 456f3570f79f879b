"""Support chat that puts the customer's profile into the prompt before answering."""

import json
import os
from functools import lru_cache

import httpx
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse

# Where the service lives: set PROFILES_URL (see the framework page).
PROFILE_URL = os.environ.get("PROFILES_URL", "")


class State(MessagesState):
    customer_id: str


class ChatRequest(BaseModel):
    customer_id: str
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def load_profile(customer_id: str) -> str:
    # A synchronous client: the calling thread waits until the profile service replies.
    resp = httpx.get(f"{PROFILE_URL}/customers/{customer_id}", timeout=10)
    resp.raise_for_status()
    return resp.json()["summary"]


async def respond(state: State) -> dict:
    profile = load_profile(state["customer_id"])
    system = {"role": "system", "content": f"Customer profile: {profile}"}
    reply = chat_model().invoke([system, *state["messages"]])
    return {"messages": [reply]}


builder = StateGraph(State)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

app = FastAPI()


@app.post("/chat")
async def chat(req: ChatRequest) -> StreamingResponse:
    inputs = {
        "customer_id": req.customer_id,
        "messages": [{"role": "user", "content": req.message}],
    }

    async def events():
        async for token, metadata in graph.astream(inputs, stream_mode="messages"):
            if metadata["langgraph_node"] == "respond" and token.text:
                yield f"data: {json.dumps({'text': token.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
