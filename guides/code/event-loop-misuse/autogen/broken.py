"""Support chat: name the conversation, then stream the assistant's answer."""

import asyncio
import json
import os
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


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


def conversation_title(question: str) -> str:
    titler = AssistantAgent(
        "titler",
        model_client=model_client(),
        system_message="Reply with a title of at most six words for this question.",
    )
    # Called from an async route, where a loop is already running:
    # RuntimeError: asyncio.run() cannot be called from a running event loop
    result = asyncio.run(titler.run(task=question))
    return result.messages[-1].content


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str, title: str):
    yield sse({"title": title}, event="title")
    agent = build_agent()
    async for event in agent.run_stream(task=question):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    title = conversation_title(q)
    return StreamingResponse(answer_stream(q, title), media_type="text/event-stream")
