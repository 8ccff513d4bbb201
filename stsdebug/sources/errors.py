"""One translator from network and library errors to one-sentence reasons.

Every source reaches its system differently (httpx, kafka-python, the Elasticsearch
client, plain sockets), but a refused port, an unknown host or a certificate nobody
trusts must read the same whichever it was. ``classify`` finds what happened in any
exception (walking the chain of causes the libraries wrap, then their text), and
``cannot_reach`` turns it into the sentence stages show:

=============  ==========================================================
cause          sentence
=============  ==========================================================
refused        Cannot connect to {what} at {where}: connection refused.
unreachable    Cannot connect to {what} at {where}: no route to host.
dns            Cannot resolve the host name {host!r} of {what} ({where}).
tls            TLS handshake with {what} at {where} failed: {reason}.
timeout        {What} at {where} did not answer within {seconds} s.
reset          {What} at {where} closed the connection without answering.
network        Cannot connect to {what} at {where}: {reason}.
=============  ==========================================================

The same module holds the small text helpers every source's sentences use.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from stsdebug.errors import SourceError

_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name",
    "getaddrinfo failed",
    "no address associated",
    "name resolution",
    "failed to resolve",
    "no such host",
)
_TLS_WORDS = ("ssl", "certificate", "tls", "handshake")
_REFUSED_WORDS = ("connection refused", "errno 111", "errno 61", "10061")
_RESET_WORDS = ("remotedisconnected", "connection aborted", "connection reset", "reset by peer",
                "broken pipe")
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN)


@dataclass(frozen=True)
class Failure:
    """What went wrong reaching a system: a short ``cause`` and a lower-case ``reason``."""

    cause: str  # refused | unreachable | dns | tls | timeout | reset | network
    reason: str  # e.g. "connection refused", "certificate verify failed: self-signed certificate"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and the exceptions libraries keep in attributes or args."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attr in ("__cause__", "__context__", "reason", "error", "orig_exc"):
            inner = getattr(current, attr, None)
            if isinstance(inner, BaseException):
                todo.append(inner)
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))


def classify(exc: BaseException | str) -> Failure:
    """What a connection failure was, from the exception types first, then from their text."""
    if isinstance(exc, BaseException):
        for e in _chain(exc):
            if isinstance(e, ssl.SSLCertVerificationError):
                return Failure("tls", tls_reason(e))
            if isinstance(e, ssl.SSLError):
                return Failure("tls", tls_reason(e))
            if isinstance(e, socket.gaierror):
                return Failure("dns", os_reason(e).lower())
            if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
                return Failure("refused", "connection refused")
            if isinstance(e, OSError) and e.errno in _UNREACHABLE:
                return Failure("unreachable", os_reason(e).lower())
            if isinstance(e, TimeoutError):
                return Failure("timeout", "no answer in time")
            if isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
                return Failure("reset", "the connection was closed without an answer")
        text = " ".join(str(e) for e in _chain(exc)) or type(exc).__name__
    else:
        text = exc
    low = text.lower()
    if any(w in low for w in _REFUSED_WORDS):
        return Failure("refused", "connection refused")
    if any(w in low for w in _DNS_WORDS):
        return Failure("dns", "the host name does not resolve")
    if any(w in low for w in _TLS_WORDS):
        return Failure("tls", tls_reason(text))
    if "timed out" in low or "timeout" in low:
        return Failure("timeout", "no answer in time")
    if any(w in low for w in _RESET_WORDS):
        return Failure("reset", "the connection was closed without an answer")
    return Failure("network", first_line(exc) if isinstance(exc, BaseException) else short(text))


def cannot_reach(
    failure: Failure | BaseException | str,
    *,
    system: str,
    what: str,
    where: str,
    host: str | None = None,
    seconds: float | None = None,
    tls_advice: str = "",
) -> SourceError:
    """The one sentence for a system that could not be reached (see the module docstring)."""
    f = failure if isinstance(failure, Failure) else classify(failure)
    if f.cause == "refused":
        message = f"Cannot connect to {what} at {where}: connection refused."
    elif f.cause == "dns":
        message = f"Cannot resolve the host name {host or where!r} of {what} ({where})."
    elif f.cause == "tls":
        message = f"TLS handshake with {what} at {where} failed: {f.reason}{tls_advice}."
    elif f.cause == "timeout":
        within = f"within {seconds:g} s" if seconds is not None else "in time"
        message = f"{cap(what)} at {where} did not answer {within}."
    elif f.cause == "reset":
        message = f"{cap(what)} at {where} closed the connection without answering."
    else:
        message = f"Cannot connect to {what} at {where}: {f.reason.rstrip('.')}."
    return SourceError(message, system=system, cause=f.cause)


def tls_reason(exc: BaseException | str) -> str:
    """A TLS failure in a few words: why verification failed, or that the port is not TLS."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    text = str(exc)
    low = text.lower()
    if "certificate verify failed" in low:
        m = re.search(r"certificate verify failed:?\s*([^()\]]*?)\s*(?:\(_ssl\.c:\d+\))?['\")\]]*$", text.strip())
        detail = (m.group(1).strip().rstrip(".") if m else "") or ""
        if not detail and ("self-signed" in low or "self signed" in low):
            detail = "self-signed certificate"
        return "certificate verify failed" + (f": {detail}" if detail else "")
    if "wrong version number" in low or "unknown protocol" in low or "record layer failure" in low:
        return "the server does not speak TLS on this port"
    if "unexpected_eof" in low or "eof occurred" in low:
        return "the server closed the connection during the handshake"
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.replace("_", " ").lower()
    m = re.search(r"\]\s*([^()\]]+?)\s*(?:\(_ssl\.c:\d+\))?$", text.strip())
    return short((m.group(1) if m else text).strip().rstrip(".")) or "handshake failed"


def os_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).rstrip(".")


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__).rstrip(".")


def short(text: str, limit: int = 160) -> str:
    """One line, at most ``limit`` characters, without a final period."""
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sentence(text: str) -> str:
    """``text`` ending with a full stop (or ! or ?)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """"Cannot resolve ..." -> "cannot resolve ...", but "TLS with ..." stays."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]
