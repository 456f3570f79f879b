"""Chat endpoint that streams answers from a one-node LangGraph graph."""

import json
import logging
import os
from functools import lru_cache

import openai
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import RetryPolicy
from pydantic import BaseModel
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)

# These errors come from the HTTP status, before the first token, so a retry repeats nothing.
# A failure in the middle of the stream arrives as a plain openai.APIError and is not retried:
# running the node again would send the client the beginning of the answer a second time.
BEFORE_FIRST_TOKEN = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)


class ChatRequest(BaseModel):
    message: str


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def respond(state: MessagesState) -> dict:
    reply = await chat_model().ainvoke(state["messages"])
    return {"messages": [reply]}


builder = StateGraph(MessagesState)
builder.add_node(
    "respond", respond, retry_policy=RetryPolicy(max_attempts=3, retry_on=BEFORE_FIRST_TOKEN)
)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

app = FastAPI()


@app.post("/chat")
async def chat(req: ChatRequest) -> StreamingResponse:
    inputs = {"messages": [{"role": "user", "content": req.message}]}

    async def events():
        try:
            async for token, metadata in graph.astream(inputs, stream_mode="messages"):
                if metadata["langgraph_node"] == "respond" and token.text:
                    yield f"data: {json.dumps({'text': token.text})}\n\n"
        except Exception as exc:
            log.exception("graph run failed while streaming")
            error = {"type": type(exc).__name__, "message": "The model provider failed."}
            yield f"event: error\ndata: {json.dumps({'error': error})}\n\n"
            return
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
