"""Reading what curl saw: the output of `curl -N -sS --trace-time --trace - URL` (or
`--trace-ascii -`), with curl's own error line, into a Measured stream.

`--trace` dumps every byte in hex and is exact. `--trace-ascii` prints line breaks inside
data as dots, so the events in the body cannot be read back from it; its timings and byte
counts are still exact, and the import says which one it got.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from .replay import Measured

# "10:02:30.461141 <= Recv data, 68 bytes (0x44)"
BLOCK = re.compile(
    r"^(?P<clock>\d{2}:\d{2}:\d{2}\.\d{3,6}) (?P<what>== Info:|=> Send header|=> Send data|<= Recv header|<= Recv data"
    r"|=> Send SSL data|<= Recv SSL data)(?:, (?P<size>\d+) bytes)?(?P<rest>.*)$"
)
HEX_LINE = re.compile(r"^[0-9a-f]{4}: ((?:[0-9a-f]{2} ){1,16})")
ASCII_LINE = re.compile(r"^([0-9a-f]{4}): ?(.*)$")
CURL_ERROR = re.compile(r"^curl: \((?P<code>\d+)\) (?P<message>.*)$")
STATUS_LINE = re.compile(r"^HTTP/(?P<version>[0-9.]+) (?P<status>\d{3})")

# curl's exit codes, as endings (https://curl.se/libcurl/c/libcurl-errors.html).
CONNECT_ERRORS = {5, 6, 7, 35, 60}
ENDINGS = {
    18: "incomplete-read",  # transfer closed with outstanding read data remaining
    56: "reset",  # failure when receiving data from the peer
    92: "reset",  # HTTP/2 stream not closed cleanly
    52: "reset",  # empty reply from server
    16: "reset",  # HTTP/2 framing layer error
}


class TraceError(ValueError):
    """The text is not a curl trace this reader can use; the message says why."""


@dataclass
class _Block:
    seconds: float
    what: str
    rest: str
    size: int | None
    lines: list[str] = field(default_factory=list)


def _seconds(clock: str) -> float:
    hours, minutes, rest = clock.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes), seconds=float(rest)).total_seconds()


def _blocks(text: str) -> tuple[list[_Block], list[tuple[int, str]]]:
    blocks: list[_Block] = []
    errors: list[tuple[int, str]] = []
    day = 0.0
    previous = None
    for line in text.splitlines():
        line = line.rstrip("\r")
        found = BLOCK.match(line)
        if found:
            seconds = _seconds(found["clock"]) + day
            if previous is not None and seconds < previous - 43200:  # past midnight
                day += 86400.0
                seconds += 86400.0
            previous = seconds
            size = int(found["size"]) if found["size"] else None
            blocks.append(_Block(seconds, found["what"], found["rest"].strip(), size))
            continue
        error = CURL_ERROR.match(line.strip())
        if error:
            errors.append((int(error["code"]), error["message"]))
            continue
        if blocks:
            blocks[-1].lines.append(line)
    return blocks, errors


def _payload(block: _Block, hex_dump: bool) -> bytes:
    """The bytes a block shows. Hex dumps are exact; ASCII dumps end a line at CR LF and
    show other control bytes as dots, so the line breaks are put back from the offsets."""
    if hex_dump:
        return bytes.fromhex("".join(match[1] for line in block.lines if (match := HEX_LINE.match(line))))
    pieces: list[tuple[int, str]] = []
    for line in block.lines:
        found = ASCII_LINE.match(line)
        if found:
            pieces.append((int(found[1], 16), found[2]))
    out = bytearray()
    for index, (offset, shown) in enumerate(pieces):
        out += shown.encode("latin-1", "replace")
        following = pieces[index + 1][0] if index + 1 < len(pieces) else block.size or offset + len(shown)
        out += b"\r\n"[: max(0, following - offset - len(shown))]
    return bytes(out)


def _is_hex(blocks: list[_Block]) -> bool:
    return any(HEX_LINE.match(line) for block in blocks if block.what.endswith("data") for line in block.lines)


def _dechunk(pieces: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Undo HTTP/1.1 chunked framing, keeping each read's time (curl traces the raw body)."""
    out: list[tuple[float, bytes]] = []
    pending = b""
    remaining = 0  # bytes of chunk data still to come
    trailer = 0  # CR LF after a chunk's data still to skip
    for t, raw in pieces:
        data = pending + raw
        pending = b""
        body = bytearray()
        position = 0
        while position < len(data):
            if trailer:
                skip = min(trailer, len(data) - position)
                position += skip
                trailer -= skip
                continue
            if remaining:
                take = min(remaining, len(data) - position)
                body += data[position:position + take]
                position += take
                remaining -= take
                if not remaining:
                    trailer = 2
                continue
            end = data.find(b"\r\n", position)
            if end == -1:
                pending = data[position:]
                break
            size_text = data[position:end].split(b";")[0].strip()
            position = end + 2
            try:
                remaining = int(size_text, 16)
            except ValueError:
                raise TraceError("the body's chunked framing could not be read; was the trace cut short?") from None
            if remaining == 0:
                break
        out.append((t, bytes(body)))
    return out


