"""What a well-formed endpoint address is: an http(s) URL, a host name, a port.

Settings resolution refuses a malformed one before anything runs (``settings_check``), and
the sources that take an address check it the same way, so that ``http://host:0`` is never
quietly read as port 80 or 9200 and a space or a broken IPv6 literal never reaches a
library. Each function returns what is wrong, in words that complete "<flag> 'value': ...",
or None when the address is fine.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def host_problem(host: str) -> str | None:
    """A DNS name (letters, digits, '-', '_' in dot-separated labels) or an IP address."""
    if not host:
        return "it has no host"
    if _CONTROL.search(host):
        return "the host contains a space or a control character"
    bracketed = host.startswith("[") and host.endswith("]")
    bare = host[1:-1] if bracketed else host
    try:
        ipaddress.ip_address(bare)
        return None
    except ValueError:
        pass
    if bracketed or ":" in bare or "[" in bare or "]" in bare:
        return f"{host!r} is not a valid IPv6 address"
    name = bare[:-1] if bare.endswith(".") else bare
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return f"{host!r} is not a valid host name"
    return None


def port_problem(port: int) -> str | None:
    return None if 0 < port < 65536 else f"port {port} is not a port (1 to 65535)"


def url_problem(url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """An absolute URL with one of ``schemes``, a valid host and, if given, a port from 1 to 65535."""
    if not url.strip():
        return "it is empty"
    if _CONTROL.search(url):
        return "it contains a space or a control character"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"it is not a URL ({exc})"
    if parts.scheme.lower() not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        return f"it must start with {wanted}" + (f", not {parts.scheme}://" if parts.scheme else "")
    netloc_host = parts.netloc.rpartition("@")[2]
    host = netloc_host
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return "its IPv6 address has no closing ']'"
        host, rest = host[: end + 1], host[end + 1:]
    else:
        host, sep, port_text = host.partition(":")
        rest = sep + port_text
    problem = host_problem(host)
    if problem:
        return problem
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit():
            return f"{rest[1:] or rest!r} is not a port number"
        return port_problem(int(rest[1:]))
    return None
