"""Account assistant: the agent calls a slow reporting tool, then streams its summary."""

import asyncio
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
# well under the shortest idle timeout on the path (often 60 s); HEARTBEAT_SECONDS overrides it.
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "15"))
_END = object()


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


async def with_heartbeats(events, every: float):
    """Yield the items of `events`, and None whenever `every` seconds pass without one."""
    queue: asyncio.Queue = asyncio.Queue()

    async def pump() -> None:
        try:
            async for item in events:
                await queue.put(item)
        finally:
            queue.put_nowait(_END)

    pump_task = asyncio.create_task(pump())  # one task drives the agent from start to end
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=every)
            except asyncio.TimeoutError:
                yield None
                continue
            if item is _END:
                break
            yield item
        await pump_task  # re-raises an error from the agent run
    finally:
        pump_task.cancel()


async def answer_stream(question: str):
    agent = build_agent()
    async for event in with_heartbeats(agent.run_stream(task=question), HEARTBEAT_SECONDS):
        if event is None:
            yield ": keep-alive\n\n"  # an SSE comment: resets idle timers, ignored by EventSource
        elif isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
