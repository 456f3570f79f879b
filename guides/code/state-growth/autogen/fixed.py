"""Tutor chat: one AutoGen assistant per session, streaming every reply."""

import json
import os
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_core.model_context import BufferedChatCompletionContext
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
sessions: dict[str, AssistantAgent] = {}
HISTORY_MESSAGES = 20  # how many recent messages the model sees each turn


@cache
def model_client() -> OpenAIChatCompletionClient:
    # Created on first use, not at import: the constructor needs OPENAI_API_KEY.
    return OpenAIChatCompletionClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def agent_for(session_id: str) -> AssistantAgent:
    if session_id not in sessions:
        # Only the last HISTORY_MESSAGES messages go to the model, however long the chat.
        sessions[session_id] = AssistantAgent(
            "tutor",
            model_client=model_client(),
            system_message="You are a patient maths tutor.",
            model_client_stream=True,
            model_context=BufferedChatCompletionContext(buffer_size=HISTORY_MESSAGES),
        )
    return sessions[session_id]


def sse(data: dict, event: str = "message") -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def answer_stream(session_id: str, message: str):
    agent = agent_for(session_id)
    async for event in agent.run_stream(task=message):
        if isinstance(event, ModelClientStreamingChunkEvent):
            yield sse({"delta": event.content})
    yield sse({}, event="done")


@app.get("/sessions/{session_id}/chat")
async def chat(session_id: str, q: str) -> StreamingResponse:
    return StreamingResponse(answer_stream(session_id, q), media_type="text/event-stream")
