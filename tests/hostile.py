"""A hostile-server test kit: loopback servers that misbehave on purpose, and a way to run the
stsdebug CLI under a memory limit and a wall-clock bound.

Servers (each a ``Behaviour`` for ``HostileServer``; all on 127.0.0.1, started and stopped
by the test that uses them, threads stopped and joined on exit):

- ``black_hole``: accepts and reads, never answers;
- ``endless_chunked``: a 200 with a chunked JSON-looking body that never ends;
- ``drip_headers``: the status line, then one header byte per interval, forever;
- ``drip_body``: headers announcing a large body, then one body byte per interval;
- ``gzip_bomb``: a small gzip body (one or two layers) that inflates to gigabytes;
- ``huge_header``: a response header far larger than any real one;
- ``redirect``: a redirect to another origin (``recorder`` there keeps what it received);
- ``reflect``: an error answer echoing the request's credentials (Authorization, API-key
  headers, the query string) in its body, as some proxies and servers do;
- ``endless_bytes``: for Kafka-ish clients on a plain TCP port, an endless line with no
  newline, or a response size prefix of ~2 GB followed by a trickle.

``run_cli`` runs ``python -m stsdebug`` in a subprocess under ``RLIMIT_AS`` and a
wall-clock bound, and returns exit code, output, elapsed time and peak RSS: a regression
fails the test instead of taking the machine down. ``run_python`` does the same for a
snippet of Python (a source no command reaches yet).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Behaviour = Callable[[socket.socket, "Request", "HostileServer"], None]
_HEAD_LIMIT = 1 << 16


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw: bytes


class HostileServer:
    """A loopback TCP server that hands every connection to ``behaviour``."""

    def __init__(self, behaviour: Behaviour, *, read_request: bool = True) -> None:
        self.behaviour = behaviour
        self.read_request = read_request
        self.stopping = threading.Event()
        self.requests: list[Request] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name=f"hostile-{self.port}", daemon=True)

    def __enter__(self) -> HostileServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()
        self._acceptor.join(5)
        for t in threads:
            t.join(5)

    def sleep(self, seconds: float) -> bool:
        """Wait; False once the server is stopping (behaviours end then)."""
        return not self.stopping.wait(seconds)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.append(conn)
                self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            request = _read_request(conn) if self.read_request else Request("", "", {}, b"", b"")
            self.requests.append(request)
            conn.settimeout(None)
            self.behaviour(conn, request, self)
        except OSError:
            pass  # the client went away: what a hostile server expects
        finally:
            with contextlib.suppress(OSError):
                conn.close()


def _read_request(conn: socket.socket) -> Request:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _HEAD_LIMIT:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target = (lines[0].split(" ") + ["", ""])[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    want = min(int(headers.get("content-length", "0") or 0), 1 << 20)
    while len(body) < want:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body, data)


@contextlib.contextmanager
def serving(behaviour: Behaviour, **kw: bool) -> Iterator[HostileServer]:
    with HostileServer(behaviour, **kw) as server:
        yield server


# --- behaviours ---------------------------------------------------------------------------


def black_hole(conn: socket.socket, req: Request, server: HostileServer) -> None:
    while server.sleep(0.1):
        pass


def endless_chunked(chunk: int = 1 << 16) -> Behaviour:
    piece = b'{"a":' + b"1" * (chunk - 5)
    framed = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not server.stopping.is_set():
            conn.sendall(framed)

    return run


def drip_headers(interval: float = 1.0) -> Behaviour:
    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        while server.sleep(interval):
            conn.sendall(b"a")

    return run


def drip_body(interval: float = 1.0) -> Behaviour:
    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n[")
        while server.sleep(interval):
            conn.sendall(b" ")

    return run


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # RFC 1952: deflate, no name, unix


@lru_cache(maxsize=4)
def bomb_body(inflated: int, layers: int = 1) -> bytes:
    """A gzip stream of ``inflated`` zero bytes (about 1/1000 of that on the wire), gzipped
    again ``layers - 1`` times. Built from one flushed megabyte repeated, so it takes
    milliseconds; it has no trailer, since no client may read that far."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    first = comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH)
    steady = comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH)
    assert steady == comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH)
    body = _GZIP_HEADER + first + steady * max(0, (inflated >> 20) - 1)
    for _ in range(layers - 1):
        body = gzip.compress(body, 9)
    return body


def gzip_bomb(inflated: int = 4 << 30, layers: int = 1) -> Behaviour:
    body = bomb_body(inflated, layers)
    encoding = ", ".join(["gzip"] * layers)

    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        conn.sendall(body)
        while server.sleep(0.1):
            pass

    return run


