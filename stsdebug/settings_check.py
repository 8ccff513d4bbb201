"""Every setting checked once, when settings are resolved, before anything runs.

A malformed setting is a ``UsageError`` (exit 2) with one line naming where it came from
(``--es``, ``environment variable STSDEBUG_ES``, ``profile 'prod'``) and what is wrong:
never a stage ``error`` (exit 3) halfway through a run, never a silent rewrite (a port 0
read as 80 or 9200). ``check(settings, origins)`` is called by ``settings.resolve``.

URL_FIELDS lists every setting that holds an http(s) URL; a test holds it complete
(every option whose metavar is URL is in it), so a new URL option is checked too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from stsdebug.errors import SourceError, UsageError

if TYPE_CHECKING:
    from stsdebug.settings import Settings

# Settings holding an http(s) URL. Elasticsearch alone may be given as HOST:PORT (its
# client's own convention), read as http://HOST:PORT.
URL_FIELDS = ("receiver", "receiver_health", "sts_api", "es", "mirror", "victoria_metrics", "vmagent",
              "prometheus_api", "receiver_metrics")
BARE_HOST_OK = ("es",)
CA_FIELDS = ("es_ca_file", "kafka_ssl_cafile")
# Kafka topic names: what the broker accepts (letters, digits, '.', '_', '-'; 249 at most).
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check(s: Settings, origins: Mapping[str, str] | None = None) -> None:
    """Raise UsageError for the first malformed setting (see the module docstring)."""
    from stsdebug.settings import parse_window
    from stsdebug.sources.addresses import url_problem

    def where(name: str) -> str:
        return (origins or {}).get(name) or flag(name)

    def bad(name: str, value: object, why: str) -> UsageError:
        return UsageError(f"{where(name)} {value!r}: {why}")

    for name in URL_FIELDS:
        value = getattr(s, name, None)
        if value is None:
            continue
        url = value.strip()
        if name in BARE_HOST_OK and "://" not in url and url:
            url = "http://" + url
        problem = url_problem(url)
        if problem:
            raise bad(name, value, problem)
    if s.kafka is not None:
        from stsdebug.sources.kafka_preflight import parse_bootstrap

        try:
            parse_bootstrap(s.kafka)
        except SourceError as exc:
            raise UsageError(f"{where('kafka')}: {str(exc).rstrip('.')}") from None
    _check_kafka_security(s, where)
    for name in CA_FIELDS:
        value = getattr(s, name)
        if value:
            _check_ca_file(value, where(name))
    if not _TOPIC.match(s.topic or ""):
        raise bad("topic", s.topic, "a Kafka topic name is 1 to 249 letters, digits, '.', '_' or '-'")
    if s.es_layout is not None and s.es_layout.strip().lower() not in ("multi", "single"):
        raise bad("es_layout", s.es_layout, "must be 'multi' or 'single'")
    try:
        parse_window(s.window)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--window", where("window"), 1)) from None
    if s.receiver_log_tz is not None:
        from stsdebug.receiverlog import parse_tz

        try:
            parse_tz(s.receiver_log_tz)
        except ValueError as exc:
            raise UsageError(f"{where('receiver_log_tz')}: {exc}") from None


def _check_kafka_security(s: Settings, name_of: Callable[[str], str]) -> None:
    from stsdebug.sources.kafka import MECHANISMS, PROTOCOLS

    protocol = (s.kafka_security_protocol or "PLAINTEXT").strip().upper()
    if protocol not in PROTOCOLS:
        raise UsageError(
            f"{name_of('kafka_security_protocol')} {s.kafka_security_protocol!r}: must be one of {', '.join(PROTOCOLS)}"
        )
    mechanism = (s.kafka_sasl_mechanism or "").strip().upper()
    if mechanism and mechanism not in MECHANISMS:
        raise UsageError(
            f"{name_of('kafka_sasl_mechanism')} {s.kafka_sasl_mechanism!r}: must be one of {', '.join(MECHANISMS)}"
        )
    if (protocol.startswith("SASL_") or mechanism) and s.kafka and (
        not s.kafka_sasl_username or s.kafka_sasl_password is None
    ):
        raise UsageError(
            "Kafka SASL needs a user name and a password: give --kafka-sasl-username and "
            "--kafka-sasl-password-env (or their STSDEBUG_ variables)"
        )


def _check_ca_file(value: str, where: str) -> None:
    """A CA file must be a readable regular file holding certificates (ssl would hang on a FIFO)."""
    import ssl

    from stsdebug.inputs import MAX_SMALL, read_bytes

    data = read_bytes(Path(value), f"{where} {value}", expected="a PEM file of CA certificates", limit=MAX_SMALL)
    try:
        ssl.create_default_context(cadata=data.decode("ascii", "replace"))
    except (ssl.SSLError, ValueError) as exc:
        raise UsageError(f"{where} {value}: not a PEM file of CA certificates ({exc})") from None
