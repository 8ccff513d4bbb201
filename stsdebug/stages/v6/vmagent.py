"""Stage `vmagent` (StackState 6): does vmagent take the receiver's samples and deliver them
to VictoriaMetrics?

Inputs: ``--vmagent http://suse-observability-vmagent:8429`` (its ``/metrics`` page, scraped
twice ``--scrape-interval`` apart, and ``/health``). Through StackState's Prometheus API path
alone it cannot be read: the stage says ``skip`` with that reason.

Judgement on what changed between the two scrapes (docs/stages/vmagent.md; the metric
names and what they do were measured on the real binary, docs/v6/facts.md section 5):

* fail  - nothing delivered (``vmagent_remotewrite_requests_total{status_code="2XX"}`` flat)
          while sends fail (retries, send or dial errors rising), the on-disk queue holds
          data (``vmagent_remotewrite_pending_data_bytes`` > 0, not falling), or nothing was
          ever delivered since vmagent started although sends failed;
        - blocks dropped (``vmagent_remotewrite_packets_dropped_total``: the remote answered
          400/409, the data is lost) and nothing delivered;
        - ``/health`` answers but not 200.
* warn  - some blocks dropped, the queue over its size limit (oldest data dropped), the
          queue growing or draining (behind, or catching up after an outage), retries
          while sending, write requests refused, or nothing received for 30 s or more.
* pass  - samples delivered (or nothing to deliver), nothing pending, dropped or retried.
* error - vmagent does not answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stsdebug.errors import SourceError
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table
from stsdebug.source_factory import base_url
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age_text
from stsdebug.stages.v6 import pages
from stsdebug.stages.v6.common import only_api, only_api_reason
from stsdebug.stages.v6.pages import Pair

TITLE = "vmagent"
BUDGET_CALLS = 6.0  # two scrapes and /health
BUDGET_WAITS = "scrape_interval"  # plus the wait between the scrapes

RUNBOOK = "StackState 6: vmagent"
QUIET_S = 30.0  # nothing received for this long is worth saying

SENT = "vmagent_remotewrite_blocks_sent_total"
BYTES_SENT = "vmagent_remotewrite_bytes_sent_total"
PENDING = "vmagent_remotewrite_pending_data_bytes"
RETRIES = "vmagent_remotewrite_retries_count_total"
ERRORS = "vmagent_remotewrite_errors_total"
DIAL_ERRORS = "vmagent_remotewrite_dial_errors_total"
DROPPED = "vmagent_remotewrite_packets_dropped_total"
QUEUE_DROPPED = "vm_persistentqueue_bytes_dropped_total"
REQUESTS = "vmagent_remotewrite_requests_total"
RECEIVED = "vmagent_rows_inserted_total"
REFUSED = "vmagent_http_request_errors_total"


@dataclass
class Finding:
    status: Status
    summary: str
    hints: list[Hint] = field(default_factory=list)


def _n(x: float | None) -> float:
    return x or 0.0


def judge(pair: Pair) -> Finding:
    """What two scrapes of vmagent's /metrics say (pure: tests feed it recorded pages)."""
    assert pair.first is not None and pair.second is not None
    secs = pair.seconds or 0.0
    span = f"in the {secs:.0f} s between two scrapes"
    pend_a, pend_b = pair.gauge(PENDING)
    sent, ever_sent = _delivered(pair)
    retries = _n(pair.increase(RETRIES))
    send_errors = _n(pair.increase(ERRORS)) + _n(pair.increase(DIAL_ERRORS))
    dropped = _n(pair.increase(DROPPED))
    queue_dropped = _n(pair.increase(QUEUE_DROPPED))
    received = _n(pair.increase(RECEIVED))
    refused = _n(pair.increase(REFUSED, path="/api/v1/write"))
    codes = _codes(pair)
    pending = _n(pend_b)
    growth = (pending - _n(pend_a)) / secs if secs > 0 else 0.0
    failing = retries + send_errors > 0
    answers = f" (remote answered {', '.join(f'{c}: {n:.0f}' for c, n in codes.items())})" if codes else ""

    if dropped and not sent:
        return Finding(Status.FAIL, (
            f"vmagent drops what it sends: {dropped:.0f} blocks dropped and none delivered {span}"
            f"{answers}; VictoriaMetrics refuses the data (HTTP 400/409), so it is lost, not retried."),
            [Hint("VictoriaMetrics refuses vmagent's blocks: read VictoriaMetrics' log for the reason "
                  "(kubectl logs suse-observability-victoria-metrics-0) and check -maxLabelsPerTimeseries "
                  "and the remote-write URL (it must end in /api/v1/write).", RUNBOOK)])
    ever_failed = _n(pair.second.total(ERRORS)) + _n(pair.second.total(DIAL_ERRORS)) + _n(pair.second.total(RETRIES))
    never = not ever_sent and ever_failed > 0
    if not sent and (failing or (pending > 0 and growth >= 0) or never):
        what = []
        if never:
            what.append(f"it has delivered nothing since it started ({ever_failed:,.0f} failed sends "
                        "and retries)")
        if pending:
            what.append(f"{pending:,.0f} bytes wait in its buffer"
                        + (f", growing {growth:,.0f} B/s" if growth > 0 else ""))
        if retries:
            what.append(f"{retries:.0f} retries")
        if send_errors:
            what.append(f"{send_errors:.0f} failed sends or connections")
        return Finding(Status.FAIL, (
            f"vmagent cannot deliver to VictoriaMetrics: no block delivered {span}; {', '.join(what)}."),
            [Hint("vmagent buffers on disk while VictoriaMetrics cannot be reached: check that the "
                  "suse-observability-victoria-metrics-0/-1 pods run and that vmagent reaches them on "
                  "port 8429→8428 (kubectl logs suse-observability-vmagent-0 shows 'couldn't send a block "
                  "... re-sending'); the buffer drains by itself once they answer.", RUNBOOK)])

    warns: list[str] = []
    hints: list[Hint] = []
    stuck = _stuck_urls(pair)
    if stuck:
        warns.append(f"it cannot deliver to {', '.join(stuck)} (one of its remote-write URLs: one "
                     "VictoriaMetrics instance each) while the others get everything; queries through "
                     "the Service may flap between complete and incomplete answers")
        hints.append(Hint("vmagent writes every sample to each VictoriaMetrics instance: check the instance "
                          "behind the stuck URL (suse-observability-victoria-metrics-0 or -1).", RUNBOOK))
    if dropped:
        warns.append(f"{dropped:.0f} blocks dropped{answers} while {sent:.0f} were delivered: "
                     "VictoriaMetrics refused part of the data")
        hints.append(Hint("Read VictoriaMetrics' log for why it refuses some blocks.", RUNBOOK))
    if queue_dropped:
        warns.append(f"its buffer is full: {queue_dropped:,.0f} bytes of the oldest data dropped")
        hints.append(Hint("The buffer hit -remoteWrite.maxDiskUsagePerURL (the chart sets it from "
                          "stackstate.components.vmagent.persistence.size): raise it or fix the outage "
                          "behind it.", RUNBOOK))
    if pending and growth > 0:
        warns.append(f"its buffer grows ({pending:,.0f} bytes, +{growth:,.0f} B/s) although it sends: "
                     "it falls behind")
    elif pending:
        warns.append(f"it is catching up: {pending:,.0f} bytes still buffered"
                     + (f", falling {-growth:,.0f} B/s" if growth < 0 else ""))
    if failing and not pending:
        warns.append(f"{retries + send_errors:.0f} sends were retried or failed {span}")
    if refused:
        warns.append(f"it refused {refused:.0f} write requests (unreadable bodies) {span}")
    if not received and secs >= QUIET_S:
        warns.append(f"it received no samples {span}")
        hints.append(Hint("Nothing reaches vmagent: check the receiver stage (its "
                          "PROMETHEUS_WRITE_ENDPOINT must point at vmagent:8429/api/v1/write).", RUNBOOK))
    if warns:
        return Finding(Status.WARN, "vmagent delivers, but " + "; ".join(warns) + ".", hints)
    if not sent and not received:
        return Finding(Status.PASS, (
            f"vmagent is idle {span}: nothing received, nothing to deliver, nothing buffered, dropped "
            "or retried."))
    return Finding(Status.PASS, (
        f"vmagent delivers: {sent:.0f} blocks delivered and {received:,.0f} samples received {span}; "
        "nothing buffered, dropped or retried."))


