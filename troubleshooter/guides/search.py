"""Search over every guide text, fast enough to answer as the user types.

The guides are small (tens of pages), so an in-memory index built with the library beats a
database round trip: every word of a query must appear in a document (the last word may be
a prefix, since the user is still typing), and fields are weighted so that a cause's title
or a pasted error message outranks a passing mention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from troubleshooter.guides.content import Library

WORD = re.compile(r"[a-z0-9_]+")
MAX_QUERY_LENGTH = 200
SNIPPET_RADIUS = 90


@dataclass(frozen=True)
class Document:
    kind: str  # "cause", "framework", "fix", "setting"
    title: str
    url: str
    fields: tuple[tuple[str, float], ...]  # (text, weight)

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.fields)


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float
    snippet_html: str


def build_documents(library: Library) -> tuple[Document, ...]:
    documents: list[Document] = []
    for cause in library.causes.values():
        documents.append(
            Document(
                kind="cause",
                title=cause.title,
                url=f"/causes/{cause.id}/",
                fields=(
                    (cause.title, 6.0),
                    (cause.id.replace("-", " "), 4.0),
                    (" ".join(cause.errors), 5.0),
                    (cause.summary, 3.0),
                    (" ".join(cause.symptoms), 2.0),
                    *((section.text, 1.0) for section in cause.sections),
                ),
            )
        )
        for pair in cause.pairs.values():
            framework = library.frameworks[pair.framework_id]
            documents.append(
                Document(
                    kind="fix",
                    title=f"{pair.title} ({framework.name}: {cause.title})",
                    url=f"/causes/{cause.id}/?framework={framework.id}#fix",
                    fields=(
                        (pair.title, 4.0),
                        (framework.name, 2.0),
                        (pair.explanation_text, 1.5),
                        (pair.diff.fixed.text, 0.5),
                    ),
                )
            )
    for framework in library.frameworks.values():
        documents.append(
            Document(
                kind="framework",
                title=framework.name,
                url=f"/guides/{framework.id}/",
                fields=(
                    (framework.name, 6.0),
                    (" ".join(framework.streaming_apis), 3.0),
                    (" ".join(framework.packages), 3.0),
                    (framework.body_text, 1.0),
                ),
            )
        )
    for platform in library.platforms.values():
        for setting in platform.settings:
            documents.append(
                Document(
                    kind="setting",
                    title=f"{platform.name}: {setting.name} (default {setting.default})",
                    url=f"/platforms/#{platform.id}",
                    fields=(
                        (f"{platform.name} {setting.name}", 5.0),
                        (setting.default, 2.0),
                        (setting.change, 1.5),
                        (setting.notes, 1.0),
                    ),
                )
            )
    return tuple(documents)


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


@dataclass(frozen=True)
class _Field:
    words: frozenset[str]
    flat: str  # the field's words joined by single spaces, for phrase matches
    weight: float


class SearchIndex:
    def __init__(self, documents: tuple[Document, ...]):
        self.documents = documents
        self._fields = [
            tuple(
                _Field(frozenset(words), " ".join(words), weight)
                for words, weight in ((_words(text), weight) for text, weight in doc.fields)
            )
            for doc in documents
        ]

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        terms = _words(query.strip()[:MAX_QUERY_LENGTH])
        if not terms:
            return []
        phrase = " ".join(terms)
        hits: list[Hit] = []
        for doc, fields in zip(self.documents, self._fields, strict=True):
            score = _score(fields, terms, phrase)
            if score:
                hits.append(Hit(document=doc, score=score, snippet_html=snippet(doc.text, terms)))
        hits.sort(key=lambda hit: (-hit.score, hit.document.title))
        return hits[:limit]


def _score(fields: tuple[_Field, ...], terms: list[str], phrase: str) -> float:
    """0 unless every term matches; the last term may be a prefix (the user is typing)."""
    score = 0.0
    for position, term in enumerate(terms):
        is_last = position == len(terms) - 1
        term_score = 0.0
        for field in fields:
            if term in field.words:
                term_score += field.weight
            elif is_last and len(term) >= 2 and any(w.startswith(term) for w in field.words):
                term_score += field.weight * 0.6
        if not term_score:
            return 0.0
        score += term_score
    if len(terms) > 1:
        score += sum(4.0 * field.weight for field in fields if phrase in field.flat)
    return score


_cached: tuple[Library, SearchIndex] | None = None


def index_for(library: Library) -> SearchIndex:
    """One index per loaded library, rebuilt only when the guides are reloaded."""
    global _cached
    if _cached is None or _cached[0] is not library:
        _cached = (library, SearchIndex(build_documents(library)))
    return _cached[1]


def snippet(text: str, terms: list[str]) -> str:
    """A short excerpt around the first match, escaped, with the query words marked."""
    pattern = re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - SNIPPET_RADIUS) if first else 0
    if start > 0:  # begin at a word, not halfway through one
        space = text.find(" ", start, first.start() if first else None)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + 2 * SNIPPET_RADIUS)
    if end < len(text):
        space = text.rfind(" ", first.end() if first else start, end)
        end = space if space > 0 else end
    excerpt = text[start:end]
    parts: list[str] = []
    cursor = 0
    for match in pattern.finditer(excerpt):
        parts.append(escape(excerpt[cursor : match.start()]))
        parts.append(f"<mark>{escape(match.group(0))}</mark>")
        cursor = match.end()
    parts.append(escape(excerpt[cursor:]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return f"{prefix}{''.join(parts)}{suffix}"
