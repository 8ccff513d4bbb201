"""One "did you mean" for integrations, profiles, faults, index patterns and stream fields."""

from stsdebug.suggest import did_you_mean, near


def test_near_names_best_first() -> None:
    assert near("kubernets", ["kubernetes", "openshift", "mysql"]) == ["kubernetes"]
    assert near("zzz", ["kubernetes"]) == []


def test_did_you_mean_wording() -> None:
    assert did_you_mean("kubernets", ["kubernetes"]) == "; did you mean kubernetes?"
    assert did_you_mean("host-1", ["host-10", "web"], lead=": ", end="") == ": did you mean host-10"
    assert did_you_mean("zzz", ["kubernetes"]) == ""
