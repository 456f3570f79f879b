"""Answer questions about the handbook as a server-sent event stream."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from llama_index.core import Settings, StorageContext, load_index_from_storage
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from starlette.responses import StreamingResponse

Settings.llm = OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), api_base=os.environ.get("OPENAI_BASE_URL"))
# Indexes embed the question with OpenAI: the same endpoint as the model.
Settings.embed_model = OpenAIEmbedding(api_base=os.environ.get("OPENAI_BASE_URL"))
app = FastAPI()
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@lru_cache(maxsize=1)
def get_index():
    """Load the index that the ingestion job persisted."""
    storage = StorageContext.from_defaults(persist_dir="./storage")
    return load_index_from_storage(storage)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.get("/ask")
async def ask(q: str):
    engine = get_index().as_query_engine(streaming=True)
    # query() embeds the question and retrieves with blocking network calls,
    # on the event loop thread: every other request waits meanwhile.
    response = engine.query(q)

    async def events():
        # Each step of the sync generator blocks the loop until the next
        # token arrives, so concurrent streams take turns instead of flowing.
        for token in response.response_gen:
            yield sse("token", {"text": token})
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
