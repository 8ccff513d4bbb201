"""The streams stage's pure parts: suggestion ranking, and the paths that need no Elasticsearch."""

from __future__ import annotations

from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.stages import stream_suggest
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace


def test_rank_prefers_similarity_then_documents() -> None:
    ranked = stream_suggest.rank("i-0abx", [("i-0abd", 3), ("web-1", 500), ("i-0abc", 12)])
    # Equally near (one edit): more documents first; the dissimilar host is not offered.
    assert [s.value for s in ranked] == ["i-0abc", "i-0abd"]
    assert ranked[0].text() == "i-0abc — 12 docs in the window"


def test_rank_case_only_difference_comes_first() -> None:
    ranked = stream_suggest.rank("EU-WEST-1", [("eu-west-2", 900), ("eu-west-1", 10)])
    assert ranked[0].value == "eu-west-1"


def test_rank_autocomplete_prefix_counts_as_near() -> None:
    ranked = stream_suggest.rank("system.load", [("system.load.norm", 5), ("system.mem.used", 50)])
    assert ranked[0].value == "system.load.norm"


def test_rank_ignores_the_shared_values_prefix_of_metric_fields() -> None:
    options = [("values.aws.ec2.cpuutilization", 4), ("values.system.cpu.user", 40)]
    ranked = stream_suggest.rank("values.aws.ec2.cpu_utilization", options)
    assert [s.value for s in ranked] == ["values.aws.ec2.cpuutilization"]


def test_rank_nothing_alike_offers_most_frequent_values_as_present() -> None:
    ranked = stream_suggest.rank("zzz", [("alpha", 5), ("beta", 50), ("gamma", 1)])
    assert [s.value for s in ranked] == ["beta", "alpha", "gamma"]
    assert all(s.score == 0.0 for s in ranked)
    text = stream_suggest.fix_text("host", "zzz", ranked)
    assert text.startswith("host=zzz matches nothing; host holds e.g. beta — 50 docs")


def test_rank_never_suggests_the_value_itself() -> None:
    assert stream_suggest.rank("a", [("a", 10)]) == []


def test_fix_text_first_only_for_the_summary() -> None:
    ranked = stream_suggest.rank("i-0abx", [("i-0abd", 3), ("i-0abc", 12)])
    fix = stream_suggest.fix_text("host", "i-0abx", ranked)
    assert fix == (
        "host=i-0abx matches nothing; did you mean i-0abc — 12 docs in the window, "
        "or i-0abd — 3 docs in the window"
    )
    assert stream_suggest.first_only(fix).endswith("i-0abc — 12 docs in the window")


def _run(**kw: object):
    settings = Settings(**{"integration": "aws", **kw})  # type: ignore[arg-type]
    return Trace(settings, stages=[load_stage("streams")]).run().stages[0]


def test_no_stream_skips_with_how_to_give_one() -> None:
    r = _run(es="http://127.0.0.1:1")
    assert r.status is Status.SKIP
    assert "No telemetry stream given" in r.summary
    assert "--stream 'host=HOST,tags.KEY=VALUE,metric=values.METRIC'" in r.hints[0].text


def test_streams_without_es_skip() -> None:
    r = _run(streams=["host=a"])
    assert r.status is Status.SKIP and "--es" in r.summary


def test_bad_definition_is_an_error_with_the_one_line_reason() -> None:
    r = _run(streams=["host"], es="http://127.0.0.1:1")
    assert r.status is Status.ERROR
    assert (
        r.summary
        == "The stream definitions cannot be used: --stream #1 'host': 'host' is not KEY=VALUE."
    )