def read_trace(text: str) -> Measured:
    """The stream a curl trace shows. Raises TraceError with a reason a person can act on."""
    blocks, errors = _blocks(text)
    sent = next((block for block in blocks if block.what == "=> Send header"), None)
    if sent is None:
        raise TraceError(
            "This is not a curl trace: no '=> Send header' block with a time. Run curl with "
            "--trace-time and --trace - (or --trace-ascii -), as shown above."
        )
    hex_dump = _is_hex(blocks)
    start = sent.seconds
    request_lines = _payload(sent, hex_dump).decode("latin-1").split("\r\n")
    request_line = request_lines[0].split(" ")
    if len(request_line) < 2:
        raise TraceError("The trace's request line could not be read.")
    method, target = request_line[0], request_line[1]
    request_headers = [tuple(part.strip() for part in line.split(":", 1)) for line in request_lines[1:] if ":" in line]
    host = next((value for name, value in request_headers if name.lower() == "host"), "")
    tls = any("SSL connection" in block.rest or "TLS" in block.rest for block in blocks if block.what == "== Info:")
    url = target if "://" in target else f"{'https' if tls else 'http'}://{host}{target}"

    status: int | None = None
    version: str | None = None
    headers: dict[str, str] = {}
    time_to_headers: float | None = None
    raw_reads: list[tuple[float, bytes]] = []
    for block in blocks:
        if block.what == "<= Recv header":
            line = _payload(block, hex_dump).decode("latin-1").strip()
            found = STATUS_LINE.match(line)
            if found:  # a new response (after a 100 Continue or a redirect): start over
                status, version, headers, raw_reads = int(found["status"]), found["version"], {}, []
                time_to_headers = block.seconds - start
            elif ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip()] = value.strip()
        elif block.what == "<= Recv data":
            raw_reads.append((round(block.seconds - start, 6), _payload(block, hex_dump)))
    if status is None and not errors:
        raise TraceError("The trace has no response: it seems cut short before the response headers arrived.")
    if headers.get("Transfer-Encoding", "").lower() == "chunked" or any(
        name.lower() == "transfer-encoding" and "chunked" in value.lower() for name, value in headers.items()
    ):
        arrivals = _dechunk(raw_reads)
    else:
        arrivals = raw_reads
    ending_kind, reason = _ending(errors, status)
    last = blocks[-1].seconds - start if blocks else 0.0
    return Measured(
        method=method, url=url, request_headers=[(name, value) for name, value in request_headers],
        status=status, http_version=version, headers=headers, time_to_headers=time_to_headers,
        arrivals=[(t, data) for t, data in arrivals if data] if hex_dump else raw_reads,
        ending_kind=ending_kind, ending_t=round(last, 6), ending_reason=reason, body_readable=hex_dump,
    )


def _ending(errors: list[tuple[int, str]], status: int | None) -> tuple[str | None, str]:
    if not errors:
        return None, ""
    code, message = errors[-1]
    said = f"curl: ({code}) {message}"
    if code in CONNECT_ERRORS or status is None:
        return "connect-error", said
    if code == 28:  # curl's own --max-time: the measurement stopped, the stream had not
        return "limit", said
    if code == 23:  # curl could not write or decode what it got; the body itself decides
        return None, said
    return ENDINGS.get(code, "reset"), said
