"""HTTP for every stage that talks HTTP: receiver health, the StackState topic API, the
Prometheus mirror, the Prometheus API and metrics pages, and (through ``exchange``) the
Elasticsearch client's transport. One small class over httpx, so that timeouts, bounds,
TLS, redirects and error wording are the same everywhere.

    http = HttpSource(timeout=10)
    resp = http.get("https://host:7077/health")            # HttpResponse
    data = http.post_json(url, {"a": 1}, {"X-MIRROR-API-KEY": key}).json()

Bounds (docs/security.md): a call ends within ``timeout`` seconds in all, redirects, DNS,
connect, TLS, headers and body included (``netdeadline``), and its body stops at
``max_body`` bytes after decoding (``inflate``). A redirect is followed by hand, at most
MAX_REDIRECTS times: credentials (the headers in CREDENTIAL_HEADERS, an ``api_key``
query parameter, ``user:password@``) never go to another origin; such a redirect is
refused with a sentence saying so.

Every failure is a ``SourceError`` with one sentence and a short ``cause``:

=========  ==============================================================
cause      when
=========  ==============================================================
refused    nothing listens on the port (connection refused)
dns        the host name does not resolve
tls        TLS handshake or certificate verification failed
timeout    no answer within the timeout (the whole call, headers and body included)
auth       HTTP 401 or 403 (``HttpStatusError``)
http       any other HTTP status >= 400 (``HttpStatusError``, with ``.status``), or a
           redirect loop
redirect   a redirect to another origin, refused because the call carries credentials
malformed  not HTTP, a body too big (decoded size: a gzip bomb stops at ``max_body``),
           a Content-Encoding other than gzip/deflate, or ``.json()`` on a body that is
           not JSON or is nested too deeply
network    any other transport failure
=========  ==============================================================

A URL that is not http(s) is a ``UsageError``. Messages name the URL without its
query string or credentials, so no API key can leak through them. TLS: the
system trust store, plus ``SSL_CERT_FILE``/``SSL_CERT_DIR`` from the environment;
``verify`` may also be a CA file, or False to skip verification.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from stsdebug.sources.lean import UNUSED_BY_HTTPX, without

with without(*UNUSED_BY_HTTPX):
    import httpx

from stsdebug import nesting
from stsdebug.errors import SourceError, UsageError
from stsdebug.sources import netdeadline
from stsdebug.sources.addresses import url_problem
from stsdebug.sources.errors import cannot_reach, first_line
from stsdebug.sources.inflate import ACCEPT_ENCODING, BodyTooLarge, InflateError, Inflater

MAX_BODY = 16 << 20  # bytes of a response body read at most
MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Headers that carry a credential: none of them follows a redirect to another origin.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-token", "x-api-key", "x-mirror-api-key", "sts-api-key"}
)
CREDENTIAL_PARAMS = frozenset({"api_key", "apikey", "api-key", "token", "access_token"})


class HttpStatusError(SourceError):
    """The server answered, with a status >= 400."""

    def __init__(self, message: str, *, status: int, reason: str, body: str, system: str = "") -> None:
        super().__init__(message, system=system, cause="auth" if status in (401, 403) else "http")
        self.status = status
        self.reason = reason
        self.body = body  # first 500 characters, for evidence


@dataclass
class HttpResponse:
    url: str  # as shown in outputs: without query string and credentials
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    elapsed_ms: float = 0.0
    system: str = ""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def excerpt(self, limit: int = 200) -> str:
        """The body on one line, shortened, for evidence."""
        one = " ".join(self.text[: limit * 4].split())
        return one if len(one) <= limit else one[: limit - 1] + "…"

    def json(self) -> Any:
        try:
            return nesting.loads_json(self.content)
        except nesting.TooDeep as exc:
            raise SourceError(f"{self.url} answered with JSON {exc}.", system=self.system, cause="malformed") from None
        except (ValueError, UnicodeDecodeError):
            start = " ".join(self.text[:200].split())[:60]
            raise SourceError(
                f"{self.url} answered with a body that is not JSON (it starts with {start!r}).",
                system=self.system,
                cause="malformed",
            ) from None


def display_url(url: str) -> str:
    """scheme://host:port/path: no query string (api_key=...), no user:password@."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return f"{parts.hostname}:{port}"


def ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    """What httpx is given for ``verify``: a CA file becomes a context (UsageError if unusable)."""
    if not isinstance(verify, str):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"CA file {verify}: cannot be used ({exc})") from None


def bounded_client(verify: ssl.SSLContext | bool, headers: Mapping[str, str] | None, timeout: float) -> httpx.Client:
    """An httpx client whose every request obeys ``netdeadline.within`` and follows no redirect."""
    client = httpx.Client(
        timeout=httpx.Timeout(timeout),
        verify=verify,
        # Only codings Inflater decodes within max_body (httpx would inflate unbounded).
        headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
        follow_redirects=False,  # followed by hand: credentials stay with their origin
        trust_env=True,
    )
    return netdeadline.install(client)


@dataclass
class Exchange:
    """One request and its answer, the body read within the bounds."""

    status: int
    reason: str
    headers: httpx.Headers
    content: bytes


