"""The request handler every sandbox HTTP server builds on (the receiver, the mirror stub):
HTTP/1.1, no access log on stderr (each component writes its own log), one way to read a
body and to answer; and the agent intake route of both receivers."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


class QuietHandler(BaseHTTPRequestHandler):
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Answer(Protocol):
    """What a receiver's intake answers (its HTTP status and body)."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> str: ...


class Intake(Protocol):
    """A sandbox receiver, as its intake route sees it."""

    clock: Callable[[], float]

    def intake(self, body: bytes, api_key: str | None, t: float, peer: str = ...) -> Answer: ...


class IntakeHandler(QuietHandler):
    """The agent intake both sandbox receivers (StackState 5 and 6) answer, as akka-http does."""

    server_version = "akka-http/10.2.9"

    def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
        self.answer(status, body.encode(), {"Content-Type": ctype})

    def not_found(self, path: str) -> None:
        self._send(404, json.dumps({"error": f"The requested resource {path} could not be found."}))

    def post_intake(self, receiver: Intake, paths: tuple[str, ...]) -> None:
        """``POST <path>?api_key=KEY`` for one of ``paths``: the receiver's answer, else 404."""
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.rstrip("/") not in paths:
            self.not_found(url.path)
            return
        keys = parse_qs(url.query).get("api_key")
        answer = receiver.intake(body, keys[0] if keys else None, receiver.clock(), self.client_address[0])
        self._send(answer.status, answer.body,
                   "application/json" if answer.status == 200 else "text/plain; charset=UTF-8")
