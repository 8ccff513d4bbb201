"""HTTP for every stage that talks HTTP: receiver health, the StackState topic API, the
Prometheus mirror. One small class over httpx, so that timeouts, TLS and error
wording are the same everywhere.

    http = HttpSource(timeout=10)
    resp = http.get("https://host:7077/health")            # HttpResponse
    data = http.post_json(url, {"a": 1}, {"X-MIRROR-API-KEY": key}).json()

Every failure is a ``SourceError`` with one sentence and a short ``cause``:

=========  ==============================================================
cause      when
=========  ==============================================================
refused    nothing listens on the port (connection refused)
dns        the host name does not resolve
tls        TLS handshake or certificate verification failed
timeout    no answer within the timeout (connect, read, or the whole call)
auth       HTTP 401 or 403 (``HttpStatusError``)
http       any other HTTP status >= 400 (``HttpStatusError``, with ``.status``)
malformed  not HTTP, a body too big (decoded size: a gzip bomb stops at ``max_body``),
           a Content-Encoding other than gzip/deflate, or ``.json()`` on a body that is not JSON
network    any other transport failure
=========  ==============================================================

A URL that is not http(s) is a ``UsageError``. Messages name the URL without its
query string or credentials, so no API key can leak through them. TLS: the
system trust store, plus ``SSL_CERT_FILE``/``SSL_CERT_DIR`` from the environment;
``verify`` may also be a CA file, or False to skip verification.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from stsdebug.errors import SourceError, UsageError
from stsdebug.sources.errors import cannot_reach, first_line
from stsdebug.sources.inflate import ACCEPT_ENCODING, BodyTooLarge, InflateError, Inflater

MAX_BODY = 16 << 20  # bytes of a response body read at most


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
        one = " ".join(self.text.split())
        return one if len(one) <= limit else one[: limit - 1] + "…"

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError):
            start = " ".join(self.text.split())[:60]
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


class HttpSource:
    """Small HTTP client: one httpx.Client, explicit timeouts, one-sentence errors."""

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
        if isinstance(verify, str):
            try:
                context: ssl.SSLContext | bool = ssl.create_default_context(cafile=verify)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(f"CA file {verify}: cannot be used ({exc})") from None
        else:
            context = verify
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            verify=context,
            # Only codings Inflater decodes within max_body (httpx would inflate unbounded).
            headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
            follow_redirects=True,
            trust_env=True,
        )

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
        """One call. Raises SourceError (see the module docstring); never hangs past timeout.

        ``content`` is a raw body (e.g. a snappy-compressed remote-write request); the
        caller sets its Content-Type and Content-Encoding in ``headers``.
        """
        system = system or self.system
        shown = display_url(url)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"{url!r} is not an http:// or https:// URL")
        started = time.perf_counter()
        deadline = started + self.timeout
        try:
            with self._client.stream(
                method, url, headers=headers, params=params, json=json_body, content=content
            ) as resp:
                chunks: list[bytes] = []
                raw = 0
                try:
                    inflater = Inflater(resp.headers.get("content-encoding"), self.max_body)
                    for chunk in resp.iter_raw():
                        raw += len(chunk)
                        if raw > self.max_body:
                            raise BodyTooLarge(f"more than {self.max_body} bytes")
                        chunks.append(inflater.feed(chunk))
                        if time.perf_counter() > deadline:  # a server dripping bytes slowly
                            raise httpx.ReadTimeout("overall deadline")
                except BodyTooLarge:
                    raise SourceError(
                        f"{shown} answered with a body larger than {self.max_body >> 20} MB.",
                        system=system,
                        cause="malformed",
                    ) from None
                except InflateError as exc:
                    raise SourceError(
                        f"{shown} answered with a body that cannot be decoded: {exc}.", system=system, cause="malformed"
                    ) from None
                content = b"".join(chunks)
                status, reason = resp.status_code, resp.reason_phrase or ""
                resp_headers = dict(resp.headers)
        except SourceError:
            raise
        except httpx.TimeoutException:
            raise SourceError(
                f"{system} at {shown} did not answer within {self.timeout:g} s.", system=system, cause="timeout"
            ) from None
        except httpx.ConnectError as exc:
            raise cannot_reach(
                exc, system=system, what=system, where=_host_port(url), host=urlsplit(url).hostname,
                seconds=self.timeout,
            ) from None
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
            raise SourceError(
                f"{shown} did not answer with valid HTTP ({first_line(exc)}).", system=system, cause="malformed"
            ) from None
        except httpx.TooManyRedirects:
            raise SourceError(f"{shown} redirects in a loop.", system=system, cause="http") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise UsageError(f"{url!r} is not a usable URL ({first_line(exc)})") from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"Cannot reach {system} at {shown}: {first_line(exc)}.", system=system, cause="network"
            ) from None
        elapsed = (time.perf_counter() - started) * 1000
        response = HttpResponse(shown, status, reason, resp_headers, content, round(elapsed, 1), system)
        if status >= 400:
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
