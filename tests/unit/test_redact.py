"""Redaction: configured secrets in every encoding, credentials in the shapes real systems echo."""

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from stsdebug.redact import MARK, Redactor, redact_trace, secret_forms


def test_configured_secret_is_replaced_anywhere() -> None:
    r = Redactor(["hunter2-secret"])
    assert r.text("pw is hunter2-secret!") == f"pw is {MARK}!"
    assert r.manifest() and "hunter2" not in repr(r.manifest())


def test_api_key_in_urls_and_log_lines() -> None:
    line = 'sending to "https://recv:7077/stsAgent/intake?api_key=0123456789abcdef&x=1"'
    out = Redactor().text(line)
    assert "0123456789abcdef" not in out and "api_key=<redacted>&x=1" in out


def test_agent_masked_key_is_left_as_the_agent_wrote_it() -> None:
    line = "api_key=***************************abcde"
    assert Redactor().text(line) == line


def test_credentials_headers_and_passwords() -> None:
    text = (
        "Authorization: Basic dXNlcjpwYXNz Authorization: Bearer abc.def.ghijklmn "
        "X-MIRROR-API-KEY: mirrorkey123 password=pa55word "
        '"password": "jsonpass" https://elastic:espass@es:9200'
    )
    out = Redactor().text(text)
    for secret in ("dXNlcjpwYXNz", "abc.def.ghijklmn", "mirrorkey123", "pa55word", "jsonpass", "espass"):
        assert secret not in out, secret
    assert "https://elastic:<redacted>@es:9200" in out


def test_walk_redacts_nested_structures() -> None:
    r = Redactor(["topsecret"])
    data = {"a": ["x topsecret", {"b": "topsecret"}], "n": 3}
    assert r.walk(data) == {"a": [f"x {MARK}", {"b": MARK}], "n": 3}


def test_api_key_json_member() -> None:
    out = Redactor().text('{"apiKey": "k-12345678", "api_key":"other-secret"}')
    assert "k-12345678" not in out and "other-secret" not in out


def test_mysql_password_flag_is_not_a_secret() -> None:
    line = "Access denied for user 'dd'@'10.0.0.1' (using password: YES) password=hunter22"
    out = Redactor().text(line)
    assert "(using password: YES)" in out and "hunter22" not in out


