"""Small views of the guides: read the library, pick a template, render.

Pages that htmx updates in place render only the named part when htmx asks for it, and the
whole page otherwise, so every link works without JavaScript.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from troubleshooter.pages import HtmxHttpRequest, error_page, partial_or_page
from troubleshooter.probe.experiments import kind_for_causes

from . import search as search_index
from .content import GROUPS, Cause, Library, get_library
from .models import Feedback
from .tree import BadWalk, platform_fix, walk


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    library = get_library()
    first = library.tree.questions[library.tree.start]
    return render(
        request,
        "guides/home.html",
        {
            "library": library,
            "first_question": first,
            "groups": _grouped_causes(library),
        },
    )


@require_GET
def troubleshoot(request: HtmxHttpRequest) -> HttpResponse:
    library = get_library()
    try:
        current = walk(library.tree, dict(request.GET.lists()))
    except BadWalk as exc:
        return error_page(request, 400, "That link does not lead anywhere", str(exc))
    framework = library.frameworks.get(current.framework_id or "")
    ranked = []
    if current.leaf is not None:
        for rank, item in enumerate(current.leaf.causes, start=1):
            cause = library.causes[item.cause_id]
            ranked.append(
                {
                    "rank": rank,
                    "cause": cause,
                    "why_html": item.why_html,
                    "pair": cause.pairs.get(framework.id) if framework else None,
                }
            )
    context = {
        "walk": current,
        "framework": framework,
        "ranked": ranked,
        "top_fix": next((r for r in ranked if r["pair"] is not None), None),
        "platform_fix": platform_fix(current, library.causes),
        "crumbs": [
            {"step": step, "change_query": current.query_to_change(index)}
            for index, step in enumerate(current.steps)
        ],
        "measure_url": measure_link(
            framework.id if framework else "", current.query(), [item.cause_id for item in current.leaf.causes]
        )
        if current.leaf is not None
        else "",
        # Cause pages opened from a leaf keep the walk: they link back to it, and "No, not
        # yet" offers the walk's next causes.
        "cause_query": "?" + urlencode(
            {**({"framework": framework.id} if framework else {}), "walk": current.query()}
        ),
        "answer_links": [
            {"answer": answer, "query": current.query_with(answer), "earlier": answer == current.earlier}
            for answer in (current.question.answers if current.question else ())
        ],
    }
    return partial_or_page(request, "guides/tree/page.html", "guides/tree/_swap.html", context, target="step")


def _grouped_causes(library: Library) -> list[tuple[str, str, list[Cause]]]:
    return [(group, title, library.causes_in_group(group)) for group, title in GROUPS.items()]


@require_GET
def cause_list(request: HtmxHttpRequest) -> HttpResponse:
    library = get_library()
    return render(request, "guides/causes/list.html", {"groups": _grouped_causes(library)})


@require_GET
def cause_detail(request: HtmxHttpRequest, cause_id: str) -> HttpResponse:
    library = get_library()
    cause = library.causes.get(cause_id)
    if cause is None:
        return error_page(
            request, 404, "No such cause", f"There is no cause called '{cause_id}'."
        )
    requested = request.GET.get("framework")
    if requested is not None and requested not in library.frameworks:
        return error_page(
            request, 400, "Unknown framework", f"'{requested}' is not a framework this guide covers."
        )
    framework_ids = [f for f in library.frameworks if f in cause.pairs]
    selected = requested or (framework_ids[0] if framework_ids else None)
    walk_query = _checked_walk(request.GET.get("walk", ""))
    context = {
        "walk_query": walk_query,
        "answers_url": reverse("troubleshoot") + f"?{walk_query}" if walk_query else "",
        "measure_url": measure_link(requested or "", walk_query, [cause.id]),
        "cause": cause,
        "library": library,
        "tabs": [library.frameworks[f] for f in framework_ids],
        "framework": library.frameworks.get(selected or ""),
        "pair": cause.pairs.get(selected or ""),
        "related": [library.causes[r] for r in cause.related],
        "settings": library.settings_for_cause(cause.id),
        # The chosen framework's incidents first: the reader's own stack is the likelier match.
        "incidents": sorted(library.incidents_for(cause.id), key=lambda i: i.framework != (requested or "")),
        "feedback_form": FeedbackForm(initial={"framework": selected or "", "walk": walk_query}),
    }
    return partial_or_page(
        request, "guides/causes/detail.html", "guides/causes/_code_panel.html", context, target="code-panel"
    )


class FeedbackForm(forms.Form):
    solved = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes"
    )
    framework = forms.CharField(required=False, max_length=32)
    walk = forms.CharField(required=False, max_length=1000)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


@require_POST
def feedback(request: HtmxHttpRequest, cause_id: str) -> HttpResponse:
    library = get_library()
    if cause_id not in library.causes:
        return error_page(request, 404, "No such cause", f"There is no cause called '{cause_id}'.")
    form = FeedbackForm(request.POST)
    if form.is_valid() and form.cleaned_data["framework"] not in {"", *library.frameworks}:
        form.add_error("framework", "Unknown framework.")
    if not form.is_valid():
        if request.htmx:
            return render(
                request,
                "guides/causes/_feedback.html",
                {"cause": library.causes[cause_id], "feedback_form": form},
                status=422,
            )
        # Iterating an ErrorList gives each error's message as a str.
        message = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items())
        return error_page(request, 400, "That feedback could not be saved", message)
    Feedback.objects.create(
        cause_id=cause_id,
        framework_id=form.cleaned_data["framework"],
        solved=form.cleaned_data["solved"],
        comment=form.cleaned_data["comment"],
    )
    if request.htmx:
        context = {"cause": library.causes[cause_id], "thanked": True}
        if not form.cleaned_data["solved"]:
            context.update(_next_steps(library, cause_id, form.cleaned_data["framework"],
                                       _checked_walk(form.cleaned_data["walk"])))
        return render(request, "guides/causes/_feedback.html", context)
    messages.success(request, "Thank you: your answer was recorded.")
    url = reverse("cause-detail", args=[cause_id])
    framework_id = form.cleaned_data["framework"]
    return redirect(f"{url}?framework={framework_id}#feedback" if framework_id else f"{url}#feedback")


@require_GET
def framework_list(request: HtmxHttpRequest) -> HttpResponse:
    library = get_library()
    return render(request, "guides/frameworks/list.html", {"library": library})


@require_GET
def framework_detail(request: HtmxHttpRequest, framework_id: str) -> HttpResponse:
    library = get_library()
    framework = library.frameworks.get(framework_id)
    if framework is None:
        return error_page(
            request, 404, "No such framework", f"There is no guide for '{framework_id}'."
        )
    pairs = library.pairs_for_framework(framework_id)
    with_code = {pair.cause_id for pair in pairs}
    return render(
        request,
        "guides/frameworks/detail.html",
        {
            "framework": framework,
            "library": library,
            "entries": [(library.causes[pair.cause_id], pair) for pair in pairs],
            "infra_only": [c for c in library.causes.values() if c.id not in with_code],
        },
    )


@require_GET
def platforms(request: HtmxHttpRequest) -> HttpResponse:
    library = get_library()
    return render(request, "guides/platforms.html", {"library": library})


@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    answer = search_index.index_for(get_library()).answer(request.GET.get("q", ""))
    context = {"query": answer.query, "answer": answer, "hits": answer.hits}
    return partial_or_page(request, "guides/search/page.html", "guides/search/_results.html", context, target="results")


def _checked_walk(query: str) -> str:
    """A walk's query string if it is one this tree produces, else nothing."""
    if not query:
        return ""
    try:
        walk(get_library().tree, parse_qs(query[:1000]))
    except BadWalk:
        return ""
    return query[:1000]


