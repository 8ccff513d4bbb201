"""Prometheus remote-write, the way StackState 6's receiver writes metrics to vmagent.

The receiver runs with ``RECEIVER_WRITE_PROMETHEUS=true`` and
``PROMETHEUS_WRITE_ENDPOINT=http://<vmagent>:8429/api/v1/write`` (StackVista/helm-charts,
``stable/suse-observability/templates/receiver/deployment-receiver.yaml``). A request is
one protobuf ``WriteRequest`` compressed with snappy's block format, sent with
``Content-Encoding: snappy`` and ``Content-Type: application/x-protobuf``
(Prometheus remote-write 1.0 specification). The schema needed is small, so it is
encoded by hand here:

    message WriteRequest { repeated TimeSeries timeseries = 1; }
    message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    message Label        { string name = 1; string value = 2; }
    message Sample       { double value = 1; int64 timestamp = 2; }   // epoch ms

``encode_write_request``/``decode_write_request`` are pure; ``RemoteWriter.send`` is the
only I/O (one POST through ``HttpSource``: its timeout, body cap and error sentences).
The sandbox receiver and the StackState 6 probe write through it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import cramjam

from stsdebug.errors import SourceError, UsageError
from stsdebug.sources.http import HttpResponse, HttpSource

SYSTEM = "remote-write endpoint"
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "stsdebug-remote-write",
}
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

_WIRE_VARINT = 0
_WIRE_FIXED64 = 1
_WIRE_LEN = 2


class RemoteWriteError(SourceError):
    """A remote-write request could not be built, sent or decoded."""


@dataclass(frozen=True)
class Series:
    """One time series to write: its labels (``__name__`` included) and its samples.

    ``samples`` are ``(timestamp_ms, value)`` pairs.
    """

    labels: Mapping[str, str]
    samples: Sequence[tuple[int, float]]

    @property
    def name(self) -> str:
        return self.labels.get("__name__", "")


def series(name: str, labels: Mapping[str, str] | None = None, *,
           samples: Iterable[tuple[float, float]]) -> Series:
    """A Series from a metric name, its other labels and ``(epoch seconds, value)`` samples."""
    all_labels = {"__name__": name, **(labels or {})}
    return Series(all_labels, [(int(round(ts * 1000)), float(v)) for ts, v in samples])


# --- encoding -----------------------------------------------------------------------


def encode_write_request(timeseries: Iterable[Series]) -> bytes:
    """The uncompressed protobuf WriteRequest. Labels are written sorted by name, as
    the specification requires; invalid names, empty series and values that are not
    numbers are a UsageError (a real receiver would refuse the whole request)."""
    out = bytearray()
    for ts in timeseries:
        _check(ts)
        body = bytearray()
        for name, text in sorted(ts.labels.items()):
            label = _len_field(1, name.encode()) + _len_field(2, text.encode())
            body += _len_field(1, label)
        for ts_ms, value in ts.samples:
            sample = bytearray([(1 << 3) | _WIRE_FIXED64]) + struct.pack("<d", float(value))
            sample += bytes([(2 << 3) | _WIRE_VARINT]) + _varint(int(ts_ms))
            body += _len_field(2, bytes(sample))
        out += _len_field(1, bytes(body))
    return bytes(out)


def compress(raw: bytes) -> bytes:
    """Snappy block format (not the framed format), as remote-write expects."""
    return bytes(cramjam.snappy.compress_raw(raw))


def decompress(data: bytes) -> bytes:
    try:
        return bytes(cramjam.snappy.decompress_raw(data))
    except Exception as exc:  # cramjam raises its own DecompressionError
        raise RemoteWriteError(f"The body is not snappy block-compressed data ({exc}).",
                               system=SYSTEM, cause="malformed") from None


def encode(timeseries: Iterable[Series]) -> bytes:
    """The request body as sent on the wire: snappy(protobuf WriteRequest)."""
    return compress(encode_write_request(timeseries))


def decode_write_request(raw: bytes) -> list[Series]:
    """Parse an uncompressed WriteRequest (fields this module does not know are skipped)."""
    result: list[Series] = []
    for number, wire, value in _fields(raw):
        if number == 1 and wire == _WIRE_LEN:
            assert isinstance(value, bytes)
            result.append(_decode_series(value))
    return result


def decode(body: bytes) -> list[Series]:
    """Parse a request body as received: snappy-compressed WriteRequest."""
    return decode_write_request(decompress(body))


# --- sending ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteWriteConfig:
    """Where and how to send. ``url`` is the full write URL, e.g.
    ``http://suse-observability-vmagent:8429/api/v1/write`` or a receiver's
    ``https://<host>/receiver/prometheus/api/v1/write``."""

    url: str
    timeout: float = 10.0
    verify: bool | str = True
    # Extra headers, e.g. {"sts-api-key": KEY}: the receiver's remote-write intake takes
    # its API key this way (StackVista/stackstate-docs use/metrics/k8s-prometheus-remote-write.md).
    headers: Mapping[str, str] = field(default_factory=dict)
    system: str = SYSTEM


