import gzip
import zlib
from dataclasses import replace

import pytest

from tests.probe.servers import FAST, all_at_once, probe_handler, raw_body
from troubleshooter.probe.compression import PIECE_BYTES, DecodeFailed, Decompressor


def decode_all(decompressor: Decompressor, *chunks: bytes) -> bytes:
    return b"".join(piece for chunk in chunks for piece in decompressor.feed(chunk)) + b"".join(decompressor.finish())


def test_several_gzip_members_are_all_decoded_and_counted():
    body = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(b"third")
    decompressor = Decompressor("gzip")
    assert decode_all(decompressor, body[:7], body[7:30], body[30:]) == b"first second third"
    facts = decompressor.facts()
    assert (facts["gzip_members"], facts["first_gzip_member_bytes"]) == (3, 6)
    assert "httpx" in facts["clients_that_stop_after_the_first_member"]


def test_a_gzip_body_cut_inside_a_member_keeps_what_it_had_and_says_so():
    body = gzip.compress(b"a" * 1000 + bytes(range(256)) * 20)
    decompressor = Decompressor("gzip")
    assert decode_all(decompressor, body[: len(body) // 2])
    assert decompressor.facts()["gzip_truncated"]


def test_output_comes_in_bounded_pieces_so_a_bomb_cannot_blow_memory():
    bomb = gzip.compress(b"\0" * (8 * PIECE_BYTES))
    pieces = Decompressor("gzip").feed(bomb)
    assert len(pieces) == 8
    assert max(len(piece) for piece in pieces) <= PIECE_BYTES


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_is_accepted_with_or_without_the_zlib_wrapper(wbits):
    compressor = zlib.compressobj(wbits=wbits)
    body = compressor.compress(b"hello deflate") + compressor.flush()
    assert decode_all(Decompressor("deflate"), body[:3], body[3:]) == b"hello deflate"


def test_layered_encodings_are_undone_in_reverse_order():
    compressor = zlib.compressobj()
    body = gzip.compress(compressor.compress(b"twice") + compressor.flush())
    assert decode_all(Decompressor("deflate, gzip"), body) == b"twice"


def test_invalid_gzip_raises_a_decode_failure():
    with pytest.raises(DecodeFailed):
        Decompressor("gzip").feed(b"this is not gzip at all")


def test_an_encoding_we_cannot_undo_is_reported_not_guessed():
    decompressor = Decompressor("compress")
    assert decompressor.feed(b"\x1f\x9d...") == []
    assert decompressor.facts()["undecoded_encoding"] == "compress"


def test_brotli_without_the_brotli_package_is_timed_and_reported():
    from troubleshooter.probe import compression

    if compression.brotli is not None:
        pytest.skip("brotli is installed here")
    handler = raw_body("text/event-stream", [b"\x0b\x02\x80", b"\x03"], headers=[("Content-Encoding", "br")])
    record = probe_handler(handler).record
    assert record.facts["undecoded_encoding"] == "br"
    assert "brotli" in record.facts["undecoded_because"]
    assert len(record.reads) == 2 and record.events == []


def test_a_gzip_bomb_stops_at_the_byte_limit():
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024))
    limits = replace(FAST, max_bytes=2 * 1024 * 1024)
    record = probe_handler(all_at_once(bomb, 0.0, [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]), limits).record
    assert (record.ending.kind, record.ending.limit) == ("limit", "bytes")
    assert record.facts["decoded_bytes"] <= 2 * 1024 * 1024 + PIECE_BYTES


def test_a_body_that_is_not_the_gzip_it_claims_is_still_timed():
    record = probe_handler(all_at_once(b"plain text, not gzip", 0.0, [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")])).record
    assert "decode_error" in record.facts
    assert record.ending.kind == "clean-close"
    assert record.reads