def _next_steps(library: Library, cause_id: str, framework: str, walk_query: str) -> dict[str, Any]:
    """After "No, not yet": the walk's other likely causes (or this cause's look-alikes),
    the experiment that would tell them apart, and search."""
    leaf = walk(library.tree, parse_qs(walk_query)).leaf if walk_query else None
    candidates = [item.cause_id for item in leaf.causes] if leaf else list(library.causes[cause_id].related)
    others = [library.causes[other] for other in candidates if other != cause_id and other in library.causes][:3]
    return {
        "next_causes": others,
        "next_query": "?" + urlencode({**({"framework": framework} if framework else {}),
                                       **({"walk": walk_query} if walk_query else {})}),
        "from_walk": bool(leaf),
        "next_measure_url": measure_link(framework, walk_query, [cause.id for cause in others] or [cause_id]),
        "answers_url": reverse("troubleshoot") + f"?{walk_query}" if walk_query else "",
    }


def measure_link(framework: str, walk_query: str, cause_ids: list[str]) -> str:
    """The troubleshooter's "measure it" link: the experiment form, prefilled from a walk's
    answers, with the kind of experiment that best shows the likeliest cause."""
    params = {"kind": kind_for_causes(cause_ids), "walk": walk_query}
    if framework:
        params["framework"] = framework
    return reverse("run-new") + "?" + urlencode(params)
