"""Search over every guide text: a symptom in plain words, or a pasted error, finds its cause.

The guides are small (a few hundred documents at most), so the index lives in memory and is
built once per loaded library: a BM25F ranking (fields weighted, lengths normalised) over
Snowball-stemmed words, with stop words left out, so "buffered" finds "buffering" and "the"
or "by" never decide anything. Words are ranked, not required: a query with one word the
guides never use still finds the pages that share the others.

A cause is one document, its page; the fixes on its framework tabs are part of that page, so
a cause-level query can only land on the page. A pasted error that contains one of a cause's
listed errors (or a large enough part of one) puts that cause above every ranked result.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import NamedTuple

import snowballstemmer

from troubleshooter.guides.content import Cause, Library

# A pasted traceback is cut here: the error line is near its start or its end, and the ranking
# only needs enough words to tell causes apart.
MAX_QUERY_LENGTH = 2000
MAX_QUERY_WORDS = 200
# A snippet looks for the query's phrase among its first words: a long paste's error, found by
# its listed errors, is quoted whole anyway.
MAX_PHRASE_WORDS = 48
SNIPPET_RADIUS = 90
# Parts of a page (by words shared with the query) searched for the longest phrase.
SNIPPET_CANDIDATES = 6
RESULT_LIMIT = 20
# Results scoring below this share of the best one are noise from a single common word.
MIN_SHARE_OF_BEST = 0.12
# A query this short is typed; a longer one is pasted (copied, not misspelt).
SHORT_QUERY_WORDS = 8
MAX_WORDS_MARKED_APART = 3
MAX_COMPLETIONS = 12

# BM25's usual constants: k1 saturates repeated words, b normalises for field length.
K1 = 1.2
B = 0.75
# Weights of what a query adds on top of its own words: two of its words side by side in a
# field, a synonym from the thesaurus, a spelling the guides use for a misspelt word, the
# guides' words that an unfinished last word may become, and a name spelt exactly.
PAIR_WEIGHT = 1.0
SYNONYM_WEIGHT = 0.5
CLOSE_SPELLING_WEIGHT = 0.6
COMPLETION_WEIGHT = 0.6
WHOLE_NAME_WEIGHT = 1.0
# A platform setting or a framework page answers a query that names it; for a symptom, the
# cause page should come first when the match is about as good.
KIND_FACTOR = {"cause": 1.0, "framework": 0.8, "setting": 0.7}
# A query that names a platform ("on Vercel", "behind an ALB") raises the causes that the
# platform's settings are involved in: the symptom says what went wrong, the platform which
# of the ways it goes wrong is likely. Each such cause gains this share of the best score,
# scaled by how many of the platform's settings concern it (nginx has four settings about
# buffering and one about gzip): enough to reorder near neighbours, not to outrank a page
# that the symptom's own words point at clearly.
PLATFORM_SHARE = 0.5

# --- words -------------------------------------------------------------------------------

# Words that say nothing about a stream. Kept out: "all" and "once" ("all at once"), "same"
# ("the same time every run"), "out" and "off" (joined into "timeout" and "cut off" first).
STOP_WORDS = frozenset(
    """a about above after again against am an and any are as at be because been before being
    below between both but by can could did didn do does doesn doing don during each few for
    from further had has have having he her here hers him his how i if in into is isn it its
    itself just me more most my myself no nor not now of on only or other our ours over own
    she should so some such than that the their them then there these they this those through
    to too under until very was wasn we were what when where which while who whom why will
    with won would you your yours s t d ll m re ve get gets got getting""".split()
)
TOKEN = re.compile(r"[A-Za-z0-9_]+")
# "60s", "30sec", "5min": a number glued to its unit.
NUMBER_WITH_UNIT = re.compile(r"^(\d+)([a-z]+)$")
# The parts of a name: "APITimeoutError" is "API", "Timeout", "Error"; "h11" and "k8s" stay whole.
NAME_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z0-9]+")
SECONDS_PER_UNIT = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
}  # fmt: skip
# "a minute" is a number too.
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "five": 5, "ten": 10}
# Two words people write for one idea, joined before stemming so both spellings meet.
JOINED = {("time", "out"): "timeout", ("timed", "out"): "timeout", ("times", "out"): "timeout",
          ("cut", "off"): "cut", ("cuts", "off"): "cut", ("cutoff",): "cut",
          ("one", "chunk"): "once", ("one", "piece"): "once", ("one", "go"): "once",
          ("one", "block"): "once", ("single", "chunk"): "once", ("one", "shot"): "once",
          # "in chunks" is not "chunked encoding": it says the text comes in lumps.
          ("in", "chunks"): "burst", ("in", "blocks"): "burst", ("in", "batches"): "burst",
          ("in", "lumps"): "lump", ("not", "connected"): "disconnect",
          # "No longer streams": it did before, and the guides call what changed an upgrade.
          ("no", "longer"): "upgrade",
          # "Not in real time" is about arrival, not about a timeout.
          ("real", "time"): "realtime"}  # fmt: skip
# Words for the same symptom in the guides' own vocabulary, looked up by stem. A query word
# also finds its synonyms, at a lower weight than the word itself.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "hang": ("stall", "freez", "stuck"),
    "stuck": ("stall", "hang"),
    "freez": ("stall", "hang"),
    "frozen": ("stall", "freez"),
    "stall": ("hang", "freez"),
    "stutter": ("burst", "lump", "uneven"),
    "choppi": ("burst", "lump", "uneven"),
    "jerki": ("burst", "lump", "uneven"),
    "chunki": ("burst", "lump"),
    "clump": ("burst", "lump"),
    "burst": ("lump", "block"),
    "lump": ("burst", "block"),
    "truncat": ("cut", "incomplet"),
    "incomplet": ("cut", "truncat"),
    "partial": ("cut", "incomplet"),
    "die": ("cut", "stop"),
    "kill": ("terminat", "restart"),
    "slow": ("late", "delay"),
    "lag": ("delay", "late"),
    "laggi": ("delay", "late"),
    "delay": ("late", "slow"),
    "whole": ("entir", "complet"),
    "entir": ("whole", "complet"),
    "full": ("whole", "complet"),
    "cancel": ("abort", "disconnect"),
    "abort": ("cancel", "disconnect"),
    "mani": ("concurr", "sever"),
    "multipl": ("concurr", "sever"),
    "simultan": ("concurr", "parallel"),
    "parallel": ("concurr",),
    "concurr": ("parallel",),
    "load": ("concurr",),
    "traffic": ("concurr", "load"),
    "k8s": ("kubernet", "ingress"),
    "sse": ("event", "stream"),
    "eventsourc": ("sse",),
    "elb": ("alb", "load", "balanc"),
    "lb": ("load", "balanc"),
    "gke": ("kubernet",),
    "eks": ("kubernet",),
    # "Works locally, not in production": the guides say "against the app directly" and
    # "through the public URL" for the same two places.
    "local": ("direct", "bypass"),
    "product": ("deploy", "public"),
    "prod": ("deploy", "public"),
    "deploy": ("product", "public"),
    "smooth": ("uneven", "burst"),
    "consum": ("drain", "exhaust"),
    "halfway": ("mid", "middl"),
    "twice": ("duplic",),
    "doubl": ("duplic",),
    "unrespons": ("hang", "freez", "stall"),
    "interrupt": ("cut", "stop"),
    "charact": ("length",),
    "drain": ("consum",),
    "exhaust": ("drain", "consum"),
}

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


@dataclass(frozen=True)
class Token:
    """One content word of a text: its stem (after joining and unit rules) and where it is."""

    term: str
    start: int
    end: int


def _raw_words(text: str) -> Iterator[tuple[str, int, int]]:
    """Lowercase words with their spans. Names are split into their parts (snake_case,
    CamelCase), so "proxy_read_timeout" reads as "proxy read timeout"; a number glued to a
    unit ("60s") becomes two words."""
    for match in TOKEN.finditer(text):
        name = match.group(0)
        if "_" in name or not (name[1:].islower() or name[1:].isdigit() or len(name) == 1):
            parts = [
                (part.group(0), match.start() + part.start(), match.start() + part.end())
                for part in NAME_PART.finditer(name)
            ]
        else:  # one plain word, by far the most common case: no need to look for parts
            parts = [(name, match.start(), match.end())]
        for part, start, end in parts:
            word = part.lower()
            glued = NUMBER_WITH_UNIT.match(word)
            if glued and glued.group(2) in SECONDS_PER_UNIT:
                split = start + len(glued.group(1))
                yield glued.group(1), start, split
                yield glued.group(2), split, end
            else:
                yield word, start, end


def tokens(text: str) -> list[Token]:
    """The content words of a text, in order: what both the index and a query are made of.

    Durations become seconds ("5 minutes" and "300 s" are one thing), "timed out" becomes
    "timeout", stop words go, the rest is stemmed.
    """
    words = list(_raw_words(text))
    result: list[Token] = []
    index = 0
    while index < len(words):
        word, start, end = words[index]
        following = words[index + 1][0] if index + 1 < len(words) else ""
        joined = JOINED.get((word, following))
        if joined:
            result.append(Token(stem(joined), start, words[index + 1][2]))
            index += 2
            continue
        if (word,) in JOINED:
            result.append(Token(stem(JOINED[(word,)]), start, end))
        elif following in SECONDS_PER_UNIT and (word.isdigit() or word in NUMBER_WORDS):
            # The number and its unit both stay visible to the snippet's marking.
            amount = int(word) if word.isdigit() else NUMBER_WORDS[word]
            unit_start, unit_end = words[index + 1][1], words[index + 1][2]
            result.append(Token(str(amount * SECONDS_PER_UNIT[following]), start, end))
            result.append(Token("second", unit_start, unit_end))
            index += 2
            continue
        elif word in SECONDS_PER_UNIT and len(word) > 1:
            result.append(Token("second", start, end))
        elif word not in STOP_WORDS:
            result.append(Token(stem(word), start, end))
        index += 1
    return result


def whole_names(text: str) -> list[str]:
    """Names made of parts, each as one word ("clientdisconnect", "proxy_read_timeout"): a
    query that spells a name exactly finds it above pages that only use its parts."""
    return [
        stem(match.group(0).lower()) for match in TOKEN.finditer(text) if len(NAME_PART.findall(match.group(0))) > 1
    ]


def error_words(text: str) -> list[str]:
    """Words of an error message for matching it as a phrase: every word counts, nothing is
    stemmed, and long numbers (process ids, token counts, addresses) match any long number."""
    words = []
    for match in TOKEN.finditer(text.lower()):
        word = match.group(0)
        long_number = (word.isdigit() and len(word) >= 4) or re.fullmatch(r"0x[0-9a-f]+", word)
        words.append("#" if long_number else word)
    return words


# --- documents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str  # fields of one name share an average length
    text: str
    weight: float
    # May a snippet quote it? Not the title (the result shows it already), nor an id or a
    # search term (words for the index, not text on the page).
    quoted: bool = True


@dataclass(frozen=True)
class Document:
    kind: str  # "cause", "framework", "setting"
    title: str
    url: str
    fields: tuple[Field, ...]
    errors: tuple[str, ...] = ()  # a cause's listed errors, matched as phrases
    cause_id: str = ""  # set on a cause's page


def _cause_document(library: Library, cause: Cause, leave_out: str = "") -> Document:
    settings = library.settings_for_cause(cause.id)
    incidents = [incident for incident in library.incidents_for(cause.id) if incident.id != leave_out]
    return Document(
        kind="cause",
        title=cause.title,
        url=f"/causes/{cause.id}/",
        errors=cause.errors,
        cause_id=cause.id,
        fields=(
            Field("title", cause.title, 5.0, quoted=False),
            Field("id", cause.id.replace("-", " "), 3.0, quoted=False),
            *(Field("error", error, 4.0) for error in cause.errors),
            *(Field("search-term", term, 3.5, quoted=False) for term in cause.search_terms),
            Field("summary", cause.summary, 3.0),
            *(Field("symptom", symptom, 2.5) for symptom in cause.symptoms),
            *(Field("infra", snippet.title, 2.0) for snippet in cause.infra),
            *(
                Field("setting", f"{platform.name}: {setting.name}, default {setting.default}", 1.5)
                for platform, setting in settings
            ),
            *(Field("body", section.text, 1.0) for section in cause.sections),
            *(Field("fix", f"{pair.title}. {pair.explanation_text}", 1.0) for pair in cause.pairs.values()),
            # Real incidents in their reporters' terms: the words people use for a symptom
            # that the guide's own prose does not.
            *(Field("incident", incident.symptom, 1.0) for incident in incidents),
            *(Field("incident-phrase", incident.search_phrase, 1.0, quoted=False) for incident in incidents),
        ),
    )


def build_documents(library: Library, leave_out: str = "") -> tuple[Document, ...]:
    """Every searchable page. `leave_out` names an incident to index without, so that a
    benchmark can ask for it as if nobody had reported it yet."""
    documents = [_cause_document(library, cause, leave_out) for cause in library.causes.values()]
    for framework in library.frameworks.values():
        documents.append(
            Document(
                kind="framework",
                title=framework.name,
                url=f"/guides/{framework.id}/",
                fields=(
                    Field("title", framework.name, 5.0, quoted=False),
                    Field("apis", " ".join(framework.streaming_apis), 2.5),
                    Field("packages", " ".join(framework.packages), 2.5),
                    Field("body", framework.body_text, 1.0),
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
                        Field("title", f"{platform.name} {setting.name}", 5.0, quoted=False),
                        Field("default", setting.default, 2.0),
                        Field("change", setting.change, 1.5),
                        Field("notes", setting.notes, 1.0),
                    ),
                )
            )
    return tuple(documents)


class PlatformName(NamedTuple):
    """One name of a platform, as the words a query must hold in a row, and what it suggests:
    the causes its settings are involved in, and the words the guides use for it (its first
    alias), which a query that says "lemp" or "elb" is given too."""

    terms: tuple[str, ...]
    causes: dict[str, float]  # cause id -> its share of the platform's settings, 1.0 for the most
    guide_terms: tuple[str, ...]
    platform: str  # the platform's name, for the result that says why it ranks


def platform_names(library: Library) -> tuple[PlatformName, ...]:
    names = []
    for platform in library.platforms.values():
        if not platform.aliases:
            continue
        counts = Counter(cause for setting in platform.settings for cause in setting.causes)
        most = max(counts.values(), default=1)
        causes = {cause: count / most for cause, count in counts.items()}
        guide_terms = tuple(token.term for token in tokens(platform.aliases[0]))
        for alias in platform.aliases:
            terms = tuple(token.term for token in tokens(alias))
            if terms:
                names.append(PlatformName(terms, causes, guide_terms, platform.name))
    return tuple(names)


def _names_in(query: Sequence[str], names: tuple[PlatformName, ...]) -> list[PlatformName]:
    """The platform names the query holds."""
    found = []
    for name in names:
        width = len(name.terms)
        if any(tuple(query[i : i + width]) == name.terms for i in range(len(query) - width + 1)):
            found.append(name)
    return found


# --- the index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float
    snippet_html: str
    matched_all: bool  # every word of the query is somewhere in the document
    error_match: str = ""  # the listed error that the query contains or quotes
    platforms: tuple[str, ...] = ()  # platforms named in the query whose settings concern it


@dataclass(frozen=True)
class Answer:
    """What the search page says for a query."""

    query: str
    hits: list[Hit]
    has_words: bool  # False when the query is only punctuation or only common words

    @property
    def partial(self) -> bool:
        """No result holds every word: the page shows the closest, and points to the tree."""
        return bool(self.hits) and not self.hits[0].matched_all and not self.hits[0].error_match


@dataclass(frozen=True)
class _Unit:
    """A quotable piece of a document (a field), analysed once for the snippets."""

    text: str
    weight: float
    is_error: bool
    tokens: tuple[Token, ...]
    terms: tuple[str, ...]
    positions: dict[str, list[int]]  # term -> where it stands in terms


class _ListedError(NamedTuple):
    text: str
    words: tuple[str, ...]
    positions: dict[str, list[int]]


@dataclass(frozen=True)
class _Query:
    terms: dict[str, float]  # term or "a b" word pair -> weight
    stands_for: dict[str, frozenset[str]]  # term -> the query's own words it answers for
    words: tuple[str, ...]  # the query's own stems, in order, for the snippet's phrase
    distinct: frozenset[str]  # the query's own stems
    error_words: tuple[str, ...]
    platforms: tuple[PlatformName, ...] = ()  # the platforms the query names


def _pairs(terms: Sequence[str]) -> Iterator[str]:
    return (f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False))


class SearchIndex:
    def __init__(self, documents: tuple[Document, ...], platforms: tuple[PlatformName, ...] = ()):
        self.documents = documents
        self._platforms = platforms
        analysed = [[(field, _unit(field)) for field in doc.fields] for doc in documents]
        field_lengths: dict[str, list[int]] = defaultdict(list)
        for fields in analysed:
            for field, unit in fields:
                field_lengths[field.name].append(len(unit.terms))
        average = {name: max(1.0, sum(lengths) / len(lengths)) for name, lengths in field_lengths.items()}

        # term -> [(document index, weighted and length-normalised frequency)]
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc_index, fields in enumerate(analysed):
            weighted: dict[str, float] = defaultdict(float)
            for field, unit in fields:
                norm = 1 - B + B * len(unit.terms) / average[field.name]
                for term, count in Counter([*unit.terms, *_pairs(unit.terms), *whole_names(field.text)]).items():
                    weighted[term] += field.weight * count / norm
            for term, frequency in weighted.items():
                self._postings[term].append((doc_index, frequency))
        total = len(documents)
        self._idf = {
            term: math.log(1 + (total - len(posting) + 0.5) / (len(posting) + 0.5))
            for term, posting in self._postings.items()
        }
        # Every spelling the guides use, for completing a word being typed and for misspellings
        # (compared only with spellings of the same first letter, which keeps it fast).
        spellings: dict[str, str] = {}
        for fields in analysed:
            for _, unit in fields:
                for token in unit.tokens:
                    word = unit.text[token.start : token.end].lower()
                    if word.isalnum():  # not "timed out", which is joined into one word
                        spellings.setdefault(word, token.term)
        self._stem_of_spelling = spellings
        self._sorted_spellings = sorted(spellings)
        self._spellings_by_letter: dict[str, list[str]] = defaultdict(list)
        for word in self._sorted_spellings:
            self._spellings_by_letter[word[0]].append(word)
        self._units = [tuple(unit for field, unit in fields if field.quoted) for fields in analysed]
        self._errors = {
            doc_index: tuple(
                _ListedError(error, tuple(words), _positions(words))
                for error in doc.errors
                for words in (error_words(error),)
                if words
            )
            for doc_index, doc in enumerate(documents)
            if doc.errors
        }

    # --- queries

    def _query(self, text: str) -> _Query:
        found = tokens(text)[:MAX_QUERY_WORDS]
        own = [token.term for token in found]
        terms: dict[str, float] = {}
        stands_for: dict[str, set[str]] = defaultdict(set)

        def add(term: str, weight: float, for_word: str | None = None) -> None:
            if term in self._postings:
                terms[term] = max(terms.get(term, 0.0), weight)
                if for_word:
                    stands_for[term].add(for_word)

        respell = len(own) <= SHORT_QUERY_WORDS  # a long paste is copied, not misspelt
        for position, token in enumerate(found):
            add(token.term, 1.0, token.term)
            for synonym in SYNONYMS.get(token.term, ()):
                add(synonym, SYNONYM_WEIGHT, token.term)
            if token.term in self._postings:
                continue
            word = text[token.start : token.end].lower()
            typing = position == len(found) - 1 and not text[-1].isspace()
            for stand_in, weight in self._stand_ins(word, typing, respell):
                add(stand_in, weight, token.term)
                if typing and position:
                    add(f"{own[position - 1]} {stand_in}", weight)
        named = _names_in(own, self._platforms)
        for platform in named:
            for term in platform.guide_terms:
                add(term, 1.0, platform.terms[0])
        for pair in _pairs(own):
            add(pair, PAIR_WEIGHT)
        for name in whole_names(text):
            add(name, WHOLE_NAME_WEIGHT)
        return _Query(
            terms=terms,
            stands_for={term: frozenset(words) for term, words in stands_for.items()},
            words=tuple(own[:MAX_PHRASE_WORDS]),
            distinct=frozenset(own),
            error_words=tuple(error_words(text))[:MAX_QUERY_WORDS],
            platforms=tuple(named),
        )

    def _stand_ins(self, word: str, typing: bool, respell: bool) -> list[tuple[str, float]]:
        """Words of the guides that may be meant by a word they never use: what it becomes
        when the user is still typing it, a close spelling, or a word it starts with
        ("chatbot" is about chat)."""
        found: list[tuple[str, float]] = []
        if typing and len(word) >= 2:
            found += [(self._stem_of_spelling[s], COMPLETION_WEIGHT) for s in self._completions(word)]
        if respell and len(word) >= 4 and word.isalpha():
            close = difflib.get_close_matches(word, self._spellings_by_letter[word[0]], n=2, cutoff=0.82)
            found += [(self._stem_of_spelling[s], CLOSE_SPELLING_WEIGHT) for s in close]
        if not found and word.isalpha():
            start = next((word[:n] for n in range(len(word) - 1, 3, -1) if word[:n] in self._stem_of_spelling), "")
            if start:
                found.append((self._stem_of_spelling[start], CLOSE_SPELLING_WEIGHT))
        return found

    def _completions(self, prefix: str) -> list[str]:
        """The guides' words that begin with what the user is still typing."""
        start = bisect.bisect_left(self._sorted_spellings, prefix)
        found = []
        for word in self._sorted_spellings[start : start + MAX_COMPLETIONS]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found

    def answer(self, text: str) -> Answer:
        text = clean_query(text)
        return Answer(query=text, hits=self.search(text), has_words=bool(tokens(text)))

    def search(self, text: str, limit: int = RESULT_LIMIT) -> list[Hit]:
        text = clean_query(text)
        query = self._query(text)
        if not query.terms:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, set[str]] = defaultdict(set)
        for term, weight in query.terms.items():
            idf = self._idf[term]
            for doc_index, frequency in self._postings[term]:
                scores[doc_index] += weight * idf * frequency * (K1 + 1) / (K1 + frequency)
                matched[doc_index] |= query.stands_for.get(term, frozenset())
        error_matches = {
            doc_index: found
            for doc_index, errors in self._errors.items()
            if (found := _best_error_match(errors, query.error_words))
        }
        suggested: dict[str, float] = defaultdict(float)
        named_by: dict[str, list[str]] = defaultdict(list)
        for name in query.platforms:
            for cause, share in name.causes.items():
                suggested[cause] = max(suggested[cause], share)
                if name.platform not in named_by[cause]:
                    named_by[cause].append(name.platform)
        weighted = {i: score * KIND_FACTOR[self.documents[i].kind] for i, score in scores.items()}
        plain_best = max(weighted.values(), default=0.0)
        ranked = []
        for doc_index, score in weighted.items():
            match = error_matches.get(doc_index)
            strength = match.strength if match else (False, 0)
            share = suggested.get(self.documents[doc_index].cause_id, 0.0)
            ranked.append((strength, score + PLATFORM_SHARE * share * plain_best, -doc_index))
        # A cause whose error list the query quotes comes first, whatever the ranking says.
        ranked.sort(reverse=True)
        best = max((score for _, score, _ in ranked), default=0.0)
        hits = []
        for _, score, negative_index in ranked[:limit]:
            doc_index = -negative_index
            match = error_matches.get(doc_index)
            if match is None and score < MIN_SHARE_OF_BEST * best:
                continue
            error = match.error if match else ""
            hits.append(
                Hit(
                    document=self.documents[doc_index],
                    score=score,
                    snippet_html=self._snippet(doc_index, query, error),
                    matched_all=matched[doc_index] >= query.distinct,
                    error_match=error,
                    platforms=tuple(named_by.get(self.documents[doc_index].cause_id, ())),
                )
            )
        return hits

    def _snippet(self, doc_index: int, query: _Query, error: str) -> str:
        """The excerpt from the part of the page that matches best: the quoted error, or the
        longest phrase of the query among the parts that share the most of its words."""
        units = self._units[doc_index]
        if not units:
            return ""
        if error:
            return _excerpt(next((u for u in units if u.text == error), units[0]), query)
        wanted = query.terms.keys()
        by_words = sorted(units, key=lambda u: (len(u.positions.keys() & wanted), u.weight), reverse=True)
        candidates = by_words[:SNIPPET_CANDIDATES]
        best = max(candidates, key=lambda u: (_common_run(u.terms, query.words, u.positions)[1], u.weight))
        return _excerpt(best, query)