# --- what real systems echo -------------------------------------------------------------------
# Formats: go-retryablehttp's own lines as the StackState Agent 2.19 writes them to stderr
# (hashicorp/go-retryablehttp client.go: "[DEBUG] %s %s", "[ERR] %s %s request failed: %v",
# "%s %s giving up after %d attempt(s): %w"); Elasticsearch 7.17 security answers; AWS's
# shared credentials file; the agent's stackstate.yaml; the StackState CLI config.

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "line",
    [
        f"2024-05-14 10:01:02 [DEBUG] POST https://stackstate.example.com/receiver/stsAgent/intake?api_key={KEY}",
        f"2024-05-14 10:01:02 [ERR] POST https://sts.example.com:7077/stsAgent/intake?api_key={KEY} request failed: "
        f'Post "https://sts.example.com:7077/stsAgent/intake?api_key={KEY}": dial tcp 10.0.0.5:7077: connect: connection refused',
        f"Sending transactional payload failed, content: {{...}}. POST https://sts.example.com/receiver/stsAgent/intake?api_key={KEY} "
        "giving up after 5 attempt(s): context deadline exceeded",
        f'{{"msg":"POST https://sts/receiver/stsAgent/intake?api_key={KEY}\\u0026x=1 request failed"}}',
        f"redirected to https://login.example.com/?next=%2Fintake%3Fapi_key%3D{KEY}",
    ],
)
def test_api_key_in_agent_lines_is_redacted_even_unmasked_or_escaped(line: str) -> None:
    out = Redactor().text(line)
    assert KEY not in out and "<redacted>" in out


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        # A proxy or a server error echoing the request's credentials.
        ('{"error":"bad request","headers":{"Authorization":"Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="}}', "ZWxhc3RpYzpjaGFuZ2VtZQ"),
        ("received Authorization: Basic ZWxhc3RpYzpjaGFuZ2VtZQ== from 10.0.0.1", "ZWxhc3RpYzpjaGFuZ2VtZQ"),
        ("upstream said: credentials basic ZWxhc3RpYzpjaGFuZ2VtZQ rejected", "ZWxhc3RpYzpjaGFuZ2VtZQ"),
        ("map[Authorization:[Basic ZWxhc3RpYzpjaGFuZ2VtZQ==] User-Agent:[x]]", "ZWxhc3RpYzpjaGFuZ2VtZQ"),
        # Elasticsearch API keys (base64 of id:api_key), with and without the header name.
        ("Authorization: ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", "VnVhQ2ZHY0JDZGJrUW0"),
        ("using ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", "VnVhQ2ZHY0JDZGJrUW0"),
        # Custom headers, as Python, Go and curl print them.
        ("{'X-API-Key': 'svc-token-1234567', 'Accept': 'application/json'}", "svc-token-1234567"),
        ("map[X-Api-Token:[tok-abcdef-123456] Accept:[*/*]]", "tok-abcdef-123456"),
        ("> X-API-Token: tok-abcdef-123456", "tok-abcdef-123456"),
        ('"x-mirror-api-key": "mirror-key-0001"', "mirror-key-0001"),
        # Credential files and configs.
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG"),
        ("aws_session_token=IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJH", "IQoJb3JpZ2luX2VjEHAaCXVz"),
        ("api_key: 0123456789abcdef01234567", "0123456789abcdef01234567"),  # stackstate.yaml
        ("  apiKey: 'quoted single key value'", "quoted single key value"),
        ('  api_key: "API KEY WITH SPACES"', "API KEY WITH SPACES"),
        ("STS_API_KEY=0123456789abcdef01234567", "0123456789abcdef01234567"),
        ("ES_PASSWORD=hunter2hunter2", "hunter2hunter2"),
        ("      token: abc.def.ghi123", "abc.def.ghi123"),  # StackState CLI conf.yaml token_auth
        ("Service token created: svctok-aaaaa-bbbb-ccccc-ddddd", "svctok-aaaaa-bbbb"),
    ],
)
def test_credentials_in_the_shapes_real_systems_echo(line: str, secret: str) -> None:
    out = Redactor().text(line)
    assert secret not in out, out
    assert "<redacted>" in out


@pytest.mark.parametrize(
    ("cmd", "secrets"),
    [
        ("kubectl exec -n stackstate sts-agent-0 -- stackstate-agent check mysql --password hunter2pw -l debug",
         ["hunter2pw"]),
        ("agent check --api-key=abc123def --token 'tok en 99' --api_key k1k1k1k1 --sasl-password=sasl-pw-1",
         ["abc123def", "tok en 99", "k1k1k1k1", "sasl-pw-1"]),
        ('sts --url https://sts --api-token "secret token"', ["secret token"]),
        ("mysql -h db -u root -pS3cretMysql -e 'show status'", ["S3cretMysql"]),
        ("redis-cli -p 6379 -a x; some-tool -p Pr1vate!", ["Pr1vate!"]),
        ("curl -u admin:adm1nPass https://es:9200/_cluster/health", ["adm1nPass"]),
        ("curl --user=elastic:changeme123 https://es:9200/", ["changeme123"]),
    ],
)
def test_secret_flags_in_command_lines(cmd: str, secrets: list[str]) -> None:
    out = Redactor().text(cmd)
    for s in secrets:
        assert s not in out, out


@pytest.mark.parametrize(
    "text",
    [
        'WWW-Authenticate: Basic realm="security" charset="UTF-8"',  # ES asking for credentials
        "basic authentication failed for user [elastic]",
        "--api-key-env STS_API_KEY --api-key-file /etc/sts/key --password-stdin --es-password-env PW",
        "ssh -p 2222 host; docker run -p 8080:80/tcp img; find . -name x -print; ps -p 1234",
        "max_tokens: 5 and passwordFile: /etc/x and secretName: sts-secrets",
        "Access denied for user 'dd'@'10.0.0.1' (using password: YES)",
        "api_key=***************************a1b2c",  # the agent's own mask
        "Unable to validate API Key: 403 Forbidden",
    ],
)
def test_what_is_not_a_secret_stays(text: str) -> None:
    assert Redactor().text(text) == text


