"""Every way reading Elasticsearch can fail gives the stage `error` with one sentence, in time.

Real servers where one can do the job: noida-db (refused port after it is gone, TLS
mismatch, auth and TLS through a checking front). Stand-in loopback HTTP servers for
answers no healthy Elasticsearch gives on demand: 401/403, 5xx, malformed JSON, a
server that is not Elasticsearch, and one that accepts connections and never answers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stsdebug.model import Status
from stsdebug.settings import Settings
from tests.integration import es_support as sup
from tests.integration.es_support import AWS

pytestmark = pytest.mark.wire

TIMEOUT = 1.0
# The stage after Elasticsearch still runs (the trace goes on); streams reads the same source.
STAGES = ["elasticsearch", "streams"]
STREAM = "host=i-0abc,metric=values.aws.ec2.cpuutilization"


def _settings(url: str, **kw: object) -> Settings:
    values: dict[str, object] = {
        "integration": "aws",
        # The CloudWatch plugin stores nothing in 5.1 (on demand); these tests give aws data
        # that is stored, as an installation that keeps it does.
        "storage": "elasticsearch",
        "es": url,
        "timeout": TIMEOUT,
        "streams": [STREAM],
    }
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


def _errors(url: str, **kw: object) -> tuple[str, str, float]:
    trace, seconds = sup.timed(lambda: sup.run(_settings(url, **kw), STAGES))
    es = sup.stage(trace, "elasticsearch")
    streams = sup.stage(trace, "streams")
    assert es.status is Status.ERROR, es.summary
    assert streams.status is Status.ERROR, streams.summary  # same cause, said at once
    assert re.search(r"\.\s+[A-Z]", es.summary) is None and es.summary.endswith(".")  # one sentence
    assert "Traceback" not in es.summary and "Internal error" not in es.summary
    return es.summary, streams.summary, seconds


def test_unauthorized_401(tmp_path: Path) -> None:
    body = json.dumps(
        {
            "error": {"type": "security_exception", "reason": "missing authentication credentials"},
            "status": 401,
        }
    )
    with sup.http_server(sup.always(401, body.encode())) as url:
        summary, _, seconds = _errors(url)
    assert "HTTP 401" in summary and "credentials" in summary
    assert seconds < TIMEOUT + 1


def test_forbidden_403_names_what_was_denied() -> None:
    body = json.dumps(
        {
            "error": {
                "root_cause": [
                    {
                        "type": "security_exception",
                        "reason": "action [cluster:monitor/health] is unauthorized for user [ro]",
                    }
                ],
                "type": "security_exception",
                "reason": "x",
            },
            "status": 403,
        }
    ).encode()
    with sup.http_server(sup.es_like(403, body)) as url:
        summary, _, _ = _errors(url)
    assert "HTTP 403" in summary and "cluster health" in summary
    assert "cluster:monitor/health" in summary


@pytest.mark.parametrize("code", [500, 502, 503])
def test_server_errors_5xx(code: int) -> None:
    body = b"<html><body>upstream unavailable</body></html>"
    with sup.http_server(sup.es_like(code, body, "text/html")) as url:
        summary, _, seconds = _errors(url)
    assert f"HTTP {code}" in summary
    assert "<html>" not in summary
    assert seconds < TIMEOUT + 1


def test_malformed_json_answer() -> None:
    with sup.http_server(sup.es_like(200, b'{"status": "green", "nodes": [')) as url:
        summary, _, _ = _errors(url)
    assert "malformed" in summary and "not JSON" in summary


def test_valid_json_of_the_wrong_shape_is_malformed_too() -> None:
    with sup.http_server(sup.es_like(200, b'["not", "an", "object"]')) as url:
        summary, _, _ = _errors(url)
    assert "malformed" in summary and "cluster health" in summary


def test_a_server_that_is_not_elasticsearch() -> None:
    page = b"<html>Welcome to nginx</html>"
    with sup.http_server(sup.always(200, page, {"Content-Type": "text/html"})) as url:
        summary, _, _ = _errors(url)
    assert "is not Elasticsearch" in summary


def test_a_server_that_never_answers_times_out_within_the_timeout() -> None:
    with sup.silent_server() as url:
        summary, streams_summary, seconds = _errors(url)
    assert f"did not answer within {TIMEOUT:g} s" in summary
    # Both stages report within one timeout: the second one does not wait again.
    assert seconds < TIMEOUT + 1
    assert "did not answer" in streams_summary


def test_refused_port() -> None:
    summary, _, seconds = _errors(sup.refused_url())
    assert "connection refused" in summary
    assert seconds < TIMEOUT + 1


def test_dns_failure() -> None:
    summary, _, seconds = _errors("http://no-such-host.invalid:9200")
    assert "Cannot resolve the host name 'no-such-host.invalid' of Elasticsearch" in summary
    assert seconds < TIMEOUT + 1


def test_tls_to_a_plain_http_port(es_url: str) -> None:
    summary, _, _ = _errors(es_url.replace("http://", "https://"))
    assert "TLS handshake" in summary and "plain HTTP on this port" in summary


def test_tls_with_unknown_ca_fails_then_ca_file_and_insecure_both_work(
    es_url: str, tmp_path: Path
) -> None:
    base, now = sup.unique_base(), __import__("time").time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS]))
    tls, ca = sup.self_signed(tmp_path)
    with sup.http_server(sup.forward_to(es_url), tls=tls) as url:
        assert url.startswith("https://")
        summary, _, seconds = _errors(url, index_pattern=base + "*")
        assert "TLS handshake" in summary and "certificate verify failed" in summary
        assert "--es-ca-file" in summary
        assert seconds < TIMEOUT + 1
        for extra in ({"es_ca_file": str(ca)}, {"es_insecure": True}):
            s = _settings(url, index_pattern=base + "*", timeout=5.0, **extra)
            r = sup.stage(sup.run(s, ["elasticsearch"], now=now), "elasticsearch")
            assert r.status is Status.PASS, (extra, r.summary)


def test_missing_ca_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    summary, _, _ = _errors("https://127.0.0.1:9", es_ca_file=str(tmp_path / "nope.pem"))
    assert "CA file" in summary and "does not exist" in summary


def test_basic_auth_is_sent_and_wrong_password_is_401(es_url: str) -> None:
    base, now = sup.unique_base(), __import__("time").time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS]))
    expected = sup.basic("stsdebug", "s3cret-pass")
    with sup.http_server(sup.forward_to(es_url, lambda h: h == expected)) as url:
        good = _settings(
            url, index_pattern=base + "*", es_username="stsdebug", es_password="s3cret-pass"
        )
        r = sup.stage(sup.run(good, ["elasticsearch"], now=now), "elasticsearch")
        assert r.status is Status.PASS, r.summary
        bad = _settings(
            url, index_pattern=base + "*", es_username="stsdebug", es_password="wrong-pass"
        )
        trace = sup.run(bad, STAGES, now=now)
        r = sup.stage(trace, "elasticsearch")
        assert r.status is Status.ERROR and "HTTP 401" in r.summary
        assert "wrong-pass" not in trace.to_json() and "s3cret" not in trace.to_json()


def test_api_key_auth_in_both_forms(es_url: str) -> None:
    import base64

    base, now = sup.unique_base(), __import__("time").time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS]))
    expected = sup.api_key_header("key-id", "key-secret")
    encoded = base64.b64encode(b"key-id:key-secret").decode()
    with sup.http_server(sup.forward_to(es_url, lambda h: h == expected)) as url:
        for given in ("key-id:key-secret", encoded):
            s = _settings(url, index_pattern=base + "*", es_api_key=given, timeout=5.0)
            trace = sup.run(s, ["elasticsearch"], now=now)
            r = sup.stage(trace, "elasticsearch")
            assert r.status is Status.PASS, (given, r.summary)
            assert "key-secret" not in trace.to_json()


def test_credentials_in_the_url_never_appear_in_messages() -> None:
    summary, _, _ = _errors("http://admin:hunter2@127.0.0.1:1")
    assert "hunter2" not in summary and "admin" not in summary
    assert "http://127.0.0.1:1" in summary
