"""Multi-turn chat that keeps each session's history in memory."""
import json
import os
from collections import defaultdict
from functools import lru_cache

from fastapi import FastAPI
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages
from langchain_openai import ChatOpenAI
from starlette.responses import StreamingResponse

app = FastAPI()
SYSTEM = SystemMessage("You are a concise assistant for our billing product.")
histories: dict[str, list[BaseMessage]] = defaultdict(list)
HISTORY_BUDGET = 3000  # tokens of context sent per turn, system prompt included


@lru_cache(maxsize=1)
def chat_model() -> ChatOpenAI:
    # Created on first use rather than at import: the constructor needs OPENAI_API_KEY.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


@app.get("/sessions/{session_id}/chat")
async def chat(session_id: str, q: str) -> StreamingResponse:
    # Keep the system prompt and the newest turns that fit the budget, starting on a
    # human turn; what is stored below is the trimmed list, so memory stays bounded too.
    messages = trim_messages(
        [SYSTEM, *histories[session_id], HumanMessage(q)],
        max_tokens=HISTORY_BUDGET,
        token_counter=count_tokens_approximately,
        strategy="last",
        start_on="human",
        include_system=True,
    )

    async def events():
        answer = ""
        async for chunk in chat_model().astream(messages):
            if chunk.text:
                answer += chunk.text
                yield f"data: {json.dumps({'delta': chunk.text})}\n\n"
        histories[session_id] = [*messages[1:], AIMessage(answer)]
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
