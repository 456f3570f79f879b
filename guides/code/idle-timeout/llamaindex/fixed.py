"""Answer questions about the handbook, reranking a wide retrieval first."""
import asyncio
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from llama_index.core import Settings, StorageContext, load_index_from_storage
from llama_index.core.postprocessor import LLMRerank
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from starlette.responses import StreamingResponse

Settings.llm = OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), api_base=os.environ.get("OPENAI_BASE_URL"))
# Indexes embed the question with OpenAI: the same endpoint as the model.
Settings.embed_model = OpenAIEmbedding(api_base=os.environ.get("OPENAI_BASE_URL"))
app = FastAPI()
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# well below the 60 s idle limit of nginx and AWS ALB; HEARTBEAT_SECONDS overrides it.
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "15"))


@lru_cache(maxsize=1)
def get_index():
    """Load the index that the ingestion job persisted."""
    storage = StorageContext.from_defaults(persist_dir="./storage")
    return load_index_from_storage(storage)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.get("/ask")
async def ask(q: str):
    engine = get_index().as_query_engine(
        streaming=True,
        similarity_top_k=40,
        node_postprocessors=[LLMRerank(top_n=5, choice_batch_size=5)],
    )

    async def events():
        # Run the slow part as a task and send an SSE comment line while it
        # works; EventSource ignores comments, the proxy sees traffic.
        query = asyncio.ensure_future(engine.aquery(q))
        try:
            while not query.done():
                await asyncio.wait({query}, timeout=HEARTBEAT_SECONDS)
                if not query.done():
                    yield ": still working\n\n"
            response = query.result()
        finally:
            query.cancel()  # no effect once done; stops the work if the client left
        async for token in response.async_response_gen():
            yield sse("token", {"text": token})
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
