"""Support chat: answer a customer question with an AutoGen assistant."""

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
    # model_client_stream=True: the agent asks the model client to stream its reply.
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
    # With the model streaming, run_stream() also yields a chunk event for every token;
    # the finished TextMessage that follows repeats them, so it is not sent again.
    async for event in agent.run_stream(task=question):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(q), media_type="text/event-stream")
