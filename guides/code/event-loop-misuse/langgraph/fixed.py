"""Chat endpoint that looks up the team's notes before answering."""

import json
import os
from functools import lru_cache

import httpx
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse

# Where the service lives: set NOTES_URL (see the framework page).
NOTES_URL = os.environ.get("NOTES_URL", "")


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def search_notes(query: str) -> list[str]:
    async with httpx.AsyncClient(base_url=NOTES_URL, timeout=10) as client:
        resp = await client.get("/search", params={"q": query})
        resp.raise_for_status()
    return [hit["text"] for hit in resp.json()["hits"]]


async def notes_for(query: str) -> str:
    # Awaited on the loop that is already running the graph.
    return "\n".join(await search_notes(query))


async def respond(state: MessagesState) -> dict:
    notes = await notes_for(state["messages"][-1].text)
    system = {"role": "system", "content": f"Relevant notes:\n{notes}"}
    reply = await chat_model().ainvoke([system, *state["messages"]])
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
