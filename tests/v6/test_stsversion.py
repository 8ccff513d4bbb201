"""Which StackState a target is (stsdebug.stsversion) and the plan that follows: auto decides
from positive evidence only, a target is never judged by the other version's plan, and the
trace records the version, how it was decided and the plan."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stsdebug import stsversion
from stsdebug.errors import SourceError, UsageError
from stsdebug.model import Status, TraceResult
from stsdebug.settings import Settings, resolve
from stsdebug.stages.base import load_stage
from stsdebug.trace import PlanDecided, Trace, expected_plan

PROFILES = Path(__file__).parents[2] / "fixtures" / "v6" / "profiles"
TRACES = Path(__file__).parents[2] / "fixtures" / "traces"


def profile(name: str, section: str) -> Settings:
    return resolve({"config": str(PROFILES / name), "profile": section},
                   env={"SO_SERVICE_TOKEN": "svc-token-123456"})


# --- deciding --------------------------------------------------------------------------------


@pytest.mark.parametrize("file, section, version, mode", [
    ("stackstate5.toml", "prod5", "5", "auto"),
    ("stackstate6.toml", "prod6", "6", "auto"),
    ("stackstate6-api.toml", "saas6", "6", "auto"),
    ("stackstate-api-only.toml", "api", "5", "auto"),
])
def test_auto_on_profiles_of_each_version(file: str, section: str, version: str, mode: str) -> None:
    d = stsversion.decide(profile(file, section))
    assert (d.version, d.mode) == (version, mode)


def test_a_profile_naming_the_version_decides(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[profiles.p]\nsts_version = 6\nkafka = "k:9092"\n')
    d = stsversion.decide(resolve({"config": str(cfg), "profile": "p"}, env={}))
    assert (d.version, d.mode) == ("6", "given") and "given" in d.reason


def test_the_flag_beats_the_evidence() -> None:
    d = stsversion.decide(Settings(sts_version="5", victoria_metrics="http://vm:8428"))
    assert (d.version, d.mode) == ("5", "given")


@pytest.mark.parametrize("bad", ["7", "v6", "latest"])
def test_a_bad_version_is_one_line(bad: str) -> None:
    with pytest.raises(UsageError, match="--sts-version must be 5, 6 or auto"):
        resolve({"sts_version": bad}, env={})


def test_an_answering_prometheus_path_makes_it_6_and_is_used() -> None:
    asked: list[str] = []

    def answers(url: str) -> str | None:
        asked.append(url)
        return None

    s = Settings(sts_api="https://so.example.com/api/")
    d = stsversion.decide(s, answers)
    assert asked == ["https://so.example.com/prometheus"]
    assert d.version == "6" and d.prometheus_api == "https://so.example.com/prometheus"
    assert d.applied(s).prometheus_api == "https://so.example.com/prometheus"


def test_a_silent_or_refusing_api_keeps_5_and_says_why() -> None:
    d = stsversion.decide(Settings(sts_api="https://old.example.com"), lambda url: "HTTP 404 Not Found")
    assert d.version == "5" and "HTTP 404 Not Found" in d.reason


def test_nothing_missing_ever_switches_to_6() -> None:
    """A broken 5.x installation can lack its topic, its indices, everything: 5 it stays."""
    s = Settings(kafka="127.0.0.1:1", es="http://127.0.0.1:1", topic="no_such_topic", streams=["host=a,metric=v"])
    assert stsversion.decide(s, lambda url: "refused").version == "5"
    assert stsversion.decide(s).version == "5"


# --- the plan --------------------------------------------------------------------------------


class Exploding:
    """A source that must not be used (closing it at the end of the trace is fine)."""

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the other version's source was used ({name})")


def test_a_6_target_is_not_judged_by_the_5_plan() -> None:
    s = Settings(integration="mysql", victoria_metrics="http://127.0.0.1:1", kafka="k:9092",
                 es="http://es:9200", streams=["host=a,metric=values.x"], mirror="http://m:9900", timeout=1.0)
    events: list[object] = []
    trace = Trace(s, sources={"kafka": Exploding(), "es": Exploding(), "mirror": Exploding()},
                  on_event=events.append).run()
    assert trace.sts_version == "6" and trace.sts_version_decision == {
        "mode": "auto", "reason": "--victoria-metrics was given: a StackState 6 endpoint."}
    assert trace.plan == ["scope", "agent", "receiver", "vmagent", "victoriametrics", "bindings"]
    outside = {st.id: st for st in trace.outside}
    assert set(outside) == {"kafka", "elasticsearch", "streams", "source"}
    for st in outside.values():
        assert st.status is Status.SKIP and "Not part of the target's metrics path" in st.summary
    assert "not to the Kafka topic sts_multi_metrics" in outside["kafka"].summary
    assert isinstance(events[0], PlanDecided) and events[0].sts_version == "6"
    assert [sid for sid, _ in events[0].stages] == [st.id for st in trace.stages]


def test_a_5_target_is_not_judged_by_the_6_plan() -> None:
    s = Settings(integration="mysql", sts_version="5", vmagent="http://127.0.0.1:1",
                 bindings=["mysql_net_connections"], timeout=1.0)
    trace = Trace(s, sources={"prometheus": Exploding(), "vmagent_metrics": Exploding()}).run()
    assert trace.sts_version == "5" and trace.plan == ["scope", "agent", "receiver", "kafka", "elasticsearch",
                                                       "streams"]
    assert {st.id: st.status for st in trace.outside} == {"vmagent": Status.SKIP, "bindings": Status.SKIP}
    assert "as given" in trace.stage("vmagent").summary


def test_nothing_outside_the_plan_when_its_input_is_not_given() -> None:
    trace = Trace(Settings(integration="aws", victoria_metrics="http://127.0.0.1:1", timeout=1.0)).run()
    assert [st.id for st in trace.stages] == ["scope", "vmagent", "victoriametrics", "bindings"]
    assert trace.outside == []


def test_the_stages_of_6_are_their_own_modules() -> None:
    assert load_stage("scope", "6").run is not load_stage("scope", "5").run
    assert load_stage("receiver", "6").run is not load_stage("receiver").run
    assert load_stage("agent", "6").run is load_stage("agent").run  # the agent is the same


def test_expected_plan_needs_no_network() -> None:
    ids = [sid for sid, _ in expected_plan(Settings(integration="system", vmagent="http://x:8429", es="http://e"))]
    assert ids == ["scope", "agent", "receiver", "vmagent", "victoriametrics", "bindings", "elasticsearch"]


# --- asking the StackState API (auto, --sts-api) -----------------------------------------------


@pytest.fixture
def api_stand_in() -> Iterator[tuple[str, list[str]]]:
    """StackState's API: answers Prometheus queries on /prometheus (6) or nothing there (5)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            if self.path.startswith("/six/prometheus/api/v1/query"):
                body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
                code = 200
            else:
                body, code = '{"message": "Not found"}', 404
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_trace_asks_the_api_once_and_follows_its_answer(api_stand_in: tuple[str, list[str]]) -> None:
    url, seen = api_stand_in
    six = Trace(Settings(integration="aws", sts_api=f"{url}/six", timeout=2.0)).run()
    assert six.sts_version == "6" and "answers Prometheus queries" in (six.sts_version_decision or {})["reason"]
    assert six.target.get("prometheus_api") == f"{url}/six/prometheus"
    asked = [p for p in seen if "/prometheus/" in p]
    # The question; then the census; the VictoriaMetrics stage's one query for the series, one
    # for the newest sample of the day (none in the window) and one for self-monitoring.
    assert len(asked) == 1 + 1 + 3
    seen.clear()
    five = Trace(Settings(integration="aws", sts_api=f"{url}/five", timeout=2.0)).run()
    assert five.sts_version == "5" and "404" in (five.sts_version_decision or {})["reason"]
    assert len([p for p in seen if "/prometheus/" in p]) == 1


