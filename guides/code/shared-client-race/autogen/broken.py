"""Billing assistant: answers questions about invoices, streaming its reply."""

import json
import os
from functools import cache

import httpx
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
# Where the service lives: set INVOICES_URL (see the framework page).
INVOICES_URL = os.environ.get("INVOICES_URL", "")


async def invoice(invoice_id: str) -> str:
    """Fetch one invoice as JSON."""
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.get(f"{INVOICES_URL}/{invoice_id}")
        response.raise_for_status()
        return response.text


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@cache
def shared_agent() -> AssistantAgent:
    # Built once, then shared by every request: concurrent runs all read and write
    # this one agent's model context.
    return AssistantAgent(
        "billing",
        model_client=model_client(),
        tools=[invoice],
        reflect_on_tool_use=True,
        model_client_stream=True,
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = shared_agent()
    async for event in agent.run_stream(task=question):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
