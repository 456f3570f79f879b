"""Answer questions about the handbook as a server-sent event stream."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from llama_index.core import ServiceContext, StorageContext, load_index_from_storage
from llama_index.llms.openai import OpenAI
from starlette.responses import StreamingResponse

# Code from the ServiceContext days: an upgrade moved its imports to
# llama_index.core and changed nothing else.
llm = OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), api_base=os.environ.get("OPENAI_BASE_URL"))
app = FastAPI()
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@lru_cache(maxsize=1)
def get_index():
    """Load the index that the ingestion job persisted."""
    storage = StorageContext.from_defaults(persist_dir="./storage")
    # ServiceContext is now a stub whose constructors raise ValueError.
    service_context = ServiceContext.from_defaults(llm=llm)
    return load_index_from_storage(storage, service_context=service_context)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.get("/ask")
async def ask(q: str):
    engine = get_index().as_query_engine(streaming=True)
    response = await engine.aquery(q)

    async def events():
        # aquery() now returns an AsyncStreamingResponse whose response_gen
        # is an async generator: a plain for loop raises TypeError after
        # the headers have gone out, and the client sees an empty, cut stream.
        for token in response.response_gen:
            yield sse("token", {"text": token})
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
