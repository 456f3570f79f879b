"""A request id for every log line: taken from the proxy's X-Request-Id when it is a sane
token, made up otherwise, echoed in the response, and carried by the logs of whatever the
request does. Runs log under their own id ("run:<id>"), since they outlive the request."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


# The id is set at the start of every request and never reset: Django logs a 4xx or 5xx
# after the middleware chain has returned (asgiref carries the value back from the thread a
# sync chain runs in), and the next request sets its own before anything is logged.


def request_id_for(request: HttpRequest) -> str:
    given = request.headers.get("X-Request-Id", "")
    return given if _SANE.fullmatch(given) else uuid.uuid4().hex


@sync_and_async_middleware
def request_id_middleware(
    get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
) -> Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            current_request_id.set(request_id_for(request))
            response = await get_response(request)
            assert isinstance(response, HttpResponseBase)
            response["X-Request-Id"] = current_request_id.get()
            return response

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        current_request_id.set(request_id_for(request))
        response = get_response(request)
        assert isinstance(response, HttpResponseBase)
        response["X-Request-Id"] = current_request_id.get()
        return response

    return sync_middleware


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