def test_given_stages_ask_nothing(api_stand_in: tuple[str, list[str]]) -> None:
    """Tests and tools that give their own stages get no extra request."""
    url, seen = api_stand_in
    trace = Trace(Settings(sts_api=f"{url}/six"), stages=[load_stage("agent")]).run()
    assert seen == [] and trace.sts_version == "5"


# --- the trace contract ------------------------------------------------------------------------


def test_version_keys_round_trip_and_older_traces_still_load() -> None:
    data = json.loads((TRACES / "v6_vm_unreachable.json").read_text())
    trace = TraceResult.from_dict(data)
    assert trace.sts_version == "6" and trace.plan and trace.sts_version_decision
    assert TraceResult.from_dict(trace.to_dict()).to_dict() == trace.to_dict()
    old = TraceResult.from_dict(json.loads((TRACES / "kafka_fail.json").read_text()))
    assert old.sts_version is None and old.plan is None and "sts_version" not in old.to_dict()
    assert [s.id for s in old.pipeline] == [s.id for s in old.stages] and old.outside == []


def test_every_v6_fixture_trace_follows_the_schema() -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "docs" / "trace.schema.json").read_text())
    for path in sorted(TRACES.glob("v6_*.json")):
        jsonschema.validate(json.loads(path.read_text()), schema)


def test_source_error_in_the_question_is_a_reason_not_a_crash() -> None:
    from stsdebug.trace import ask_prometheus

    reason = ask_prometheus(1.0)("http://127.0.0.1:1/prometheus")
    assert reason and "refused" in reason.lower()
    assert isinstance(SourceError("x"), Exception)
