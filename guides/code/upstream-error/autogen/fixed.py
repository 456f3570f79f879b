"""Support chat: stream an AutoGen assistant's answer as server-sent events."""

import json
import logging
import os
from functools import cache

import httpx
import openai
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
log = logging.getLogger(__name__)
# A connection that drops mid-stream surfaces as httpx's own error: the OpenAI SDK wraps
# transport errors only while it opens the request, not while the body is read.
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError, httpx.TransportError)


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def build_agent() -> AssistantAgent:
    return AssistantAgent(
        "support",
        model_client=model_client(),
        system_message="You answer customer questions about our product, briefly.",
        model_client_stream=True,
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = build_agent()
    try:
        async for event in agent.run_stream(task=question):
            if isinstance(event, ModelClientStreamingChunkEvent):
                yield sse({"delta": event.content})
    except (openai.APIError, httpx.HTTPError) as exc:
        # Rate limits (429), overloads and 5xx, also when they arrive mid-stream, and the
        # provider's connection dropping halfway (httpx.RemoteProtocolError).
        log.warning("model provider failed mid-answer: %r", exc)
        error = {"type": type(exc).__name__, "retryable": isinstance(exc, RETRYABLE)}
        yield sse({"error": error}, event="error")
        return
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
