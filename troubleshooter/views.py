"""Views of the site as a whole: the health check and the error handlers."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from troubleshooter.guides.content import get_library
from troubleshooter.pages import error_page


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    get_library()
    connection.ensure_connection()
    return JsonResponse({"status": "ok"})


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
