"""A target that echoes the user's secret back puts it nowhere: not in the record, the live
events, the report, the CLI's text or JSON, whichever part of the answer carries it."""

from __future__ import annotations

import asyncio
import json

from tests.probe.servers import RawHTTPServer, chunk, head, send
from troubleshooter.probe import KINDS, Experiment, HeaderSpec, Limits, OutboundPolicy, ProbeSpec, run_experiment
from troubleshooter.probe.cli import printable, report_lines

SECRET = "sk-echo-0123456789abcdefXYZ"


async def redirects_with_the_secret(request, writer) -> None:
    await send(writer, head(302, [("Location", f"/answer?echo={SECRET}&x=1"), ("Content-Length", "0")]))


async def answers_with_the_secret_everywhere(request, writer) -> None:
    token = request.headers["authorization"].split(" ", 1)[1]
    headers = [
        ("Content-Type", f"text/event-stream; charset=utf-8; note={token}"),
        ("Server", f"echo/{token}"),
        ("Via", f"1.1 {token}"),
        ("X-Served-By", token),
        ("X-Amzn-ErrorType", f"Echo:{token}"),
        ("Transfer-Encoding", "chunked"),
    ]
    await send(writer, head(500, headers, reason=f"Echo {token}"))
    chunk_text = json.dumps({"choices": [{"index": 0, "delta": {"content": f"said {token}"},
                                          "finish_reason": None}]})
    await send(writer, chunk(f"data: {chunk_text}\n\n".encode()))
    for character in f"again: {token}!":  # a model echoing it token by token
        piece = json.dumps({"choices": [{"index": 0, "delta": {"content": character}, "finish_reason": None}]})
        await send(writer, chunk(f"data: {piece}\n\n".encode()))
    finish = json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": f"stop:{token}"}]})
    await send(writer, chunk(f"data: {finish}\n\n".encode()))
    await send(writer, chunk(f"event: error\ndata: {token} went wrong\n\n".encode()))
    await send(writer, chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")


def test_one_seeded_secret_appears_in_no_output_and_no_record():
    live: list[dict] = []

    async def scenario():
        routes = {"/start": redirects_with_the_secret, "/answer": answers_with_the_secret_everywhere}
        async with RawHTTPServer(routes) as server:
            spec = ProbeSpec(url=server.url("/start"), format="openai",
                             headers=(HeaderSpec("Authorization", f"Bearer {SECRET}", secret=True),))
            experiment = Experiment(kind=KINDS["single"], spec=spec, limits=Limits(total_seconds=5))
            report = await run_experiment(experiment, OutboundPolicy(allow_private=True), live.append)
            return experiment, report

    experiment, report = asyncio.run(scenario())
    outputs = {
        "live events": json.dumps(live),
        "live text joined": "".join(event.get("text", "") for event in live if event.get("kind") == "content"),
        "recorded text joined": "".join(e.text for e in report.lanes[0].record.events if e.kind == "content"),
        "report json": json.dumps(report.to_json()),
        "cli text": "\n".join(printable(line) for line in report_lines(experiment, report)),
        "record repr": repr(report.lanes[0].record),
    }
    assert report.lanes[0].record.status == 500  # the answer was read, so every echo was met
    leaks = {name: text.count(SECRET) for name, text in outputs.items() if SECRET in text}
    assert leaks == {}
    assert "again: [secret]!" in outputs["live text joined"]
