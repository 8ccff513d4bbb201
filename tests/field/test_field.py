"""The field corpus: stsdebug against StackState 5.1 situations, with a support engineer's verdicts.

Each directory under fixtures/field/ is one situation an engineer meets on a real
installation (inputs in StackState's real formats, Kafka and Elasticsearch seeded on a
noida-db of its own) and the verdict an experienced StackState support engineer reaches
from the same evidence. The test runs stsdebug through its public API (settings.resolve,
Trace with the scenario's fixed "now") and compares.

KNOWN_WRONG lists the scenarios stsdebug gets wrong today, one line each on why. They are
strict xfails: when a change makes one right, its test fails until it is taken off the list.
`python -m tests.field.report` prints the whole table.
"""

from __future__ import annotations

import pytest

from tests.field import corpus

pytestmark = pytest.mark.wire

# Scenario -> what stsdebug gets wrong today (and would have to do to be right).
KNOWN_WRONG: dict[str, str] = {}

SCENARIOS = {s.name: s for s in corpus.all_scenarios()}


def _param(name: str) -> object:
    marks = []
    if name in KNOWN_WRONG:
        marks.append(pytest.mark.xfail(reason=KNOWN_WRONG[name], strict=True))
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_param(n) for n in SCENARIOS])
def test_scenario(name: str) -> None:
    outcome = corpus.run(SCENARIOS[name])
    assert outcome.ok, outcome.explain()


def test_known_wrong_names_exist() -> None:
    assert not set(KNOWN_WRONG) - set(SCENARIOS), "KNOWN_WRONG names scenarios that do not exist"


def test_corpus_size_and_balance() -> None:
    kinds = [s.kind for s in SCENARIOS.values()]
    assert len(kinds) >= 40
    # False alarms send engineers to the wrong team too: a quarter at least is healthy or warn.
    assert sum(k != "broken" for k in kinds) * 4 >= len(kinds)


def test_every_scenario_names_its_sources() -> None:
    missing = [s.name for s in SCENARIOS.values() if not s.sources or not s.expect.why]
    assert not missing, f"scenarios without sources or a why: {missing}"


def test_readme_lists_every_scenario() -> None:
    from tests.field.report import readme_table

    text = (corpus.FIELD / "README.md").read_text(encoding="utf-8")
    assert readme_table(list(SCENARIOS.values())) in text, (
        "fixtures/field/README.md is out of date: run python -m tests.field.report --readme"
    )
