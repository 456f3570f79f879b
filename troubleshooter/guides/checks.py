"""`manage.py check` validates the guides, so a broken guide fails before it is deployed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from troubleshooter.guides.content import load_library


@register("guides")
def check_guides(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Loaded fresh rather than from the cache: a check must see the files as they are now.
    _library, problems = load_library(settings.GUIDES_DIR)
    return [
        Error(f"{problem.path}: {problem.field + ': ' if problem.field else ''}{problem.message}",
              id="guides.E001")
        for problem in problems
    ]
