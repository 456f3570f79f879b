"""Support chat: answer a customer question with an AutoGen assistant."""

import json
import os
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import TextMessage
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def build_agent() -> AssistantAgent:
    # model_client_stream is left at its default, False: the model is asked for whole replies.
    return AssistantAgent(
        "support",
        model_client=model_client(),
        system_message="You answer customer questions about our product, briefly.",
    )


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(question: str):
    agent = build_agent()
    # run_stream() streams the run's messages, not the model's tokens: the only text is
    # the finished TextMessage, which arrives when the model has written all of it.
    async for event in agent.run_stream(task=question):
        if isinstance(event, TextMessage) and event.source == "support":
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
