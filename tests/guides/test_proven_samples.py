"""Every code pair is proven: the record in guides/proofs.json is complete and current, a
selection of pairs is proven again live on every run, and the cause pages show the proofs.

`manage.py provesamples` proves them all (about ten minutes on two cores); CI proves again the
pairs whose fixes were once wrong and one pair of each way of driving a cause, so a change to
the lab, the probe or a framework release that breaks a proof fails here. Set PROVE_ALL=1 to
prove every pair in the test run as well.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from troubleshooter.guides import proofs, proving

GUIDES = ROOT / "guides"

# The wrong fixes of issue 12, and one pair for each way a cause is driven and judged.
PROVEN_EVERY_RUN = (
    "client-disconnect/autogen",  # leaves mid-stream; the model must stop (it did not)
    "client-disconnect/langchain",  # the broken version must really keep the model going
    "upstream-error/autogen",  # an error frame and a dropped connection must both be reported
    "proxy-buffering/langgraph",  # behind nginx with its defaults
    "idle-timeout/langchain",  # behind nginx with a short idle timeout; heartbeats
    "server-buffering/llamaindex",  # one stream, the probe's own diagnosis
    "token-limit/langgraph",  # the measured truncation
    "shared-client-race/llamaindex",  # what the model was sent, per visitor
    "event-loop-misuse/langchain",  # a hard error after a warm-up
    "proxy-buffering/infra",  # the guide's own nginx snippets, broken and fixed
)


def recorded() -> dict[str, dict]:
    document = json.loads((GUIDES / "proofs.json").read_text())
    return {f"{entry['cause']}/{entry['framework']}": entry for entry in document["results"]}


def test_every_code_pair_has_a_recorded_proof_or_a_reason_it_cannot_be_shown_here():
    pairs = {pair.name for pair in proving.discover_pairs(GUIDES)}
    entries = recorded()
    assert len(pairs) >= 40
    assert sorted(pairs - set(entries)) == [], "run `manage.py provesamples` for these pairs"
    for name in pairs:
        entry = entries[name]
        assert entry["status"] in ("proven", "not-reproducible"), f"{name}: {entry['status']}: {entry['reason']}"
        if entry["status"] == "not-reproducible":
            assert len(entry["reason"]) > 20, name


def test_every_proven_pair_was_proven_on_the_samples_as_they_are_now():
    for name, entry in recorded().items():
        if entry["status"] == "proven":
            files = proofs.files_of(entry["cause"], entry["framework"])
            assert proofs.sample_fingerprint(GUIDES / "code" / name, files) == entry["fingerprint"], (
                f"{name} changed since it was proven: run `manage.py provesamples --only {name}`"
            )


def test_the_record_names_the_library_versions_it_was_proven_on():
    versions = json.loads((GUIDES / "proofs.json").read_text())["proven_on"]
    for package in ("langchain-core", "langgraph", "llama-index-core", "autogen-agentchat", "openai", "nginx"):
        assert versions.get(package), package


def test_a_route_is_read_from_the_samples_decorator_with_its_path_parameters_filled():
    source = '@app.get("/sessions/{session_id}/chat")\nasync def chat(session_id: str, q: str): ...'
    route = proving.route_of(source)
    assert (route.method, route.path) == ("GET", "/sessions/s1/chat")
    spec = route.spec("http://127.0.0.1:9", "hello there", "s2")
    assert spec.url == "http://127.0.0.1:9/sessions/s2/chat?q=hello+there"
    post = proving.route_of('@app.post("/chat")').spec("http://127.0.0.1:9", "hi", "s3")
    assert post.method == "POST" and post.json_body["message"] == "hi" and post.json_body["session_id"] == "s3"


def test_only_picks_a_cause_or_one_of_its_frameworks():
    pairs = proving.discover_pairs(GUIDES)
    by_cause = proving.select_pairs(pairs, ["token-limit"])
    assert {pair.framework for pair in by_cause} == {"langchain", "langgraph", "llamaindex", "autogen"}
    assert [pair.name for pair in proving.select_pairs(pairs, ["token-limit/autogen"])] == ["token-limit/autogen"]


def test_the_infrastructure_pairs_a_local_nginx_can_show_are_proven_too():
    names = {pair.name for pair in proving.discover_pairs(GUIDES)}
    assert {"proxy-buffering/infra", "compression-buffering/infra"} <= names


def test_every_cause_with_code_pairs_has_a_way_to_be_driven():
    for pair in proving.discover_pairs(GUIDES):
        assert pair.cause in proving.SCENARIOS, pair.name


def nginx_snippets() -> list[Path]:
    return sorted((GUIDES / "code").glob("*/infra/*.conf"))


@pytest.mark.parametrize("snippet", nginx_snippets(), ids=lambda path: f"{path.parent.parent.name}/{path.name}")
def test_every_nginx_snippet_passes_nginx_t(snippet: Path, tmp_path: Path):
    binary = proving.nginx_binary()
    if binary is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx package")
    config = proving.nginx_check_config(snippet.read_text(), tmp_path)
    done = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


@pytest.mark.samples
def test_the_pairs_whose_fixes_were_wrong_and_one_of_each_kind_are_proven_again_live():
    pairs = proving.select_pairs(proving.discover_pairs(GUIDES), [] if os.environ.get("PROVE_ALL") else PROVEN_EVERY_RUN)
    results = asyncio.run(proving.prove_all(pairs, parallel=3))
    failures = [f"{r.cause}/{r.framework}: broken {r.broken!r}; fixed {r.fixed!r}"
                for r in results if r.status == "failed"]
    assert failures == []
    assert len(results) == len(pairs)


# --- the cause pages -------------------------------------------------------------------------


def proof_entry(cause: str, framework: str, status: str, fingerprint: str, reason: str = "") -> dict:
    figures = {"healthy": {"broken": {"first_byte": 1.52, "chunks": 1}, "fixed": {"first_byte": 0.04, "chunks": 31}}}
    return {"cause": cause, "framework": framework, "status": status, "broken": "buffered (server-buffering)",
            "fixed": "healthy", "seconds": 12.5, "reason": reason, "figures": figures, "fingerprint": fingerprint}


def write_proofs(guides: Path, *entries: dict) -> None:
    document = {"proven_on": {"langchain-core": "9.9.9", "nginx": "1.22.1"}, "total_seconds": 1.0,
                "results": list(entries)}
    (guides / "proofs.json").write_text(json.dumps(document))


def test_a_cause_page_shows_a_proven_pair_with_its_figures_and_versions(client, guides_copy):
    fingerprint = proofs.sample_fingerprint(guides_copy / "code" / "server-buffering" / "langchain")
    write_proofs(guides_copy, proof_entry("server-buffering", "langchain", "proven", fingerprint))
    page = client.get("/causes/server-buffering/").content.decode()
    assert "Proven against a model" in page
    assert "<strong>proven</strong>" in page
    assert "first byte 1.52 s → 0.04 s" in page
    assert "langchain-core 9.9.9" in page


def test_a_cause_page_says_why_a_pair_is_not_reproducible_locally(client, guides_copy):
    why = "the broken code fails only on an older release than the one installed"
    write_proofs(guides_copy, proof_entry("version-drift", "langgraph", "not-reproducible", "", why))
    page = client.get("/causes/version-drift/").content.decode()
    assert "not reproducible locally" in page
    assert why in page


def test_a_proof_of_samples_edited_since_is_not_shown_as_proven(client, guides_copy):
    write_proofs(guides_copy, proof_entry("server-buffering", "langchain", "proven", "0000000000000000"))
    page = client.get("/causes/server-buffering/").content.decode()
    assert "<strong>proven</strong>" not in page
    assert "the samples changed since they were last measured" in page


def test_a_cause_page_without_proofs_has_no_proof_section(client, guides_copy):
    (guides_copy / "proofs.json").unlink(missing_ok=True)
    assert "Proven against a model" not in client.get("/causes/server-buffering/").content.decode()


def test_the_real_record_is_shown_on_the_real_pages(client):
    page = client.get("/causes/client-disconnect/").content.decode()
    assert "Proven against a model" in page
    assert "model request cancelled" in page
