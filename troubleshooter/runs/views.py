"""Pages of live experiments: the form, a run, its JSON, cancel, run again, history."""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from asgiref.sync import sync_to_async
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from troubleshooter.guides.content import get_library
from troubleshooter.guides.tree import BadWalk, walk
from troubleshooter.lab.demos import DEMOS, DEMOS_BY_SLUG, demo_initial
from troubleshooter.pages import HtmxHttpRequest
from troubleshooter.probe import KINDS, standalone
from troubleshooter.probe.record import SECRET_PLACEHOLDER, redact_url

from . import access, commands, executor, imports, log_lines, rendering
from .forms import (
    DEFAULT_HEADER_ROWS,
    HEADER_PREFIX,
    IMPORT_MAX_BYTES,
    MAX_HEADER_ROWS,
    HeaderForm,
    ImportForm,
    RunForm,
    initial_from_plan,
    plan_as_data,
)
from .models import Run
from .run_json import run_as_json, stored_events
from .starting import Starter, launch, starter_for

HISTORY_LENGTH = 50


def client_address(request: HttpRequest) -> str:
    """The address the last of the deployment's own proxies saw the request come from.
    Each proxy appends the address it was reached from to X-Forwarded-For, so with N
    trusted proxies the client is the Nth entry from the right; anything further left was
    written by the client and proves nothing."""
    peer = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    forwarded = [hop.strip() for hop in header.split(",") if hop.strip()]
    if proxies <= 0 or not forwarded:
        return peer
    return forwarded[-min(proxies, len(forwarded))]


