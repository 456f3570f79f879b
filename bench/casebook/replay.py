"""Replay the casebook through the app's own troubleshooter and search, and print the figures.

    .venv/bin/python bench/casebook/replay.py [--lab] [--quiet]

For every incident in guides/incidents.yaml (real incidents from public issue
threads, each with a confirmed cause), and then for those in held-out.yaml (gathered after
the tree and search were tuned, so their figures are the honest ones):

- the tree: the reporter's answers are replayed with the same walk the troubleshooter page
  uses, and the leaf's causes are read in the order the page ranks them. Top-1 means the
  confirmed cause (or one the incident marks as also acceptable) is ranked first; top-3,
  among the first three. A walk that stops before a leaf (the tree asks a question the
  incident does not answer) names nothing;
- search: the reporter's phrase goes through the same index the search page uses. A hit
  counts when the cause's own page (/causes/<id>/) is among the first three results; the
  figure that also counts a fix anchor on that cause's page is printed next to it.

With --lab, the app is also served by Daphne on a free loopback port (as the tests serve
it), and every lab demo, plus the lab endpoints no demo covers, is run in this process
through the experiment form and the probe engine, as the web's run page runs them; it
prints how many name their own cause first.

It prints figures; it never asserts them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from bench.casebook.casebook import (  # noqa: E402
    CASEBOOK,
    COMING_CAUSES,
    HELD_OUT,
    CasebookError,
    Incident,
    lab_problems,
    load,
    schema_problems,
    tree_problems,
)
from troubleshooter.guides import search as search_index  # noqa: E402
from troubleshooter.guides.content import ContentError, Library, get_library  # noqa: E402
from troubleshooter.guides.tree import BadWalk, walk  # noqa: E402
from troubleshooter.lab.demos import DEMOS, DEMOS_BY_SLUG, Demo, demo_initial  # noqa: E402
from troubleshooter.vocabulary import CAUSE_IDS, OUTCOMES  # noqa: E402

TOP = 3


def known_causes() -> set[str]:
    """The app's vocabulary, plus the causes issue 9 is adding to it."""
    return set(CAUSE_IDS) | set(COMING_CAUSES)


# --- the tree and search ---------------------------------------------------------------------


@dataclass(frozen=True)
class TreeResult:
    ranked: tuple[str, ...]  # cause ids as the leaf ranks them; empty when no leaf
    leaf: str  # the leaf's id, or what stopped the walk
    rank: int | None  # 1-based rank of an accepted cause
    strict_rank: int | None = None  # the same, counting only the confirmed cause

    @property
    def top1(self) -> bool:
        return self.rank == 1

    @property
    def top3(self) -> bool:
        return self.rank is not None and self.rank <= TOP


@dataclass(frozen=True)
class SearchResult:
    urls: tuple[str, ...]
    titles: tuple[str, ...]
    page_rank: int | None  # 1-based rank of an accepted cause's own page
    any_rank: int | None  # the same, counting fix anchors on that page too

    @property
    def top3(self) -> bool:
        return self.page_rank is not None and self.page_rank <= TOP

    @property
    def top3_any(self) -> bool:
        return self.any_rank is not None and self.any_rank <= TOP


def first_rank(items: Sequence[str], wanted: Iterable[str]) -> int | None:
    wanted = set(wanted)
    return next((index for index, item in enumerate(items, start=1) if item in wanted), None)


def replay_tree(library: Library, incident: Incident) -> TreeResult:
    """The walk the troubleshooter page makes from the same query string."""
    try:
        current = walk(library.tree, {question: [answer] for question, answer in incident.tree_answers.items()})
    except BadWalk as error:
        return TreeResult((), f"bad walk: {error}", None)
    if current.leaf is None:
        asked = current.question.id if current.question else "?"
        return TreeResult((), f"stopped at question '{asked}'", None)
    ranked = tuple(item.cause_id for item in current.leaf.causes)
    return TreeResult(
        ranked, current.leaf.id, first_rank(ranked, incident.accepted), first_rank(ranked, [incident.cause])
    )


def replay_search(library: Library, incident: Incident) -> SearchResult:
    """The hits the search page shows for the phrase, in its order.

    The app searches the casebook's own incidents along with each cause, so an incident of
    the casebook is asked for with an index built without it: the figure is what search
    does for someone who reports it first, not a page finding its own words.
    """
    phrase = incident.search_phrase
    in_the_app = any(known.id == incident.id for known in library.incidents)
    index = search_index.build_index(library, leave_out=incident.id) if in_the_app else search_index.index_for(library)
    hits = index.search(phrase) if phrase.strip() else []
    urls = tuple(hit.document.url for hit in hits)
    pages = {f"/causes/{cause}/" for cause in incident.accepted}
    page_rank = first_rank(urls, pages)
    any_rank = next(
        (index for index, url in enumerate(urls, start=1) if any(url.startswith(page) for page in pages)), None
    )
    return SearchResult(urls, tuple(hit.document.title for hit in hits), page_rank, any_rank)


