"""The sample proofs that `manage.py provesamples` wrote to guides/proofs.json, for the pages.

Each cause page shows, next to its code pairs, whether each pair was proven (with what the
probe measured and the library versions it ran on) or why it cannot be reproduced locally. A
proof whose samples changed since it was measured is shown as out of date, not as proven.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

PROOFS_FILE = "proofs.json"


@dataclass(frozen=True)
class Proof:
    cause: str
    framework: str
    status: str  # proven | failed | not-reproducible
    broken: str
    fixed: str
    seconds: float
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
    current: bool = True  # the samples are the ones that were measured

    @property
    def shown_status(self) -> str:
        return self.status if self.current else "out-of-date"

    def side_figures(self, side: str) -> dict[str, Any]:
        """The first behaviour's figures for one side: first byte, chunks and the like."""
        first: dict[str, Any] = next(iter(self.figures.values()), {})
        figures: dict[str, Any] = first.get(side) or {}
        return figures

    @property
    def broken_figures(self) -> dict[str, Any]:
        return self.side_figures("broken")

    @property
    def fixed_figures(self) -> dict[str, Any]:
        return self.side_figures("fixed")


@dataclass(frozen=True)
class Proofs:
    versions: dict[str, str]
    total_seconds: float | None
    by_cause: dict[str, list[Proof]]

    def for_cause(self, cause_id: str) -> list[Proof]:
        return self.by_cause.get(cause_id, [])


EMPTY = Proofs({}, None, {})


SAMPLE_FILES = ("broken.py", "fixed.py")
# Infrastructure pairs proven with a real server: cause id -> their broken and fixed files.
INFRA_FILES = {
    "proxy-buffering": ("nginx-broken.conf", "nginx.conf"),
    "compression-buffering": ("nginx-broken.conf", "nginx.conf"),
}


def files_of(cause: str, framework: str) -> tuple[str, str]:
    return INFRA_FILES[cause] if framework == "infra" else SAMPLE_FILES


def sample_fingerprint(folder: Path, files: tuple[str, ...] = SAMPLE_FILES) -> str:
    """The same digest the runner records: the broken file, then the fixed one."""
    digest = hashlib.sha256()
    for name in files:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


def is_current(guides: Path, entry: dict[str, Any]) -> bool:
    folder = guides / "code" / entry["cause"] / entry["framework"]
    try:
        files = files_of(entry["cause"], entry["framework"])
        return bool(entry.get("fingerprint")) and sample_fingerprint(folder, files) == entry["fingerprint"]
    except (OSError, KeyError):
        return False


def parse(guides: Path, document: dict[str, Any]) -> Proofs:
    by_cause: dict[str, list[Proof]] = {}
    for entry in document.get("results", []):
        proof = Proof(
            cause=entry["cause"], framework=entry["framework"], status=entry["status"],
            broken=entry.get("broken", ""), fixed=entry.get("fixed", ""), seconds=entry.get("seconds", 0.0),
            reason=entry.get("reason", ""), figures=entry.get("figures") or {},
            # A cause that cannot be shown locally has nothing measured to go out of date.
            current=entry["status"] == "not-reproducible" or is_current(guides, entry),
        )
        by_cause.setdefault(proof.cause, []).append(proof)
    return Proofs(document.get("proven_on", {}), document.get("total_seconds"), by_cause)


_lock = threading.Lock()
_cached: tuple[tuple[str, int], Proofs] | None = None


def load_proofs(guides: Path | None = None) -> Proofs:
    """Read once per version of the file: the runner may rewrite it while the app runs."""
    global _cached
    guides = Path(guides or settings.GUIDES_DIR)
    path = guides / PROOFS_FILE
    try:
        signature = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return EMPTY
    with _lock:
        if _cached is None or _cached[0] != signature:
            try:
                _cached = (signature, parse(guides, json.loads(path.read_text())))
            except (OSError, ValueError, KeyError, TypeError):
                return EMPTY  # a damaged file shows no proofs rather than breaking the page
        return _cached[1]