def _unit(field: Field) -> _Unit:
    found = tuple(tokens(field.text))
    terms = tuple(token.term for token in found)
    return _Unit(field.text, field.weight, field.name == "error", found, terms, _positions(terms))


def _positions(words: Sequence[str]) -> dict[str, list[int]]:
    where: dict[str, list[int]] = defaultdict(list)
    for position, word in enumerate(words):
        where[word].append(position)
    return where


def _common_run(
    haystack: Sequence[str], needle: Sequence[str], where: dict[str, list[int]] | None = None
) -> tuple[int, int]:
    """(start in haystack, length) of the longest stretch of words the two share, in order.

    `where` is the haystack's word positions, when they were worked out in advance.
    """
    where = _positions(haystack) if where is None else where
    best = (0, 0)
    for position, word in enumerate(needle):
        for start in where.get(word, ()):
            if start and position and haystack[start - 1] == needle[position - 1]:
                continue  # inside a stretch already measured from its beginning
            length = 1
            while (
                start + length < len(haystack)
                and position + length < len(needle)
                and haystack[start + length] == needle[position + length]
            ):
                length += 1
            if length > best[1]:
                best = (start, length)
    return best


class _ErrorMatch(NamedTuple):
    error: str
    whole: bool  # the query holds all of the error
    run: int  # how many of its words, in order, the query holds

    @property
    def strength(self) -> tuple[bool, int]:
        """A whole error before part of a longer one, then the longer quote."""
        return self.whole, self.run


