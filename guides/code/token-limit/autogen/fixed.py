"""Policy assistant: explains insurance policy clauses, streaming the explanation."""

import json
import os
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, TextMessage
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
MAX_TOKENS = 4096  # room for the longest answers this assistant should give


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        max_tokens=MAX_TOKENS,
        # Have the last streamed chunk carry token counts, so the check below works.
        stream_options={"include_usage": True},
    )


def build_agent() -> AssistantAgent:
    return AssistantAgent(
        "policies",
        model_client=model_client(),
        system_message="Explain the policy the user pastes, clause by clause.",
        model_client_stream=True,
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = build_agent()
    async for event in agent.run_stream(task=question):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
        elif isinstance(event, TextMessage) and event.source == agent.name:
            usage = event.models_usage
            if usage is not None and usage.completion_tokens >= MAX_TOKENS:
                # The model hit the cap (finish_reason "length"): say so, don't pretend.
                yield sse({"reason": "length"}, event="truncated")
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
