"""Agent stage, delivery: did the agent's data reach the receiver?"""

from __future__ import annotations

from stsdebug.logs.agent_patterns import (
    API_KEY,
    BLOCKED,
    DELIVERY_KINDS,
    DROPPED,
    PROXY,
    REJECTED,
    STATUS_ERRORS,
    STATUS_POSTED,
    SUCCESS,
)
from stsdebug.logs.agent_result import (
    Finding,
    Hit,
    ScanResult,
)
from stsdebug.model import (
    Evidence,
    Hint,
    Status,
    Table,
)
from stsdebug.stages.agent_common import (
    _KIND_TITLES,
    _RANK_DELIVERY,
    RUNBOOK_LOG,
    JudgeState,
    _cap,
    _clip,
    _connectivity_hint,
    _connectivity_sentence,
    _endpoint,
    _Issue,
    _Read,
    _rejection_hint,
    _s,
    _sample,
    _top_detail,
    _top_url,
    _when,
    _where,
)


class DeliveryJudge(JudgeState):
    # -- forwarder: did the data reach the receiver? -------------------------------------

    def _delivery(self, read: _Read, scan: ScanResult) -> None:
        success = scan.finding(SUCCESS)
        last_ok = success.samples.latest if success and success.samples.latest else None
        if last_ok is not None:
            self.posted.append(
                f"the agent posted to {_endpoint(last_ok.detail)} ({read.label} line {last_ok.n}"
                f"{', ' + _when(last_ok.ts) if last_ok.ts else ''})"
            )
        connectivity: list[tuple[str, Finding]] = []
        for kind in DELIVERY_KINDS:
            finding = scan.finding(kind)
            if finding is None or finding.samples.latest is None:
                continue
            self.delivery_trouble = True
            if kind in (API_KEY, REJECTED):
                self.issues.append(self._delivery_issue(read, scan, kind, finding, last_ok))
            else:
                connectivity.append((kind, finding))
        dropped = scan.finding(DROPPED)
        if dropped is not None and dropped.samples.latest is not None:
            self.delivery_trouble = True
            self.issues.append(self._dropped_issue(read, dropped, last_ok))
        if not connectivity:
            return
        # "Too many errors for endpoint" only repeats what the errors before it say.
        causes = [(k, f) for k, f in connectivity if k != BLOCKED] or connectivity
        blocked = next((f for k, f in connectivity if k == BLOCKED and len(causes) < len(connectivity)), None)
        for kind, finding in causes:
            # A later "Too many errors" line means the trouble lasted until then.
            after = blocked.samples.latest.n if blocked and blocked.samples.latest else 0
            issue = self._delivery_issue(read, scan, kind, finding, last_ok, after)
            if blocked is not None:
                issue.evidence.append(_sample(_KIND_TITLES[BLOCKED], read.label, blocked))
                blocked = None
            self.issues.append(issue)

    def _dropped_issue(self, read: _Read, dropped: Finding, last_ok: Hit | None) -> _Issue:
        """Transactions the forwarder threw away: data lost, whatever else got through."""
        full = busy = 0
        limit = ""
        for detail, lines in dropped.details.items():
            f, b, limit = (detail.split("/") + ["0", "0", ""])[:3]
            full += int(f or 0) * lines
            busy += int(b or 0) * lines
        why = []
        if full:
            why.append(f"{full:,} because the retry queue{' (limit ' + limit + ')' if limit else ''} was full")
        if busy:
            why.append(f"{busy:,} because the forwarder's workers were too busy")
        total = full + busy
        after = (", although other posts got through" if last_ok is not None
                 else ", and no successful post is logged")
        return _Issue(
            Status.WARN if last_ok is not None else Status.FAIL,
            f"The agent dropped {total:,} payload{_s(total)} it could not send ({'; '.join(why)}; "
            f"{_where(read.label, dropped)}){after}.",
            [_sample("Dropped transactions", read.label, dropped)],
            [Hint("Payloads pile up when the receiver answers slowly or fails: the errors before these "
                  "lines say why (--receiver and --receiver-log judge the receiver). "
                  "forwarder_retry_queue_max_size and forwarder_num_workers in stackstate.yaml size the "
                  "queue and the workers.", RUNBOOK_LOG)],
            _RANK_DELIVERY + 1,  # a consequence: the failed posts that filled the queue lead
        )

    def _delivery_issue(
        self,
        read: _Read,
        scan: ScanResult,
        kind: str,
        finding: Finding,
        last_ok: Hit | None,
        after: int = 0,
    ) -> _Issue:
        latest = finding.samples.latest
        assert latest is not None
        recovered = last_ok is not None and last_ok.n > max(latest.n, after)
        status = Status.WARN if recovered else Status.FAIL
        where = _where(read.label, finding)
        count = finding.total
        detail = _top_detail(finding)
        host = _endpoint(_top_url(finding))
        if kind == API_KEY:
            if detail == "status":
                what = "the agent's API key is refused by the receiver (`status`: API Key invalid)"
            else:
                what = (f"the receiver refused the agent's API key: {count} transaction"
                        f"{_s(count)} dropped with 403 \"API Key invalid\" ({where})")
            hint = Hint(
                "Set api_key in /etc/stackstate-agent/stackstate.yaml (Kubernetes: stackstate.apiKey "
                "in the agent's Helm values) to the receiver API key of this StackState installation, "
                "then restart the agent.", RUNBOOK_LOG)
        elif kind == REJECTED:
            code, _, message = detail.partition(": ")
            what = (f"the receiver rejected {count} payload{_s(count)} with {code} ({where}): "
                    f"{_clip(message, 200)}")
            hint = _rejection_hint(code, message)
        else:
            if kind == PROXY:  # the proxy's own words: the matched part of the latest line
                detail = latest.text[latest.span[0] : latest.span[1]] if latest.span else latest.text
            what = _connectivity_sentence(kind, count, where, host, detail)
            hint = _connectivity_hint(kind, host)
        if recovered:
            assert last_ok is not None
            when = f" at {_when(last_ok.ts)}" if last_ok.ts else ""
            first = finding.samples.first[0] if finding.samples.first else latest
            since = f", first at {_when(first.ts)}, last at {_when(latest.ts)}" if latest.ts and first.ts else ""
            sentence = (f"{_cap(what)}{since}; the agent recovered: it posted successfully after the last one"
                        f"{when} ({read.label} line {last_ok.n}), so delivery is intermittent.")
        elif scan.shape == "status":
            sentence = f"{_cap(what)}."
        else:
            sentence = f"{_cap(what)}, and no successful post follows."
        evidence: list[Evidence] = [_sample(_KIND_TITLES[kind], read.label, finding)]
        if kind == REJECTED and len(finding.details) > 1:
            evidence.append(Table(
                "Receiver messages", ["count", "status and message"],
                [[c, _clip(m, 300)] for m, c in finding.details.most_common(10)],
            ))
        return _Issue(status, sentence, evidence, [hint], _RANK_DELIVERY)

    def _forwarder_status(self, read: _Read, scan: ScanResult) -> None:
        """`stackstate-agent status`: the forwarder's counters since the agent started."""
        counts = scan.forwarder_counts
        if not counts:
            return
        posted = scan.finding(STATUS_POSTED)
        ok = counts.get("Success", 0)
        if posted is not None and posted.samples.latest is not None:
            self.posted.append(
                f"the agent's forwarder reports {ok} successful transaction{_s(ok)} "
                f"({read.label} line {posted.samples.latest.n})"
            )
        errors = scan.finding(STATUS_ERRORS)
        if errors is None:
            return
        failed = counts.get("Errors") or sum(
            v for k, v in counts.items() if k.isdigit() or k.endswith("Errors")
        )
        codes = sorted(k for k in counts if k.isdigit() and counts[k])
        kinds = sorted(k for k in counts if k.endswith("Errors") and k != "Errors" and counts[k])
        why = ", ".join([f"HTTP {c}" for c in codes] + kinds) or "errors"
        # Counters run from the agent's start: a few failures long retried are history, not a
        # fault; lost transactions (Dropped) or a retry queue still holding some are not.
        lost = counts.get("Dropped", 0) + counts.get("DroppedOnInput", 0)
        waiting = counts.get("RetryQueueSize", 0)
        tail = "".join([
            f"; {lost:,} transaction{_s(lost)} dropped (lost)" if lost else "",
            f"; {waiting:,} waiting to be retried" if waiting else "",
        ])
        if ok and not lost and not waiting and "RetryQueueSize" in counts and failed * 100 <= ok:
            if self.posted:  # said with the successes: the pass names both
                self.posted[-1] += (
                    f"; {failed} failed since the agent started ({why}, {100 * failed / ok:.1f}%), "
                    "none dropped or waiting to be retried"
                )
            self.evidence.append(_sample("Forwarder errors since the agent started (retried)", read.label, errors))
            return
        self.delivery_trouble = True
        if ok:
            sentence = (f"The agent's forwarder reports {failed:,} failed and {ok:,} successful "
                        f"transactions since it started ({why}){tail}: delivery is intermittent.")
            status = Status.WARN
        else:
            sentence = (f"The agent's forwarder reports {failed:,} failed transaction{_s(failed)} "
                        f"and none successful since it started ({why}){tail}.")
            status = Status.FAIL
        hint = (Hint("HTTP 403 means the receiver refuses the API key: set api_key in "
                     "stackstate.yaml to the receiver API key and restart the agent.", RUNBOOK_LOG)
                if "403" in codes else
                Hint("The agent log says why transactions fail: give it with --agent-log.", RUNBOOK_LOG))
        self.issues.append(_Issue(
            status, sentence, [_sample("Forwarder errors", read.label, errors)], [hint], _RANK_DELIVERY
        ))

