"""Follow-up chat: rewrites the question to stand alone, then streams the answer."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def standalone_question(q: str, topic: str) -> str:
    prompt = f"Rewrite this follow-up as a self-contained question about {topic}: {q}"
    # Runs on the loop the server already owns; no second loop is started.
    return (await chat_model().ainvoke(prompt)).text


@app.get("/chat")
async def chat(q: str, topic: str = "billing") -> StreamingResponse:
    question = await standalone_question(q, topic)

    async def events():
        async for chunk in chat_model().astream(question):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
