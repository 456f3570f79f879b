"""Prove every broken/fixed pair: run it against the lab's model and diagnose it with the probe.

For each (cause, framework) pair the runner starts the sample apps on loopback (uvicorn, behind
a real nginx where the cause lives in a proxy), points them at the lab's OpenAI-compatible mock
with the behaviour the cause needs, drives them the way the cause shows itself, and judges:
the fixed app must stream healthily (or meet the cause's own success condition) and the broken
one must show its cause (or the cause's own measured failure). Plain asyncio and subprocesses;
Django is needed only by the lab process it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from troubleshooter.guides.proofs import INFRA_FILES, files_of, sample_fingerprint
from troubleshooter.probe import KINDS, Experiment, Limits, OutboundPolicy, ProbeSpec, Report, run_experiment
from troubleshooter.vocabulary import FRAMEWORK_IDS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATUSES = ("proven", "failed", "not-reproducible")
QUESTION = "How do I stream answers to the browser?"
# The request body every POST route accepts: pydantic ignores the fields a route does not name.
POST_BODY = {"message": QUESTION, "question": QUESTION, "session_id": "s1", "thread_id": "t1", "customer_id": "c1"}
SERVICE_VARIABLES = ("ORDERS_URL", "PROFILES_URL", "NOTES_URL", "REPORTS_URL", "ARCHIVE_URL", "INVOICES_URL",
                     "METRICS_URL")
# The packages whose streaming APIs the samples exercise: a proof holds for these versions.
VERSIONED_PACKAGES = ("langchain-core", "langchain-openai", "langgraph", "llama-index-core", "llama-index-llms-openai",
                      "autogen-agentchat", "autogen-ext", "openai", "httpx", "fastapi", "starlette", "uvicorn")
PROXY_READ_TIMEOUT = 2.0  # the short idle timeout the local nginx stands in with


@dataclass(frozen=True)
class Scenario:
    """How one cause is shown: the model's behaviour, what sits in front, how it is driven,
    and what counts as broken and as fixed."""

    mode: str = "healthy"  # the lab model's behaviour (troubleshooter.lab.views.OPENAI_MODES)
    model: str = "chunks=30;delay=0.04"  # its settings, as the lab reads them from the path
    service_delay: float = 0.0  # seconds the services a sample calls take to answer
    proxy: str = ""  # "", "buffering" (nginx defaults) or "idle" (short proxy_read_timeout)
    drive: str = "single"  # single | parallel | disconnect | turns | two-visitors
    broken_causes: tuple[str, ...] = ()  # any of these among the top causes shows the failure
    fixed_outcomes: tuple[str, ...] = ("healthy",)
    # diagnosis | truncation | error-reported | version-drift | hard-error | cut-off | serialised
    judge: str = "diagnosis"
    # Requests sent straight to the app before the one probed: the first request pays for the
    # app's lazy imports, which would otherwise count as the stream's first-byte time; and some
    # failures appear only on the second request.
    warmups: int = 1
    not_reproducible: str = ""
    turns: int = 0  # for drive "turns": how many turns of one conversation
    extra_modes: tuple[str, ...] = ()  # more model behaviours the same pair must survive
    env: tuple[tuple[str, str], ...] = ()


SCENARIOS: dict[str, Scenario] = {
    "server-buffering": Scenario(broken_causes=("server-buffering",)),
    "proxy-buffering": Scenario(proxy="buffering", broken_causes=("proxy-buffering",)),
    # Proven with the guide's own nginx snippets (framework "infra").
    "compression-buffering": Scenario(broken_causes=("compression-buffering", "proxy-buffering")),
    "idle-timeout": Scenario(
        # The silence comes from a slow service (LangGraph, AutoGen) or a model that thinks
        # before it answers (LangChain's planner, LlamaIndex's reranker): 4 s, twice the proxy's timeout.
        model="chunks=20;delay=0.03;think=4", service_delay=4, proxy="idle", broken_causes=("idle-timeout",),
        env=(("HEARTBEAT_SECONDS", "0.5"),),
    ),
    "client-disconnect": Scenario(model="chunks=80;delay=0.1", drive="disconnect"),
    "blocking-event-loop": Scenario(
        model="chunks=20;delay=0.05", service_delay=1.0, drive="parallel", judge="serialised",
        broken_causes=("blocking-event-loop", "worker-saturation"),
    ),
    # The probe sees the app's own 500 or a stream that stops: the cause's hard error.
    "event-loop-misuse": Scenario(judge="hard-error"),
    # Enough tokens to fill a bounded queue or reach a metrics call every 50 tokens.
    "callback-exception": Scenario(model="chunks=1100;delay=0.001", judge="cut-off"),
    # Long answers (about 9 KB each) and 0.05 s more to the first token per KiB of prompt, as a
    # long context costs: the fixes' budgets (3000-6000 tokens, 20 messages) fill within 10 turns.
    "state-growth": Scenario(model="chunks=1500;delay=0.0005;per_kb=0.05", drive="turns", turns=7),
    "version-drift": Scenario(judge="version-drift", broken_causes=("version-drift",)),
    "token-limit": Scenario(mode="length", model="chunks=400;delay=0.002", judge="truncation"),
    "upstream-error": Scenario(mode="error", judge="error-reported", extra_modes=("drop",)),
    # A client, agent or memory shared by every request carries one visitor's words into
    # another's model call: the lab records what each call was sent.
    "shared-client-race": Scenario(model="chunks=20;delay=0.01", drive="two-visitors"),
    # Nothing asks the model to stream: the answer arrives whole, after the whole generation.
    "stream-not-requested": Scenario(broken_causes=("stream-not-requested", "server-buffering")),
    "lost-callback-context": Scenario(not_reproducible=(
        "the callback context is lost only on Python before 3.11; on the 3.11 or later that runs "
        "the samples here, the broken and the fixed code stream alike"
    )),
}

# Where one framework's sample shows the cause differently from the others.
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("version-drift", "langgraph"): {"not_reproducible": (
        "the broken code fails only where langgraph 1.0.x is installed (astream's version=\"v2\" "
        "is ignored there); on the release installed here it streams like the fixed one"
    )},
    # The AutoGen agents call a tool (the slow or blocking part) before they answer.
    ("blocking-event-loop", "autogen"): {"mode": "tool"},
    ("idle-timeout", "autogen"): {"mode": "tool"},
    # AutoGen's fix keeps 20 messages whatever their size: short answers, more turns.
    ("state-growth", "autogen"): {"model": "chunks=200;delay=0.002;per_kb=0.3", "turns": 12},
}


@dataclass(frozen=True)
class Pair:
    cause: str
    framework: str
    folder: Path

    @property
    def name(self) -> str:
        return f"{self.cause}/{self.framework}"

    def source(self, side: str) -> Path:
        broken, fixed = files_of(self.cause, self.framework)
        return self.folder / (broken if side == "broken" else fixed)

    def fingerprint(self) -> str:
        """Changes whenever either file does, so a stale proof can be told from a current one."""
        return sample_fingerprint(self.folder, files_of(self.cause, self.framework))


@dataclass
class SideResult:
    verdict: str  # one line: the outcome and the top causes, or the measured condition
    ok: bool
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class PairResult:
    cause: str
    framework: str
    broken: str
    fixed: str
    status: str
    seconds: float
    reason: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- finding the pairs and how to call them -------------------------------------------------


def discover_pairs(guides_dir: Path) -> list[Pair]:
    """Every framework pair, and the infrastructure pairs a local server can show."""
    pairs = []
    for folder in sorted((guides_dir.resolve() / "code").glob("*/*")):
        if folder.name in FRAMEWORK_IDS and (folder / "broken.py").exists() and (folder / "fixed.py").exists():
            pairs.append(Pair(folder.parent.name, folder.name, folder))
        elif folder.name == "infra" and folder.parent.name in INFRA_FILES:
            pairs.append(Pair(folder.parent.name, "infra", folder))
    return pairs


def select_pairs(pairs: Sequence[Pair], only: Sequence[str]) -> list[Pair]:
    """`CAUSE` or `CAUSE/FRAMEWORK`, several allowed; nothing given means every pair."""
    if not only:
        return list(pairs)
    return [pair for pair in pairs if any(wanted in (pair.cause, pair.name) for wanted in only)]


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    def spec(self, base: str, question: str = QUESTION, session: str = "s1") -> ProbeSpec:
        if self.method == "POST":
            body = {**POST_BODY, "message": question, "question": question, "session_id": session,
                    "thread_id": session, "customer_id": session}
            return ProbeSpec(url=f"{base}{self.path.replace('/s1/', f'/{session}/')}", method="POST", json_body=body)
        return ProbeSpec(url=f"{base}{self.path.replace('/s1/', f'/{session}/')}?q={question.replace(' ', '+')}")


def route_of(source: str) -> Route:
    """The sample's one streaming route, read from its decorator."""
    found = re.search(r'@app\.(get|post)\("([^"]+)"\)', source)
    if not found:
        raise ValueError("no @app.get/@app.post route")
    return Route(found.group(1).upper(), re.sub(r"\{[^}]+\}", "s1", found.group(2)))


