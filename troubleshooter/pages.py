"""What every app's views share: the htmx-aware request type, error pages, partial swaps."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def partial_or_page(
    request: HtmxHttpRequest,
    page: str,
    partial: str,
    context: dict[str, Any],
    target: str,
    status: int = 200,
) -> HttpResponse:
    """Only the named part when htmx asks for it, the whole page otherwise (a direct visit,
    a shared link, a history restore), so every link works without JavaScript."""
    wants_partial = (
        bool(request.htmx)
        and not request.htmx.history_restore_request
        and request.htmx.target == target
    )
    response = render(request, partial if wants_partial else page, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def error_page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return render(
        request, "error.html", {"status": status, "title": title, "message": message}, status=status
    )


def navigation(request: HttpRequest) -> dict[str, Any]:
    """For the header: whether this deployment asks people to sign in for experiments, and
    whether it has the lab."""
    return {"accounts_in_use": settings.REQUIRE_LOGIN_FOR_RUNS, "lab_enabled": settings.LAB_ENABLED}
