"""sources.inflate: HTTP bodies decoded within a limit, whatever the server says they hold."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from stsdebug.sources.inflate import BodyTooLarge, InflateError, Inflater
from tests.hostile import bomb_body


def decode(encoding: str | None, body: bytes, limit: int = 1 << 20, chunk: int = 4096) -> bytes:
    inflater = Inflater(encoding, limit)
    return b"".join(inflater.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))


DATA = b'{"messages": [' + b'{"offset": 1}, ' * 2000 + b"{}]}"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (None, DATA),
        ("identity", DATA),
        ("gzip", gzip.compress(DATA)),
        ("x-gzip", gzip.compress(DATA)),
        ("GZIP", gzip.compress(DATA)),
        ("deflate", zlib.compress(DATA)),  # zlib-wrapped, as RFC 9110 says
        ("deflate", zlib.compress(DATA)[2:-4]),  # raw deflate, as some servers send it
        ("gzip, gzip", gzip.compress(gzip.compress(DATA))),
        ("deflate, gzip", gzip.compress(zlib.compress(DATA))),
    ],
)
def test_real_encodings_decode_whole(encoding: str | None, body: bytes) -> None:
    assert decode(encoding, body) == DATA


def test_a_body_exactly_at_the_limit_passes_and_one_byte_more_does_not() -> None:
    assert decode("gzip", gzip.compress(DATA), limit=len(DATA)) == DATA
    with pytest.raises(BodyTooLarge):
        decode("gzip", gzip.compress(DATA), limit=len(DATA) - 1)
    with pytest.raises(BodyTooLarge):
        decode(None, DATA, limit=len(DATA) - 1)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_bomb_stops_at_the_limit_in_bounded_memory(layers: int) -> None:
    body = bomb_body(4 << 30, layers)  # 4 GB of zeros, a few MB or KB on the wire
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            decode(", ".join(["gzip"] * layers), body, limit=16 << 20, chunk=1 << 16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"peak {peak >> 20} MB while decoding"


@pytest.mark.parametrize(
    ("encoding", "body", "says"),
    [
        ("br", b"\x1b", "'br' is not one stsdebug decodes"),
        ("gzip, zstd", b"x", "'zstd' is not one stsdebug decodes"),
        ("gzip", b"\x1f\x8b\x08\x00garbage-that-is-not-deflate", "gzip data is corrupt"),
        ("deflate", b"\xff\xfe\xfd not deflate at all", "deflate data is corrupt"),
    ],
)
def test_unknown_or_corrupt_encodings_are_one_sentence(encoding: str, body: bytes, says: str) -> None:
    with pytest.raises(InflateError, match=says):
        decode(encoding, body)


def test_data_after_the_end_of_a_gzip_stream_is_ignored() -> None:
    assert decode("gzip", gzip.compress(DATA) + gzip.compress(b"second member")) == DATA
