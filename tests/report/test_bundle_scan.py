"""The bundle's last check refuses every shape of secret redaction knows, and every encoding."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from stsdebug import bundle

SECRET = "Tr0ub4dor&3 horse"


@pytest.mark.parametrize(
    "line",
    [
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(f"elastic:{SECRET}".encode()).decode(),  # Basic credentials, no "Basic"
        base64.urlsafe_b64encode(f"u:{SECRET}".encode()).decode().rstrip("="),
    ],
)
def test_a_configured_secret_in_any_encoding_stops_the_bundle(line: str) -> None:
    with pytest.raises(bundle.SecretLeak, match="x.txt line 2"):
        bundle.scan([bundle.BundleFile("x.txt", f"first\n{line}\n".encode())], [SECRET])


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("echo: Basic ZWxhc3RpYzpjaGFuZ2VtZQ==", "basic credentials"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret field"),
        ("api_key: 0123456789abcdef01234567", "secret field"),
        ("stackstate-agent check mysql --password hunter2pw", "command-line secret flag"),
        ("Authorization: ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", "authorization header"),
        ("X-API-Token: tok-abcdef-123456", "api key header"),
        ("svctok-aaaaa-bbbb-ccccc-ddddd", "StackState service token"),
    ],
)
def test_an_input_credential_that_survived_stops_the_bundle(line: str, rule: str) -> None:
    with pytest.raises(bundle.SecretLeak, match=f"x.txt line 1 still holds what looks like a secret \\({rule}\\)"):
        bundle.scan([bundle.BundleFile("x.txt", f"{line}\n".encode())], [])


def test_redacted_shapes_pass_the_check() -> None:
    clean = (
        "Basic <redacted> api_key: <redacted> --password <redacted> aws_secret_access_key = <redacted>\n"
        'WWW-Authenticate: Basic realm="security"\n'
    )
    bundle.scan([bundle.BundleFile("x.txt", clean.encode())], [SECRET])
