"""The read API under /api/v1/: the guides as data (causes, frameworks, code pairs, platform
defaults, the tree, search).

django-ninja builds the OpenAPI 3 document (/api/v1/openapi.json) from these typed
functions and schemas, so the document cannot drift from the code. Every GET answer carries
an ETag of its body; a client that sends it back in If-None-Match gets 304 Not Modified.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError

from troubleshooter.guides import search as search_index
from troubleshooter.guides.content import CodePair, get_library
from troubleshooter.runs.api import router as runs_router


class ApiWithETags(NinjaAPI):
    def create_response(
        self, request: HttpRequest, data: Any, *, status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(request, data, status=status, temporal_response=temporal_response)
        if request.method != "GET" or response.status_code != 200:
            return response
        tag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
        # Revalidate every time: the content changes only with a deployment, and a 304 is cheap.
        response["ETag"] = tag
        response.setdefault("Cache-Control", "no-cache")  # a person's own runs say "private" too
        sent = [value.strip() for value in request.headers.get("If-None-Match", "").split(",")]
        if tag in sent or "*" in sent:
            not_modified = HttpResponseNotModified()
            not_modified["ETag"] = tag
            return not_modified
        return response


# No documentation page of ninja's own: it loads Swagger UI from a CDN, which this app's
# Content-Security-Policy (and its no-CDN rule) refuses.
api = ApiWithETags(title="Streaming troubleshooter", version="1", urls_namespace="api-v1", docs_url=None)


class NotFound(Schema):
    detail: str


class CauseSummary(Schema):
    id: str
    title: str
    group: str
    summary: str
    url: str


class SectionOut(Schema):
    title: str
    slug: str
    text: str


class CodeFile(Schema):
    name: str
    language: str
    text: str


class CodePairOut(Schema):
    cause_id: str
    framework_id: str
    title: str
    explanation: str
    broken: CodeFile
    fixed: CodeFile


class PlatformSettingOut(Schema):
    platform_id: str
    name: str
    default: str
    seconds: float | None
    causes: list[str]
    change: str
    notes: str


class CauseOut(CauseSummary):
    symptoms: list[str]
    errors: list[str]
    related: list[str]
    frameworks_with_code: list[str]
    sections: list[SectionOut]
    platform_settings: list[PlatformSettingOut]


class FrameworkOut(Schema):
    id: str
    name: str
    packages: list[str]
    streaming_apis: list[str]
    body: str
    url: str
    causes_with_code: list[str]


class PlatformOut(Schema):
    id: str
    name: str
    kind: str
    settings: list[PlatformSettingOut]


class AnswerOut(Schema):
    id: str
    label: str
    next: str
    next_by_framework: dict[str, str]  # where the answer leads instead, by the framework chosen


class QuestionOut(Schema):
    id: str
    text: str
    answers: list[AnswerOut]


class RankedCauseOut(Schema):
    cause_id: str


class LeafOut(Schema):
    id: str
    title: str
    causes: list[RankedCauseOut]


class TreeOut(Schema):
    start: str
    questions: list[QuestionOut]
    leaves: list[LeafOut]


class SearchHitOut(Schema):
    kind: str
    title: str
    url: str
    score: float
    error_match: str = Field("", description="the cause's listed error that the query quotes, if any")
    platforms: list[str] = Field([], description="platforms named in the query whose settings concern this cause")


class SearchOut(Schema):
    query: str
    hits: list[SearchHitOut]


def _summary(cause: Any) -> dict[str, Any]:
    return {"id": cause.id, "title": cause.title, "group": cause.group, "summary": cause.summary,
            "url": f"/causes/{cause.id}/"}


def _setting(setting: Any) -> dict[str, Any]:
    return {"platform_id": setting.platform_id, "name": setting.name, "default": setting.default,
            "seconds": setting.seconds, "causes": list(setting.causes), "change": setting.change,
            "notes": setting.notes}


def _pair(pair: CodePair) -> dict[str, Any]:
    def file(view: Any) -> dict[str, str]:
        return {"name": view.name, "language": view.language, "text": view.text}

    return {"cause_id": pair.cause_id, "framework_id": pair.framework_id, "title": pair.title,
            "explanation": pair.explanation_text, "broken": file(pair.diff.broken), "fixed": file(pair.diff.fixed)}


@api.get("/causes", response=list[CauseSummary], tags=["guides"])
def causes(request: HttpRequest) -> list[dict[str, Any]]:
    return [_summary(cause) for cause in get_library().causes.values()]


@api.get("/causes/{cause_id}", response={200: CauseOut, 404: NotFound}, tags=["guides"])
def cause(request: HttpRequest, cause_id: str) -> dict[str, Any]:
    library = get_library()
    found = library.causes.get(cause_id)
    if found is None:
        raise HttpError(404, f"There is no cause called '{cause_id}'.")
    return {
        **_summary(found),
        "symptoms": list(found.symptoms),
        "errors": list(found.errors),
        "related": list(found.related),
        "frameworks_with_code": [f for f in library.frameworks if f in found.pairs],
        "sections": [{"title": s.title, "slug": s.slug, "text": s.text} for s in found.sections],
        "platform_settings": [_setting(setting) for _platform, setting in library.settings_for_cause(cause_id)],
    }


@api.get("/causes/{cause_id}/pairs", response={200: list[CodePairOut], 404: NotFound}, tags=["guides"])
def cause_pairs(request: HttpRequest, cause_id: str) -> list[dict[str, Any]]:
    """The broken and fixed code of a cause, one pair per framework that fixes it in code."""
    found = get_library().causes.get(cause_id)
    if found is None:
        raise HttpError(404, f"There is no cause called '{cause_id}'.")
    return [_pair(pair) for pair in found.pairs.values()]


@api.get("/frameworks", response=list[FrameworkOut], tags=["guides"])
def frameworks(request: HttpRequest) -> list[dict[str, Any]]:
    library = get_library()
    return [_framework(library, framework_id) for framework_id in library.frameworks]


@api.get("/frameworks/{framework_id}", response={200: FrameworkOut, 404: NotFound}, tags=["guides"])
def framework(request: HttpRequest, framework_id: str) -> dict[str, Any]:
    library = get_library()
    if framework_id not in library.frameworks:
        raise HttpError(404, f"There is no guide for '{framework_id}'.")
    return _framework(library, framework_id)


def _framework(library: Any, framework_id: str) -> dict[str, Any]:
    found = library.frameworks[framework_id]
    return {"id": found.id, "name": found.name, "packages": list(found.packages),
            "streaming_apis": list(found.streaming_apis), "body": found.body_text, "url": f"/guides/{found.id}/",
            "causes_with_code": [pair.cause_id for pair in library.pairs_for_framework(framework_id)]}


@api.get("/frameworks/{framework_id}/pairs", response={200: list[CodePairOut], 404: NotFound}, tags=["guides"])
def framework_pairs(request: HttpRequest, framework_id: str) -> list[dict[str, Any]]:
    library = get_library()
    if framework_id not in library.frameworks:
        raise HttpError(404, f"There is no guide for '{framework_id}'.")
    return [_pair(pair) for pair in library.pairs_for_framework(framework_id)]


@api.get("/platforms", response=list[PlatformOut], tags=["guides"])
def platforms(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": p.id, "name": p.name, "kind": p.kind, "settings": [_setting(s) for s in p.settings]}
        for p in get_library().platforms.values()
    ]


@api.get("/tree", response=TreeOut, tags=["guides"])
def tree(request: HttpRequest) -> dict[str, Any]:
    """The troubleshooter's questions, their answers (each names the next question or a
    leaf) and the leaves with their causes, likeliest first."""
    found = get_library().tree
    return {
        "start": found.start,
        "questions": [
            {"id": q.id, "text": q.text, "answers": [
                {"id": a.id, "label": a.label, "next": a.next,
                 "next_by_framework": dict(a.next_by_framework)}
                for a in q.answers
            ]}
            for q in found.questions.values()
        ],
        "leaves": [
            {"id": leaf.id, "title": leaf.title, "causes": [{"cause_id": c.cause_id} for c in leaf.causes]}
            for leaf in found.leaves.values()
        ],
    }


@api.get("/search", response=SearchOut, tags=["guides"])
def search(request: HttpRequest, q: str = "") -> dict[str, Any]:
    hits = search_index.index_for(get_library()).search(q) if q.strip() else []
    return {
        "query": q,
        "hits": [
            {"kind": h.document.kind, "title": h.document.title, "url": h.document.url, "score": h.score,
             "error_match": h.error_match, "platforms": list(h.platforms)}
            for h in hits
        ],
    }


# Runs: start, read, list, cancel and follow (troubleshooter/runs/api.py).
api.add_router("/runs", runs_router)
