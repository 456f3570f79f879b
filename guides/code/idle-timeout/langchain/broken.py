"""Research answer endpoint: a slow reasoning pass, then a streamed write-up."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()


@lru_cache(maxsize=None)
def chat_model(name: str = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")) -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=name)


@app.get("/research")
async def research(q: str) -> StreamingResponse:
    async def events():
        planner = chat_model("o4-mini")
        ask = f"List the facts needed to answer: {q}"
        # Often longer than a minute, and not one byte goes to the client meanwhile:
        # a proxy or load balancer with a 60 s idle timeout closes the connection here.
        notes = await planner.ainvoke(ask)
        prompt = f"Notes:\n{notes.text}\n\nUsing the notes, answer: {q}"
        async for chunk in chat_model().astream(prompt):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
