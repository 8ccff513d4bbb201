"""Prometheus remote-write from Python, checked against the real vmagent and
VictoriaMetrics: what we write must come back through the query API unchanged."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stsdebug.errors import SourceError, UsageError
from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerProcess, free_port
from stsdebug.sources import remote_write as rw


def _read_back(vm_url: str, selector: str, at: float, *, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Poll the query API until the selector returns something (vmagent flushes each second)."""
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(f"{vm_url}/api/v1/query", params={"query": selector, "time": at},
                         timeout=5, trust_env=False).json()
        if body["data"]["result"] or time.monotonic() > deadline:
            return list(body["data"]["result"])
        time.sleep(0.2)


def test_known_encoding_of_one_sample() -> None:
    # WriteRequest{timeseries:[{labels:[{__name__,"up"}], samples:[{1.0, 1000}]}]}, by hand:
    # 0a LEN ( 0a LEN(0a 08 "__name__" 12 02 "up") 12 LEN(09 <double 1.0> 10 e8 07) )
    raw = rw.encode_write_request([rw.Series({"__name__": "up"}, [(1000, 1.0)])])
    label = b"\x0a\x08__name__\x12\x02up"
    sample = b"\x09" + bytes.fromhex("000000000000f03f") + b"\x10\xe8\x07"
    series = b"\x0a" + bytes([len(label)]) + label + b"\x12" + bytes([len(sample)]) + sample
    assert raw == b"\x0a" + bytes([len(series)]) + series


def test_labels_are_sorted_by_name_on_the_wire() -> None:
    raw = rw.encode_write_request([rw.series("m", {"zone": "a", "app": "b"}, samples=[(1, 2)])])
    assert raw.index(b"__name__") < raw.index(b"app") < raw.index(b"zone")


label_names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(lambda s: s != "__name__")


@given(
    name=st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True),
    labels=st.dictionaries(label_names, st.text(max_size=30), max_size=6),
    samples=st.lists(st.tuples(st.integers(-(2**62), 2**62), st.floats(allow_nan=False)),
                     min_size=1, max_size=5),
)
def test_encode_decode_round_trip(name: str, labels: dict[str, str],
                                  samples: list[tuple[int, float]]) -> None:
    ts = rw.Series({"__name__": name, **labels}, samples)
    (back,) = rw.decode(rw.encode([ts]))
    assert dict(back.labels) == dict(ts.labels)
    assert list(back.samples) == samples


def test_nan_staleness_marker_survives_round_trip() -> None:
    (back,) = rw.decode(rw.encode([rw.Series({"__name__": "m"}, [(5, math.nan)])]))
    assert math.isnan(back.samples[0][1])


@pytest.mark.parametrize(("labels", "samples", "wanted"), [
    ({"__name__": "1bad"}, [(1, 1.0)], "not a valid Prometheus metric name"),
    ({"__name__": "ok", "bad-label": "x"}, [(1, 1.0)], "not a valid Prometheus label name"),
    ({"job": "x"}, [(1, 1.0)], "needs a metric name"),
    ({"__name__": "ok"}, [], "has no samples"),
    ({"__name__": "ok"}, [(1, "1")], "not a number"),
    ({"__name__": "ok"}, [(1.5, 1.0)], "not int64 milliseconds"),
])
def test_invalid_series_are_refused_before_sending(labels: dict[str, str], samples: list[Any],
                                                  wanted: str) -> None:
    with pytest.raises(UsageError, match=wanted):
        rw.encode([rw.Series(labels, samples)])


@pytest.mark.parametrize("body", [b"", b"not snappy", b"\xff\xff\xff\xff"])
def test_garbage_bodies_fail_to_decode_with_one_sentence(body: bytes) -> None:
    with pytest.raises(SourceError) as err:
        rw.decode(rw.compress(body) if body == b"not snappy" else body)
    assert err.value.cause == "malformed"


def test_write_through_vmagent_reads_back_from_victoria_metrics(
        vmagent: ServerProcess, vm_url: str, metric_name: str) -> None:
    now = time.time()
    sent = [rw.series(metric_name, {"cluster_name": "prod-eu", "pod_name": f"web-{i}"},
                      samples=[(now - 60, i), (now, i + 0.5)]) for i in range(3)]
    with rw.RemoteWriter(rw.RemoteWriteConfig(timeseries.write_url(vmagent))) as writer:
        resp = writer.send(sent)
    assert resp.status == 204
    assert (writer.requests_sent, writer.samples_sent) == (1, 6)
    result = _read_back(vm_url, metric_name, now + 1)
    got = {r["metric"]["pod_name"]: (r["metric"]["cluster_name"], float(r["value"][1])) for r in result}
    assert got == {"web-0": ("prod-eu", 0.5), "web-1": ("prod-eu", 1.5), "web-2": ("prod-eu", 2.5)}
    # The raw samples keep the timestamps we wrote, to the millisecond.
    export = httpx.get(f"{vm_url}/api/v1/export", params={"match[]": metric_name},
                       timeout=5, trust_env=False).text.splitlines()
    stamps = {tuple(json.loads(line)["timestamps"]) for line in export}
    assert stamps == {(round((now - 60) * 1000), round(now * 1000))}


def test_write_directly_to_victoria_metrics(victoria_metrics: ServerProcess, vm_url: str,
                                            metric_name: str) -> None:
    now = time.time()
    with rw.RemoteWriter(rw.RemoteWriteConfig(timeseries.write_url(victoria_metrics))) as writer:
        writer.send([rw.series(metric_name, {"k": 'quote"and\\slash'}, samples=[(now, 42)])])
    (row,) = _read_back(vm_url, metric_name, now + 1)
    assert row["metric"]["k"] == 'quote"and\\slash'
    assert row["value"][1] == "42"


def test_refused_write_names_the_status(vm_url: str) -> None:
    writer = rw.RemoteWriter(rw.RemoteWriteConfig(f"{vm_url}/api/v1/not-a-write-path"))
    with pytest.raises(SourceError) as err:
        writer.send([rw.series("m", samples=[(time.time(), 1)])])
    assert err.value.cause == "http" and "400" in str(err.value)
    assert writer.requests_sent == 1 and writer.samples_sent == 0


def test_nothing_listening_is_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1/write"
    with rw.RemoteWriter(rw.RemoteWriteConfig(url, timeout=2)) as writer, \
            pytest.raises(SourceError) as err:
        writer.send([rw.series("m", samples=[(time.time(), 1)])])
    assert err.value.cause == "refused"


def test_api_key_header_reaches_the_server_but_no_message() -> None:
    # The receiver's remote-write intake takes its key in `sts-api-key`; a key must never
    # appear in an error sentence.
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:  # no receiver can run here
        seen.update(request.headers)
        # A stream, as a real transport answers (HttpSource reads the raw stream, bounded).
        return httpx.Response(403, stream=httpx.ByteStream(b"Forbidden"))

    from stsdebug.sources.http import HttpSource

    http = HttpSource(timeout=2)
    http._client = httpx.Client(transport=httpx.MockTransport(handler))
    cfg = rw.RemoteWriteConfig("https://sts.example/receiver/prometheus/api/v1/write",
                               headers={"sts-api-key": "s3cr3t-key"})
    with pytest.raises(SourceError) as err:
        rw.RemoteWriter(cfg, http=http).send([rw.series("m", samples=[(1.0, 1)])])
    assert seen["sts-api-key"] == "s3cr3t-key"
    assert seen["content-encoding"] == "snappy"
    assert seen["content-type"] == "application/x-protobuf"
    assert err.value.cause == "auth" and "s3cr3t" not in str(err.value)
