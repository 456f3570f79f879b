"""A run's verdict inside another site's page.

The same rules as the run's own page: by id only for those who may see the run (signed in
to this site, in a browser that sends its cookie to the frame), by share link for anyone.
A stranger gets "not found" inside the frame rather than a sign-in form, which a frame
could not complete anyway.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from troubleshooter.embedding import frameable_by_portals
from troubleshooter.guides.embed import embed_error, render_embed

from . import access, executor, rendering
from .models import Run
from .run_json import stored_events


def _verdict(request: HttpRequest, run: Run, share_token: str = "") -> HttpResponse:
    run = executor.settle_if_stale(run)
    context = rendering.run_context(run, rendering.state_for(run, stored_events(run)), share_token=share_token)
    return render_embed(request, "guides/embed/verdict.html", context, title=f"Verdict: {run.url}")


def _not_found(request: HttpRequest) -> HttpResponse:
    return embed_error(request, 404, "No such run", "This run does not exist, or it is not shared with you.")


@require_GET
@frameable_by_portals
def verdict(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = Run.objects.select_related("worker").filter(pk=run_id).first()
    if run is None or not access.may_manage(request.user, run):
        return _not_found(request)
    return _verdict(request, run)


@require_GET
@frameable_by_portals
def shared_verdict(request: HttpRequest, token: str) -> HttpResponse:
    run = access.shared_run(token)
    if run is None:
        return _not_found(request)
    response = _verdict(request, run, share_token=token)
    response["Referrer-Policy"] = "no-referrer"  # the link is the key: never pass it on
    return response
