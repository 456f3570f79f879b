"""Support chat: stream an AutoGen assistant's answer as server-sent events."""

import asyncio
import json
import logging
import os
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
    events: asyncio.Queue = asyncio.Queue()

    async def run_agent() -> None:
        try:
            async for event in agent.run_stream(task=question, cancellation_token=token):
                events.put_nowait(event)
        finally:
            events.put_nowait(None)  # the end, after an error too

    # The run gets a task of its own so that, when the client leaves, it is cancelled while
    # it waits on the model: that cancellation reaches the pending read and the OpenAI stream
    # closes its HTTP response. Closing the run's generators between two chunks does not:
    # the response stays open with bytes unread, and the model goes on generating.
    runner = asyncio.create_task(run_agent())
    sent = 0
    try:
        while (event := await events.get()) is not None:
            if await request.is_disconnected():
                log.info("client left after %d chunks; cancelling the agent run", sent)
                return
            if isinstance(event, ModelClientStreamingChunkEvent):
                sent += 1
                yield sse({"delta": event.content})
        await runner  # re-raises an error from the run
        yield sse({}, event="done")
    except asyncio.CancelledError:
        log.info("stream cancelled after %d chunks: the client disconnected", sent)
        raise
    finally:
        # Every way out (the end, the early return, the server cancelling this generator)
        # stops the model call and any running tool.
        token.cancel()
        runner.cancel()


@app.get("/chat")
async def chat(request: Request, q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(request, q), media_type="text/event-stream")
