"""Research answer endpoint: a slow reasoning pass, then a streamed write-up."""
import asyncio
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()
# well under the shortest idle timeout on the path; HEARTBEAT_SECONDS overrides it.
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "15"))


@lru_cache(maxsize=None)
def chat_model(name: str = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")) -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=name)


@app.get("/research")
async def research(q: str) -> StreamingResponse:
    async def events():
        planner = chat_model("o4-mini")
        ask = f"List the facts needed to answer: {q}"
        pending = asyncio.create_task(planner.ainvoke(ask))
        try:
            while not pending.done():
                await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
                if not pending.done():
                    # An SSE comment line: it resets idle timers and EventSource ignores it.
                    yield ": ping\n\n"
        finally:
            pending.cancel()  # no effect once finished; stops the call if the client has left
        notes = pending.result()
        prompt = f"Notes:\n{notes.text}\n\nUsing the notes, answer: {q}"
        async for chunk in chat_model().astream(prompt):
            if chunk.text:
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
