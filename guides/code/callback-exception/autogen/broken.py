"""Support chat: stream the assistant's answer and keep an audit trail of the run."""

import json
import logging
import os
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
log = logging.getLogger(__name__)
audit_log = logging.getLogger("audit")


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


def audit(event) -> None:
    """Record every message of the run except the token chunks."""
    if isinstance(event, ModelClientStreamingChunkEvent):
        return
    # The last item of run_stream() is a TaskResult, which has no .source:
    # AttributeError, raised after the final chunk and before the done event.
    audit_log.info("%s: %.200s", event.source, event.content)


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = build_agent()
    async for event in agent.run_stream(task=question):
        audit(event)
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
