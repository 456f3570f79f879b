"""Account assistant: the agent calls a slow reporting tool, then streams its summary."""

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
# Where the service lives: set REPORTS_URL (see the framework page).
REPORTS_URL = os.environ.get("REPORTS_URL", "")


async def usage_report(account_id: str) -> str:
    """Build the monthly usage report for an account (takes one to three minutes)."""
    async with httpx.AsyncClient(timeout=300) as http:
        response = await http.get(f"{REPORTS_URL}/{account_id}")
        response.raise_for_status()
        return response.text


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def build_agent() -> AssistantAgent:
    return AssistantAgent(
        "accounts",
        model_client=model_client(),
        tools=[usage_report],
        reflect_on_tool_use=True,
        model_client_stream=True,
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = build_agent()
    # Nothing is written while usage_report runs: the proxy sees an idle connection.
    async for event in agent.run_stream(task=question):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
