import pytest

from stsdebug.errors import UsageError
from stsdebug.integrations import PULL_STAGES, PUSH_STAGES, Matcher, find, load_catalog, prefix_of


def test_catalog_has_the_required_integrations():
    cat = load_catalog()
    pull = {n for n, i in cat.items() if i.kind == "pull"}
    push = {n for n, i in cat.items() if i.kind == "push"}
    assert pull == {"aws", "azure", "splunk", "prometheus"}
    assert {"kubernetes", "openshift", "mysql", "postgres", "docker", "system", "custom"} <= push


def test_plans():
    assert find("aws").stages == PULL_STAGES == ("scope", "source", "elasticsearch", "streams")
    assert find("mysql").stages == PUSH_STAGES
    assert find("linux").name == "system"


def test_unknown_integration_suggests_nearest():
    with pytest.raises(UsageError, match="did you mean kubernetes"):
        find("kubernets")


def test_matcher_prefix_host_and_tags():
    m = Matcher.build(find("aws"), hosts=["i-1"], tags=["region:eu-west-1"])
    assert m.matches(["aws.ec2.cpu"], "i-1", {"region": "eu-west-1"})
    assert not m.matches(["aws.ec2.cpu"], "i-2", {"region": "eu-west-1"})
    assert not m.matches(["aws.ec2.cpu"], "i-1", {"region": "us-east-1"})
    assert not m.matches(["system.cpu"], "i-1", {"region": "eu-west-1"})


def test_overrides_replace_catalog_prefixes():
    m = Matcher.build(find("custom"), prefixes=["myapp."])
    assert m.matches(["myapp.requests"], None, {}) and not m.matches(["aws.x"], None, {})
    assert Matcher.build(find("custom")).matches_everything


def test_bad_tag_override():
    with pytest.raises(UsageError, match="KEY:VALUE"):
        Matcher.build(find("aws"), tags=["novalue"])


def test_prefix_of():
    assert prefix_of("aws.ec2.cpu") == "aws." and prefix_of("uptime") == "uptime"
