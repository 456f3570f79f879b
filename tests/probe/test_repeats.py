"""Sending the same request several times: where each run is cut names the cause."""

from __future__ import annotations

import pytest

from tests.probe.test_diagnosis import make_record
from troubleshooter.probe import KINDS
from troubleshooter.probe.assessment import assess
from troubleshooter.probe.diagnosis import KNOWN_TIMEOUTS
from troubleshooter.probe.repeats import diagnose_repeats


def run(label: str, chunks: int, every: float, cut_at: float | None, ends_cut: bool = True):
    """A run of `chunks` content events `every` seconds apart, cut at `cut_at` (or, when
    not cut, ending with its terminal event)."""
    times = [round(every * (i + 1), 3) for i in range(chunks)]
    events = [(t, "content") for t in times]
    if ends_cut:
        record = make_record(reads=[(t, 60) for t in times], events=events,
                             ending=("incomplete-read", cut_at or times[-1] + every))
    else:
        events.append((times[-1] + every, "terminal"))
        record = make_record(reads=[(t, 60) for t in times] + [(times[-1] + every, 20)], events=events,
                             ending=("clean-close", times[-1] + every))
    return assess(label, record, KNOWN_TIMEOUTS)


def test_runs_cut_at_the_same_moment_whatever_arrived_are_a_time_limit():
    lanes = [run("run 1", 20, 0.1, 2.1), run("run 2", 14, 0.15, 2.12), run("run 3", 30, 0.07, 2.14)]
    verdict, leading, cuts = diagnose_repeats(lanes)
    assert verdict.outcome == "cut-off" and leading == "run 1"
    assert verdict.causes[0].id == "request-timeout" and verdict.causes[0].confidence == 0.9
    assert verdict.summary.startswith("3 of 3 runs were cut.")
    assert len(cuts) == 3 and "run 2: cut 2.1 s after the request was sent, after 14 content events" in cuts[1]


def test_runs_cut_after_the_same_content_at_different_moments_are_a_fault_in_the_content():
    lanes = [run("run 1", 15, 0.1, 1.55), run("run 2", 15, 0.2, 3.05), run("run 3", 15, 0.13, 2.0)]
    verdict, _, _ = diagnose_repeats(lanes)
    assert verdict.causes[0].id == "callback-exception"
    assert "same amount of content" in verdict.causes[0].evidence[0]


def test_runs_cut_at_scattered_moments_and_amounts_point_at_a_random_fault():
    lanes = [run("run 1", 5, 0.1, 0.55), run("run 2", 22, 0.1, 2.25), run("run 3", 11, 0.1, 1.15)]
    verdict, _, _ = diagnose_repeats(lanes)
    assert verdict.causes[0].id == "shared-client-race"


def test_only_some_runs_cut_is_an_intermittent_fault():
    lanes = [run("run 1", 10, 0.1, None, ends_cut=False), run("run 2", 6, 0.1, 0.65), run("run 3", 10, 0.1, None,
                                                                                         ends_cut=False)]
    verdict, leading, cuts = diagnose_repeats(lanes)
    assert verdict.outcome == "cut-off" and leading == "run 2"
    assert {cause.id for cause in verdict.causes[:2]} == {"shared-client-race", "multi-worker-routing"}
    assert verdict.summary.startswith("1 of 3 runs were cut.") and len(cuts) == 1


def test_healthy_runs_stay_healthy_with_no_cause():
    verdict, _, cuts = diagnose_repeats([run(f"run {n}", 10, 0.1, None, ends_cut=False) for n in (1, 2)])
    assert verdict.outcome == "healthy" and verdict.causes == [] and cuts == []


@pytest.mark.parametrize("count", [1, 11])
def test_the_repeat_experiment_takes_two_to_ten_runs(count):
    from troubleshooter.probe import Experiment, ProbeSpec

    experiment = Experiment(KINDS["repeat"], ProbeSpec(url="http://127.0.0.1:9/"), concurrency=count)
    assert experiment.problems() == ["repeats must be between 2 and 10"]
