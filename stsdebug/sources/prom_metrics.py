"""Scrape a Prometheus ``/metrics`` page: vmagent (8429), VictoriaMetrics (8428), the
StackState 6 receiver (9404). I/O only; parsing is ``stsdebug.promtext`` and judging is
the stages' job.

    src = PromMetricsSource(PromMetricsConfig("http://vmagent:8429/metrics"))
    first, second = src.scrape_twice(interval=10)   # Pages with taken_at
    promtext.deltas(first, second, "vmagent_remotewrite_packets_dropped_total")

Counters only mean something as rates, which is why the source samples twice: a total
of 12 dropped packets since a pod started a month ago says nothing about now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from stsdebug import promtext
from stsdebug.errors import SourceError
from stsdebug.sources.http import HttpSource

MAX_PAGE = 8 << 20  # a vmagent page is ~30 kB; VictoriaMetrics' ~40 kB; a receiver's far less


class MetricsPageError(SourceError):
    """The URL answered, but not with a Prometheus text exposition."""


@dataclass(frozen=True)
class PromMetricsConfig:
    url: str  # the full page URL, e.g. http://suse-observability-vmagent:8429/metrics
    timeout: float = 10.0
    verify: bool | str = True
    headers: Mapping[str, str] = field(default_factory=dict)
    max_body: int = MAX_PAGE
    system: str = "metrics endpoint"


class PromMetricsSource:
    def __init__(self, config: PromMetricsConfig, *, http: HttpSource | None = None) -> None:
        self.config = config
        self._http = http or HttpSource(timeout=config.timeout, verify=config.verify,
                                        system=config.system, max_body=config.max_body)
        self._own_http = http is None
        self.requests_sent = 0

    def scrape(self) -> promtext.Page:
        """One GET of the page, parsed; ``taken_at`` is the wall-clock time of the answer."""
        self.requests_sent += 1
        resp = self._http.get(self.config.url, headers=dict(self.config.headers) or None,
                              system=self.config.system)
        page = promtext.parse(resp.text)
        page.taken_at = time.time()
        if not page.samples:
            what = (f"none of its {len(page.bad_lines)} lines is a metric sample"
                    if page.bad_lines else "it is empty")
            raise MetricsPageError(
                f"{resp.url} is not a Prometheus metrics page ({what}).",
                system=self.config.system, cause="malformed")
        return page

    def scrape_twice(
        self, interval: float, *, sleep: Callable[[float], None] = time.sleep
    ) -> tuple[promtext.Page, promtext.Page]:
        """Two scrapes `interval` seconds apart, for rates of counters."""
        first = self.scrape()
        sleep(max(0.0, interval))
        return first, self.scrape()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> PromMetricsSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
