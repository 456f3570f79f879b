"""The run API under /api/v1/runs: start a run, read it, list mine, cancel it, and follow
its events as they arrive.

The same rules as the web pages, through the same code: RunForm validates a request (and
keeps secret header values out of everything stored), starting.launch counts the limits and
claims the run, access decides who sees what. A run reads in one shape everywhere
(run_json): the API, the run page's JSON download and `manage.py probe --json`.

Who is calling: a per-user token (`Authorization: Bearer ...`, see tokens.py), else the
browser's session (with its CSRF check), else, when runs are open to everyone
(REQUIRE_LOGIN_FOR_RUNS off), anyone.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.params import functions as param
from ninja.security import APIKeyCookie, HttpBearer

from troubleshooter.guides.content import get_library
from troubleshooter.probe import FORMATS, KINDS

from . import access, executor, sse, starting, tokens
from .forms import HEADER_PREFIX, RunForm
from .models import Run
from .run_json import run_as_json
from .views import HISTORY_LENGTH, client_key

router = Router(tags=["runs"])


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = tokens.user_for(token)
        if user is None:
            # A wrong or revoked token is refused outright, never taken as no token at all.
            raise AuthenticationError(message="This API token is not valid.")
        return user


class BrowserSession(APIKeyCookie):
    """The signed-in browser. Unlike ninja's own SessionAuth, a request without a session
    goes on to the next scheme instead of failing the CSRF check it has nothing to do with."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request) or ""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if key is not None else None


def anyone_when_runs_are_open(request: HttpRequest) -> Any:
    return AnonymousUser() if not access.login_required() else None


CALLERS = [BearerToken(), BrowserSession(), anyone_when_runs_are_open]


class Problem(Schema):
    detail: str


class FormProblems(Schema):
    # A sentence when the form refuses the run; the parser's list when the JSON itself does
    # not fit the document.
    detail: str | list[dict[str, Any]]
    errors: dict[str, list[str]] = Field({}, description="Messages by field; '__all__' for the request as a whole.")


class HeaderIn(Schema):
    name: str
    value: str = ""
    secret: bool = Field(False, description="Kept out of everything stored and shown. Authorization, "
                                            "X-Api-Key and other credentials are secret whatever this says.")


class RunIn(Schema):
    """What the web form asks, as JSON. Each field means what it does on the form; the form's
    rules across fields (a GET has no body, a comparison needs a second URL...) answer 422."""

    url: str = Field(json_schema_extra={"pattern": "^(https?|wss?)://"})
    kind: str = Field("single", json_schema_extra={"enum": list(KINDS)})
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    format: str = Field("auto", json_schema_extra={"enum": list(FORMATS)})
    body: str = ""
    body_kind: Literal["json", "text"] = "json"
    headers: list[HeaderIn] = []
    total_seconds: float = 60
    concurrency: int = 5
    repeats: int = 3
    compare_url: str = ""
    model: str = ""
    prompt: str = ""
    known_timeouts: str = Field("", description="Timeouts your infrastructure is set to, e.g. '60, 350'.")
    framework: str = ""
    walk: str = ""
    team: int | None = Field(None, description="A team (group) of yours to share the run with.")


class RunOut(Schema):
    """The run's own keys, then the probe's report as `manage.py probe --json` prints it
    (troubleshooter/probe/report.py says what each key holds). Until the run has a report,
    outcome is null and the report's other keys are absent."""

    id: str
    kind: str
    state: str
    created: str
    finished: str | None
    request: dict[str, Any] = Field(description="The request as stored: secret values replaced.")
    outcome: str | None
    summary: str | None = None
    causes: list[dict[str, Any]] | None = Field(None, description="{id, confidence, evidence}, strongest first")
    hints: list[dict[str, Any]] | None = None
    metrics: dict[str, Any] | None = Field(None, description="The leading lane's measurements.")
    leading_lane: str | None = None
    problem_found: bool | None = None
    differences: list[str] | None = None
    overlap: dict[str, Any] | None = None
    lanes: list[dict[str, Any]] | None = Field(None, description="{label, outcome, summary, causes, hints, "
                                                                 "metrics, record} for each lane")
    record_version: int | None = None


class RunSummary(Schema):
    id: str
    kind: str
    state: str
    url: str
    source: str
    created: str
    finished: str | None
    outcome: str | None
    framework: str
    owner: str | None
    team: str | None


class CancelOut(Schema):
    id: str
    state: str
    cancelling: bool


def _form_data(body: RunIn) -> dict[str, Any]:
    """The request as the form's POST data, header rows and all."""
    data: dict[str, Any] = {
        key: str(value) for key, value in body.model_dump(exclude={"headers", "team"}).items()
    }
    data[f"{HEADER_PREFIX}-TOTAL_FORMS"] = str(len(body.headers))
    data[f"{HEADER_PREFIX}-INITIAL_FORMS"] = "0"
    for index, header in enumerate(body.headers):
        data[f"{HEADER_PREFIX}-{index}-name"] = header.name
        data[f"{HEADER_PREFIX}-{index}-value"] = header.value
        if header.secret:
            data[f"{HEADER_PREFIX}-{index}-secret"] = "on"
    return data


def _framework_names() -> dict[str, str]:
    return {fid: framework.name for fid, framework in get_library().frameworks.items()}


