"""The probe engine as one file that runs anywhere Python 3.11 does, without this app.

People run it next to an endpoint this server cannot reach (inside the cluster, on the
VPN) and import its `--json` output; it is the same engine and writes the same record,
whose version the import checks. Its only dependencies are the engine's own: httpx,
orjson and websockets (brotli if present).

    pip install httpx orjson websockets
    python troubleshooter-probe.pyz https://your-app.example/chat/stream --json > record.json
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the troubleshooter package
# The modules the probe command needs: the engine, the cause vocabulary, and the
# environment reader for the outbound policy; the package's own __init__ is empty.
MODULES = ("__init__.py", "vocabulary.py", "environment.py", "__main__.py")
DEPENDENCIES = "httpx orjson websockets"
MAIN = '''"""Standalone streaming probe: the troubleshooter's engine without the web app.
Needs: pip install {dependencies}"""
import sys

from troubleshooter.__main__ import main

main([sys.argv[0], "probe", *sys.argv[1:]])
'''


def build(out: Path | None = None) -> bytes:
    """The zip application's bytes (written to `out` too, when given)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__main__.py", MAIN.format(dependencies=DEPENDENCIES))
        for name in MODULES:
            archive.write(PACKAGE / name, f"troubleshooter/{name}")
        for path in sorted((PACKAGE / "probe").glob("*.py")):
            archive.write(path, f"troubleshooter/probe/{path.name}")
    data = b"#!/usr/bin/env python3\n" + buffer.getvalue()
    if out is not None:
        out.write_bytes(data)
        out.chmod(0o755)
    return data