def _delivered(pair: Pair) -> tuple[float, float]:
    """(blocks delivered between the scrapes, since vmagent started). Answers 2XX when the
    page counts requests by status code (blocks_sent_total also counts blocks handed to a
    sender that is still retrying them: measured on 1.79.5), else blocks sent."""
    assert pair.second is not None
    if pair.second.series(REQUESTS):
        return _n(pair.increase(REQUESTS, status_code="2XX")), _n(pair.second.total(REQUESTS, status_code="2XX"))
    return _n(pair.increase(SENT)), _n(pair.second.total(SENT))


def _stuck_urls(pair: Pair) -> list[str]:
    """With several remote-write URLs: those that delivered nothing between the scrapes while
    their buffer holds data or their sends fail (the others being fine)."""
    assert pair.second is not None
    urls = sorted({s.labels.get("url", "") for s in pair.second.series(PENDING)} - {""})
    if len(urls) < 2:
        return []
    stuck = []
    for url in urls:
        delivered = _n(pair.increase(REQUESTS, url=url, status_code="2XX")) or (
            0.0 if pair.second.series(REQUESTS) else _n(pair.increase(SENT, url=url)))
        failing = _n(pair.increase(RETRIES, url=url)) + _n(pair.increase(ERRORS, url=url))
        if not delivered and (failing or _n(pair.second.total(PENDING, url=url)) > 0):
            stuck.append(url)
    return stuck if len(stuck) < len(urls) else []


