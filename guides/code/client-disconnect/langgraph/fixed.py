"""Long-form writing assistant that streams a LangGraph run as server-sent events."""

import asyncio
import json
import logging
import os
from functools import lru_cache

from fastapi import FastAPI, Request
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), max_tokens=4000)


async def draft(state: MessagesState) -> dict:
    reply = await chat_model().ainvoke(state["messages"])
    return {"messages": [reply]}


builder = StateGraph(MessagesState)
builder.add_node("draft", draft)
builder.add_edge(START, "draft")
builder.add_edge("draft", END)
graph = builder.compile()

app = FastAPI()


@app.post("/draft")
async def draft_route(req: ChatRequest, request: Request) -> StreamingResponse:
    inputs = {"messages": [{"role": "user", "content": req.message}]}

    async def events():
        queue: asyncio.Queue = asyncio.Queue()

        async def run_graph() -> None:
            try:
                async for token, metadata in graph.astream(inputs, stream_mode="messages"):
                    if metadata["langgraph_node"] == "draft" and token.text:
                        await queue.put(token.text)
            finally:
                await queue.put(None)  # end marker, sent after an error too

        # The run gets a task of its own, so it can be cancelled however this generator ends.
        runner = asyncio.create_task(run_graph())
        try:
            while (text := await queue.get()) is not None:
                if await request.is_disconnected():
                    log.info("client closed the stream; stopping the graph run")
                    return
                yield f"data: {json.dumps({'text': text})}\n\n"
            await runner  # re-raises whatever ended the graph run early
            yield "event: done\ndata: {}\n\n"
        finally:
            runner.cancel()  # stops the model call if the graph is still running

    return StreamingResponse(events(), media_type="text/event-stream")
