"""Chat about the handbook as a server-sent event stream, remembering the conversation."""
import asyncio
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
    # astream_chat() reads the model's stream in a task of its own, which writes the answer
    # to the chat history; async_response_gen(), once stopped, waits for that task to end.
    writer = response.awrite_response_to_history_task

    async def events():
        tokens: asyncio.Queue = asyncio.Queue()

        async def read_answer() -> None:
            try:
                async for token in response.async_response_gen():
                    tokens.put_nowait(token)
            finally:
                tokens.put_nowait(None)

        # Read in a task of our own, so that when Starlette cancels this generator (the
        # client left) the cancellation lands here, not in async_response_gen()'s wait.
        reader = asyncio.create_task(read_answer())
        sent = 0
        try:
            while (token := await tokens.get()) is not None:
                yield sse("token", {"text": token})
                sent += 1
            await reader  # re-raises a failure of the model call
            yield sse("done", {})
        finally:
            if writer is not None and not writer.done():
                # Cancelling the writer closes the provider stream: the model stops.
                log.info("client left after %d tokens; stopping the model", sent)
                writer.cancel()
            reader.cancel()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
