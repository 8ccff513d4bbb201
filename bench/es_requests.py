"""Elasticsearch request count: the stage's requests do not grow with the number of indices.

Run:  python bench/es_requests.py [--indices 3,30,300] [--no-readme]

For each index count N it starts nothing new but writes N daily indices
``sts_multi_metrics-YYYY.MM.DD`` (one per day back from today, multi-metric layout,
aws and system metrics, a few documents each) into a fresh noida-db, then runs the
Elasticsearch stage, and the scope + Elasticsearch + streams stages together, through
a counting HTTP proxy. Each run counts requests twice, independently: at the proxy
(what crossed the wire) and with the source's transport hook (``ESSource.requests``).
Results go to bench/README.md, section "Elasticsearch". Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from stsdebug.sandbox.servers import es_url, start_noida  # noqa: E402
from stsdebug.settings import Settings  # noqa: E402
from stsdebug.sources.es import ESSource  # noqa: E402
from stsdebug.stages.base import load_stage  # noqa: E402
from stsdebug.trace import Trace  # noqa: E402
from tests.integration import es_support as sup  # noqa: E402

README = HERE / "README.md"
SECTION = "## Elasticsearch"
STREAMS = [
    "host=i-0abc,tags.region=eu-west-1,metric=values.aws.ec2.cpuutilization",
    "host=i-0abx,metric=values.aws.ec2.cpuutilization",  # empties: triggers the relaxation
]
RUNS = 5


def seed(url: str, base: str, days: int, now: float) -> None:
    docs: list[dict[str, Any]] = []
    for d in range(days):
        age = d * sup.DAY + 5
        docs += sup.multi_docs(
            base,
            now,
            [
                sup.Series(
                    "i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 3, age
                ),
                sup.Series("web-1", {"env": "prod"}, {"system.load.norm": 0.5}, 2, age),
            ],
        )
    for start in range(0, len(docs), 2000):
        sup.seed(url, docs[start : start + 2000])


def measure(url: str, base: str, stages: list[str], now: float) -> dict[str, float]:
    """Requests (hook and proxy) and median wall time (direct, without the proxy's latency)."""
    wire: list[str] = []
    forward = sup.forward_to(url)

    def counting(h: Any) -> Any:
        wire.append(f"{h.command} {h.path}")
        return forward(h)

    def run_once(target: str) -> tuple[int, float]:
        source = ESSource(target, timeout=10.0)
        settings = Settings(
            integration="aws", es=target, index_pattern=base + "*", streams=STREAMS, timeout=10.0
        )
        t0 = time.perf_counter()
        trace = Trace(
            settings, stages=[load_stage(s) for s in stages], sources={"es": source}, now=now
        ).run()
        elapsed = time.perf_counter() - t0
        es = trace.stage("elasticsearch")
        assert es is not None and es.status.value == "pass", es.summary if es else "no stage"
        source.close()
        return source.requests, elapsed

    with sup.http_server(counting) as proxy:
        proxied_hook, _ = run_once(proxy)
    direct = [run_once(url) for _ in range(RUNS)]
    hooks = {n for n, _ in direct} | {proxied_hook}
    assert hooks == {len(wire)}, (hooks, len(wire))
    return {"requests": len(wire), "ms": statistics.median(t for _, t in direct) * 1000}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--indices", default="3,30,300")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    counts = [int(x) for x in args.indices.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="stsdebug-bench-es-") as tmp:
        server = start_noida(Path(tmp) / "noida", only=("elasticsearch",))
        try:
            url = es_url(server)
            for n in counts:
                base, now = sup.unique_base(), time.time()
                t0 = time.perf_counter()
                seed(url, base, n, now)
                seeded = time.perf_counter() - t0
                es_only = measure(url, base, ["elasticsearch"], now)
                full = measure(url, base, ["scope", "elasticsearch", "streams"], now)
                rows.append((n, es_only, full, seeded))
                print(
                    f"{n:>4} indices: elasticsearch stage {es_only['requests']} requests "
                    f"({es_only['ms']:.0f} ms); scope+elasticsearch+streams({len(STREAMS)}) "
                    f"{full['requests']} requests ({full['ms']:.0f} ms); seeding {seeded:.1f} s"
                )
        finally:
            server.stop()
    if not args.no_readme:
        write_readme(rows)
    return 0


def write_readme(rows: list[tuple[int, dict[str, float], dict[str, float], float]]) -> None:
    lines = [
        f"{SECTION}",
        "",
        "Requests the Elasticsearch stage sends, by number of indices matching",
        "`sts_multi_metrics-*` (`python bench/es_requests.py`, noida-db on loopback, median of",
        f"{RUNS} runs, timed without the proxy). Counted twice, independently: at a counting",
        "HTTP proxy in front of the server and with the source's transport hook",
        "(`ESSource.requests`); the two agree.",
        "",
        "| indices | Elasticsearch stage: requests | time (ms) | scope + Elasticsearch + "
        f"streams ({len(STREAMS)} streams): requests | time (ms) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, es_only, full, _ in rows:
        lines.append(
            f"| {n} | {es_only['requests']:.0f} | {es_only['ms']:.0f} | {full['requests']:.0f} | "
            f"{full['ms']:.0f} |"
        )
    lines += [
        "",
        "The count is the same for 3 and for 300 indices. The time grows with noida-db's own",
        "cost per index (its `_cat/indices`, settings and health answers walk every index it",
        "holds), not with stsdebug's requests. Per trace: the client's product",
        "check and `GET /` (2), cluster health, `_cat/indices` for the pattern, index",
        "settings for the pattern (blocks and field limits of every index in one answer),",
        "the mappings of at most 8 indices (the window's days), `_cat/allocation`, cluster",
        "settings (watermarks), and one aggregation search for the census (up to 5 when a",
        "mapping has more than 1,000 metric names). Two more (field caps and one search)",
        "only when the integration has no document in the window, to date the newest one.",
        "The streams stage adds one search per stream and reuses everything else. The",
        "scope stage adds nothing: it reads the census the Elasticsearch stage shares.",
        "",
    ]
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    block = "\n".join(lines)
    if SECTION + "\n" in text:
        start = text.index(SECTION + "\n")
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + block + (text[nxt + 1 :] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