def test_a_configured_secret_in_every_encoding_stsdebug_produces() -> None:
    secret = 'p@ss w/rd&<"x>\\ü'
    r = Redactor([secret])
    for form in (
        secret,
        json.dumps(secret)[1:-1],  # JSON, ensure_ascii
        json.dumps(secret, ensure_ascii=False)[1:-1],
        "p@ss w/rd&amp;&lt;&quot;x&gt;\\ü",  # HTML
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe="").lower(),  # lower-case hex
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    ):
        out = r.text(f"[{form}]")
        assert out == "[<redacted>]", (form, out)
    assert secret_forms(secret) >= {secret, quote_plus(secret)}


@pytest.mark.parametrize("user", ["", "a", "ab", "elastic", "stackstate-admin"])
def test_base64_of_user_and_password_for_the_configured_password(user: str) -> None:
    password = "Tr0ub4dor&3"
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    r = Redactor([password])
    for line in (f"token {token} end", f"auth={token}", f'"{token.rstrip("=")}"'):
        out = r.text(line)
        assert token.rstrip("=") not in out and "<redacted>" in out, (line, out)
    assert r.manifest() and all(password not in json.dumps(m) and token not in json.dumps(m) for m in r.manifest())


def test_base64_that_only_looks_similar_stays() -> None:
    r = Redactor(["Tr0ub4dor&3"])
    other = base64.b64encode(b"elastic:something-else").decode()
    assert r.text(f"token {other}") == f"token {other}"


def test_redacting_twice_changes_nothing_and_counts_nothing_new() -> None:
    r = Redactor(["hunter2-secret"])
    text = (
        "Authorization: Basic ZWxhc3RpYzpjaGFuZ2VtZQ== api_key=abcdef123456 password: 'x y' "
        "--token tok12345 https://u:p4ss@h aws_secret_access_key = Zzz X-API-Key: k hunter2-secret"
    )
    once = r.text(text)
    counts = dict(r.counts)
    assert r.text(once) == once and dict(r.counts) == counts


def test_redact_trace_cleans_a_hand_edited_trace_and_extends_its_manifest() -> None:
    from tests.factories import kafka_fail

    t = kafka_fail()
    t.redactions = [{"rule": "api_key parameter", "where": "stages.agent", "count": 1}]
    t.stages[1].summary = "key api_key=HANDEDITED123456 and Authorization: Bearer abcdefgh12345678"
    t.target["es"] = "https://elastic:pw12345@es:9200"
    t.target["token=leak123456"] = "v"
    clean = redact_trace(t, ["configured-secret-1"])
    dumped = clean.to_json()
    for leak in ("HANDEDITED123456", "abcdefgh12345678", "pw12345", "leak123456"):
        assert leak not in dumped
    assert clean.redactions[0] == {"rule": "api_key parameter", "where": "stages.agent", "count": 1}
    assert {m["where"] for m in clean.redactions[1:]} == {"report"}
    assert t.stages[1].summary.startswith("key api_key=HANDEDITED")  # the input is not altered


def test_report_redacts_a_hand_edited_trace_on_the_way_out(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stsdebug.cli import app
    from tests.factories import kafka_fail

    t = kafka_fail()
    t.stages[1].summary = "pasted: api_key=HANDEDITED123456 aws_secret_access_key = wJalrXUtnFEMIK7MDENG"
    t.target["agent_cmd"] = "stackstate-agent check mysql --password hunter2pw"
    path = tmp_path / "run.json"
    path.write_text(t.to_json())
    for fmt in ("text", "json", "junit"):
        r = CliRunner().invoke(app, ["report", str(path), "-f", fmt, "--verbose"])
        assert r.exit_code == 0, r.output
        for leak in ("HANDEDITED123456", "wJalrXUtnFEMIK7MDENG", "hunter2pw"):
            assert leak not in r.stdout, (fmt, leak)
    r = CliRunner().invoke(app, ["report", str(path), "-f", "json"])
    manifest = json.loads(r.stdout)["redactions"]
    assert manifest[: len(t.redactions)] == t.redactions  # what the trace said, then the new ones
    assert {m["where"] for m in manifest[len(t.redactions) :]} == {"report"}
    assert "HANDEDITED" not in json.dumps(manifest)
    assert "HANDEDITED123456" in path.read_text()  # the saved trace itself is not altered