def huge_header(size: int = 64 << 20) -> Behaviour:
    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Huge: ")
        block = b"a" * (1 << 16)
        sent = 0
        while sent < size and not server.stopping.is_set():
            conn.sendall(block)
            sent += len(block)
        conn.sendall(b"\r\nContent-Length: 2\r\n\r\n{}")

    return run


def respond(status: int = 200, body: bytes = b"{}", headers: Sequence[tuple[str, str]] = ()) -> Behaviour:
    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        conn.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{extra}\r\n".encode() + body
        )

    return run


recorder = respond(200, b"{}")  # answers plainly; HostileServer.requests keeps what it got


def redirect(location: str, status: int = 302) -> Behaviour:
    return respond(status, b"", [("Location", location)])


CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-api-token", "x-mirror-api-key", "proxy-authorization")


def reflect(status: int = 401) -> Behaviour:
    """An error that echoes the request's credentials back, in JSON and as plain text."""

    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        echoed = {k: v for k, v in req.headers.items() if k in CREDENTIAL_HEADERS}
        query = urlsplit(req.target).query
        text = " ".join(f"{k}: {v}" for k, v in echoed.items())
        body = json.dumps(
            {"error": f"rejected request {req.method} {req.target} with {text}", "headers": echoed, "query": query}
        ).encode()
        respond(status, body)(conn, req, server)

    return run


def endless_bytes(size_prefix: bool = False, interval: float = 0.0) -> Behaviour:
    """Kafka-ish: after the client's first bytes, an endless line (no newline), or a 4-byte
    response size of ~2 GB and then a trickle."""

    def run(conn: socket.socket, req: Request, server: HostileServer) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            conn.recv(65536)
        conn.settimeout(None)
        if size_prefix:
            conn.sendall((0x7FFFFFF0).to_bytes(4, "big"))
        block = b"A" * (1 << 16)
        while not server.stopping.is_set():
            conn.sendall(block[:1] if interval else block)
            if interval and not server.sleep(interval):
                return

    return run


# --- the CLI under limits -----------------------------------------------------------------


@dataclass
class CliRun:
    code: int  # -9 (SIGKILL) when the wall-clock bound ran out
    stdout: str
    stderr: str
    elapsed: float  # seconds
    peak_rss_mb: float
    timed_out: bool = False
    argv: list[str] = field(default_factory=list)

    def json(self) -> dict[str, object]:
        return dict(json.loads(self.stdout))

    def stage(self, stage_id: str) -> dict[str, object]:
        stages = self.json()["stages"]
        assert isinstance(stages, list)
        return next(s for s in stages if s["id"] == stage_id)


def _own_peak_kb(pid: int, argv: Sequence[str]) -> int:
    """VmHWM of ``pid`` once it runs ``argv`` (0 before the exec or after the exit).

    The kernel's rusage is not enough: the child is forked from this test process and the
    maximum RSS survives the exec, so after a long suite rusage reports the test process's
    own size (hundreds of MB) rather than the program's. VmHWM belongs to the address
    space the exec created; polled every 10 ms, it misses at most the last moments."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if f.read().split(b"\0")[: len(argv)] != [os.fsencode(a) for a in argv]:
                return 0  # not exec'd yet: the fork still holds the test process's pages
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_python(code: str, **kw: Any) -> CliRun:
    """``python -c CODE`` under the same limits as ``run_cli`` (for sources with no command yet)."""
    return run_cli(["-c", code], module=False, **kw)


def run_cli(
    args: Sequence[str],
    *,
    mem_mb: int = 2048,
    wall_s: float = 120.0,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    module: bool = True,
) -> CliRun:
    """``python -m stsdebug ARGS`` with its address space capped at ``mem_mb`` (RLIMIT_AS) and
    killed after ``wall_s`` seconds; peak RSS comes from the kernel's rusage of the child."""
    limit = mem_mb << 20
    argv = [sys.executable, *(["-m", "stsdebug"] if module else []), *args]

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    child_env = {**os.environ, "MALLOC_ARENA_MAX": "2", **(env or {})}
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env, cwd=cwd,
        preexec_fn=limits,  # noqa: PLW1509 - the limit must be set in the child before exec
    )
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else b""), daemon=True),
        threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else b""), daemon=True),
    ]
    for t in readers:
        t.start()
    if stdin is not None and proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(stdin)
        proc.stdin.close()
    timed_out = False
    hwm_kb = 0  # the exec'd program's own high-water mark, see _own_peak_kb
    while True:
        hwm_kb = max(hwm_kb, _own_peak_kb(proc.pid, argv))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > wall_s:
            timed_out = True
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join(10)
    return CliRun(
        proc.returncode,
        (out[0] if out else b"").decode("utf-8", "replace"),
        (err[0] if err else b"").decode("utf-8", "replace"),
        elapsed,
        (hwm_kb or usage.ru_maxrss) / 1024,
        timed_out,
        list(args),
    )
