"""Answer questions about the handbook, logging what each answer cost."""
import json
import logging
import os
from functools import lru_cache

from fastapi import FastAPI
from llama_index.core import Settings, StorageContext, load_index_from_storage
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)


class UsageLogger(BaseCallbackHandler):
    """Writes the token usage of every LLM call to the log."""

    def __init__(self):
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])

    def on_event_start(self, event_type, payload=None, event_id="", parent_id="", **kwargs):
        return event_id

    def on_event_end(self, event_type, payload=None, event_id="", **kwargs):
        if event_type == CBEventType.LLM:
            # CallbackManager does not catch handler errors, so this handler
            # must never raise: a failure here would end the user's stream.
            try:
                response = (payload or {}).get(EventPayload.RESPONSE)
                usage = getattr(getattr(response, "raw", None), "usage", None)
                if usage is not None:
                    log.info("llm call used %d tokens", usage.total_tokens)
            except Exception:
                log.exception("usage logging failed; the answer is unaffected")

    def start_trace(self, trace_id=None):
        pass

    def end_trace(self, trace_id=None, trace_map=None):
        pass


# include_usage makes OpenAI send a final chunk that carries the usage.
Settings.llm = OpenAI(
    model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
    api_base=os.environ.get("OPENAI_BASE_URL"),
    additional_kwargs={"stream_options": {"include_usage": True}},
)
# Indexes embed the question with OpenAI: the same endpoint as the model.
Settings.embed_model = OpenAIEmbedding(api_base=os.environ.get("OPENAI_BASE_URL"))
Settings.callback_manager = CallbackManager([UsageLogger()])
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
    response = await engine.aquery(q)

    async def events():
        async for token in response.async_response_gen():
            yield sse("token", {"text": token})
        yield sse("done", {})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers=STREAM_HEADERS
    )