def _form_problems(form: RunForm) -> dict[str, Any]:
    errors = {field: [str(message) for message in messages] for field, messages in form.errors.items()}
    for index, row in enumerate(form.header_formset.forms):
        for field, messages in row.errors.items():
            errors[f"headers.{index}.{'row' if field == '__all__' else field}"] = [str(m) for m in messages]
    return {"detail": "The request needs fixing.", "errors": errors}


def _visible_run(user: Any, run_id: uuid.UUID) -> Run:
    """The run, settled if its worker is gone; not found when this caller may not see it,
    which tells a stranger nothing about whether it exists."""
    run = Run.objects.select_related("worker").filter(pk=run_id).first()
    if run is None or not access.may_manage(user, run):
        raise HttpError(404, "No such run.")
    return executor.settle_if_stale(run)


def _summary(run: Run) -> dict[str, Any]:
    return {
        "id": str(run.pk), "kind": run.kind, "state": run.state, "url": run.url, "source": run.source,
        "created": run.created.isoformat(), "finished": run.finished.isoformat() if run.finished else None,
        "outcome": run.outcome or None, "framework": run.framework,
        "owner": run.owner.get_username() if run.owner else None, "team": run.team.name if run.team else None,
    }


@router.post("", auth=CALLERS, response={201: RunOut, 415: Problem, 422: FormProblems, 429: Problem},
             summary="Start a run", exclude_unset=True)
async def create_run(request: HttpRequest, body: RunIn) -> Status[dict[str, Any]]:
    """Start an experiment, as the form does. Secret header values are used for this run
    only: they are never stored and never sent back."""
    if request.content_type != "application/json":
        # A cross-site HTML form cannot send JSON, so this refuses forged starts from
        # browsers when runs are open to anyone.
        return Status(415, {"detail": "Send the run as application/json."})
    user = request.auth  # type: ignore[attr-defined]  # set by the auth schemes above
    form = RunForm(_form_data(body), framework_names=await sync_to_async(_framework_names)())
    if not await sync_to_async(form.is_valid)():
        return Status(422, _form_problems(form))
    starter = await sync_to_async(starting.starter_for)(
        client_key(request), user, str(body.team) if body.team is not None else ""
    )
    claimed = await starting.launch(form, starter)
    if isinstance(claimed, str):
        return Status(429, {"detail": claimed})
    return Status(201, await sync_to_async(run_as_json)(claimed))


@router.get("", auth=CALLERS, response=list[RunSummary], summary="My runs, newest first")
def list_runs(request: HttpRequest, response: HttpResponse,
              limit: int = param.Query(HISTORY_LENGTH, ge=1, le=200)) -> list[dict[str, Any]]:
    """Everything when runs are open to everyone; else my runs and my teams'."""
    response["Cache-Control"] = "private, no-cache"
    visible = access.visible_runs(request.auth).select_related("worker", "owner", "team")  # type: ignore[attr-defined]
    runs = list(visible.defer("report", "plan")[:limit])
    return [_summary(executor.settle_if_stale(run)) for run in runs]


@router.get("/{run_id}", auth=CALLERS, response={200: RunOut, 404: Problem}, summary="A run", exclude_unset=True)
def read_run(request: HttpRequest, response: HttpResponse, run_id: uuid.UUID) -> dict[str, Any]:
    """Status, outcome, causes and metrics, in the shape of the run page's JSON download."""
    response["Cache-Control"] = "private, no-cache"
    return run_as_json(_visible_run(request.auth, run_id))  # type: ignore[attr-defined]


@router.post("/{run_id}/cancel", auth=CALLERS, response={202: CancelOut, 404: Problem}, summary="Cancel a run")
async def cancel_run(request: HttpRequest, run_id: uuid.UUID) -> Status[dict[str, Any]]:
    """Ask the run to stop. It ends as 'cancelled' within moments; a run that has already
    ended is left as it is."""
    run = await sync_to_async(_visible_run)(request.auth, run_id)  # type: ignore[attr-defined]
    if run.is_active:
        await executor.request_cancel(run.pk)
    return Status(202, {"id": str(run.pk), "state": run.state, "cancelling": run.is_active})


EVENT_STREAM_DOCUMENT = {
    "responses": {
        "200": {
            "description": "One SSE message per live event (`id:` is its sequence number, `data:` the event as "
                           "JSON), then a `run-end` event with the run's state and outcome.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
}


@router.get("/{run_id}/events", auth=CALLERS, response={404: Problem}, summary="Follow a run's events",
            openapi_extra=EVENT_STREAM_DOCUMENT)
async def run_event_stream(
    request: HttpRequest, run_id: uuid.UUID,
    after: int | None = param.Query(None, ge=0, description="Start after this sequence number."),
    last_event_id: str = param.Header("", alias="Last-Event-ID",
                                description="Sent by a reconnecting EventSource; wins over ?after."),
) -> StreamingHttpResponse:
    """Server-sent events as the run writes them, from the start or after a sequence number."""
    run = await sync_to_async(_visible_run)(request.auth, run_id)  # type: ignore[attr-defined]
    await sse.release_connection()  # the stream may run for minutes: hold no connection meanwhile
    return sse.event_stream_response(run.pk, sse.resume_point(last_event_id, after))
