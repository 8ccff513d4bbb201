"""StackState 6: the VictoriaMetrics and bindings stages send a bounded number of requests,
whatever the number of series.

Run:  python bench/v6_queries.py [--series 10,1000,20000] [--no-readme]

Starts the real VictoriaMetrics (Debian's victoria-metrics 1.79.5) in a temporary directory,
and for each series count N writes N series of one integration (20 metric names, one
sample every 15 s for 20 minutes, a fifth of them stopped 10 minutes ago) with Prometheus
remote-write. Then it runs the VictoriaMetrics stage and the bindings stage (one binding
that draws data and one whose label value is wrong, so the explainer runs its whole
search) and counts every request each stage's sources sent (``requests_sent`` of the query
API and of the /metrics source), with the wall time. ``measure()`` returns the rows, for a
benchmark runner to call. Results go to bench/README.md, section "StackState 6". Not part
of the test suite (tests/v6/test_stages6.py asserts the same bound on 10 and 2,000 series).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from stsdebug.sandbox import timeseries  # noqa: E402
from stsdebug.settings import Settings  # noqa: E402
from stsdebug.sources import remote_write as rw  # noqa: E402
from stsdebug.sources.prom_metrics import PromMetricsConfig, PromMetricsSource  # noqa: E402
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig  # noqa: E402
from stsdebug.stages.base import load_stage  # noqa: E402
from stsdebug.trace import Trace  # noqa: E402

README = HERE / "README.md"
SECTION = "## StackState 6"
BATCH = 2000  # series per remote-write request
EXPLAINED = """\
The VictoriaMetrics stage sends the same 4 requests for 10 and for 20,000 series: `/health`,
ONE query for the series per metric name, their newest sample and the stopped ones
(`tlast_over_time(...) keep_metric_names` aggregated on the server,
stsdebug/stages/v6/series.py), and two scrapes of `/metrics` (rows ignored, as rates).
At most 6 (`MAX_REQUESTS`): one more for the newest sample of the last day when no series
has a sample in the window, and `/flags` (the retention) when rows were ignored as too old.
Through StackState's `/prometheus` path the scrapes are replaced by one self-monitoring
query. About one second of each run is the pause between the two scrapes
(`--scrape-interval`, 1 s here, 5 s by default). The bindings stage sends one range query per
binding that draws data and, for one that does not, one query for its metric and ONE for
all its matchers at once (each dropped, each alone), then one for the culprit label's
values: 5 here whatever the number of series; it stops at 40 requests per trace
(`MAX_REQUESTS`) and says what it did not check.
"""


def seed(vm: str, prefix: str, n: int, now: float) -> None:
    with rw.RemoteWriter(rw.RemoteWriteConfig(f"{vm}/api/v1/write", timeout=60)) as w:
        batch: list[rw.Series] = []
        for i in range(n):
            stop = now - 600 if i % 5 == 0 else now - 5
            samples = [(t, float(i)) for t in range(int(now - 1200), int(stop), 15)]
            batch.append(rw.series(f"{prefix}_m{i % 20}", {"pod_name": f"p{i}", "cluster_name": "prod-eu"},
                                   samples=samples))
            if len(batch) >= BATCH:
                w.send(batch)
                batch = []
        if batch:
            w.send(batch)
    urllib.request.urlopen(f"{vm}/internal/force_flush", timeout=30).close()


def run_stage(vm: str, stage: str, now: float, **kw: Any) -> dict[str, Any]:
    api = PrometheusApi(PrometheusApiConfig(vm, timeout=60))
    page = PromMetricsSource(PromMetricsConfig(f"{vm}/metrics"))
    s = Settings(integration="custom", victoria_metrics=vm, window="15m", timeout=60.0, scrape_interval=1.0, **kw)
    t0 = time.perf_counter()
    result = Trace(s, stages=[load_stage(stage, "6")], sources={"prometheus": api, "vm_metrics": page},
                   now=now).run().stages[0]
    wall = time.perf_counter() - t0
    return {"requests": api.requests_sent + page.requests_sent, "query_api": api.requests_sent,
            "metrics_page": page.requests_sent, "seconds": round(wall, 2), "status": result.status.value,
            "summary": result.summary}


def measure(series_counts: tuple[int, ...] = (10, 1000, 20000)) -> list[dict[str, Any]]:
    """One row per series count: requests and time of the VictoriaMetrics and bindings stages."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="stsdebug-bench-v6-") as tmp:
        proc = timeseries.start_victoria_metrics(Path(tmp), latency_offset="1s")
        try:
            vm = timeseries.base_url(proc)
            for n in series_counts:
                now = time.time()
                prefix = f"bench{n}"
                seed(vm, prefix, n, now)
                now = time.time()
                vm_stage = run_stage(vm, "victoriametrics", now, metric_prefix=[f"{prefix}."])
                binds = run_stage(vm, "bindings", now, bindings=[
                    f'sum by (cluster_name) ({prefix}_m1{{cluster_name="prod-eu"}})',
                    f'{prefix}_m1{{cluster_name="prod-eu1", pod_name=~"p.*"}}'])
                rows.append({"series": n, "victoriametrics": vm_stage, "bindings": binds})
        finally:
            proc.stop()
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| series | VictoriaMetrics stage: requests (query API + /metrics) | time (s) | "
        "bindings stage, 2 bindings: requests | time (s) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        v, b = r["victoriametrics"], r["bindings"]
        lines.append(f"| {r['series']:,} | {v['requests']} ({v['query_api']} + {v['metrics_page']}) | "
                     f"{v['seconds']} | {b['requests']} | {b['seconds']} |")
    return "\n".join(lines)


def write_readme(table: str) -> None:
    text = README.read_text(encoding="utf-8")
    body = (f"{SECTION}\n\nRequests the StackState 6 VictoriaMetrics and bindings stages send, by number of "
            "series of the integration (`python bench/v6_queries.py`, the real VictoriaMetrics 1.79.5 on "
            "loopback).\n\n" + table + "\n\n" + EXPLAINED)
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    README.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="10,1000,20000")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    rows = measure(tuple(int(x) for x in args.series.split(",")))
    table = render(rows)
    print(table)
    for r in rows:
        print(f"{r['series']}: {r['victoriametrics']['summary']} | {r['bindings']['summary']}")
    if not args.no_readme:
        write_readme(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
