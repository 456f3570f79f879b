"""The experiment engine: plain asyncio, no Django.

Run a probe, then measure and diagnose its Record:

    record = await run_probe(ProbeSpec(url=...), Limits(total_seconds=30))
    verdict = diagnose(record, measure(record))

Or run one of the experiments that the web and the CLI share:

    report = await run_experiment(Experiment(KINDS["compare"], spec, compare_url=...), policy)

Everything a run saw is in the Record; metrics and diagnosis are pure
functions of it, so stored runs can be re-measured and re-diagnosed.
"""

from troubleshooter.vocabulary import OUTCOMES

from .diagnosis import KNOWN_TIMEOUTS, Cause, Diagnosis, diagnose
from .engine import run_probe
from .experiments import KINDS, Experiment, ExperimentKind, Report, kind_named, run_experiment
from .formats import FORMATS
from .metrics import Metrics, OverlapAnalysis, analyse_overlap, measure
from .policy import (
    OutboundPolicy,
    Target,
    TargetRefused,
    address_verdict,
    check_target,
    parse_numeric_host,
)
from .record import ENDING_KINDS, Ending, Event, Read, Record
from .spec import HeaderSpec, Limits, ProbeSpec, spec_problems

__all__ = [
    "ENDING_KINDS",
    "FORMATS",
    "KINDS",
    "KNOWN_TIMEOUTS",
    "OUTCOMES",
    "Cause",
    "Diagnosis",
    "Ending",
    "Event",
    "Experiment",
    "ExperimentKind",
    "HeaderSpec",
    "Limits",
    "Metrics",
    "OutboundPolicy",
    "OverlapAnalysis",
    "ProbeSpec",
    "Read",
    "Record",
    "Report",
    "Target",
    "TargetRefused",
    "address_verdict",
    "analyse_overlap",
    "check_target",
    "diagnose",
    "kind_named",
    "measure",
    "parse_numeric_host",
    "run_experiment",
    "run_probe",
    "spec_problems",
]
