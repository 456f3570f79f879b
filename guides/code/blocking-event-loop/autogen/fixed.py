"""Order assistant: the agent looks up an order, then streams its answer."""

import asyncio
import json
import os
from functools import cache
from urllib.request import urlopen

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
# Where the service lives: set ORDERS_URL (see the framework page).
ORDERS_URL = os.environ.get("ORDERS_URL", "")


def fetch_order(order_id: str) -> str:
    with urlopen(f"{ORDERS_URL}/{order_id}", timeout=20) as response:
        return response.read().decode()


async def order_status(order_id: str) -> str:
    """Return the shipping status of an order as JSON."""
    # The blocking call runs in a worker thread; the event loop keeps serving streams.
    return await asyncio.to_thread(fetch_order, order_id)


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def build_agent() -> AssistantAgent:
    return AssistantAgent(
        "orders",
        model_client=model_client(),
        tools=[order_status],
        reflect_on_tool_use=True,
        model_client_stream=True,
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = build_agent()
    async for event in agent.run_stream(task=question):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
