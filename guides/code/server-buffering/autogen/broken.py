"""Support chat: answer a customer question with an AutoGen assistant."""

import os
from functools import cache

from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from fastapi import FastAPI
from fastapi.responses import JSONResponse

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


@app.get("/chat")
async def chat(q: str) -> JSONResponse:
    agent = build_agent()
    # run() returns only when the whole reply has been generated.
    result = await agent.run(task=q)
    reply = result.messages[-1]
    return JSONResponse({"answer": reply.content})