def _codes(pair: Pair) -> dict[str, float]:
    """Remote-write answers by status code, counted between the scrapes (2XX left out)."""
    if pair.first is None or pair.second is None:
        return {}
    from stsdebug import promtext

    out: dict[str, float] = {}
    for d in promtext.deltas(pair.first, pair.second, REQUESTS):
        code = d.labels.get("status_code", "?")
        if code.upper() != "2XX" and d.increase:
            out[code] = out.get(code, 0.0) + d.increase
    return out


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not s.vmagent:
        if only_api(ctx):
            return ctx.skip(only_api_reason("vmagent's /metrics and /health", "--vmagent"))
        return ctx.skip(
            "No vmagent URL given (--vmagent).",
            "Give --vmagent http://suse-observability-vmagent:8429 (from outside the cluster: kubectl "
            "port-forward statefulset/suse-observability-vmagent 8429).",
        )
    pair = pages.pair(ctx, "vmagent_metrics")
    health = _health(ctx, base_url(s.vmagent))
    evidence: list[Evidence] = []
    if pair is None or pair.first is None:
        why = (pair.error if pair is not None else None) or "no metrics page"
        figures = Figures("vmagent").add("Metrics page", why)
        figures.add("/health", health[1])
        return ctx.result(
            Status.ERROR,
            f"vmagent does not answer: {why.rstrip('.')}.",
            [figures],
            [Hint("vmagent is down or the URL is wrong: kubectl get pods | grep vmagent; kubectl logs "
                  "suse-observability-vmagent-0. While it is down the receiver cannot hand metrics on.",
                  RUNBOOK)],
        )
    if pair.second is None:
        return ctx.result(Status.ERROR, f"vmagent answered once, then not: {str(pair.error).rstrip('.')}.",
                          [_figures(pair, health)])
    finding = judge(pair)
    if health[0] is False and finding.status is not Status.FAIL:
        finding = Finding(Status.FAIL, f"vmagent reports itself unhealthy ({health[1]}). {finding.summary}",
                          finding.hints)
    evidence.append(_figures(pair, health))
    table = _remotes(pair)
    if table is not None:
        evidence.append(table)
    return ctx.result(finding.status, finding.summary, evidence, finding.hints)


def _health(ctx: Context, base: str) -> tuple[bool | None, str]:
    """(True: 200 OK, False: answered otherwise, None: no answer), and what it said."""
    from stsdebug.sources.http import HttpStatusError

    try:
        resp = ctx.http.get(f"{base}/health", system="vmagent /health")
    except HttpStatusError as exc:
        return False, f"HTTP {exc.status}"
    except SourceError as exc:
        return None, str(exc)
    return resp.status == 200, f"HTTP {resp.status} {resp.excerpt(40)}"


def _figures(pair: Pair, health: tuple[bool | None, str]) -> Figures:
    secs = pair.seconds
    f = Figures(f"vmagent between two scrapes ({secs:.1f} s apart)" if secs else "vmagent")
    f.add("/health", health[1])
    a, b = pair.gauge(PENDING)
    f.add("Buffered (pending) bytes, first → second", f"{_n(a):,.0f} → {_n(b):,.0f}")
    delivered, ever = _delivered(pair)
    f.add("Blocks delivered (answered 2XX)", f"+{delivered:,.0f} (total {ever:,.0f})")
    for label, name in (("Samples received", RECEIVED), ("Blocks handed to senders", SENT),
                        ("Bytes sent", BYTES_SENT), ("Retries", RETRIES), ("Send errors", ERRORS),
                        ("Connection errors", DIAL_ERRORS), ("Blocks dropped (remote 400/409)", DROPPED),
                        ("Buffer bytes dropped (full)", QUEUE_DROPPED)):
        inc = pair.increase(name)
        if inc is not None:
            total = pair.second.total(name) if pair.second is not None else None
            f.add(label, f"+{inc:,.0f} (total {_n(total):,.0f})")
    if secs:
        f.add("Interval", age_text(secs))
    return f


def _remotes(pair: Pair) -> Table | None:
    """Per remote-write URL (vmagent writes to every VictoriaMetrics instance)."""
    page = pair.second
    if page is None:
        return None
    urls = sorted({s.labels.get("url", "") for s in page.series(SENT)} - {""})
    if len(urls) < 1:
        return None
    rows: list[list[object]] = []
    for url in urls:
        rows.append([
            url,
            _n(page.total(PENDING, url=url)),
            _n(pair.increase(REQUESTS, url=url, status_code="2XX")),
            _n(pair.increase(RETRIES, url=url)),
            _n(pair.increase(DROPPED, url=url)),
        ])
    return Table("Per remote-write URL (between the scrapes)",
                 ["url", "pending bytes", "blocks delivered", "retries", "dropped"], rows,
                 note="vmagent hides the URLs unless -remoteWrite.showURL is set: 1:secret-url is the "
                      "first -remoteWrite.url, 2:secret-url the second (one per VictoriaMetrics instance).")

