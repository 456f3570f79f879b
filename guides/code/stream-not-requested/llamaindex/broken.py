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


@lru_cache(maxsize=1)
def get_index():
    """Load the index that the ingestion job persisted."""
    storage = StorageContext.from_defaults(persist_dir="./storage")
    return load_index_from_storage(storage)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.get("/ask")
async def ask(q: str):
    engine = get_index().as_query_engine()
    response = await engine.aquery(q)

    async def events():
        # Built without streaming=True, the engine asked the model for a finished answer:
        # there is one piece of text to send, and it exists only once the model is done.
        yield sse("token", {"text": response.response or ""})
        yield sse("done", {})

    return StreamingResponse(events(), media_type="text/event-stream")
