"""Chat about the handbook as a server-sent event stream, remembering the conversation."""
import json
import logging
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
log = logging.getLogger(__name__)
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@lru_cache(maxsize=1)
def chat_engine():
    """A context chat engine over the index that the ingestion job persisted."""
    storage = StorageContext.from_defaults(persist_dir="./storage")
    return load_index_from_storage(storage).as_chat_engine(chat_mode="context")


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.get("/ask")
async def ask(q: str):
    response = await chat_engine().astream_chat(q)

    async def events():
        # astream_chat() started a task of its own that reads the model's stream into the
        # chat history. When the browser gives up, the server stops this generator, but
        # not that task: the model goes on generating to the last token, for nobody.
        async for token in response.async_response_gen():
            yield sse("token", {"text": token})
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