def share(count: int, total: int) -> str:
    return f"{count}/{total} = {count / total:.2f}" if total else "0/0"


def coverage(incidents: Sequence[Incident]) -> list[str]:
    lines = []
    for name in ("framework", "platform", "cause"):
        counts = Counter(getattr(incident, name) for incident in incidents)
        lines.append(f"  {name}: " + ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))
    return lines


def report_casebook(library: Library, incidents: Sequence[Incident], quiet: bool, title: str) -> None:
    stale = tree_problems(
        incidents,
        {q.id: [a.id for a in q.answers] for q in library.tree.questions.values()},
    )
    results = [(incident, replay_tree(library, incident), replay_search(library, incident)) for incident in incidents]
    app_causes = set(library.causes)

    if not quiet:
        print("Per incident (tree rank, search rank of the cause page; '-' = not in the list):")
        for incident, tree, found in results:
            print(
                f"  {incident.id:<44} {incident.cause:<24} tree {tree.rank or '-':<2} "
                f"search {found.page_rank or '-':<2} leaf {tree.leaf}"
            )
        print()

    total = len(results)
    print(f"{title}: {total} incidents")
    for line in coverage(incidents):
        print(line)
    missing = sorted({i.cause for i in incidents} - app_causes)
    if missing:
        print(f"  causes with no page in the app yet: {', '.join(missing)}")
    if stale:
        print("  tree answers the current tree does not know:")
        for problem in stale:
            print(f"    {problem}")
    print()
    print(f"tree top-1:                 {share(sum(t.top1 for _, t, _ in results), total)}")
    print(f"tree top-3:                 {share(sum(t.top3 for _, t, _ in results), total)}")
    strict1 = sum(t.strict_rank == 1 for _, t, _ in results)
    strict3 = sum(t.strict_rank is not None and t.strict_rank <= TOP for _, t, _ in results)
    print(f"  without also-acceptable:  top-1 {share(strict1, total)}, top-3 {share(strict3, total)}")
    print(f"search top-3 (cause page):  {share(sum(s.top3 for _, _, s in results), total)}")
    print(f"search top-3 (incl. fixes): {share(sum(s.top3_any for _, _, s in results), total)}")
    print(f"walks that end before a leaf: {sum(not t.ranked for _, t, _ in results)}")

    print()
    print("Tree misses (not ranked first):")
    for incident, tree, _ in results:
        if tree.top1:
            continue
        note = " [cause not in the app yet]" if incident.cause not in app_causes else ""
        answers = " ".join(f"{q}={a}" for q, a in incident.tree_answers.items())
        ranked = ", ".join(tree.ranked) or "nothing"
        print(f"  {incident.id} ({incident.source}): wants {incident.cause}{note}")
        print(f"    walk {answers}")
        print(f"    -> {tree.leaf}: {ranked}" + (f" (rank {tree.rank})" if tree.rank else ""))
    print()
    print("Search misses (cause page not in the first three):")
    for incident, _, found in results:
        if found.top3:
            continue
        top = "; ".join(found.titles[:TOP]) or "no results"
        where = f"page at rank {found.page_rank}" if found.page_rank else "page not found"
        print(f"  {incident.id}: {incident.search_phrase!r} wants {incident.cause} ({where})")
        print(f"    first results: {top}")


# --- the lab ----------------------------------------------------------------------------------

# Outcomes a demo's "expect" may start with (the vocabulary's, and the ones issue 9 adds).
LAB_OUTCOMES = set(OUTCOMES) | {"content-error", "limit-reached"}
# What a demo demonstrates where its "expect" names no cause.
EXPECTED_CAUSE = {"hard-cut": "request-timeout", "compare": "proxy-buffering"}
# Lab endpoints that no demo points at yet, each run like a demo.
EXTRA_LAB = (
    Demo("serverless-cut", "A function stopped at its limit", "cut-off, serverless-limits",
         "/lab/sse/serverless-cut/?at=3&delay=0.1"),
    Demo("retried", "A retried request, both runs streamed", "content-error, retry-duplicate-runs",
         "/lab/sse/retried/?chunks=10&pause=1"),
    Demo("object-reprs", "Printed objects instead of text", "content-error, version-drift",
         "/lab/sse/object-reprs/?chunks=10&delay=0.05"),
    Demo("replicas", "Replicas taking turns, one broken", "multi-worker-routing",
         "/lab/sse/replicas/?replicas=2&broken=1&chunks=20&delay=0.05", kind="parallel", concurrency=4),
    Demo("event-loop-closed", "An event loop that is closed", "http-error, event-loop-misuse",
         "/lab/event-loop-closed/"),
)


