from stsdebug.redact import MARK, Redactor


def test_configured_secret_is_replaced_anywhere():
    r = Redactor(["hunter2-secret"])
    assert r.text("pw is hunter2-secret!") == f"pw is {MARK}!"
    assert r.manifest() and "hunter2" not in repr(r.manifest())


def test_api_key_in_urls_and_log_lines():
    line = 'sending to "https://recv:7077/stsAgent/intake?api_key=0123456789abcdef&x=1"'
    out = Redactor().text(line)
    assert "0123456789abcdef" not in out and "api_key=<redacted>&x=1" in out


def test_agent_masked_key_is_left_as_the_agent_wrote_it():
    line = "api_key=***************************abcde"
    assert Redactor().text(line) == line


def test_credentials_headers_and_passwords():
    text = (
        "Authorization: Basic dXNlcjpwYXNz Authorization: Bearer abc.def.ghijklmn "
        "X-MIRROR-API-KEY: mirrorkey123 password=pa55word "
        '"password": "jsonpass" https://elastic:espass@es:9200'
    )
    out = Redactor().text(text)
    for secret in ("dXNlcjpwYXNz", "abc.def.ghijklmn", "mirrorkey123", "pa55word", "jsonpass", "espass"):
        assert secret not in out, secret
    assert "https://elastic:<redacted>@es:9200" in out


def test_walk_redacts_nested_structures():
    r = Redactor(["topsecret"])
    data = {"a": ["x topsecret", {"b": "topsecret"}], "n": 3}
    assert r.walk(data) == {"a": [f"x {MARK}", {"b": MARK}], "n": 3}


def test_api_key_json_member():
    out = Redactor().text('{"apiKey": "k-12345678", "api_key":"other-secret"}')
    assert "k-12345678" not in out and "other-secret" not in out


def test_mysql_password_flag_is_not_a_secret():
    line = "Access denied for user 'dd'@'10.0.0.1' (using password: YES) password=hunter22"
    out = Redactor().text(line)
    assert "(using password: YES)" in out and "hunter22" not in out
