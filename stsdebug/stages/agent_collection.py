"""Agent stage, collection: did the integration's check run, collect, and emit names the
receiver accepts?"""

from __future__ import annotations

from stsdebug.logs.agent_patterns import (
    BAD_NAME,
    BAD_TYPE,
    CHECK_ERROR,
    SERVICE_CHECK,
    SUCCESS,
    TRACEBACK,
    ZERO_SAMPLES,
)
from stsdebug.logs.agent_result import (
    Hit,
    ScanResult,
)
from stsdebug.model import (
    Evidence,
    Hint,
    Status,
    Table,
    Text,
)
from stsdebug.payloads import metric_name_problem
from stsdebug.stages.agent_common import (
    _RANK_CHECK,
    _RANK_COVERAGE,
    _RANK_MATCH,
    _RANK_NAMES,
    _RANK_NOT_RUN,
    _RANK_SC,
    _RANK_TYPES,
    _RANK_ZERO,
    _TABLE_ROWS,
    RUNBOOK_CHECK,
    RUNBOOK_K8S,
    RUNBOOK_LOG,
    JudgeState,
    _cap,
    _checks_phrase,
    _clip,
    _count_of,
    _filtered,
    _Issue,
    _Read,
    _reason,
    _s,
    _sample,
    _sample_hits,
    _top_detail,
    _when,
)


