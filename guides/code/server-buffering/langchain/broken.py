"""Support chat endpoint: gathers the whole answer, then replies with JSON."""
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI

app = FastAPI()


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@app.get("/chat")
async def chat(q: str) -> dict:
    answer = None
    async for chunk in chat_model().astream(q):
        # Tokens arrive one by one here, but they are only added to a local message.
        answer = chunk if answer is None else answer + chunk
    # The client has seen nothing until this line; now it gets the entire reply at once.
    return {"answer": answer.text if answer is not None else ""}
