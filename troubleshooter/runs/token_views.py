"""A signed-in person's own API tokens: make one (shown once), see them, revoke one."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import tokens
from .forms import TokenForm
from .models import ApiToken
from .tokens import MAX_TOKENS_PER_PERSON


def _page(request: HttpRequest, form: TokenForm, new_token: str = "", status: int = 200) -> HttpResponse:
    person: Any = request.user  # signed in: the views below send everyone else to sign in
    listed = list(ApiToken.objects.filter(user=person).order_by("-created"))
    context = {
        "form": form,
        "listed": listed,
        "new_token": new_token,
        "at_limit": len(listed) >= MAX_TOKENS_PER_PERSON,
        "limit": MAX_TOKENS_PER_PERSON,
    }
    return render(request, "runs/tokens.html", context, status=status)


@never_cache  # the one response that carries a new token must not be kept by any cache
@require_http_methods(["GET", "POST"])
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    new_token = tokens.issue_within_cap(request.user, form.cleaned_data["name"])
    if new_token is None:
        return _page(request, form, status=400)  # the page says why, in place of the form
    # Rendered, not redirected to: the token is shown this once and never put in a URL.
    return _page(request, TokenForm(), new_token=new_token)


@require_POST
@login_required
def revoke_api_token(request: HttpRequest, key_id: str) -> HttpResponse:
    if not tokens.revoke(request.user, key_id):
        raise Http404("No such token.")  # another person's token looks like none at all
    return redirect("api-tokens")
