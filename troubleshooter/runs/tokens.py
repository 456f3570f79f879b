"""Per-user API tokens: made, checked and revoked.

A token is `<key_id>.<secret>`. The secret has 256 bits from the operating system's random
source, so one round of SHA-256 is enough to store it (a slow password hash protects
guessable secrets; this one cannot be guessed). The row is found by the key id, which is
not secret, and the hash compared with hmac.compare_digest so that the time a check takes
says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import ApiToken

# Enough for every script and CI job a person runs; a cap keeps a stolen session from
# filling the table.
MAX_TOKENS_PER_PERSON = 20
# Writing last_used on every call would make each API read a write; once a minute is enough
# to tell a token in use from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(user: Any, name: str = "") -> str:
    """A new token for the user: returned once, stored only as a hash."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    ApiToken.objects.create(key_id=key_id, digest=_digest(secret), user=user, name=name[:100])
    return f"{key_id}.{secret}"


def issue_within_cap(user: Any, name: str = "") -> str | None:
    """A new token for the user, or None when they already hold MAX_TOKENS_PER_PERSON.

    The user's row is locked while their tokens are counted and the new one written: two
    posts that both counted one token short of the cap would otherwise both write one, with
    several workers on PostgreSQL. (SQLite ignores select_for_update; the settings begin its
    transactions IMMEDIATE, which takes the one write lock before the count.)
    """
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_PERSON:
            return None
        return issue(user, name)


def user_for(token: str) -> Any | None:
    """The active user a token belongs to, or None for anything else."""
    key_id, _, secret = token.strip().partition(".")
    if not key_id or not secret:
        return None
    found = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
    # A missing row still costs one comparison, so a wrong key id takes as long as a wrong secret.
    expected = found.digest if found is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or found is None or not found.user.is_active:
        return None
    now = timezone.now()
    if found.last_used is None or now - found.last_used > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=found.pk).update(last_used=now)
    return found.user


def revoke(user: Any, key_id: str) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, key_id=key_id).delete()
    return deleted > 0
