"""``stackstate-agent check`` output: JSON sections, Python tracebacks."""

from __future__ import annotations

import json

from stsdebug.logs.agent_base import ScanState
from stsdebug.logs.agent_patterns import (
    _JSON_KEY_RE,
    BAD_NAME,
    BAD_TYPE,
    CHECK_ERROR,
    SERVICE_CHECK,
    SERVICE_CHECK_STATUS,
    TRACEBACK,
    ZERO_SAMPLES,
    _error_of_json,
    _json_value,
)
from stsdebug.logs.agent_result import DISTINCT_LIMIT, CheckSamples, Hit, _keep


class CheckOutput(ScanState):
    """The sections of check output, and tracebacks wherever they appear."""

    def _traceback_line(self, n: int, text: str, body: str, stripped: str) -> bool:
        tb = self._tb
        assert tb is not None
        if not stripped:
            return True
        indent = len(body) - len(body.lstrip())
        if indent > int(tb["indent"]) or stripped.startswith("File "):  # type: ignore[call-overload]
            tb["frames"] = int(tb["frames"]) + 1  # type: ignore[call-overload]
            return True
        if stripped.startswith(
            ("During handling of the above exception", "The above exception was the direct cause",
             "Traceback (most recent call last)")
        ):
            return True
        start = tb["start"]
        assert isinstance(start, Hit)
        i = text.index(stripped[0]) if stripped else 0
        self._add(TRACEBACK, n, text, (i, i + len(stripped)), ts=start.ts, check=start.check,
                  detail=stripped[:300], context=(start,))
        self._tb = None
        return True

    def _close_traceback(self) -> None:
        tb, self._tb = self._tb, None
        if tb is not None:
            start = tb["start"]
            assert isinstance(start, Hit)
            # It ended without an exception line (cut off): cite its first line.
            self._add(TRACEBACK, start.n, start.text, start.span, ts=start.ts, check=start.check,
                      detail="Traceback (cut off before the exception line)")

    # -- status-style blocks -------------------------------------------------------------


    def _topology_line(self, n: int, text: str) -> None:
        if self._topology_hit is None:
            self._topology_hit = self._section_hit
        if self._topology_bytes < _TOPOLOGY_MAX:
            self._topology.append(text)
            self._topology_bytes += len(text) + 1

    def _topology_end(self) -> None:
        """The Topology section holds the intake payload StackState checks send
        ({internalHostname, topologies, health, metrics, events}); its ``metrics`` are the
        raw metrics (``self.raw``, ``[name, ts, value, {hostname, tags, type}]``), which
        "Metric Samples" does not count."""
        text, self._topology, self._topology_bytes = "\n".join(self._topology), [], 0
        hit, self._topology_hit = self._topology_hit, None
        for payload in _json_objects(text):
            self.topology_payloads += 1
            metrics = payload.get("metrics")
            for m in metrics if isinstance(metrics, list) else []:
                if not (isinstance(m, list) and m and isinstance(m[0], str)):
                    continue
                name = m[0]
                meta = m[3] if len(m) > 3 and isinstance(m[3], dict) else {}
                mtype = meta.get("type")
                self.raw_points += 1
                self.raw_metrics.note(name)
                self.metric_names.note(name)
                name_problem, type_problem = self._problem(name, mtype if isinstance(mtype, str) else None)
                if hit is not None and name_problem:
                    self._add(BAD_NAME, hit.n, hit.text, hit.span, check=self._json_check,
                              detail=f"{name}: {name_problem}")
                if hit is not None and type_problem:
                    self._add(BAD_TYPE, hit.n, hit.text, hit.span, check=self._json_check, detail=type_problem)

    def _end_section(self) -> None:
        if self._section is None:
            return
        if self._section == "topology":
            self._topology_end()
        self._close_sc()
        if self._section == "series" and self._section_entries == 0 and self._section_hit:
            h = self._section_hit
            self._add(ZERO_SAMPLES, h.n, h.text, h.span, detail="empty Series section")
        self._section = None
        self._section_hit = None
        self._metric_open = False

    def _close_sc(self) -> None:
        sc, self._sc = self._sc, None
        if not sc:
            return
        status = sc.get("status")
        if isinstance(status, int) and status in (1, 2, 3):
            hit = sc["hit"]
            assert isinstance(hit, Hit)
            label = SERVICE_CHECK_STATUS[status]
            message = str(sc.get("message") or "")
            detail = f"{sc['name']}: {label}" + (f" ({message[:200]})" if message else "")
            # The service check's own name (mysql.can_connect) says whose it is.
            name_hit = sc.get("name_hit")
            context = (name_hit,) if isinstance(name_hit, Hit) and name_hit.n != hit.n else ()
            self._add(SERVICE_CHECK, hit.n, hit.text, hit.span, check=str(sc["name"]),
                      detail=detail, context=context)

    def _json_line(self, n: int, text: str) -> None:
        if '"' not in text:
            return
        for m in _JSON_KEY_RE.finditer(text):
            key, raw = m.group("key"), m.group("value")
            value = _json_value(raw)
            vspan = (m.start("value") + 1, m.end("value") - 1) if raw.startswith('"') else (
                m.start("value"), m.end("value"))
            if key == "metric" and isinstance(value, str):
                self._close_sc()
                self._metric_open, self._metric_typed = True, False
                self.series_entries += 1
                self._section_entries += 1
                self.metric_names.note(value)
                problem = self._problem(value, None)[0]
                if problem:
                    self._add(BAD_NAME, n, text, vspan, check=self._json_check, detail=f"{value}: {problem}")
            elif key == "type" and self._metric_open and not self._metric_typed and isinstance(value, str):
                self._metric_typed = True
                problem = self._problem(None, value)[1]
                if problem:
                    self._add(BAD_TYPE, n, text, vspan, check=self._json_check, detail=problem)
            elif key == "host" and self._metric_open and isinstance(value, str):
                self.metric_hosts.note(value)
            elif key == "check" and isinstance(value, str):
                self._close_sc()
                self._metric_open = False
                self.service_checks += 1
                self._section_entries += 1
                self._sc = {"name": value, "status": None, "hit": None,
                            "name_hit": Hit(n, *_keep(text, vspan))}
            elif key == "status" and self._sc is not None and self._sc["status"] is None:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._sc["status"] = int(value)
                    self._sc["hit"] = Hit(n, text, (m.start(), m.end()))
            elif key == "message" and self._sc is not None and isinstance(value, str):
                self._sc["message"] = value
            elif key == "msg_title":
                self.events += 1
                self._section_entries += 1
                self._metric_open = False
            elif key == "CheckName" and isinstance(value, str):
                self._json_check = value
                self._saw_check(value, n)
                self._instances_seen += 1
            elif key == "MetricSamples" and isinstance(value, (int, float)):
                check = self._json_check or "?"
                if check not in self.check_samples:
                    self.check_samples[check] = CheckSamples(check, int(value), int(value), n)
                    if int(value) == 0:
                        self._add(ZERO_SAMPLES, n, text, (m.start(), m.end()), check=check,
                                  detail="MetricSamples: 0")
            elif key == "LastError" and isinstance(value, str) and value.strip():
                self._add(CHECK_ERROR, n, text, vspan, check=self._json_check,
                          detail=_error_of_json(value))

    def _problem(self, name: str | None, mtype: str | None) -> tuple[str | None, str | None]:
        key = f"{name}\x00{mtype}"
        cached = self._checked_names.get(key)
        if cached is not None:
            return cached
        result = (
            self._name_problem(name) if (name is not None and self._name_problem) else None,
            self._type_problem(mtype) if (mtype is not None and self._type_problem) else None,
        )
        if len(self._checked_names) < DISTINCT_LIMIT:
            self._checked_names[key] = result
        return result




_TOPOLOGY_MAX = 8 << 20  # characters of a Topology section kept for parsing


def _json_objects(text: str) -> list[dict[str, object]]:
    """The JSON objects printed one after another (re-indented) in ``text``."""
    out: list[dict[str, object]] = []
    decoder = json.JSONDecoder()
    pos = text.find("{")
    while 0 <= pos < len(text):
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError:
            pos = text.find("\n{", pos + 1)
            pos = pos + 1 if pos >= 0 else -1
            continue
        if isinstance(obj, dict):
            out.append(obj)
        pos = text.find("{", end)
    return out
