"""The Elasticsearch client's connection, through stsdebug's bounded HTTP.

The 7.17 client's own connection (urllib3) reads a whole answer into memory, inflates a
gzip body without limit and knows only a per-read timeout: an endless body or a gzip bomb
grows the process until it is killed, and a server dripping headers holds a stage for its
whole budget. ``connection_class(counter)`` returns a ``Connection`` for the client that
sends every request through ``http.exchange``: the same total deadline per request (the
request's timeout), the same 16 MB body cap after a bounded inflate, no redirect followed.

Failures are raised as the client's own exceptions so that ``ESSource`` words them as
before (``ConnectionTimeout``, ``SSLError``, ``ConnectionError`` with the httpx error
and its causes attached, ``TransportError`` subclasses for HTTP statuses); an answer that
is not HTTP, too large or undecodable is a ``BadAnswer`` (a ``ConnectionError``) whose
``problem`` completes "Elasticsearch at <url> ...".
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import urlencode

from stsdebug.sources.lean import UNUSED_BY_ES, UNUSED_BY_HTTPX, without

with without(*UNUSED_BY_HTTPX):
    import httpx

from stsdebug import nesting
from stsdebug.sources import netdeadline
from stsdebug.sources.errors import first_line
from stsdebug.sources.http import MAX_BODY, bounded_client, exchange
from stsdebug.sources.inflate import BodyTooLarge, InflateError


def connection_class(on_request: Callable[[], None], *, max_body: int = MAX_BODY) -> type[Any]:
    """A Connection class for ``Elasticsearch(connection_class=...)``; ``on_request`` is
    called before each request is sent (ESSource counts them)."""
    with without(*UNUSED_BY_ES):
        from elasticsearch import exceptions as ex
        from elasticsearch.connection import Connection

    class BadAnswer(ex.ConnectionError):  # type: ignore[misc, unused-ignore]
        @property
        def problem(self) -> str:
            return str(self.args[1])

    class BoundedConnection(Connection):  # type: ignore[misc, unused-ignore]
        bad_answer = BadAnswer

        def __init__(
            self,
            host: str = "localhost",
            port: int | None = None,
            http_auth: Any = None,
            verify_certs: bool = True,
            ssl_show_warn: bool = True,
            ca_certs: str | None = None,
            **kwargs: Any,
        ) -> None:
            for unused in ("client_cert", "client_key", "ssl_version", "ssl_assert_hostname",
                           "ssl_assert_fingerprint", "maxsize", "ssl_context"):
                kwargs.pop(unused, None)
            super().__init__(host=host, port=port, **kwargs)
            if http_auth is not None:
                if isinstance(http_auth, (tuple, list)):
                    http_auth = ":".join(http_auth)
                token = base64.b64encode(str(http_auth).encode("utf-8")).decode("ascii")
                self.headers["authorization"] = f"Basic {token}"
            verify: ssl.SSLContext | bool = False
            if self.use_ssl and verify_certs:
                verify = ssl.create_default_context(cafile=ca_certs) if ca_certs else True
            self._http = bounded_client(verify, None, float(self.timeout or 10.0))

        def perform_request(
            self, method: str, url: str, params: Any = None, body: Any = None, timeout: Any = None,
            ignore: Any = (), headers: Any = None,
        ) -> tuple[int, dict[str, str], str]:
            on_request()
            path = self.url_prefix + url
            if params:
                path = f"{path}?{urlencode(params)}"
            request_headers = {**self.headers, **(headers or {})}
            request_headers.pop("accept-encoding", None)  # the bounded client sets its own
            seconds = float(timeout or self.timeout or 10.0)
            try:
                with netdeadline.within(seconds):
                    answer = exchange(
                        self._http, method, self.host + path, max_body=max_body, headers=request_headers,
                        content=body.encode("utf-8") if isinstance(body, str) else body,
                    )
            except httpx.TimeoutException as exc:
                raise ex.ConnectionTimeout("TIMEOUT", f"no answer within {seconds:g} s", exc) from None
            except BodyTooLarge:
                raise BadAnswer("N/A", f"answered with a body larger than {max_body >> 20 or 1} MB", None) from None
            except InflateError as exc:
                raise BadAnswer("N/A", f"answered with a body that cannot be decoded: {exc}", None) from None
            except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
                raise BadAnswer("N/A", f"did not answer with valid HTTP ({first_line(exc)})", exc) from None
            except httpx.HTTPError as exc:
                if any(isinstance(e, ssl.SSLError) for e in _causes(exc)):
                    raise ex.SSLError("N/A", str(exc), exc) from exc
                raise ex.ConnectionError("N/A", str(exc), exc) from exc
            raw = answer.content.decode("utf-8", "replace")
            self._raise_warnings(answer.headers.get_list("warning"))
            if not (200 <= answer.status < 300) and answer.status not in (ignore or ()):
                self._raise_error(answer.status, raw)
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, raw

        def _raise_error(self, status_code: int, raw_data: str) -> NoReturn:
            # As the client's own, with the error body parsed through nesting (no RecursionError).
            message: Any = raw_data
            info = None
            try:
                info = nesting.loads_json(raw_data) if raw_data else None
                if isinstance(info, dict):
                    message = info.get("error", message)
                    if isinstance(message, dict) and "type" in message:
                        message = message["type"]
            except ValueError:
                info = None
            kind: Any = ex.HTTP_EXCEPTIONS.get(status_code, ex.TransportError)
            raise kind(status_code, message, info)

        def close(self) -> None:
            self._http.close()

    return BoundedConnection


def serializer() -> Any:
    """The client's JSON (de)serializer, refusing answers nested too deeply (one sentence,
    not RecursionError)."""
    with without(*UNUSED_BY_ES):
        from elasticsearch.exceptions import SerializationError
        from elasticsearch.serializer import JSONSerializer

    class NestingSafeJSON(JSONSerializer):  # type: ignore[misc, unused-ignore]
        def loads(self, s: Any) -> Any:
            try:
                return nesting.loads_json(s)
            except (ValueError, TypeError) as exc:
                raise SerializationError(s, exc) from None

    return NestingSafeJSON()


def _causes(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(out) < 10:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out
