"""Answers questions about old support tickets; the archive search can take minutes."""

import asyncio
import json
import os
from functools import lru_cache

import httpx
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse

# Where the service lives: set ARCHIVE_URL (see the framework page).
ARCHIVE_URL = os.environ.get("ARCHIVE_URL", "")
# far below the 55-100 s idle limits of common proxies and balancers; HEARTBEAT_SECONDS overrides it.
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "15"))


class State(MessagesState):
    context: str


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def search_archive(state: State) -> dict:
    # A cold full-text search over years of tickets: one to three minutes, no output meanwhile.
    async with httpx.AsyncClient(base_url=ARCHIVE_URL, timeout=300) as client:
        resp = await client.get("/search", params={"q": state["messages"][-1].text})
        resp.raise_for_status()
    return {"context": resp.text}


async def answer(state: State) -> dict:
    system = {"role": "system", "content": f"Matching tickets:\n{state['context']}"}
    reply = await chat_model().ainvoke([system, *state["messages"]])
    return {"messages": [reply]}


builder = StateGraph(State)
builder.add_node("search_archive", search_archive)
builder.add_node("answer", answer)
builder.add_edge(START, "search_archive")
builder.add_edge("search_archive", "answer")
builder.add_edge("answer", END)
graph = builder.compile()

app = FastAPI()


@app.post("/chat")
async def chat(req: ChatRequest) -> StreamingResponse:
    inputs = {"messages": [{"role": "user", "content": req.message}]}

    async def events():
        queue: asyncio.Queue = asyncio.Queue()

        async def run_graph() -> None:
            try:
                async for token, metadata in graph.astream(inputs, stream_mode="messages"):
                    if metadata["langgraph_node"] == "answer" and token.text:
                        await queue.put(f"data: {json.dumps({'text': token.text})}\n\n")
            finally:
                await queue.put(None)  # end marker, sent after an error too

        runner = asyncio.create_task(run_graph())
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except asyncio.TimeoutError:
                    # An SSE comment: clients skip it, every hop counts it as traffic.
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    break
                yield item
            await runner  # re-raises whatever ended the graph run early
            yield "event: done\ndata: {}\n\n"
        finally:
            runner.cancel()

    return StreamingResponse(events(), media_type="text/event-stream")