class CollectionJudge(JudgeState):
    # -- collection: did the integration's check run and collect? --------------------------

    def _checks(self, read: _Read, scan: ScanResult) -> None:
        label = read.label
        input_checks = list(scan.checks_seen)
        own = [c for c in input_checks if self.relevant(c)]

        def mine(hit: Hit) -> bool:
            # A line that names no check belongs to the check(s) this input is about.
            if hit.check and hit.check != "?":
                return self.relevant(hit.check)
            return bool(own) or not input_checks

        # What shows the integration's data being collected.
        collected_here = False
        for c, smp in scan.check_samples.items():
            if smp.last_run > 0 and (self.relevant(c) or (c == "?" and (own or not input_checks))):
                collected_here = True
                self.collected.append(
                    f"the {c if c != '?' else 'configured'} check collected {smp.last_run} metric "
                    f"sample{_s(smp.last_run)} in its last run ({label} line {smp.n})"
                )
        matching = [n for n in scan.metric_names if self.ctx.matcher.name_matches(n)]
        if scan.shape == "check" and matching and (own or not input_checks) and not scan.raw_points:
            if not collected_here:
                self.collected.append(
                    f"the check output holds {len(matching)} metric name{_s(len(matching))} "
                    f"matching {self.ctx.matcher.describe()} ({label})"
                )
            collected_here = True
        for c, runs in scan.check_runs.items():
            if self.relevant(c) and runs.last_clean_n is not None:
                collected_here = True
                self.collected.append(f"the {c} check ran without errors ({label} line {runs.last_clean_n})")
        if scan.raw_points and (own or not input_checks):
            # StackState's own checks send raw metrics in the Topology payload; "Metric Samples"
            # does not count them, so 0 samples is expected there.
            raw_names = ", ".join(n for n, _ in scan.raw_metrics.most_common(3))
            more = f" and {len(scan.raw_metrics) - 3} more" if len(scan.raw_metrics) > 3 else ""
            self.collected.append(
                f"the check output holds {scan.raw_points} raw metric{_s(scan.raw_points)} in its Topology "
                f"section ({raw_names}{more}; {label})"
            )
            collected_here = True

        errors = _filtered(scan.finding(CHECK_ERROR), mine)
        tracebacks = _filtered(scan.finding(TRACEBACK), mine)
        if not collected_here and not errors and not tracebacks:
            collected_here = self._ran_before(read, scan)
        zero = _filtered(scan.finding(ZERO_SAMPLES), mine)
        status = Status.WARN if collected_here else Status.FAIL
        if errors or tracebacks:
            first = (errors or tracebacks)[0]
            # The exception a traceback ends with says more than the log line before it.
            told = tracebacks[0] if tracebacks and "cut off" not in tracebacks[0].detail else first
            names = sorted({h.check for h in errors + tracebacks if h.check and h.check != "?"})
            count = _count_of(scan.finding(CHECK_ERROR), mine) if errors else len(tracebacks)
            who = f"The {' and '.join(names)} check{'s' if len(names) > 1 else ''}" if names else "A check"
            message = _clip(told.detail, 200) if told.detail else "see the quoted lines"
            evidence: list[Evidence] = []
            if errors:
                evidence.append(_sample_hits("Check errors", label, errors, count))
            if tracebacks:
                evidence.append(_sample_hits("Python tracebacks", label, tracebacks, len(tracebacks)))
            tail = "" if status is Status.FAIL else "; other runs collected data"
            self.issues.append(_Issue(
                status,
                f"{who} reported {count} error{_s(count)} ({label} line {told.n}): "
                f"{message.rstrip('.')}{tail}.",
                evidence,
                [Hint("Fix what the check reports (credentials, address or permissions for the "
                      "monitored system) in conf.d/<check>.d/conf.yaml, then confirm with "
                      "`sudo -u stackstate-agent stackstate-agent check <check> -l debug`.",
                      RUNBOOK_CHECK)],
                _RANK_CHECK,
            ))
        if zero and scan.raw_points:
            zero = [h for h in zero if "Metric Samples" not in h.detail and "MetricSamples" not in h.detail]
        if zero:
            hit = zero[0]
            who = hit.check if hit.check and hit.check != "?" else (own[0] if own else "")
            what = "an empty Series section" if "Series" in hit.detail else "0 metric samples in its last run"
            self.issues.append(_Issue(
                status,
                f"The {who + ' ' if who else ''}check collected no metrics: {what} ({label} line {hit.n}).",
                [_sample_hits("Zero metric samples", label, zero, len(zero))],
                [Hint("A check that runs but collects nothing usually cannot reach the system it "
                      "monitors, or its configuration selects nothing; its errors and service "
                      "checks say which.", RUNBOOK_CHECK)],
                _RANK_ZERO,
            ))
        failing_sc = _filtered(scan.finding(SERVICE_CHECK), lambda h: self.relevant(h.check))
        if failing_sc:
            first = failing_sc[0]
            more = f", and {len(failing_sc) - 1} more failing" if len(failing_sc) > 1 else ""
            self.issues.append(_Issue(
                Status.WARN,
                f"Service check {_clip(first.detail, 200)} ({label} line {first.n}){more}.",
                [_sample_hits("Failing service checks", label, failing_sc, len(failing_sc))],
                [Hint("A failing service check names what the check cannot reach or what is "
                      "unhealthy in the monitored system.", RUNBOOK_CHECK)],
                _RANK_SC,
            ))
        if self.integration.checks and not own:
            first_check = self.integration.checks[0]
            if scan.shape == "status":
                self.issues.append(_Issue(
                    Status.FAIL,
                    f"The agent does not run {_checks_phrase(self.integration.checks)}: "
                    f"{label} lists {', '.join(input_checks) or 'no checks'} only.",
                    hints=[Hint(
                        f"Configure the check in /etc/stackstate-agent/conf.d/{first_check}.d/"
                        "conf.yaml and restart the agent.", RUNBOOK_CHECK)],
                    rank=_RANK_NOT_RUN,
                ))
            elif scan.shape == "check" and input_checks:
                self.issues.append(_Issue(
                    Status.WARN,
                    f"{label} is the output of the {', '.join(input_checks)} check, not of "
                    f"{_checks_phrase(self.integration.checks)}.",
                    hints=[Hint(
                        f"Run `sudo -u stackstate-agent stackstate-agent check {first_check} -l debug`.",
                        RUNBOOK_CHECK)],
                    rank=_RANK_NOT_RUN,
                ))

    def _ran_before(self, read: _Read, scan: ScanResult) -> bool:
        """A quiet healthy log: the integration's checks ran cleanly before the window and the
        agent still posts in it. The agent logs a check's first five runs only (then one in
        logging_frequency, 500), and every failed run, so the silence since says they ran."""
        posts = scan.count(SUCCESS)
        earlier = [(c, at) for c, at in scan.ran_before.items() if self.relevant(c)]
        if not posts or not earlier:
            return False
        names = [c for c, _ in earlier]
        n, ts = max((at for _, at in earlier), key=lambda at: at[0])
        self.collected.append(
            f"the {', '.join(names[:5])}{' and more' if len(names) > 5 else ''} check{_s(len(names))} "
            f"ran without errors before the window (last logged {_when(ts)}, {read.label} line {n}), "
            "none has failed since (the agent logs every failed run but only the first five good ones)"
        )
        return True

    # -- metric names the receiver accepts, and whether they are the integration's ----------

    def _metrics(self, read: _Read, scan: ScanResult) -> None:
        names = dict(scan.metric_names)
        if not names:
            return
        for name, count in names.items():
            self.names[name] = self.names.get(name, 0) + count
        matcher = self.ctx.matcher
        matching = [n for n in names if matcher.name_matches(n)]
        # Every name a check emits travels in the same payloads, so all of them count.
        considered = list(names)
        refused = {n: p for n in names if (p := metric_name_problem(n))}
        refused_considered = [n for n in considered if n in refused]
        rows: list[list[object]] = []
        for name in sorted(names, key=lambda n: (n not in refused, not matcher.name_matches(n), n)):
            if len(rows) >= _TABLE_ROWS:
                break
            rows.append([name, names[name], "yes" if matcher.name_matches(name) else "no",
                         _clip(refused[name], 120) if name in refused else "accepted"])
        table = Table(
            f"Metric names in {read.label}",
            ["metric", "series", f"matches {self.integration.name}", "receiver"],
            rows,
            note=(f"{len(names)} distinct names; first {_TABLE_ROWS} shown, refused first."
                  if len(names) > _TABLE_ROWS else None),
        )
        bad_names = scan.finding(BAD_NAME)
        if refused_considered:
            example = refused_considered[0]
            if len(refused_considered) == len(considered):
                status = Status.FAIL
                lead = f"All {len(considered)} metric name{_s(len(considered))}"
            else:
                status = Status.WARN
                lead = f"{len(refused_considered)} of {len(considered)} metric names"
            sentence = (f"{lead} the check emits would be refused by the receiver, e.g. "
                        f"{example!r}: {_reason(refused[example])}.")
            evidence: list[Evidence] = [table]
            if bad_names:
                evidence.insert(0, _sample("Refused metric names", read.label, bad_names))
            self.issues.append(_Issue(status, sentence, evidence, [Hint(
                "Rename the metrics in the check (or its custom queries) so that no name starts with "
                "host, labels, name, tags, timeReceived, timestamp or values.", RUNBOOK_CHECK)],
                _RANK_NAMES))
        else:
            self.evidence.append(table)
        bad_types = scan.finding(BAD_TYPE)
        if bad_types is not None and bad_types.samples.latest is not None:
            all_bad = bad_types.total >= scan.series_entries > 0
            self.issues.append(_Issue(
                Status.FAIL if all_bad else Status.WARN,
                f"{bad_types.total} of {scan.series_entries} series carry a metric type the receiver "
                f"refuses: {_reason(_top_detail(bad_types))}.",
                [_sample("Refused metric types", read.label, bad_types)],
                [Hint("Submit metrics as gauge, count, rate, counter or raw.", RUNBOOK_CHECK)],
                _RANK_TYPES,
            ))
        if matcher.prefixes and not matching:
            self.issues.append(_Issue(
                Status.WARN,
                f"None of the {len(names)} metric names in {read.label} match "
                f"{matcher.describe()}, which is what the later stages look for.",
                hints=[Hint("If the integration renamed its metrics, give the new prefix with "
                            "--metric-prefix and update the telemetry streams.", RUNBOOK_CHECK)],
                rank=_RANK_MATCH,
            ))

    # -- across inputs -------------------------------------------------------------------

    def _coverage(self, reads: list[_Read]) -> None:
        if not any(r.scan for r in reads):
            return
        if self.checks_seen:
            rows = [[c, where, "yes" if self.relevant(c) else "no"] for c, where in list(self.checks_seen.items())[:30]]
            self.evidence.append(Table("Checks seen", ["check", "first seen", f"{self.integration.name}"], rows))
        if self.delivery_trouble or any(i.status is Status.FAIL for i in self.issues):
            return
        if not self.posted:
            if self.log_read:
                self.issues.append(_Issue(
                    Status.WARN,
                    f"No \"Successfully posted payload\" in the last {self.ctx.window.spec} of the "
                    "agent log, and no errors either; the agent logs a success only for its first "
                    "transaction and then once every 500 (logging_frequency).",
                    hints=[Hint("Give `stackstate-agent status` output (--agent-output) to see the "
                                "forwarder's success and error counts.", RUNBOOK_LOG)],
                    rank=_RANK_COVERAGE,
                ))
            elif self.outputs_read:
                self.issues.append(_Issue(
                    Status.WARN,
                    f"{_cap(self.collected[0]) if self.collected else 'The check output was read'}, "
                    "but the check command sends nothing, so posting to the receiver was not observed.",
                    hints=[Hint("Add the agent log (--agent-log) or `stackstate-agent status` output "
                                "to see whether the agent posts to the receiver.", RUNBOOK_LOG)],
                    rank=_RANK_COVERAGE,
                ))
        if not self.collected and not any(i.status is Status.WARN for i in self.issues):
            checks = _checks_phrase(self.integration.checks) if self.integration.checks else "any check"
            self.issues.append(_Issue(
                Status.WARN,
                f"Nothing read shows {checks} collecting data.",
                hints=[Hint("Run `sudo -u stackstate-agent stackstate-agent check <check> -l debug` "
                            "and give its output with --agent-output.", RUNBOOK_CHECK)],
                rank=_RANK_COVERAGE,
            ))

    def _agent_types(self) -> None:
        ns = "<namespace>"
        self.evidence.append(Text(
            "Which agent supplies which data (Kubernetes, OpenShift)",
            "Node Agent (DaemonSet, pods *-node-agent-*, container node-agent): metrics of its own "
            "node from the kubelet (kubelet.*, kubernetes.*) and containers; also kube-state-metrics "
            "(kubernetes_state.*) when kube-state-metrics runs on the same node and cluster checks "
            "are off.\n"
            "Cluster Agent (Deployment *-cluster-agent, log component CLUSTER): cluster-level data "
            "read from the Kubernetes API server: topology (kubernetes_api_topology), Kubernetes "
            "events (kubernetes_api_events) and cluster-level control-plane metrics "
            "(kubernetes_api_metrics); it also hands cluster checks to the ClusterCheck Agent.\n"
            "ClusterCheck Agent (Deployment *-checks-agent or *-clusterchecks, only with cluster "
            "checks enabled): the kubernetes_state check, i.e. kube-state-metrics "
            "(kubernetes_state.*).",
        ))
        prefixes = self.ctx.matcher.prefixes
        wanted = []
        if any(p.startswith(("kubelet", "kubernetes.")) for p in prefixes) or not prefixes:
            wanted.append(f"node Agent (`kubectl -n {ns} logs <node-agent pod> -c node-agent`) for "
                          "kubelet.* and kubernetes.*")
        if any(p.startswith("kubernetes_state") for p in prefixes) or not prefixes:
            wanted.append("ClusterCheck Agent (`kubectl -n <namespace> logs <checks-agent pod>`) for "
                          "kubernetes_state.* with cluster checks on, else the node Agent on the node "
                          "running kube-state-metrics")
        wanted.append("Cluster Agent (`kubectl -n <namespace> logs <cluster-agent pod>`) for "
                      "Kubernetes events, topology and control-plane metrics")
        seen = ""
        if self.components:
            kinds = sorted(self.components)
            seen = (f" The log given was written by component{'s' if len(kinds) > 1 else ''} "
                    f"{', '.join(kinds)}"
                    + (" (the Cluster Agent)." if kinds == ["CLUSTER"] else "."))
        self.hints.append(Hint(
            "Read the log of the agent type that supplies the missing data: " + "; ".join(wanted)
            + "." + seen, RUNBOOK_K8S))


