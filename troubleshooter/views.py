"""Views of the site as a whole: liveness, readiness and the error handlers."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from troubleshooter import metrics
from troubleshooter.guides.content import get_library
from troubleshooter.pages import error_page

READY_CHECK_SECONDS = 2.0


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: this process answers and its guides are loaded. It does not look at the
    database or Redis, so an outage there does not get every worker restarted."""
    get_library()
    return JsonResponse({"status": "ok"})


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _round_trip_channel_layer() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ready.check"})
    await layer.receive(channel)


async def _check(probe: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(READY_CHECK_SECONDS):
            await probe()
    except TimeoutError:
        return f"no answer within {READY_CHECK_SECONDS:g} s"
    except Exception as error:  # whatever the driver raises, the answer is "not ready, because"
        return f"unreachable: {type(error).__name__}: {error}"[:300]
    return "ok"


@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the database and the channel layer answer, each within two seconds. A load
    balancer sends traffic to a worker only while this says 200."""
    metrics.watch_event_loop()
    checks = {
        "database": await _check(sync_to_async(_query_database)),
        "channel_layer": await _check(_round_trip_channel_layer),
    }
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "ok" if ready else "not ready", **checks}, status=200 if ready else 503)


@require_GET
async def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format, for a scraper holding METRICS_TOKEN; not there without one."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are not turned on for this server.")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("A bearer token is needed.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    metrics.watch_event_loop()
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400, "Bad request", "The request could not be understood.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404, "Page not found", "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors or library access here: the error may have come from either.
    return HttpResponse(
        "<!doctype html><title>Server error</title><h1>Something went wrong</h1>"
        "<p>The error was logged. <a href='/'>Back to the start</a>.</p>",
        status=500,
    )
