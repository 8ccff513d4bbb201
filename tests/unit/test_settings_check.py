"""Every malformed setting is a usage error, before anything runs (stsdebug/settings_check.py).

Table-driven over every URL setting and the Kafka bootstrap; the origin of a value (flag,
environment variable, profile) is named in the one line; property tests say that whatever
URL is given, resolution either keeps it unchanged or refuses it in one line, never
anything else, and that no port is ever rewritten.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
import typing
from pathlib import Path

import certifi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdebug.commands.options import CheckOptions
from stsdebug.errors import UsageError
from stsdebug.settings import resolve
from stsdebug.settings_check import URL_FIELDS

BAD_URLS = [
    ("ftp://h:21", "must start with http:// or https://"),
    ("http://h:0", "port 0 is not a port"),
    ("http://h:65536", "port 65536 is not a port"),
    ("http://h:99999/x", "port 99999 is not a port"),
    ("http://h :1", "space"),
    ("http://h:1/a b", "space"),
    ("http://[::1", "IPv6"),
    ("http://[fe80::1:9200", "IPv6"),
    ("http://[zz]:1", "not a URL|IPv6"),
    ("http://", "no host"),
    ("https:///path", "no host"),
    ("http://a..b:1", "not a valid host name"),
    ("http://h:1x", "not a port number"),
    ("http://h:", "not a port number"),
    ("http://h\t:1", "space or a control character"),
    ("", "empty"),
]


@pytest.mark.parametrize("name", URL_FIELDS)
@pytest.mark.parametrize(("value", "says"), BAD_URLS, ids=[v or "empty" for v, _ in BAD_URLS])
def test_every_url_setting_refuses_a_malformed_url_naming_the_flag(name: str, value: str, says: str) -> None:
    if name == "es" and value == "":
        value = " "
    with pytest.raises(UsageError, match=says) as info:
        resolve({name: value}, {})
    assert str(info.value).startswith(f"--{name.replace('_', '-')} ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", URL_FIELDS)
@pytest.mark.parametrize("value", ["http://h:1", "https://h.example.com:65535/api", "http://[::1]:9200",
                                   "http://10.0.0.1/x?y=1", "https://user:pw@host/p", "HTTPS://Host"])
def test_well_formed_urls_are_kept_as_given(name: str, value: str) -> None:
    assert getattr(resolve({name: value}, {}), name) == value


def test_elasticsearch_alone_may_be_host_and_port() -> None:
    assert resolve({"es": "es-master:9200"}, {}).es == "es-master:9200"
    with pytest.raises(UsageError, match="--es 'es-master:0': port 0"):
        resolve({"es": "es-master:0"}, {})
    with pytest.raises(UsageError, match="--receiver 'rcv:7077': it must start with http"):
        resolve({"receiver": "rcv:7077"}, {})


def test_the_origin_of_a_bad_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^environment variable STSDEBUG_ES 'http://h:0': port 0"):
        resolve({}, {"STSDEBUG_ES": "http://h:0"})
    config = tmp_path / "c.toml"
    config.write_text('[profiles.prod]\nmirror = "http://m:70000"\n')
    with pytest.raises(UsageError, match=r"^profile 'prod' mirror 'http://m:70000': port 70000"):
        resolve({"config": str(config), "profile": "prod"}, {})


def test_every_option_that_takes_a_url_is_checked() -> None:
    """A URL option added later (StackState 6 endpoints...) must join URL_FIELDS."""
    hints = typing.get_type_hints(CheckOptions, include_extras=True)
    takes_url = set()
    for f in dataclasses.fields(CheckOptions):
        for meta in getattr(hints[f.name], "__metadata__", ()):
            if getattr(meta, "metavar", None) == "URL":
                takes_url.add(f.name)
    assert takes_url and takes_url <= set(URL_FIELDS), takes_url - set(URL_FIELDS)


BAD_BOOTSTRAPS = [
    ("h:0", "port 0 is not a port"),
    ("h:65536", "port 65536"),
    ("h:x", "'x' is not a port number"),
    ("h:", "no port after"),
    ("a,,b:9092", "empty part"),
    ("a:9092,", "empty part"),
    (",", "empty part"),
    (" ", "empty"),
    ("[::1", "not \\[IPv6\\]:PORT"),
    ("[zz]:9092", "not a valid IPv6"),
    ("ho st:9092", "space"),
    ("http://kafka:9092", "without a URL scheme"),
    ("a..b:9092", "not a valid host name"),
]


@pytest.mark.parametrize(("value", "says"), BAD_BOOTSTRAPS, ids=[v for v, _ in BAD_BOOTSTRAPS])
def test_a_malformed_kafka_bootstrap_is_a_usage_error(value: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as info:
        resolve({"kafka": value}, {})
    assert str(info.value).startswith("--kafka: ")


@pytest.mark.parametrize("value", ["k:9092", "k1:9092,k2:9093", "[::1]:9092", "PLAINTEXT://k:9092", "k"])
def test_well_formed_bootstraps_are_kept(value: str) -> None:
    assert resolve({"kafka": value}, {}).kafka == value


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ({"kafka_security_protocol": "TLS"}, r"--kafka-security-protocol 'TLS': must be one of PLAINTEXT"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, r"--kafka-sasl-mechanism 'GSSAPI': must be one of PLAIN"),
        ({"kafka_security_protocol": "SASL_SSL"}, r"SASL needs a user name and a password"),
        ({"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": "u"}, r"SASL needs a user name and a password"),
        ({"topic": "bad topic"}, r"--topic 'bad topic': a Kafka topic name"),
        ({"topic": "x" * 250}, r"a Kafka topic name is 1 to 249"),
        ({"es_layout": "flat"}, r"--es-layout 'flat': must be 'multi' or 'single'"),
        ({"window": "soon"}, r"--window 'soon': expected a duration"),
        ({"window": "0s"}, r"--window '0s': must be more than 0"),
        ({"window": "31d"}, r"at most 30d"),
        ({"receiver_log_tz": "Mars/Olympus"}, r"--receiver-log-tz: time zone 'Mars/Olympus' is not known"),
        ({"timeout": "nan"}, r"--timeout: timeout must be between 0 and 3600"),
        ({"timeout": "inf"}, r"between 0 and 3600"),
        ({"timeout": "-1"}, r"between 0 and 3600"),
        ({"timeout": "0"}, r"between 0 and 3600"),
        ({"probe_timeout": "1e9"}, r"between 0 and 3600"),
        ({"timeout": "soon"}, r"must be a number of seconds"),
    ],
)
def test_other_malformed_settings_are_usage_errors(flags: dict[str, object], says: str) -> None:
    with pytest.raises(UsageError, match=says):
        resolve({"kafka": "k:9092", **flags}, {})


def test_ca_files_are_checked_up_front(tmp_path: Path) -> None:
    for name in ("es_ca_file", "kafka_ssl_cafile"):
        flag = "--" + name.replace("_", "-")
        with pytest.raises(UsageError, match=f"{flag} .*nope.pem: no such file"):
            resolve({name: str(tmp_path / "nope.pem")}, {})
        with pytest.raises(UsageError, match="is a directory"):
            resolve({name: str(tmp_path)}, {})
        fifo = tmp_path / f"{name}.fifo"
        os.mkfifo(fifo)
        started = time.monotonic()
        with pytest.raises(UsageError, match=r"named pipe \(FIFO\), not a regular file"):
            resolve({name: str(fifo)}, {})
        assert time.monotonic() - started < 2  # refused, not opened (it would wait for a writer)
        junk = tmp_path / "junk.pem"
        junk.write_text("not a certificate\n")
        with pytest.raises(UsageError, match="not a PEM file of CA certificates"):
            resolve({name: str(junk)}, {})
        assert getattr(resolve({name: certifi.where()}, {}), name) == certifi.where()


# --- from the command line: exit 2, one line, before anything runs ------------------------------


def _listening() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    s.settimeout(0.2)
    return s, s.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--es", "http://127.0.0.1:0"], "--es 'http://127.0.0.1:0': port 0 is not a port"),
        (["--receiver", "http://[::1"], "--receiver 'http://[::1'"),
        (["--kafka", "127.0.0.1:99999"], "--kafka: Kafka bootstrap '127.0.0.1:99999' is not HOST:PORT"),
        (["--kafka", "k:9092", "--kafka-security-protocol", "SSLv3"], "--kafka-security-protocol 'SSLv3'"),
        (["--es", "http://x", "--es-ca-file", "/nonexistent/ca.pem"], "--es-ca-file /nonexistent/ca.pem"),
    ],
)
def test_the_cli_says_it_in_one_line_with_exit_2_before_anything_runs(args: list[str], says: str) -> None:
    listener, port = _listening()
    try:
        # A valid endpoint beside the bad one: nothing may connect to it.
        r = subprocess.run(
            [sys.executable, "-m", "stsdebug", "check", "--sts-api", f"http://127.0.0.1:{port}", *args],
            capture_output=True, text=True, timeout=60,
        )
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
    assert "Internal error" not in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


# --- properties ---------------------------------------------------------------------------------

hosts = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True).filter(
        lambda h: not h.endswith("-") and "-." not in h),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
ports = st.integers(min_value=-5, max_value=70000)
junk = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(URL_FIELDS), st.sampled_from(["http", "https", "ftp", "HTTP", ""]), hosts,
       st.one_of(st.none(), ports), st.sampled_from(["", "/", "/api", "/a b", "?api_key=x"]))
def test_a_url_is_kept_unchanged_or_refused_in_one_line(
    name: str, scheme: str, host: str, port: int | None, tail: str
) -> None:
    url = f"{scheme}://{host}" if scheme else host
    if port is not None:
        url += f":{port}"
    url += tail
    try:
        s = resolve({name: url}, {})
    except UsageError as exc:
        assert str(exc).startswith(f"--{name.replace('_', '-')} ") and "\n" not in str(exc)
        return
    assert getattr(s, name) == url  # never rewritten
    if port is not None:
        assert 1 <= port <= 65535
    assert " " not in url
    assert scheme.lower() in ("http", "https") or (name == "es" and not scheme)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(URL_FIELDS), junk)
def test_any_text_as_a_url_is_a_value_or_one_line(name: str, value: str) -> None:
    try:
        resolve({name: value}, {})
    except UsageError as exc:
        assert "\n" not in str(exc).replace(repr(value), "")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(hosts, st.one_of(st.none(), ports)), min_size=1, max_size=3))
def test_a_bootstrap_is_kept_or_refused(servers: list[tuple[str, int | None]]) -> None:
    value = ",".join(h if p is None else f"{h}:{p}" for h, p in servers)
    try:
        assert resolve({"kafka": value}, {}).kafka == value
    except UsageError as exc:
        assert str(exc).startswith("--kafka: ")
        assert any(p is not None and not 1 <= p <= 65535 for _, p in servers), str(exc)
