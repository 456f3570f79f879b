"""Support chat: stream an AutoGen assistant's answer as server-sent events."""

import json
import logging
import os
from contextlib import aclosing
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_core import CancellationToken
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
log = logging.getLogger(__name__)


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def build_agent() -> AssistantAgent:
    return AssistantAgent(
        "support",
        model_client=model_client(),
        system_message="You answer customer questions about our product, in detail.",
        model_client_stream=True,
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(request: Request, question: str):
    agent = build_agent()
    token = CancellationToken()
    events = agent.run_stream(task=question, cancellation_token=token)
    try:
        async with aclosing(events):  # close the run here, not later in another task
            async for event in events:
                if await request.is_disconnected():
                    log.info("client went away; cancelling the agent run")
                    return
                if isinstance(event, ModelClientStreamingChunkEvent):
                    yield sse({"delta": event.content})
        yield sse({}, event="done")
    finally:
        # Runs on normal end, on the early return above, and when the server cancels
        # or closes this generator: the model call and any running tool stop here.
        token.cancel()


@app.get("/chat")
async def chat(request: Request, q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(request, q), media_type="text/event-stream")
