"""Answer questions about the handbook as a server-sent event stream."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from llama_index.core import Settings, StorageContext, load_index_from_storage
from llama_index.core.llms import ChatMessage
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from starlette.responses import StreamingResponse

# 256 tokens is a few short paragraphs; longer answers stop mid-sentence.
Settings.llm = OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), api_base=os.environ.get("OPENAI_BASE_URL"), max_tokens=256)
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
    nodes = await get_index().as_retriever(similarity_top_k=4).aretrieve(q)
    context = "\n\n".join(node.get_content() for node in nodes)
    messages = [
        ChatMessage(role="system", content=f"Answer from the handbook:\n{context}"),
        ChatMessage(role="user", content=q),
    ]
    stream = await Settings.llm.astream_chat(messages)

    async def events():
        async for chunk in stream:
            yield sse("token", {"text": chunk.delta or ""})
        # A cut answer ends exactly like a complete one.
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
