"""Chat about the handbook, streamed as server-sent events."""
import json
import os
from functools import lru_cache

from fastapi import FastAPI
from llama_index.core import Settings, StorageContext, load_index_from_storage
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from pydantic import BaseModel
from starlette.responses import StreamingResponse

Settings.llm = OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), api_base=os.environ.get("OPENAI_BASE_URL"))
# Indexes embed the question with OpenAI: the same endpoint as the model.
Settings.embed_model = OpenAIEmbedding(api_base=os.environ.get("OPENAI_BASE_URL"))
app = FastAPI()
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ChatTurn(BaseModel):
    session_id: str
    message: str


@lru_cache(maxsize=1)
def get_index():
    """Load the index that the ingestion job persisted."""
    storage = StorageContext.from_defaults(persist_dir="./storage")
    return load_index_from_storage(storage)


@lru_cache(maxsize=1000)
def get_chat_engine(session_id: str):
    # The default memory's token limit is the model's context window minus
    # 256 (127,744 tokens for gpt-4o-mini), so each turn resends a longer
    # history until the window itself is full.
    return get_index().as_chat_engine(chat_mode="context")


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.post("/chat")
async def chat(turn: ChatTurn):
    engine = get_chat_engine(turn.session_id)
    response = await engine.astream_chat(turn.message)

    async def events():
        async for token in response.async_response_gen():
            yield sse("token", {"text": token})
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