def exchange(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    max_body: int,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    content: bytes | None = None,
) -> Exchange:
    """One request, no redirect followed. Call it inside ``netdeadline.within``.

    Raises httpx's exceptions (``httpx.TimeoutException`` once the deadline passes),
    ``BodyTooLarge`` past ``max_body`` decoded bytes, ``InflateError`` for a body that
    cannot be decoded.
    """
    with client.stream(method, url, headers=headers, params=params, json=json_body, content=content) as resp:
        chunks: list[bytes] = []
        raw = 0
        inflater = Inflater(resp.headers.get("content-encoding"), max_body)
        for chunk in resp.iter_raw():
            raw += len(chunk)
            if raw > max_body:
                raise BodyTooLarge(f"more than {max_body} bytes")
            chunks.append(inflater.feed(chunk))
            remaining = netdeadline.left()
            if remaining is not None and remaining <= 0:  # a server dripping bytes slowly
                raise httpx.ReadTimeout("overall deadline")
        return Exchange(resp.status_code, resp.reason_phrase or "", resp.headers, b"".join(chunks))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def _same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port, or the upgrade of http://host to https://host (as httpx allows)."""
    oa, ob = _origin(a), _origin(b)
    if oa == ob:
        return True
    return oa == ("http", ob[1], 80) and ob == ("https", oa[1], 443)


def _carries_credentials(url: str, headers: Mapping[str, str], params: Mapping[str, Any] | None) -> bool:
    parts = urlsplit(url)
    query = {k.split("=", 1)[0].lower() for k in parts.query.split("&") if k}
    return (
        any(k.lower() in CREDENTIAL_HEADERS for k in headers)
        or any(str(k).lower() in CREDENTIAL_PARAMS for k in (params or {}))
        or bool(query & CREDENTIAL_PARAMS)
        or "@" in parts.netloc
    )


class HttpSource:
    """Small HTTP client: one httpx.Client, a total deadline per call, one-sentence errors."""

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        verify: bool | str = True,
        headers: dict[str, str] | None = None,
        system: str = "HTTP endpoint",
        max_body: int = MAX_BODY,
    ) -> None:
        self.timeout = float(timeout)
        self.system = system
        self.max_body = max_body
        self._headers = dict(headers or {})
        self._client = bounded_client(ssl_context(verify), self._headers, self.timeout)

    def get(
        self, url: str, *, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
        system: str | None = None,
    ) -> HttpResponse:
        return self.request("GET", url, headers=headers, params=params, system=system)

    def post_json(
        self, url: str, body: Any, headers: dict[str, str] | None = None, *, system: str | None = None
    ) -> HttpResponse:
        return self.request("POST", url, json_body=body, headers=headers, system=system)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        system: str | None = None,
    ) -> HttpResponse:
        """One call, redirects included. Raises SourceError (see the module docstring); never
        lasts past ``timeout``.

        ``content`` is a raw body (e.g. a snappy-compressed remote-write request); the
        caller sets its Content-Type and Content-Encoding in ``headers``.
        """
        system = system or self.system
        shown = display_url(url)
        problem = url_problem(url) if isinstance(url, str) else "it is not text"
        if problem:  # settings_check refuses these up front; a source built otherwise says it here
            raise UsageError(f"{shown if isinstance(url, str) else url!r} is not a usable http(s) URL: {problem}")
        started = time.perf_counter()
        credentials = _carries_credentials(url, {**self._headers, **(headers or {})}, params)
        current = url
        try:
            with netdeadline.within(self.timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    answer = exchange(
                        self._client, method, current, max_body=self.max_body, headers=headers,
                        params=params, json_body=json_body, content=content,
                    )
                    location = answer.headers.get("location")
                    if answer.status not in REDIRECT_STATUSES or not location:
                        break
                    target = urljoin(current, location)
                    if urlsplit(target).scheme not in ("http", "https"):
                        raise SourceError(
                            f"{shown} redirected to a URL that is not http(s); not followed.",
                            system=system, cause="redirect",
                        )
                    if credentials and not _same_origin(url, target):
                        raise SourceError(
                            f"{shown} redirected to {display_url(target)}, another origin; the redirect "
                            "was refused so that the credentials are not sent there (give the final "
                            "address instead).",
                            system=system, cause="redirect",
                        )
                    if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                        method, json_body, content = "GET", None, None
                    current, params = target, None  # the Location is the whole next URL
                else:
                    raise SourceError(f"{shown} redirects in a loop.", system=system, cause="http")
        except SourceError:
            raise
        except BodyTooLarge:
            raise SourceError(
                f"{shown} answered with a body larger than {self.max_body >> 20 or 1} MB.",
                system=system, cause="malformed",
            ) from None
        except InflateError as exc:
            raise SourceError(
                f"{shown} answered with a body that cannot be decoded: {exc}.", system=system, cause="malformed"
            ) from None
        except httpx.TimeoutException:
            raise SourceError(
                f"{system} at {shown} did not answer within {self.timeout:g} s.", system=system, cause="timeout"
            ) from None
        except httpx.ConnectError as exc:
            raise cannot_reach(
                exc, system=system, what=system, where=_host_port(current), host=urlsplit(current).hostname,
                seconds=self.timeout,
            ) from None
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
            raise SourceError(
                f"{shown} did not answer with valid HTTP ({first_line(exc)}).", system=system, cause="malformed"
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise UsageError(f"{url!r} is not a usable URL ({first_line(exc)})") from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"Cannot reach {system} at {shown}: {first_line(exc)}.", system=system, cause="network"
            ) from None
        elapsed = (time.perf_counter() - started) * 1000
        response = HttpResponse(
            display_url(current), answer.status, answer.reason, dict(answer.headers), answer.content,
            round(elapsed, 1), system,
        )
        if answer.status >= 400:
            raise _status_error(response, system)
        return response

    def close(self) -> None:
        self._client.close()


def _status_error(resp: HttpResponse, system: str) -> HttpStatusError:
    status_text = f"HTTP {resp.status} {resp.reason}".strip()
    if resp.status in (401, 403):
        msg = f"{resp.url} refused the request: {status_text} (check the credentials)."
    else:
        msg = f"{resp.url} answered {status_text}."
    return HttpStatusError(msg, status=resp.status, reason=resp.reason, body=resp.excerpt(500), system=system)