# --- servers on loopback --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, size: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except OSError:
            return ""


async def wait_for_port(server: Server, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"exited with {server.process.returncode}: {server.tail()}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"did not listen within {seconds:.0f} s: {server.tail()}")


@contextlib.asynccontextmanager
async def serve(argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path, port: int,
                start_seconds: float = 120) -> AsyncIterator[Server]:
    with log.open("wb") as output:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        await wait_for_port(server, start_seconds)
        yield server
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def base_environment() -> dict[str, str]:
    """This process's environment without anything that points a sample at a real provider."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DJANGO_", "DATABASE_", "REDIS_"))}
    return {**keep, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


@contextlib.asynccontextmanager
async def lab(workdir: Path) -> AsyncIterator[Server]:
    """The app's own lab under uvicorn: uvicorn, unlike Daphne, aborts the connection when a
    body fails mid-stream, which is what the "drop" behaviour needs."""
    port = free_port()
    env = {**base_environment(), "DJANGO_SETTINGS_MODULE": "troubleshooter.settings", "LAB_ENABLED": "1",
           "DEBUG": "1", "DATABASE_URL": f"sqlite:///{workdir / 'lab.sqlite3'}", "LOG_LEVEL": "WARNING"}
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "troubleshooter.asgi:application"]
    async with serve(argv, env, PROJECT_ROOT, workdir / "lab.log", port) as server:
        yield server


NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
{location}
        }}
    }}
}}
"""

PROXY_SETTINGS = {
    # Every default left in place, as in the proxy-buffering guide's broken config:
    # proxy_buffering on and HTTP/1.0 to the app.
    "buffering": "",
    # As in the idle-timeout guide's broken config, with 2 s standing in for the default 60 s.
    "idle": (
        "            proxy_http_version 1.1;\n"
        "            proxy_buffering off;\n"
        f"            proxy_read_timeout {PROXY_READ_TIMEOUT:g}s;"
    ),
}


async def streaming_upstream(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
    """An app that streams 30 events, 40 ms apart, on any path, and says nothing to proxies:
    what a proxy snippet must pass through untouched. Served by uvicorn for the infra proofs."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    for index in range(30):
        event = f"data: {{\"seq\": {index}}}\n\n".encode()
        await send({"type": "http.response.body", "body": event, "more_body": True})
        await asyncio.sleep(0.04)
    await send({"type": "http.response.body", "body": b"event: done\ndata: {}\n\n", "more_body": False})


INFRA_PATH = "/api/chat/stream"  # the streaming route the snippets configure


def nginx_from_snippet(snippet: str, prefix: Path, port: int, upstream: int) -> Path:
    """The snippet as written, listening on a loopback port and proxying to a local app."""
    local = re.sub(r"listen\s+80;", f"listen 127.0.0.1:{port};", snippet)
    local = re.sub(r"server\s+127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream};", local)
    conf = nginx_check_config(local, prefix)
    conf.write_text(conf.read_text().replace("events {}", "events {}\ndaemon off;", 1))
    return conf


async def prove_infra_side(pair: Pair, side: str, upstream: Server, workdir: Path) -> SideResult:
    binary = nginx_binary()
    if binary is None:
        return SideResult("nginx is not installed", False)
    prefix = Path(tempfile.mkdtemp(prefix=f"nginx-{side}-", dir=workdir))
    prefix.chmod(0o777)
    port = free_port()
    conf = nginx_from_snippet(pair.source(side).read_text(), prefix, port, upstream.port)
    argv = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    async with serve(argv, base_environment(), prefix, prefix / "nginx.out", port, start_seconds=10) as proxy:
        report = await probe(proxy.base, Route("GET", INFRA_PATH), "single")
    scenario = SCENARIOS[pair.cause]
    return judge_diagnosis(report, side, scenario)


async def prove_infra_pair(pair: Pair, workdir: Path) -> tuple[SideResult, SideResult]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "troubleshooter.guides.proving:streaming_upstream"]
    log = workdir / f"{pair.cause}.infra.upstream.log"
    async with serve(argv, {**base_environment(), "PYTHONPATH": str(PROJECT_ROOT)}, PROJECT_ROOT, log, port) as app:
        broken, fixed = await asyncio.gather(prove_infra_side(pair, "broken", app, workdir),
                                             prove_infra_side(pair, "fixed", app, workdir))
    return broken, fixed


def nginx_check_config(snippet: str, prefix: Path) -> Path:
    """A whole nginx.conf around a conf.d snippet (upstreams and servers at http level), for
    `nginx -t`: the guides show the part people paste, this adds the rest."""
    conf = prefix / "nginx.conf"
    body = "\n".join("    " + line for line in snippet.splitlines())
    conf.write_text(
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\nhttp {{\n"
        f"    client_body_temp_path {prefix}/body;\n    proxy_temp_path {prefix}/proxy;\n{body}\n}}\n"
    )
    return conf


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


@contextlib.asynccontextmanager
async def nginx_in_front(kind: str, upstream: Server, workdir: Path) -> AsyncIterator[Server]:
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    prefix = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
    prefix.chmod(0o777)  # worker processes may run as another user and write temp files here
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, upstream=upstream.port, location=PROXY_SETTINGS[kind]))
    argv = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    async with serve(argv, base_environment(), prefix, prefix / "nginx.out", port, start_seconds=10) as server:
        yield server


def sample_environment(pair: Pair, side: str, lab_base: str, scenario: Scenario, mode: str) -> dict[str, str]:
    settings = f"{scenario.model};tag={pair.cause}.{pair.framework}.{side}.{mode}"
    env = {
        **base_environment(),
        "OPENAI_BASE_URL": f"{lab_base}/lab/openai/{mode}/{settings}/v1",
        "OPENAI_API_KEY": "sk-lab-not-a-secret",
        "OPENAI_MODEL": "gpt-4o-mini",
        **dict(scenario.env),
    }
    for variable in SERVICE_VARIABLES:
        env[variable] = f"{lab_base}/lab/service/delay={scenario.service_delay:g}"
    return env


@contextlib.asynccontextmanager
async def sample_app(pair: Pair, side: str, env: dict[str, str], workdir: Path) -> AsyncIterator[Server]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--app-dir", str(pair.folder), f"{side}:app"]
    async with serve(argv, env, workdir, workdir / f"{pair.cause}.{pair.framework}.{side}.log", port) as server:
        yield server


def build_handbook_index(workdir: Path) -> None:
    """The ./storage the LlamaIndex samples load: a few handbook lines embedded with the
    lab's 8-number vectors, so questions embedded by the lab can be matched against them."""
    script = (
        "import sys\n"
        "from llama_index.core import Document, MockEmbedding, VectorStoreIndex\n"
        "docs = [Document(text=t) for t in ('Streams are sent as server-sent events.',"
        " 'Proxies must not buffer the stream.', 'Send a heartbeat while the model thinks.')]\n"
        "VectorStoreIndex.from_documents(docs, embed_model=MockEmbedding(embed_dim=8))"
        ".storage_context.persist(persist_dir=sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(workdir / "storage")], check=True, capture_output=True,
                   env=base_environment(), timeout=120)


# --- driving and judging --------------------------------------------------------------------

POLICY = OutboundPolicy(allow_private=True)


def summary_of(report: Report) -> str:
    causes = ", ".join(cause.id for cause in report.verdict.causes[:3])
    return f"{report.verdict.outcome}" + (f" ({causes})" if causes else "")


def figures_of(report: Report) -> dict[str, Any]:
    metrics = report.leading.metrics
    return {
        "outcome": report.verdict.outcome,
        "causes": [cause.id for cause in report.verdict.causes[:3]],
        "first_byte": round(metrics.time_to_first_byte, 3) if metrics.time_to_first_byte is not None else None,
        "chunks": metrics.chunk_count,
        "content_events": metrics.content_event_count,
        "duration": round(metrics.duration, 3),
    }


async def probe(base: str, route: Route, drive: str, known_timeouts: tuple[float, ...] = ()) -> Report:
    kind = KINDS["parallel" if drive == "parallel" else "single"]
    experiment = Experiment(kind, route.spec(base), Limits(total_seconds=40, headers_seconds=30),
                            concurrency=3, known_timeouts=known_timeouts)
    return await run_experiment(experiment, POLICY)


async def warm_up(base: str, route: Route) -> None:
    spec = route.spec(base)
    async with httpx.AsyncClient(timeout=30) as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.request(spec.method, spec.url, json=spec.json_body)


def judge_diagnosis(report: Report, side: str, scenario: Scenario) -> SideResult:
    verdict = summary_of(report)
    if side == "fixed":
        return SideResult(verdict, report.verdict.outcome in scenario.fixed_outcomes, figures_of(report))
    top = {cause.id for cause in report.verdict.causes[:3]}
    return SideResult(verdict, bool(top & set(scenario.broken_causes)) or proxy_timed_out(report, scenario),
                      figures_of(report))


def proxy_timed_out(report: Report, scenario: Scenario) -> bool:
    """An idle timeout that fires before the app has sent its headers is the proxy's 504,
    at the timeout: the same failure, seen before the stream began."""
    metrics = report.leading.metrics
    return (scenario.proxy == "idle" and report.verdict.outcome == "http-error"
            and abs(metrics.duration - PROXY_READ_TIMEOUT) < 1.0)


def judge_truncation(report: Report, side: str, answer_tokens: int) -> SideResult:
    """The sample's own stream does not carry finish_reason, so the measure is the answer:
    the broken one delivers less than the model's whole answer and still ends as if complete;
    the fixed one delivers all of it (or says it was cut)."""
    received = report.leading.metrics.content_event_count
    verdict = f"{summary_of(report)}; {received} of {answer_tokens} tokens"
    if side == "broken":
        ok = received < answer_tokens and report.verdict.outcome == "healthy"
    else:
        ok = report.verdict.outcome == "healthy" and received >= answer_tokens
    return SideResult(verdict, ok, figures_of(report))


def judge_error_reported(report: Report, side: str) -> SideResult:
    """When the provider fails mid-answer the client must be told: an error event it can show
    (outcome upstream-error). Broken samples cut the stream without a word."""
    outcome = report.verdict.outcome
    if side == "broken":
        return SideResult(summary_of(report), outcome == "cut-off", figures_of(report))
    return SideResult(summary_of(report), outcome == "upstream-error", figures_of(report))


def judge_version_drift(report: Report, side: str) -> SideResult:
    """Code written for another release fails on this one: the broken sample does not stream
    an answer (an error, a cut, or printed objects); the fixed one streams it healthily."""
    outcome = report.verdict.outcome
    if side == "broken":
        return SideResult(summary_of(report), outcome != "healthy", figures_of(report))
    return SideResult(summary_of(report), outcome == "healthy", figures_of(report))


def judge_outcomes(report: Report, side: str, broken_outcomes: tuple[str, ...]) -> SideResult:
    """The cause's own signature in the probe's outcome: a hard error (a 500, or a stream that
    dies with the exception), or a stream that stops after a chunk with no terminal event."""
    outcome = report.verdict.outcome
    ok = outcome in broken_outcomes if side == "broken" else outcome == "healthy"
    return SideResult(summary_of(report), ok, figures_of(report))


def judge_serialised(report: Report, side: str, scenario: Scenario) -> SideResult:
    """A blocked event loop makes parallel streams wait for one another: their first content
    comes in steps, or all of it late, one blocking call after another, instead of as soon as
    the same request's alone. (First bytes may still come together: the headers go out before
    the handler blocks.)"""
    alone, *parallel = [lane.metrics.time_to_first_content for lane in report.lanes]
    known = [first for first in parallel if first is not None]
    spread = max(known) - min(known) if len(known) > 1 else 0.0
    later = max(known) - alone if known and alone is not None else 0.0
    # One blocking call (the service's delay, or a whole synchronous generation) apart.
    step = max(scenario.service_delay, 0.5) * 0.8
    serial = spread > step or later > step
    named = {cause.id for cause in report.verdict.causes[:3]} & set(scenario.broken_causes)
    verdict = (f"{summary_of(report)}; first content of 3 parallel streams up to {later:.2f} s later than alone, "
               f"spread over {spread:.2f} s")
    figures = {**figures_of(report), "first_content_alone": alone,
               "first_content_parallel": [round(first, 3) for first in known]}
    if side == "broken":
        return SideResult(verdict, serial or bool(named), figures)
    return SideResult(verdict, report.verdict.outcome == "healthy" and not serial, figures)


async def drive_disconnect(base: str, route: Route, lab_base: str, tag: str, side: str) -> SideResult:
    """Read a few events, leave, and ask the lab whether the model kept generating: the fixed
    app must cancel its model request within a second of the client leaving; the broken one
    lets it run on."""
    spec = route.spec(base)
    seen = 0
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream(spec.method, spec.url, json=spec.json_body) as response:
            async for line in response.aiter_lines():
                seen += line.startswith("data:")
                if seen >= 5:
                    break
        left = time.monotonic()
        await asyncio.sleep(2.0)
        generations = (await client.get(f"{lab_base}/lab/openai/generations/", params={"tag": tag})).json()
    if not generations["generations"]:
        return SideResult("no model request reached the lab", False)
    generation = generations["generations"][-1]
    figures = {"events_read": seen, "model_tokens_sent": generation["sent"],
               "model_tokens_planned": generation["planned"]}
    if generation["finished"] == "cancelled":
        after = generation["ended"] - left
        figures["model_stopped_after_client_left"] = round(after, 3)
        stopped = after <= 1.0
        verdict = f"model request cancelled {after:.2f} s after the client left"
    elif generation["finished"] == "running":
        stopped = False
        verdict = f"model still generating 2 s after the client left ({generation['sent']} tokens sent)"
    else:
        stopped = False
        verdict = (f"model request {generation['finished']} after the client left: "
                   f"{generation['sent']} of {generation['planned']} tokens generated")
    return SideResult(verdict, stopped if side == "fixed" else not stopped, figures)


FIRST_VISITOR = "What does invoice INV-7731 cover?"
SECOND_VISITOR = "How do I reset my password?"


async def drive_two_visitors(base: str, route: Route, lab_base: str, tag: str, side: str) -> SideResult:
    """Two visitors, one after the other, each in a session of their own: the second one's
    model call must not carry the first one's words."""
    async with httpx.AsyncClient(timeout=60) as client:
        for session, question in (("s1", FIRST_VISITOR), ("s2", SECOND_VISITOR)):
            spec = route.spec(base, question, session)
            await client.request(spec.method, spec.url, json=spec.json_body)
        generations = (await client.get(f"{lab_base}/lab/openai/generations/", params={"tag": tag})).json()
    second = [g for g in generations["generations"] if SECOND_VISITOR in g["prompt"]]
    if not second:
        return SideResult("the second visitor's question never reached the model", False)
    leaked = FIRST_VISITOR in second[-1]["prompt"]
    verdict = ("the second visitor's model call carried the first visitor's question" if leaked
               else "each visitor's model call carried only their own conversation")
    figures = {"model_calls": len(generations["generations"])}
    return SideResult(verdict, leaked if side == "broken" else not leaked, figures)


async def drive_turns(base: str, route: Route, turns: int) -> tuple[list[float], Report | None]:
    """The same session, turn after turn: time to the first content event of each."""
    firsts: list[float] = []
    last: Report | None = None
    for _ in range(turns):
        last = await probe(base, route, "single")
        first = last.leading.metrics.time_to_first_content
        firsts.append(round(first if first is not None else last.leading.metrics.duration, 3))
    return firsts, last


def judge_turns(firsts: list[float], report: Report | None, side: str) -> SideResult:
    """State that grows every turn makes each turn slower to start: in the broken app the last
    turns still get slower, in the fixed one they level off once the history is trimmed."""
    late_growth = firsts[-1] - firsts[-3]
    verdict = (f"first token {firsts[0]:.2f} s on turn 1, {firsts[-1]:.2f} s on turn {len(firsts)}; "
               f"{late_growth:+.2f} s over the last two turns")
    figures = {"first_content_per_turn": firsts, **(figures_of(report) if report else {})}
    healthy = report is not None and report.verdict.outcome == "healthy"
    still_growing = late_growth > 0.4  # two turns of 9 KB add 0.9 s; noise stays well under 0.4 s
    return SideResult(verdict, still_growing if side == "broken" else healthy and not still_growing, figures)


async def prove_side(pair: Pair, side: str, scenario: Scenario, mode: str, lab_base: str, workdir: Path) -> SideResult:
    env = sample_environment(pair, side, lab_base, scenario, mode)
    route = route_of(pair.source(side).read_text())
    async with contextlib.AsyncExitStack() as stack:
        app = await stack.enter_async_context(sample_app(pair, side, env, workdir))
        target = app
        if scenario.proxy:
            target = await stack.enter_async_context(nginx_in_front(scenario.proxy, app, workdir))
        if scenario.drive == "disconnect":
            tag = f"{pair.cause}.{pair.framework}.{side}.{mode}"
            return await drive_disconnect(target.base, route, lab_base, tag, side)
        # Warm-ups go to the app itself: the first request pays for lazy imports, which a
        # short proxy timeout would otherwise count as silence.
        for _ in range(scenario.warmups):
            await warm_up(app.base, route)
        if scenario.drive == "two-visitors":
            return await drive_two_visitors(app.base, route, lab_base, f"{pair.cause}.{pair.framework}.{side}.{mode}",
                                            side)
        if scenario.drive == "turns":
            return judge_turns(*(await drive_turns(target.base, route, scenario.turns)), side)
        timeouts = (PROXY_READ_TIMEOUT,) if scenario.proxy == "idle" else ()
        report = await probe(target.base, route, scenario.drive, timeouts)
        if scenario.judge == "truncation":
            return judge_truncation(report, side, answer_tokens=int(dict(
                item.split("=") for item in scenario.model.split(";"))["chunks"]))
        if scenario.judge == "error-reported":
            return judge_error_reported(report, side)
        if scenario.judge == "version-drift":
            return judge_version_drift(report, side)
        if scenario.judge == "hard-error":
            return judge_outcomes(report, side, ("http-error", "cut-off"))
        if scenario.judge == "cut-off":
            return judge_outcomes(report, side, ("cut-off",))
        if scenario.judge == "serialised":
            return judge_serialised(report, side, scenario)
        result = judge_diagnosis(report, side, scenario)
        if not result.ok and app.process.poll() is None:
            result.figures["server_log"] = app.tail(600)
        return result
    raise AssertionError("unreachable")


def scenario_for(pair: Pair) -> Scenario:
    scenario = SCENARIOS.get(pair.cause, Scenario(not_reproducible="no local scenario for this cause"))
    return dataclasses.replace(scenario, **OVERRIDES.get((pair.cause, pair.framework), {}))


async def prove_pair(pair: Pair, lab_base: str, workdir: Path) -> PairResult:
    """One retry for a failed pair: the judgements are timings (a second, two seconds), and a
    machine busy with other work can miss one. A retried proof says so in its reason."""
    first = await prove_pair_once(pair, lab_base, workdir)
    if first.status != "failed":
        return first
    second = await prove_pair_once(pair, lab_base, workdir)
    second.seconds = round(first.seconds + second.seconds, 1)
    if second.status == "proven":
        second.reason = f"proven on a second attempt; the first measured broken: {first.broken}; fixed: {first.fixed}"
    return second


async def prove_pair_once(pair: Pair, lab_base: str, workdir: Path) -> PairResult:
    started = time.monotonic()
    scenario = scenario_for(pair)
    if scenario.not_reproducible:
        return PairResult(pair.cause, pair.framework, "", "", "not-reproducible", 0.0, scenario.not_reproducible,
                          fingerprint=pair.fingerprint())
    broken_parts: list[str] = []
    fixed_parts: list[str] = []
    figures: dict[str, Any] = {}
    ok = True
    for mode in (scenario.mode, *scenario.extra_modes):
        try:
            if pair.framework == "infra":
                broken, fixed = await prove_infra_pair(pair, workdir)
            else:
                broken, fixed = await asyncio.gather(
                    prove_side(pair, "broken", scenario, mode, lab_base, workdir),
                    prove_side(pair, "fixed", scenario, mode, lab_base, workdir),
                )
        except Exception as exc:  # a sample that does not start is a failed proof, not a crash
            broken = fixed = SideResult(f"could not run: {exc}"[:600], False)
        label = "" if mode == scenario.mode else f"[{mode}] "
        broken_parts.append(label + broken.verdict)
        fixed_parts.append(label + fixed.verdict)
        figures[mode] = {"broken": broken.figures, "fixed": fixed.figures}
        ok = ok and broken.ok and fixed.ok
    reasons = []
    if not ok:
        reasons.append("the measured behaviour does not match the guide's claim")
    return PairResult(pair.cause, pair.framework, "; ".join(broken_parts), "; ".join(fixed_parts),
                      "proven" if ok else "failed", round(time.monotonic() - started, 1), "; ".join(reasons),
                      figures, pair.fingerprint())


def library_versions() -> dict[str, str]:
    versions = {}
    for package in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    binary = nginx_binary()
    if binary:
        done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
        versions["nginx"] = done.stderr.strip().rpartition("/")[2]
    versions["python"] = sys.version.split()[0]
    return versions


async def prove_all(pairs: Sequence[Pair], *, parallel: int = 3,
                    on_result: Callable[[PairResult], None] | None = None) -> list[PairResult]:
    """Every pair, `parallel` at a time: each has its own ports, so they do not interfere."""
    with tempfile.TemporaryDirectory(prefix="provesamples-") as temp:
        workdir = Path(temp)
        if any(pair.framework == "llamaindex" for pair in pairs):
            await asyncio.to_thread(build_handbook_index, workdir)
        async with lab(workdir) as lab_server:
            gate = asyncio.Semaphore(parallel)

            async def one(pair: Pair) -> PairResult:
                async with gate:
                    result = await prove_pair(pair, lab_server.base, workdir)
                if on_result:
                    on_result(result)
                return result

            return list(await asyncio.gather(*(one(pair) for pair in pairs)))


def proofs_document(results: Sequence[PairResult], total_seconds: float) -> dict[str, Any]:
    return {
        "proven_on": library_versions(),
        "total_seconds": round(total_seconds, 1),
        "results": [result.to_json() for result in sorted(results, key=lambda r: (r.cause, r.framework))],
    }


def merge_into(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    """A run over some pairs replaces only their entries in the file."""
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = {"results": []}
    fresh = {(r["cause"], r["framework"]) for r in document["results"]}
    kept = [r for r in previous.get("results", []) if (r["cause"], r["framework"]) not in fresh]
    merged = {**document, "results": sorted(kept + document["results"], key=lambda r: (r["cause"], r["framework"]))}
    if kept and "total_seconds" in previous:
        merged["total_seconds"] = previous["total_seconds"]  # the time of the last run over every pair
    path.write_text(json.dumps(merged, indent=1) + "\n")
    return merged