def _best_error_match(errors: tuple[_ListedError, ...], query: tuple[str, ...]) -> _ErrorMatch | None:
    """The listed error the query quotes, if any.

    It counts when the query holds the whole error (a log line around it), when the query is
    a piece of three words or more of one error, or when most of an error is there with other
    details in the middle (another pid, another path).
    """
    best: _ErrorMatch | None = None
    asked = set(query)
    for error, words, positions in errors:
        if len(positions.keys() & asked) < min(2, len(positions)):
            continue  # cannot be quoted: the query lacks its words
        start, run = _common_run(words, query, positions)
        content = sum(word not in STOP_WORDS for word in words[start : start + run])
        whole_error = run == len(words) and (run >= 2 or len(words[0]) >= 8)
        piece_of_error = run == len(query) and run >= 3
        most_of_error = run >= 3 and run >= 0.6 * len(words)
        if content >= 1 and (whole_error or ((piece_of_error or most_of_error) and content >= 2)):
            found = _ErrorMatch(error, whole_error, run)
            if best is None or found.strength > best.strength:
                best = found
    return best


def clean_query(text: str) -> str:
    """What a query may hold: no control characters (a NUL from a URL), no more than fits."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)[:MAX_QUERY_LENGTH]


def _excerpt(unit: _Unit, query: _Query) -> str:
    """A short excerpt around the best match, escaped, with the matching phrase marked.

    When two or more query words stand together in the text, only that phrase is marked.
    Scattered words are marked one by one only for a query of a few words, and never inside
    an error message: there they would make a different error look like the one pasted.
    """
    text, found, terms = unit.text, unit.tokens, unit.terms
    start_index, run = _common_run(terms, query.words, unit.positions)
    if run >= 2:
        phrase = terms[start_index : start_index + run]
        marks = [
            (found[i].start, found[i + run - 1].end) for i in unit.positions[phrase[0]] if terms[i : i + run] == phrase
        ]
    elif len(query.distinct) <= MAX_WORDS_MARKED_APART and not unit.is_error:
        marks = [(token.start, token.end) for token in found if token.term in query.terms]
    else:
        marks = []
    centre = marks[0] if marks else (0, 0)
    start = max(0, centre[0] - SNIPPET_RADIUS)
    if start > 0:  # begin at a word, not halfway through one
        space = text.find(" ", start, centre[0])
        start = space + 1 if space >= 0 else start
    end = min(len(text), max(start + 2 * SNIPPET_RADIUS, centre[1]))
    if end < len(text):
        space = text.rfind(" ", centre[1], end)
        end = space if space > 0 else end
    parts: list[str] = []
    cursor = start
    for mark_start, mark_end in marks:
        if mark_start < cursor or mark_end > end:
            continue
        parts.append(escape(text[cursor:mark_start]))
        parts.append(f"<mark>{escape(text[mark_start:mark_end])}</mark>")
        cursor = mark_end
    parts.append(escape(text[cursor:end]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return f"{prefix}{''.join(parts)}{suffix}"


def snippet(text: str, query: str) -> str:
    """The excerpt a result would show for this text and query."""
    own = tuple(token.term for token in tokens(query))
    return _excerpt(_unit(Field("text", text, 1.0)), _Query({t: 1.0 for t in own}, {}, own, frozenset(own), ()))


def build_index(library: Library, leave_out: str = "") -> SearchIndex:
    return SearchIndex(build_documents(library, leave_out), platform_names(library))


_cached: tuple[Library, SearchIndex] | None = None


def index_for(library: Library) -> SearchIndex:
    """One index per loaded library, rebuilt only when the guides are reloaded."""
    global _cached
    if _cached is None or _cached[0] is not library:
        _cached = (library, build_index(library))
    return _cached[1]