@dataclass(frozen=True)
class LabResult:
    demo: Demo
    expected_cause: str | None
    expected_outcome: str | None
    outcome: str
    causes: tuple[str, ...]
    error: str = ""

    @property
    def right(self) -> bool:
        if self.error:
            return False
        if self.expected_cause:
            return bool(self.causes) and self.causes[0] == self.expected_cause
        return self.outcome == self.expected_outcome


def lab_cases() -> list[Demo]:
    covered = {demo.path.split("?", 1)[0] for demo in DEMOS}
    extra = [d for d in EXTRA_LAB if d.slug not in DEMOS_BY_SLUG and d.path.split("?", 1)[0] not in covered]
    return [*DEMOS, *extra]


def expectation(demo: Demo) -> tuple[str | None, str | None]:
    words = [word.strip() for word in demo.expect.split(",")]
    causes = [word for word in words if word in known_causes()]
    outcome = words[0] if words and words[0] in LAB_OUTCOMES else None
    if outcome is None and demo.expect.startswith("healthy"):
        outcome = "healthy"
    return (causes[0] if causes else EXPECTED_CAUSE.get(demo.slug)), outcome


def run_demo(base: str, demo: Demo, policy: Any) -> LabResult:
    """Fill in the experiment form as the demo link does, then run what the form builds."""
    from tests.support import RUN_FORM
    from troubleshooter.probe import run_experiment
    from troubleshooter.runs.forms import RunForm

    expected_cause, expected_outcome = expectation(demo)
    data: dict[str, Any] = {**RUN_FORM, **{k: str(v) for k, v in demo_initial(demo, base).items()}}
    form = RunForm(data=data)
    if not form.is_valid() or form.experiment is None:
        return LabResult(demo, expected_cause, expected_outcome, "", (), f"form: {dict(form.errors)}")
    try:
        report = asyncio.run(run_experiment(form.experiment, policy))
    except Exception as error:  # a crash is a result to print, not a reason to stop
        return LabResult(demo, expected_cause, expected_outcome, "", (), f"{type(error).__name__}: {error}")
    verdict = report.verdict
    return LabResult(demo, expected_cause, expected_outcome, verdict.outcome, tuple(c.id for c in verdict.causes))


def report_lab() -> None:
    from tests.support import app_environment, daphne, manage
    from troubleshooter.probe import OutboundPolicy

    policy = OutboundPolicy(allow_private=True)
    results: list[LabResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = app_environment(workdir, LAB_ENABLED="1", LOG_LEVEL="WARNING")
        migrated = manage(env, "migrate", "--noinput", "-v", "0")
        if migrated.returncode:
            print(f"lab: the app could not migrate: {migrated.stderr[-2000:]}")
            return
        with daphne(env, workdir / "daphne.log") as (_server, base):
            for demo in lab_cases():
                results.append(run_demo(base, demo, policy))
    print()
    print("Lab (each demo and lab endpoint through the form and the probe):")
    for result in results:
        wanted = result.expected_cause or f"outcome {result.expected_outcome}"
        got = result.error or f"{result.outcome}: {', '.join(result.causes) or 'no cause'}"
        print(f"  {'ok  ' if result.right else 'MISS'} {result.demo.slug:<18} wants {wanted:<26} got {got}")
    named = [r for r in results if r.expected_cause]
    print(f"lab: {share(sum(r.right for r in named), len(named))} name their own cause first; "
          f"{share(sum(r.right for r in results), len(results))} right counting outcome-only demos")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", action="store_true", help="also run the lab demos through the probe")
    parser.add_argument("--quiet", action="store_true", help="figures and misses only")
    options = parser.parse_args(argv)
    books = {}
    for title, path in (("Casebook (the tree and search were tuned on it)", CASEBOOK),
                        ("Held out (gathered after tuning, never tuned on)", HELD_OUT)):
        if path == HELD_OUT and not path.exists():
            print(f"{path.name}: no held-out set at the moment; the casebook's figures are tuned ones.\n")
            continue
        try:
            incidents = load(path)
        except CasebookError as error:
            print(f"{path.name}: {error}")
            return 2
        problems = schema_problems(incidents, known_causes()) + lab_problems(incidents)
        if problems:
            print(f"{path.name}: the file needs fixing first:")
            for problem in problems:
                print(f"  {problem}")
            return 2
        books[title] = incidents
    try:
        library = get_library()
    except ContentError as error:
        print(f"casebook: the guides do not load: {error}")
        return 2
    for title, incidents in books.items():
        report_casebook(library, incidents, options.quiet, title)
        print()
    if options.lab:
        report_lab()
    return 0


if __name__ == "__main__":
    sys.exit(main())
