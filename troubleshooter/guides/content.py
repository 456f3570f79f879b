"""The guides folder, loaded, validated and turned into plain objects.

Everything else reads content through `get_library()`. Loading collects every problem it
finds (file, field, message) instead of stopping at the first, so that `manage.py check`
can list them all; a library with problems is never served.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from troubleshooter.guides.rendering import (
    CodeDiff,
    CodeView,
    breakable_code,
    code_diff,
    code_view,
    markdown_inline,
    markdown_to_html,
    plain_text,
)
from troubleshooter.vocabulary import CAUSE_GROUPS

logger = logging.getLogger(__name__)

GROUPS = {
    "delivery": "Delivery: between your process and the client",
    "application": "Application: inside your process",
    "model": "Model and provider",
}
REQUIRED_SECTIONS = ("What happens", "How to confirm it", "The fix", "Prevention")
PLATFORM_KINDS = {"proxy", "load-balancer", "cdn", "gateway", "serverless", "server", "client"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A public thread, as owner/repo#number.
THREAD = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#([1-9][0-9]*)$")
OTHER_FRAMEWORK = "other"
# The query parameter that carries the answer being changed (see tree.Walk.query_to_change);
# no question may use it as its id.
EARLIER_ANSWER = "earlier"


@dataclass(frozen=True)
class Problem:
    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path} [{self.field}]" if self.field else self.path
        return f"{where}: {self.message}"


class ContentError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass(frozen=True)
class Section:
    title: str
    slug: str
    html: str
    text: str


@dataclass(frozen=True)
class CodePair:
    cause_id: str
    framework_id: str
    title: str
    explanation_html: str
    explanation_text: str
    diff: CodeDiff


@dataclass(frozen=True)
class InfraSnippet:
    title: str
    platform_id: str
    fixed: CodeView
    diff: CodeDiff | None  # when the snippet also has a broken version to compare with


@dataclass(frozen=True)
class Cause:
    id: str
    title: str
    group: str
    summary: str
    symptoms: tuple[str, ...]
    errors: tuple[str, ...]
    search_terms: tuple[str, ...]  # the symptom in the words people type, for search only
    code_frameworks: tuple[str, ...]
    related: tuple[str, ...]
    sections: tuple[Section, ...]
    infra: tuple[InfraSnippet, ...]
    pairs: dict[str, CodePair]

    @property
    def group_title(self) -> str:
        return GROUPS[self.group]


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    order: int
    packages: tuple[str, ...]
    streaming_apis: tuple[str, ...]
    body_html: str
    body_text: str

    @property
    def streaming_apis_html(self) -> list[str]:
        return [breakable_code(api) for api in self.streaming_apis]


@dataclass(frozen=True)
class PlatformSetting:
    platform_id: str
    name: str
    default: str
    seconds: float | None
    causes: tuple[str, ...]
    change: str
    notes: str
    # How the test suite shows this default on a local server or in the installed library,
    # in a sentence; empty when only the vendor's documentation vouches for it (a managed
    # service, or software this project does not install).
    shown: str = ""


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    kind: str
    settings: tuple[PlatformSetting, ...]
    # What people call it in a search box ("alb", "cloud run"): a query that names the
    # platform prefers the causes its settings are involved in.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    id: str
    label: str
    next: str
    platforms: tuple[str, ...] = ()  # the platforms this answer names, as platforms.yaml ids
    # Where the walk goes instead when the framework chosen earlier is one of these: the same
    # observation leads to a framework's own switch (LangGraph's stream_mode, AutoGen's
    # model_client_stream), which a question for every framework would ask in vain.
    next_by_framework: tuple[tuple[str, str], ...] = ()

    def next_for(self, framework_id: str | None) -> str:
        """The node this answer leads to on a walk with `framework_id` chosen."""
        return dict(self.next_by_framework).get(framework_id or "", self.next)

    @property
    def targets(self) -> tuple[str, ...]:
        """Every node this answer can lead to, whatever the framework."""
        return (self.next, *(target for _, target in self.next_by_framework))


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    help_html: str
    answers: tuple[Answer, ...]
    asks_framework: bool

    def answer(self, answer_id: str) -> Answer | None:
        return next((a for a in self.answers if a.id == answer_id), None)


@dataclass(frozen=True)
class RankedCause:
    cause_id: str
    why_html: str


@dataclass(frozen=True)
class Leaf:
    id: str
    title: str
    causes: tuple[RankedCause, ...]


@dataclass(frozen=True)
class Tree:
    start: str
    questions: dict[str, Question]
    leaves: dict[str, Leaf]


@dataclass(frozen=True)
class Incident:
    """A real incident from a public issue thread that confirms its cause, told in our words."""

    id: str
    source: str  # owner/repo#number
    framework: str
    platform: str
    symptom: str
    error: str
    cause_id: str
    search_phrase: str  # what the reporter would have typed into a search box

    @property
    def url(self) -> str:
        """The thread on GitHub (an issue address also reaches a pull request)."""
        match = THREAD.match(self.source)
        return f"https://github.com/{match.group(1)}/issues/{match.group(2)}" if match else ""


@dataclass(frozen=True)
class Library:
    causes: dict[str, Cause]
    frameworks: dict[str, Framework]
    platforms: dict[str, Platform]
    tree: Tree
    incidents: tuple[Incident, ...] = ()

    def incidents_for(self, cause_id: str) -> list[Incident]:
        return [incident for incident in self.incidents if incident.cause_id == cause_id]

    def settings_for_cause(self, cause_id: str) -> list[tuple[Platform, PlatformSetting]]:
        return [
            (platform, setting)
            for platform in self.platforms.values()
            for setting in platform.settings
            if cause_id in setting.causes
        ]

    def causes_in_group(self, group: str) -> list[Cause]:
        return [cause for cause in self.causes.values() if cause.group == group]

    def pairs_for_framework(self, framework_id: str) -> list[CodePair]:
        return [
            cause.pairs[framework_id]
            for cause in self.causes.values()
            if framework_id in cause.pairs
        ]


# --- reading files ---------------------------------------------------------------------


@dataclass
class _Reader:
    """Reads files under the guides root and records what is wrong with them."""

    root: Path
    problems: list[Problem] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        try:
            return f"guides/{path.relative_to(self.root).as_posix()}"
        except ValueError:
            return str(path)

    def problem(self, path: Path, field_name: str, message: str) -> None:
        self.problems.append(Problem(self.rel(path), field_name, message))

    def text(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(path, "", "file is missing")
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, "", f"cannot be read: {exc}")
        return None

    def yaml_file(self, path: Path) -> Any:
        text = self.text(path)
        if text is None:
            return None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            self.problem(path, "", f"is not valid YAML: {exc}")
            return None

    def front_matter(self, path: Path) -> tuple[dict[str, Any], str] | None:
        text = self.text(path)
        if text is None:
            return None
        match = re.match(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", text, re.DOTALL)
        if not match:
            self.problem(path, "", "must start with YAML front matter between '---' lines")
            return None
        try:
            meta = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            self.problem(path, "front matter", f"is not valid YAML: {exc}")
            return None
        if not isinstance(meta, dict):
            self.problem(path, "front matter", "must be a mapping of fields")
            return None
        return meta, match.group(2)

    def entries(self, path: Path, data: Any, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The mappings listed under `key` of a file's top level, each with where it stands
        ("platforms[3]"); what is not a list of mappings is reported and skipped."""
        listed = data.get(key) if isinstance(data, dict) else None
        if not isinstance(listed, list):
            self.problem(path, key, f"must be a list of {key}")
            return
        for index, entry in enumerate(listed):
            if isinstance(entry, dict):
                yield f"{key}[{index}]", entry
            else:
                self.problem(path, f"{key}[{index}]", "must be a mapping")

    def string(self, path: Path, data: dict[str, Any], key: str, required: bool = True) -> str:
        return self.value_text(path, data.get(key), key, required)

    def value_text(self, path: Path, value: Any, field_name: str, required: bool = True) -> str:
        if value is None or value == "":
            if required:
                self.problem(path, field_name, "is required")
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(path, field_name, "must be text")
            return ""
        return str(value).strip()

    def string_list(
        self, path: Path, data: dict[str, Any], key: str, required: bool = True
    ) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(path, key, "is required (a list)")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(path, key, "must be a list of non-empty strings")
            return ()
        return tuple(value)

    def python_compiles(self, path: Path, source: str) -> None:
        try:
            compile(source, self.rel(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            self.problem(path, "code", f"does not compile: line {exc.lineno}: {exc.msg}")


# --- sections ---------------------------------------------------------------------------


def _split_sections(body: str) -> tuple[str, list[tuple[str, str]]]:
    """Split Markdown at level-two headings, ignoring any inside fenced code."""
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        heading = re.match(r"^##\s+(.+?)\s*#*\s*$", line) if not in_fence else None
        if heading:
            sections.append((heading.group(1).strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            intro.append(line)
    return "\n".join(intro), [(title, "\n".join(lines)) for title, lines in sections]


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


# --- the loaders ------------------------------------------------------------------------


def _load_frameworks(reader: _Reader) -> dict[str, Framework]:
    frameworks: list[Framework] = []
    for path in sorted((reader.root / "frameworks").glob("*.md")):
        parsed = reader.front_matter(path)
        if parsed is None:
            continue
        meta, body = parsed
        framework_id = reader.string(path, meta, "id")
        if framework_id and framework_id != path.stem:
            reader.problem(path, "id", f"'{framework_id}' must equal the file name '{path.stem}'")
        order = meta.get("order")
        if not isinstance(order, int) or isinstance(order, bool):
            reader.problem(path, "order", "is required (a whole number)")
            order = 999
        frameworks.append(
            Framework(
                id=path.stem,
                name=reader.string(path, meta, "name"),
                order=order,
                packages=reader.string_list(path, meta, "packages"),
                streaming_apis=reader.string_list(path, meta, "streaming_apis"),
                body_html=markdown_to_html(body),
                body_text=plain_text(body),
            )
        )
    if not frameworks:
        reader.problem(reader.root / "frameworks", "", "holds no framework pages")
    frameworks.sort(key=lambda f: (f.order, f.id))
    return {f.id: f for f in frameworks}


def _load_incidents(reader: _Reader, cause_ids: set[str]) -> tuple[Incident, ...]:
    """incidents.yaml: real incidents, shown on their cause's page and searched with it.

    Only what the app uses is checked here; bench/casebook checks the fields the replay
    needs (the tree answers) as well.
    """
    path = reader.root / "incidents.yaml"
    if not path.exists():
        return ()
    data = reader.yaml_file(path)
    if data is None:
        return ()
    incidents: list[Incident] = []
    seen: set[str] = set()
    for where, entry in reader.entries(path, data, "incidents"):
        incident_id = reader.string(path, entry, "id")
        if incident_id in seen or not SLUG.match(incident_id):
            reader.problem(path, f"{where}.id", f"'{incident_id}' is not a valid id, or appears twice")
        seen.add(incident_id)
        source = reader.string(path, entry, "source")
        if not THREAD.match(source):
            reader.problem(path, f"{incident_id}.source", f"'{source}' is not owner/repo#number")
        cause_id = reader.string(path, entry, "cause")
        if cause_id not in cause_ids:
            reader.problem(path, f"{incident_id}.cause", f"unknown cause id '{cause_id}'")
        incidents.append(
            Incident(
                id=incident_id,
                source=source,
                framework=reader.string(path, entry, "framework"),
                platform=reader.string(path, entry, "platform"),
                symptom=reader.string(path, entry, "symptom"),
                error=reader.string(path, entry, "error", required=False),
                cause_id=cause_id,
                search_phrase=reader.string(path, entry, "search_phrase"),
            )
        )
    return tuple(incidents)


def _load_platforms(reader: _Reader, cause_ids: set[str]) -> dict[str, Platform]:
    path = reader.root / "platforms.yaml"
    data = reader.yaml_file(path)
    if data is None:
        return {}
    platforms: dict[str, Platform] = {}
    for where, entry in reader.entries(path, data, "platforms"):
        platform_id = reader.string(path, entry, "id")
        if platform_id and not SLUG.match(platform_id):
            reader.problem(path, f"{where}.id", f"'{platform_id}' is not a valid id")
        if platform_id in platforms:
            reader.problem(path, f"{where}.id", f"'{platform_id}' appears twice")
        kind = reader.string(path, entry, "kind")
        if kind and kind not in PLATFORM_KINDS:
            reader.problem(path, f"{where}.kind", f"'{kind}' is not one of {sorted(PLATFORM_KINDS)}")
        settings_list: list[PlatformSetting] = []
        raw_settings = entry.get("settings")
        if not isinstance(raw_settings, list) or not raw_settings:
            reader.problem(path, f"{where}.settings", "must be a non-empty list")
            raw_settings = []
        for s_index, raw in enumerate(raw_settings):
            s_where = f"{platform_id or where}.settings[{s_index}]"
            if not isinstance(raw, dict):
                reader.problem(path, s_where, "must be a mapping")
                continue
            seconds = raw.get("seconds")
            if seconds is not None and (
                not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0
            ):
                reader.problem(path, f"{s_where}.seconds", "must be a number of seconds or null")
                seconds = None
            causes = reader.string_list(path, raw, "causes")
            for cause_id in causes:
                if cause_id not in cause_ids:
                    reader.problem(path, f"{s_where}.causes", f"unknown cause id '{cause_id}'")
            settings_list.append(
                PlatformSetting(
                    platform_id=platform_id,
                    name=reader.string(path, raw, "name"),
                    default=reader.string(path, raw, "default"),
                    seconds=float(seconds) if seconds is not None else None,
                    causes=causes,
                    change=reader.string(path, raw, "change"),
                    notes=reader.string(path, raw, "notes", required=False),
                    shown=reader.string(path, raw, "shown", required=False),
                )
            )
        platforms[platform_id] = Platform(
            id=platform_id,
            name=reader.string(path, entry, "name"),
            kind=kind,
            settings=tuple(settings_list),
            aliases=reader.string_list(path, entry, "aliases", required=False),
        )
    return platforms


def _load_pair(reader: _Reader, cause_id: str, framework_id: str) -> CodePair | None:
    folder = reader.root / "code" / cause_id / framework_id
    if not folder.is_dir():
        reader.problem(
            reader.root / "causes" / f"{cause_id}.md",
            "code_frameworks",
            f"lists '{framework_id}' but guides/code/{cause_id}/{framework_id}/ does not exist",
        )
        return None
    parsed = reader.front_matter(folder / "pair.md")
    broken = reader.text(folder / "broken.py")
    fixed = reader.text(folder / "fixed.py")
    if parsed is None or broken is None or fixed is None:
        return None
    meta, body = parsed
    reader.python_compiles(folder / "broken.py", broken)
    reader.python_compiles(folder / "fixed.py", fixed)
    if broken.strip() == fixed.strip():
        reader.problem(folder / "fixed.py", "code", "is identical to broken.py")
    if not body.strip():
        reader.problem(folder / "pair.md", "body", "must explain what changed")
    return CodePair(
        cause_id=cause_id,
        framework_id=framework_id,
        title=reader.string(folder / "pair.md", meta, "title"),
        explanation_html=markdown_to_html(body),
        explanation_text=plain_text(body),
        diff=code_diff("broken.py", broken, "fixed.py", fixed),
    )


def _load_infra(
    reader: _Reader, path: Path, cause_id: str, raw: Any
) -> tuple[InfraSnippet, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        reader.problem(path, "infra", "must be a list of snippets")
        return ()
    folder = reader.root / "code" / cause_id / "infra"
    snippets: list[InfraSnippet] = []
    for index, entry in enumerate(raw):
        where = f"infra[{index}]"
        if not isinstance(entry, dict):
            reader.problem(path, where, "must be a mapping")
            continue
        title = reader.value_text(path, entry.get("title"), f"{where}.title")
        platform_id = str(entry.get("platform") or "")
        if not platform_id:
            reader.problem(path, f"{where}.platform", "is required")
        texts: dict[str, str] = {}
        for role in ("fixed", "broken"):
            name = entry.get(role)
            if name is None:
                if role == "fixed":
                    reader.problem(path, f"{where}.fixed", "is required")
                continue
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                reader.problem(path, f"{where}.{role}", "must be a file name in the infra folder")
                continue
            text = reader.text(folder / name)
            if text is None:
                continue
            if name.endswith(".py"):
                reader.python_compiles(folder / name, text)
            texts[role] = text
        if "fixed" not in texts:
            continue
        fixed_name, broken_name = str(entry["fixed"]), str(entry.get("broken"))
        diff = code_diff(broken_name, texts["broken"], fixed_name, texts["fixed"]) if "broken" in texts else None
        snippets.append(
            InfraSnippet(
                title=title,
                platform_id=platform_id,
                fixed=diff.fixed if diff else code_view(fixed_name, texts["fixed"]),
                diff=diff,
            )
        )
    return tuple(snippets)


def _load_causes(reader: _Reader, framework_ids: set[str]) -> dict[str, Cause]:
    causes: dict[str, Cause] = {}
    for path in sorted((reader.root / "causes").glob("*.md")):
        parsed = reader.front_matter(path)
        if parsed is None:
            continue
        meta, body = parsed
        cause_id = reader.string(path, meta, "id")
        if cause_id and cause_id != path.stem:
            reader.problem(path, "id", f"'{cause_id}' must equal the file name '{path.stem}'")
        if not SLUG.match(path.stem):
            reader.problem(path, "id", f"'{path.stem}' is not a valid cause id")
        group = reader.string(path, meta, "group")
        if group and group not in GROUPS:
            reader.problem(path, "group", f"'{group}' is not one of {sorted(GROUPS)}")
            group = ""
        elif group and path.stem not in CAUSE_GROUPS[group]:
            reader.problem(
                path, "id", f"'{path.stem}' is not a {group} cause of the cause vocabulary"
            )
        code_frameworks = reader.string_list(path, meta, "code_frameworks")
        for framework_id in code_frameworks:
            if framework_id not in framework_ids:
                reader.problem(path, "code_frameworks", f"unknown framework '{framework_id}'")
        symptoms = reader.string_list(path, meta, "symptoms")
        if "symptoms" in meta and not symptoms:
            reader.problem(path, "symptoms", "needs at least one symptom")

        _intro, raw_sections = _split_sections(body)
        titles = [title for title, _ in raw_sections]
        missing = [t for t in REQUIRED_SECTIONS if t not in titles]
        if missing:
            reader.problem(path, "body", f"is missing sections: {', '.join(missing)}")
        elif [t for t in titles if t in REQUIRED_SECTIONS] != list(REQUIRED_SECTIONS):
            reader.problem(path, "body", f"sections must come in this order: {', '.join(REQUIRED_SECTIONS)}")
        sections = tuple(
            Section(
                title=title,
                slug=_slugify(title),
                html=markdown_to_html(text),
                text=plain_text(text),
            )
            for title, text in raw_sections
        )
        for title, text in raw_sections:
            if title in REQUIRED_SECTIONS and not text.strip():
                reader.problem(path, "body", f"section '{title}' is empty")

        pairs = {}
        for framework_id in code_frameworks:
            if framework_id in framework_ids:
                pair = _load_pair(reader, path.stem, framework_id)
                if pair is not None:
                    pairs[framework_id] = pair
        infra = _load_infra(reader, path, path.stem, meta.get("infra"))
        if not code_frameworks and not meta.get("infra"):
            reader.problem(path, "infra", "a cause without code pairs needs at least one infra snippet")

        causes[path.stem] = Cause(
            id=path.stem,
            title=reader.string(path, meta, "title"),
            group=group,
            summary=reader.string(path, meta, "summary"),
            symptoms=symptoms,
            errors=reader.string_list(path, meta, "errors", required=False),
            search_terms=reader.string_list(path, meta, "search_terms", required=False),
            code_frameworks=code_frameworks,
            related=reader.string_list(path, meta, "related", required=False),
            sections=sections,
            infra=infra,
            pairs=pairs,
        )
    if not causes:
        reader.problem(reader.root / "causes", "", "holds no cause pages")
    return causes


def _check_pair_folders(reader: _Reader, causes: dict[str, Cause]) -> None:
    """Code folders that no cause lists would never be shown: flag them."""
    code_root = reader.root / "code"
    if not code_root.is_dir():
        return
    for cause_dir in sorted(p for p in code_root.iterdir() if p.is_dir()):
        cause = causes.get(cause_dir.name)
        if cause is None:
            reader.problem(cause_dir, "", f"'{cause_dir.name}' is not a cause id")
            continue
        for sub in sorted(p for p in cause_dir.iterdir() if p.is_dir()):
            if sub.name != "infra" and sub.name not in cause.code_frameworks:
                reader.problem(
                    sub, "", f"is not listed in causes/{cause.id}.md code_frameworks"
                )


def _load_tree(
    reader: _Reader, causes: dict[str, Cause], framework_ids: set[str], platform_ids: set[str]
) -> Tree:
    path = reader.root / "tree.yaml"
    data = reader.yaml_file(path)
    empty = Tree(start="", questions={}, leaves={})
    if not isinstance(data, dict):
        if data is not None:
            reader.problem(path, "", "must be a mapping with start, questions and leaves")
        return empty
    raw_questions = data.get("questions")
    raw_leaves = data.get("leaves")
    if not isinstance(raw_questions, dict) or not raw_questions:
        reader.problem(path, "questions", "must be a non-empty mapping")
        raw_questions = {}
    if not isinstance(raw_leaves, dict) or not raw_leaves:
        reader.problem(path, "leaves", "must be a non-empty mapping")
        raw_leaves = {}

    leaves: dict[str, Leaf] = {}
    for leaf_id, raw in raw_leaves.items():
        where = f"leaves.{leaf_id}"
        if not isinstance(raw, dict):
            reader.problem(path, where, "must be a mapping")
            continue
        ranked: list[RankedCause] = []
        raw_causes = raw.get("causes")
        if not isinstance(raw_causes, list) or not raw_causes:
            reader.problem(path, f"{where}.causes", "must name at least one cause")
            raw_causes = []
        for index, item in enumerate(raw_causes):
            if not isinstance(item, dict):
                reader.problem(path, f"{where}.causes[{index}]", "must be a mapping with id and why")
                continue
            cause_id = str(item.get("id") or "")
            if cause_id not in causes:
                reader.problem(path, f"{where}.causes[{index}].id", f"unknown cause id '{cause_id}'")
                continue
            why = reader.value_text(path, item.get("why"), f"{where}.causes[{index}].why")
            ranked.append(RankedCause(cause_id=cause_id, why_html=markdown_inline(why)))
        leaves[str(leaf_id)] = Leaf(
            id=str(leaf_id),
            title=reader.value_text(path, raw.get("title"), f"{where}.title") or str(leaf_id),
            causes=tuple(ranked),
        )

    questions: dict[str, Question] = {}
    for question_id, raw in raw_questions.items():
        question_id = str(question_id)
        where = f"questions.{question_id}"
        if not SLUG.match(question_id):
            reader.problem(path, where, f"'{question_id}' is not a valid id")
        if question_id in leaves:
            reader.problem(path, where, "is both a question and a leaf")
        if question_id == EARLIER_ANSWER:
            reader.problem(path, where, f"'{EARLIER_ANSWER}' is reserved for the troubleshooter's links")
        if not isinstance(raw, dict):
            reader.problem(path, where, "must be a mapping")
            continue
        asks_framework = bool(raw.get("framework"))
        answers: list[Answer] = []
        raw_answers = raw.get("answers")
        if not isinstance(raw_answers, list) or len(raw_answers) < 2:
            reader.problem(path, f"{where}.answers", "must list at least two answers")
            raw_answers = raw_answers if isinstance(raw_answers, list) else []
        seen: set[str] = set()
        for index, item in enumerate(raw_answers):
            a_where = f"{where}.answers[{index}]"
            if not isinstance(item, dict):
                reader.problem(path, a_where, "must be a mapping with id, label and next")
                continue
            answer_id = str(item.get("id") or "")
            if not SLUG.match(answer_id):
                reader.problem(path, f"{a_where}.id", f"'{answer_id}' is not a valid id")
            if answer_id in seen:
                reader.problem(path, f"{a_where}.id", f"'{answer_id}' appears twice")
            seen.add(answer_id)
            if asks_framework and answer_id not in framework_ids | {OTHER_FRAMEWORK}:
                reader.problem(path, f"{a_where}.id", f"'{answer_id}' is not a framework id or 'other'")
            target = str(item.get("next") or "")
            if target not in raw_questions and target not in leaves:
                reader.problem(path, f"{a_where}.next", f"'{target}' is neither a question nor a leaf")
            by_framework = _next_by_framework(reader, path, a_where, item.get("next_by_framework"),
                                              framework_ids, set(raw_questions) | set(leaves))
            platforms: tuple[str, ...] = ()
            raw_platforms = item.get("platforms")
            if raw_platforms is not None and not (
                isinstance(raw_platforms, list) and all(isinstance(p, str) for p in raw_platforms)
            ):
                reader.problem(path, f"{a_where}.platforms", "must be a list of platform ids")
            elif raw_platforms:
                platforms = tuple(raw_platforms)
            for platform_id in platforms:
                if platform_id not in platform_ids:
                    reader.problem(path, f"{a_where}.platforms", f"unknown platform '{platform_id}'")
            answers.append(
                Answer(
                    id=answer_id,
                    label=reader.value_text(path, item.get("label"), f"{a_where}.label"),
                    next=target,
                    platforms=platforms,
                    next_by_framework=by_framework,
                )
            )
        questions[question_id] = Question(
            id=question_id,
            text=reader.value_text(path, raw.get("text"), f"{where}.text"),
            help_html=markdown_to_html(str(raw.get("help") or "")),
            answers=tuple(answers),
            asks_framework=asks_framework,
        )

    start = str(data.get("start") or "")
    if start not in questions:
        reader.problem(path, "start", f"'{start}' is not a question")
        return Tree(start=start, questions=questions, leaves=leaves)
    tree = Tree(start=start, questions=questions, leaves=leaves)
    _check_tree_shape(reader, path, tree)
    return tree


def _next_by_framework(
    reader: _Reader, path: Path, where: str, raw: Any, framework_ids: set[str], nodes: set[str]
) -> tuple[tuple[str, str], ...]:
    """An answer's `next_by_framework`: framework id -> question or leaf id."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        reader.problem(path, f"{where}.next_by_framework", "must map framework ids to questions or leaves")
        return ()
    routes: list[tuple[str, str]] = []
    for framework_id, target in raw.items():
        framework_id, target = str(framework_id), str(target or "")
        if framework_id not in framework_ids | {OTHER_FRAMEWORK}:
            reader.problem(path, f"{where}.next_by_framework", f"'{framework_id}' is not a framework id or 'other'")
        elif target not in nodes:
            reader.problem(path, f"{where}.next_by_framework.{framework_id}",
                           f"'{target}' is neither a question nor a leaf")
        else:
            routes.append((framework_id, target))
    return tuple(routes)


def _check_tree_shape(reader: _Reader, path: Path, tree: Tree) -> None:
    """Every node reachable from the start, and no walk that goes round in circles."""
    reached: set[str] = set()
    on_path: set[str] = set()
    cycles: list[str] = []

    def visit(node_id: str) -> None:
        if node_id in on_path:
            cycles.append(node_id)
            return
        if node_id in reached:
            return
        reached.add(node_id)
        question = tree.questions.get(node_id)
        if question is None:
            return
        on_path.add(node_id)
        for answer in question.answers:
            for target in answer.targets:
                if target in tree.questions or target in tree.leaves:
                    visit(target)
        on_path.discard(node_id)

    visit(tree.start)
    for node_id in cycles:
        reader.problem(path, f"questions.{node_id}", "is part of a cycle: a walk could never end")
    for question_id in tree.questions:
        if question_id not in reached:
            reader.problem(path, f"questions.{question_id}", "cannot be reached from start")
    for leaf_id in tree.leaves:
        if leaf_id not in reached:
            reader.problem(path, f"leaves.{leaf_id}", "cannot be reached from start")


def load_library(root: Path) -> tuple[Library, list[Problem]]:
    reader = _Reader(root=root)
    if not root.is_dir():
        reader.problem(root, "", "the guides folder does not exist")
    frameworks = _load_frameworks(reader)
    causes = _load_causes(reader, set(frameworks))
    for cause in causes.values():
        for related in cause.related:
            if related not in causes:
                reader.problem(
                    root / "causes" / f"{cause.id}.md", "related", f"unknown cause id '{related}'"
                )
    platforms = _load_platforms(reader, set(causes))
    for cause in causes.values():
        for snippet in cause.infra:
            if snippet.platform_id and snippet.platform_id not in platforms:
                reader.problem(
                    root / "causes" / f"{cause.id}.md",
                    "infra.platform",
                    f"unknown platform '{snippet.platform_id}'",
                )
    _check_pair_folders(reader, causes)
    tree = _load_tree(reader, causes, set(frameworks), set(platforms))
    incidents = _load_incidents(reader, set(causes))
    library = Library(causes=causes, frameworks=frameworks, platforms=platforms, tree=tree, incidents=incidents)
    return library, reader.problems


# --- the cache --------------------------------------------------------------------------


_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Library, list[Problem]] | None = None


def _signature(root: Path) -> tuple[Any, ...]:
    """What the guides look like on disk: changes when any file is edited, added or removed."""
    entries = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return (str(root), tuple(entries))


def load_cached(root: Path | None = None) -> tuple[Library, list[Problem]]:
    """The library and its problems, loaded once.

    With DEBUG on, the files are looked at again on every call so an edited guide shows up
    without a restart; otherwise they are read once per process.
    """
    global _cached
    root = Path(root or settings.GUIDES_DIR)
    with _lock:
        if _cached is not None and _cached[0][0] == str(root) and not settings.DEBUG:
            return _cached[1], _cached[2]
        signature = _signature(root)
        if _cached is None or _cached[0] != signature:
            library, problems = load_library(root)
            for problem in problems:
                logger.error("guide problem: %s", problem)
            _cached = (signature, library, problems)
        return _cached[1], _cached[2]


def get_library() -> Library:
    library, problems = load_cached()
    if problems:
        raise ContentError(problems)
    return library


def reset_cache() -> None:
    global _cached
    with _lock:
        _cached = None
