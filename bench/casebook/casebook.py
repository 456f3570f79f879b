"""The casebook as data: load guides/incidents.yaml (or the held-out set) and say what is wrong
with it.

No Django import at load time, so the schema test and the replay share one reading of the
file. Checks that need the app take what they need as arguments (the tree's questions) or
import it when called (the lab's URLs).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The casebook is content: the app shows each incident on its cause's page and searches its
# words, so it lives with the guides. The held-out set stays here, out of the app's reach.
CASEBOOK = Path(__file__).resolve().parents[2] / "guides" / "incidents.yaml"
# Incidents gathered after the tree and search were tuned against CASEBOOK, kept apart so the
# replay can show how the app does on cases nobody tuned it for. Never tune against them:
# once a change is made because of one, move it to CASEBOOK.
HELD_OUT = Path(__file__).with_name("held-out.yaml")

FRAMEWORKS = ("langchain", "langgraph", "llamaindex", "autogen", "none")
REQUIRED = ("id", "source", "framework", "platform", "symptom", "error", "cause", "tree_answers", "search_phrase")
OPTIONAL = ("also_acceptable", "lab")

# Causes the contract lists before troubleshooter/vocabulary.py does. Incidents may name them
# early; until the vocabulary has them the app cannot name them either, and the replay counts
# them as misses. (Issue 9's two new causes are in the vocabulary now.)
COMING_CAUSES: tuple[str, ...] = ()

# A guide phrase this close to an incident's search phrase (difflib's ratio, lowercased) was
# written with the casebook in view: the search figure would measure the copy, not the search.
ECHO_RATIO = 0.75

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOURCE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#[1-9][0-9]*$")


class CasebookError(Exception):
    """The file cannot be read as a casebook at all."""


@dataclass(frozen=True)
class Incident:
    id: str
    source: str
    framework: str
    platform: str
    symptom: str
    error: str
    cause: str
    tree_answers: Mapping[str, str]
    search_phrase: str
    also_acceptable: tuple[str, ...] = ()
    lab: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def accepted(self) -> tuple[str, ...]:
        """The cause ids that count as naming this incident right."""
        return (self.cause, *self.also_acceptable)

    @property
    def tree_framework_answer(self) -> str:
        return "other" if self.framework == "none" else self.framework


def load(path: Path = CASEBOOK) -> list[Incident]:
    """The incidents in file order. Raises CasebookError if the file is not a list of mappings."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CasebookError(f"{path.name} cannot be read: {error}") from error
    entries = data.get("incidents") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CasebookError(f"{path.name} must hold a mapping with an 'incidents' list")
    incidents = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise CasebookError(f"incident {index} is not a mapping")
        answers = entry.get("tree_answers")
        incidents.append(
            Incident(
                id=str(entry.get("id", "")),
                source=str(entry.get("source", "")),
                framework=str(entry.get("framework", "")),
                platform=str(entry.get("platform", "")),
                symptom=str(entry.get("symptom", "")),
                error=str(entry.get("error", "")),
                cause=str(entry.get("cause", "")),
                tree_answers={str(k): str(v) for k, v in answers.items()} if isinstance(answers, dict) else {},
                search_phrase=str(entry.get("search_phrase", "")),
                also_acceptable=tuple(str(c) for c in entry.get("also_acceptable") or ()),
                lab=str(entry.get("lab") or ""),
                raw=entry,
            )
        )
    return incidents


def schema_problems(incidents: Iterable[Incident], cause_ids: Collection[str]) -> list[str]:
    """What is wrong with the entries themselves: fields, ids, sources, cause ids."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    seen_sources: set[str] = set()
    for incident in incidents:
        where = incident.id or incident.source or "an incident"
        missing = [name for name in REQUIRED if name not in incident.raw]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(incident.raw) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            problems.append(f"{where}: unknown fields {', '.join(unknown)}")
        for name in ("symptom", "search_phrase", "platform"):
            if name in incident.raw and not getattr(incident, name).strip():
                problems.append(f"{where}: {name} is empty")
        if "error" in incident.raw and not isinstance(incident.raw["error"], str):
            problems.append(f"{where}: error must be text (empty when nothing was shown)")
        if not SLUG.match(incident.id):
            problems.append(f"{where}: id must be a slug")
        elif incident.id in seen_ids:
            problems.append(f"{where}: id used twice")
        seen_ids.add(incident.id)
        if not SOURCE.match(incident.source):
            problems.append(f"{where}: source {incident.source!r} is not owner/repo#number")
        elif incident.source.lower() in seen_sources:
            problems.append(f"{where}: source {incident.source} used twice")
        seen_sources.add(incident.source.lower())
        if incident.framework not in FRAMEWORKS:
            problems.append(f"{where}: framework {incident.framework!r} is not one of {', '.join(FRAMEWORKS)}")
        for cause in incident.accepted:
            if cause not in cause_ids:
                problems.append(f"{where}: {cause!r} is not a cause id")
        if incident.cause in incident.also_acceptable:
            problems.append(f"{where}: the cause is listed again as also acceptable")
        if not incident.tree_answers:
            problems.append(f"{where}: tree_answers must be a non-empty mapping")
    return problems


def tree_problems(incidents: Iterable[Incident], questions: Mapping[str, Collection[str]]) -> list[str]:
    """Answers that name no question, or an answer the question does not offer.

    `questions` maps each question id of the tree to the ids of its answers."""
    problems: list[str] = []
    for incident in incidents:
        for question, answer in incident.tree_answers.items():
            if question not in questions:
                problems.append(f"{incident.id}: the tree has no question {question!r}")
            elif answer not in questions[question]:
                problems.append(f"{incident.id}: {answer!r} is not an answer to {question!r}")
        framework = incident.tree_answers.get("framework")
        if framework is not None and framework != incident.tree_framework_answer:
            problems.append(f"{incident.id}: answers framework={framework} but the incident is {incident.framework}")
    return problems


def lab_exists(lab: str) -> bool:
    """A demo slug, or a path the app routes under /lab/ (asks the app's URLconf)."""
    from django.urls import Resolver404, resolve

    from troubleshooter.lab.demos import DEMOS_BY_SLUG

    if lab in DEMOS_BY_SLUG:
        return True
    if not lab.startswith("/lab/"):
        return False
    try:
        resolve(lab.split("?", 1)[0])
    except Resolver404:
        return False
    return True


def lab_problems(incidents: Iterable[Incident], exists: Callable[[str], bool] = lab_exists) -> list[str]:
    """`lab` must name a lab demo or a path the app serves under /lab/."""
    return [
        f"{incident.id}: lab {incident.lab!r} is neither a demo nor a lab endpoint"
        for incident in incidents
        if incident.lab and not exists(incident.lab)
    ]


def echo_problems(incidents: Iterable[Incident], phrases: Mapping[str, Iterable[str]]) -> list[str]:
    """Guide phrases (a cause's search terms and symptoms) that repeat a casebook search phrase.

    `phrases` maps each cause id to its phrases. A cause's listed errors are left out on
    purpose: an error string is what people paste, and a listed error is meant to match it.
    """
    problems: list[str] = []
    for incident in incidents:
        asked = incident.search_phrase.lower()
        for cause, texts in phrases.items():
            for text in texts:
                ratio = difflib.SequenceMatcher(None, asked, text.lower()).ratio()
                if ratio >= ECHO_RATIO:
                    problems.append(f"{incident.id}: {cause} says {text!r}, {ratio:.2f} like {incident.search_phrase!r}")
    return problems