def client_key(request: HttpRequest) -> str:
    """Who started a run, for per-client limits, without storing the address itself."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:{client_address(request)}".encode()).hexdigest()[:32]


def _framework_names() -> dict[str, str]:
    return {fid: framework.name for fid, framework in get_library().frameworks.items()}


def walk_context(framework: str, walk_query: str) -> dict[str, Any] | None:
    """The troubleshooter answers a form came from, in words, with the link back to them:
    "From your answers: LangGraph, all at once, behind an ingress — change"."""
    if not walk_query and not framework:
        return None
    library = get_library()
    try:
        current = walk(library.tree, parse_qs(walk_query))
    except BadWalk:
        current = None
    said = [step.answer.label for step in current.steps if not step.question.asks_framework] if current else []
    framework_name = library.frameworks[framework].name if framework in library.frameworks else ""
    return {
        "framework_name": framework_name,
        "answers": said,
        "change_url": reverse("troubleshoot") + (f"?{walk_query}" if walk_query else ""),
        "query": urlencode({key: value for key, value in (("framework", framework), ("walk", walk_query)) if value}),
    }


def _form_page(request: HttpRequest, form: RunForm, status: int = 200, note: str = "") -> HttpResponse:
    framework = str(form["framework"].value() or "")
    walk_query = str(form["walk"].value() or "")
    context = {
        "from_answers": walk_context(framework, walk_query),
        "teams": access.teams_of(request.user),
        "chosen_team": request.POST.get("team", ""),
        "form": form,
        "headers": form.header_formset,
        "max_header_rows": MAX_HEADER_ROWS,
        "demos": DEMOS if settings.LAB_ENABLED else (),
        "note": note,
        "secret_values_dropped": form.secret_values_dropped,
    }
    return render(request, "runs/new.html", context, status=status)


def _initial_from_query(request: HttpRequest) -> tuple[dict[str, Any], list[dict[str, Any]] | None, int, str]:
    """A new form prefilled by a demo, a stored run ("run again") or a troubleshooter walk."""
    query = request.GET
    origin = f"{request.scheme}://{request.get_host()}"
    carried = {key: query[key][:1000] for key in ("framework", "walk") if query.get(key)}
    if query.get("demo") in DEMOS_BY_SLUG and settings.LAB_ENABLED:
        demo = DEMOS_BY_SLUG[query["demo"]]
        # A demo keeps the framework and the walk, so its verdict's links still fit them.
        initial = {**demo_initial(demo, origin), **carried}
        return initial, None, DEFAULT_HEADER_ROWS, f"Demo: {demo.title}. Expect: {demo.expect}."
    if query.get("again"):
        try:
            run = Run.objects.get(pk=uuid.UUID(query["again"]))
        except (ValueError, Run.DoesNotExist):
            raise Http404("No such run.") from None
        if not access.may_manage(request.user, run):
            raise Http404("No such run.")
        initial, rows = initial_from_plan(run.plan)
        secret = any(row["secret"] for row in rows)
        note = "Secret header values are never stored: type them again." if secret else ""
        return initial, rows, DEFAULT_HEADER_ROWS, note
    blank_rows = DEFAULT_HEADER_ROWS
    if query.get("rows", "").isdigit():  # "Add a header" without JavaScript
        blank_rows = max(1, min(int(query["rows"]), MAX_HEADER_ROWS))
    initial = {}
    for key in ("framework", "walk", "url"):
        if query.get(key):
            initial[key] = query[key][:1000]
    if query.get("kind") in KINDS:
        initial["kind"] = query["kind"]
    return initial, None, blank_rows, ""


@require_http_methods(["GET", "POST"])
async def new_run(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not access.may_start(user):
        return redirect_to_login(request.get_full_path())
    if request.method == "GET":
        initial, rows, blank_rows, note = await sync_to_async(_initial_from_query)(request)
        form = RunForm(initial=initial, framework_names=_framework_names(), header_rows=rows, blank_rows=blank_rows)
        return await sync_to_async(_form_page)(request, form, note=note)
    form = RunForm(request.POST, framework_names=_framework_names())
    if not form.is_valid():
        return await sync_to_async(_form_page)(request, form, status=422)
    claimed = await launch(form, await sync_to_async(_starter)(request))
    if isinstance(claimed, str):
        form.add_error(None, claimed)
        return await sync_to_async(_form_page)(request, form, status=429)
    return redirect("run-detail", run_id=claimed.pk)


def _starter(request: HttpRequest) -> Starter:
    return starter_for(client_key(request), request.user, request.POST.get("team", ""))


def _managed_run(request: HttpRequest, run_id: uuid.UUID) -> Run | HttpResponse:
    """The run, if this visitor may see it; else a sign-in page, or not found (which does
    not tell a stranger that the run exists)."""
    run = get_object_or_404(Run.objects.select_related("worker"), pk=run_id)
    if access.may_manage(request.user, run):
        return executor.settle_if_stale(run)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404("No such run.")


def _shared(token: str) -> Run:
    run = access.shared_run(token)
    if run is None:
        raise Http404("This link is not shared, or no longer.")
    return executor.settle_if_stale(run)


def _detail_page(request: HttpRequest, run: Run, share_token: str = "") -> HttpResponse:
    state = rendering.state_for(run, stored_events(run))
    context = rendering.run_context(run, state, share_token=share_token)
    context["commands"] = {
        "curl": commands.as_curl(run.plan),
        "probe": commands.as_probe_command(run.plan),
        "variables": commands.secret_variables(run.plan),
        "redacted_url": SECRET_PLACEHOLDER in run.url or SECRET_PLACEHOLDER in str(run.plan.get("compare_url", "")),
    }
    if not share_token:
        context["share_url"] = (
            request.build_absolute_uri(reverse("run-shared", args=[run.share_token])) if run.share_token else ""
        )
    return render(request, "runs/detail.html", context)


@require_http_methods(["GET", "POST"])
def import_run(request: HttpRequest) -> HttpResponse:
    """A measurement made elsewhere (a curl trace) read into a run."""
    if not access.may_start(request.user):
        return redirect_to_login(request.get_full_path())
    form = ImportForm(request.POST or None, request.FILES or None, initial={
        key: request.GET.get(key, "")[:1000] for key in ("framework", "walk")
    })
    typed_url = request.GET.get("url", "")[:2048]
    context: dict[str, Any] = {
        "form": form,
        "trace_command": commands.as_trace_command(redact_url(typed_url) if typed_url else "",
                                                   request.GET.getlist("secret")[:5]),
        "typed_url": typed_url,
        "upload_help": f"At most {IMPORT_MAX_BYTES // (1024 * 1024)} MB.",
        "from_answers": walk_context(str(form["framework"].value() or ""), str(form["walk"].value() or "")),
    }
    if request.method == "GET" or not form.is_valid():
        return render(request, "runs/import.html", context, status=200 if request.method == "GET" else 422)
    starter = _starter(request)
    text = form.trace_text()
    log_like = imports.looks_like_log_lines(text)
    if log_like:
        findings = log_lines.match_lines(text, get_library().causes)
        if findings:
            framework = form.cleaned_data["framework"]
            return render(request, "runs/log_findings.html", {"findings": findings, "framework": framework})
    try:
        source, kind, records = imports.record_evidence(text)
        run = imports.store_imported(
            records, source, kind=kind, known_timeouts=form.timeouts(), framework=form.cleaned_data["framework"],
            walk=form.cleaned_data["walk"], client=starter.client, owner_id=starter.owner_id,
            team_id=starter.team_id,
        )
    except imports.ImportRefused as refused:
        form.add_error(None, str(refused))
        if log_like:
            form.add_error(None, "Read as log lines, no line holds an error message a cause page lists. Paste the "
                                 "lines around the failure, or search for the message.")
        return render(request, "runs/import.html", context, status=422)
    return redirect("run-detail", run_id=run.pk)


@cache
def _measure_core() -> str:
    """The measuring script, read once: the page offers it whole as a console snippet."""
    return (Path(settings.STATICFILES_DIRS[0]) / "js" / "measure-core.js").read_text()


@require_GET
@csp_update({"connect-src": ["http:", "https:"]})  # the measurement reaches the person's own endpoint
def measure_in_browser(request: HttpRequest) -> HttpResponse:
    """Stream an endpoint from this browser, timing each chunk, and import the result."""
    if not access.may_start(request.user):
        return redirect_to_login(request.get_full_path())
    core = _measure_core()
    typed_url = request.GET.get("url", "")[:2048]
    call = (f"measureStream({{ url: {json.dumps(typed_url or 'https://your-app.example/chat/stream')}, "
            "method: \"GET\" }).then((record) => { copy(JSON.stringify(record)); "
            "console.log(`Measured ${record.arrivals.length} chunks; the record is on your clipboard.`); });")
    return render(request, "runs/measure.html", {
        "snippet": f"{core}\n{call}", "typed_url": typed_url, "framework": request.GET.get("framework", "")[:32],
    })


@require_GET
def standalone_probe(request: HttpRequest) -> HttpResponse:
    """The probe engine as one file, for measuring where this server cannot reach."""
    response = HttpResponse(standalone.build(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="troubleshooter-probe.pyz"'
    return response


@require_GET
def run_detail(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = _managed_run(request, run_id)
    return run if isinstance(run, HttpResponse) else _detail_page(request, run)


@require_GET
def shared_run_detail(request: HttpRequest, token: str) -> HttpResponse:
    response = _detail_page(request, _shared(token), share_token=token)
    response["Referrer-Policy"] = "no-referrer"  # the link is the key: never pass it on
    return response


@require_POST
def share_run(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = _managed_run(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    if request.POST.get("stop"):
        run.stop_sharing()
    else:
        run.share()
    return redirect(reverse("run-detail", args=[run.pk]) + "#share")


@require_GET
def run_json(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = _managed_run(request, run_id)
    return run if isinstance(run, HttpResponse) else _json_download(run)


@require_GET
def shared_run_json(request: HttpRequest, token: str) -> HttpResponse:
    return _json_download(_shared(token))


def _json_download(run: Run) -> HttpResponse:
    response = JsonResponse(run_as_json(run), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}.json"'
    return response


@require_POST
async def cancel_run(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = await Run.objects.filter(pk=run_id).afirst()
    if run is None or not await sync_to_async(access.may_manage)(await request.auser(), run):
        raise Http404("No such run.")
    if run.is_active:
        await executor.request_cancel(run.pk)
    if request.htmx:
        return HttpResponse('<p class="cancelling" role="status">Cancelling…</p>')
    return redirect("run-detail", run_id=run.pk)


@require_POST
async def run_again(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = await Run.objects.filter(pk=run_id).afirst()
    if run is None or not await sync_to_async(access.may_manage)(await request.auser(), run):
        raise Http404("No such run.")
    data = plan_as_data(run.plan)
    if data is None:
        return redirect(reverse("run-new") + "?" + urlencode({"again": str(run.pk)}))
    form = RunForm(data, framework_names=_framework_names())
    if not form.is_valid():
        return redirect(reverse("run-new") + "?" + urlencode({"again": str(run.pk)}))
    starter = await sync_to_async(_starter)(request)
    starter.team_id = run.team_id  # a rerun stays with the run's team
    again = await launch(form, starter)
    if isinstance(again, str):
        return await sync_to_async(_form_page)(request, form, status=429, note=again)
    if request.htmx:  # the form came from a finished run swapped in over the socket
        return HttpResponseClientRedirect(reverse("run-detail", args=[again.pk]))
    return redirect("run-detail", run_id=again.pk)


@require_GET
def history(request: HttpRequest) -> HttpResponse:
    if not access.may_start(request.user):
        return redirect_to_login(request.get_full_path())
    visible = access.visible_runs(request.user).select_related("worker", "owner", "team")
    runs = list(visible.defer("report")[:HISTORY_LENGTH])
    for run in runs:
        executor.settle_if_stale(run)
    return render(request, "runs/history.html", {"runs": runs, "show_owners": access.login_required()})


@require_GET
def header_row(request: HttpRequest) -> HttpResponse:
    """One more blank header row for the form (htmx appends it)."""
    try:
        index = int(request.GET.get("index", ""))
    except ValueError:
        index = -1
    if not 0 <= index < MAX_HEADER_ROWS:
        return HttpResponse(status=204)
    row = HeaderForm(prefix=f"{HEADER_PREFIX}-{index}")
    return render(request, "runs/_header_row.html", {
        "row": row, "row_number": index + 1, "next_index": index + 1, "max_header_rows": MAX_HEADER_ROWS,
        "header_prefix": HEADER_PREFIX,
    })