class RemoteWriter:
    """Send WriteRequests to one endpoint. Counts what it sent, for evidence."""

    def __init__(self, config: RemoteWriteConfig, *, http: HttpSource | None = None) -> None:
        self.config = config
        self._http = http or HttpSource(timeout=config.timeout, verify=config.verify,
                                        system=config.system)
        self._own_http = http is None
        self.requests_sent = 0
        self.samples_sent = 0

    def send(self, timeseries: Sequence[Series]) -> HttpResponse:
        """POST one request; a 2xx answer is returned, anything else raises SourceError.

        vmagent and VictoriaMetrics answer 204 No Content once the samples are queued;
        that says nothing about whether they reach storage (retention, buffering).
        """
        body = encode(timeseries)
        headers = {**HEADERS, **dict(self.config.headers)}
        self.requests_sent += 1
        resp = self._http.request("POST", self.config.url, headers=headers, content=body,
                                  system=self.config.system)
        self.samples_sent += sum(len(ts.samples) for ts in timeseries)
        return resp

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> RemoteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- protobuf wire format -------------------------------------------------------------


def _check(ts: Series) -> None:
    name = ts.labels.get("__name__")
    if not name:
        raise UsageError("A remote-write series needs a metric name (label __name__).")
    if not METRIC_NAME.match(name):
        raise UsageError(f"{name!r} is not a valid Prometheus metric name.")
    for label in ts.labels:
        if label != "__name__" and not LABEL_NAME.match(label):
            raise UsageError(f"{label!r} is not a valid Prometheus label name.")
    if not ts.samples:
        raise UsageError(f"The series {name} has no samples to write.")
    for ts_ms, value in ts.samples:
        # NaN is allowed: Prometheus writes it as a staleness marker.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"The series {name} has a sample value that is not a number.")
        if isinstance(ts_ms, bool) or not isinstance(ts_ms, int) or abs(ts_ms) >= 1 << 63:
            raise UsageError(f"The series {name} has a timestamp that is not int64 milliseconds.")


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 two's complement, always ten bytes
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return bytes([(number << 3) | _WIRE_LEN]) + _varint(len(payload)) + payload


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise RemoteWriteError("The WriteRequest ends inside a number.", system=SYSTEM,
                                   cause="malformed")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterable[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _WIRE_VARINT:
            value, pos = _read_varint(buf, pos)
            yield number, wire, value
        elif wire == _WIRE_FIXED64:
            if pos + 8 > len(buf):
                raise RemoteWriteError("The WriteRequest ends inside a sample value.",
                                       system=SYSTEM, cause="malformed")
            yield number, wire, buf[pos:pos + 8]
            pos += 8
        elif wire == _WIRE_LEN:
            size, pos = _read_varint(buf, pos)
            if pos + size > len(buf):
                raise RemoteWriteError("The WriteRequest ends inside a field.", system=SYSTEM,
                                       cause="malformed")
            yield number, wire, buf[pos:pos + size]
            pos += size
        elif wire == 5:  # fixed32: not used by remote-write, skipped
            pos += 4
        else:
            raise RemoteWriteError(f"The WriteRequest has an unknown wire type {wire}.",
                                   system=SYSTEM, cause="malformed")


def _decode_series(buf: bytes) -> Series:
    labels: dict[str, str] = {}
    samples: list[tuple[int, float]] = []
    for number, wire, value in _fields(buf):
        if wire != _WIRE_LEN:
            continue
        assert isinstance(value, bytes)
        if number == 1:
            name = text = ""
            for n, w, v in _fields(value):
                if w == _WIRE_LEN and isinstance(v, bytes):
                    if n == 1:
                        name = v.decode("utf-8", "replace")
                    elif n == 2:
                        text = v.decode("utf-8", "replace")
            labels[name] = text
        elif number == 2:
            ts_ms, val = 0, 0.0
            for n, w, v in _fields(value):
                if n == 1 and w == _WIRE_FIXED64 and isinstance(v, bytes):
                    val = struct.unpack("<d", v)[0]
                elif n == 2 and w == _WIRE_VARINT and isinstance(v, int):
                    ts_ms = v - (1 << 64) if v >= 1 << 63 else v
            samples.append((ts_ms, val))
    return Series(labels, samples)
