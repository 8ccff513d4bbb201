"""Decoding an HTTP body's Content-Encoding without trusting the server about its size.

httpx inflates each network chunk in one call, with no bound: 64 KB of gzip can become
64 MB, and ``Content-Encoding: gzip, gzip`` a few kilobytes that inflate to gigabytes in
one step. ``Inflater`` decodes gzip and deflate (each layer of a chain) with zlib's
``max_length``, so no layer ever produces more than ``limit`` bytes in all, and says
``BodyTooLarge`` the moment one would. Other codings (br, zstd, compress) are refused:
stsdebug only asks for gzip and deflate.
"""

from __future__ import annotations

import zlib

ACCEPT_ENCODING = "gzip, deflate"
_GZIP = ("gzip", "x-gzip")


class InflateError(ValueError):
    """The body cannot be decoded (unknown coding, corrupt data); the message says which."""


class BodyTooLarge(InflateError):
    """Decoding would produce more than the limit."""


class Inflater:
    """Feed raw body bytes, get decoded bytes; at most ``limit`` decoded bytes in all."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        for c in codings:
            if c not in (*_GZIP, "deflate"):
                raise InflateError(f"Content-Encoding {c!r} is not one stsdebug decodes")
        # Listed in the order they were applied: undo them last first.
        self._layers = [_Layer(c, limit) for c in reversed(codings)]
        self.limit = limit
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        for layer in self._layers:
            data = layer.feed(data)
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLarge(f"more than {self.limit} bytes")
        return data


class _Layer:
    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self.produced = 0
        self.started = False
        self._d = zlib.decompressobj(31 if coding in _GZIP else 15)

    def feed(self, data: bytes) -> bytes:
        if not data or self._d.eof:
            return b""  # after the end of the stream (a second gzip member): ignored, as httpx does
        try:
            out = self._d.decompress(data, self.limit - self.produced + 1)
        except zlib.error as exc:
            if self.coding == "deflate" and not self.started:
                # Some servers send raw deflate without the zlib header (httpx accepts both).
                self._d = zlib.decompressobj(-15)
                self.started = True
                return self.feed(data)
            raise InflateError(f"{self.coding} data is corrupt ({exc})") from None
        self.started = True
        self.produced += len(out)
        if self._d.unconsumed_tail or self.produced > self.limit:
            raise BodyTooLarge(f"more than {self.limit} bytes")
        return out
