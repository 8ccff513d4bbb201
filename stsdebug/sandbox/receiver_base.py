"""What both sandbox receivers (StackState 5 and 6) share: their HTTP server and threads, and
the queue between the intake and the sender thread.

Like the real receiver, the intake answers before the data is delivered: it queues a batch,
and one thread sends what is queued in rounds (one round of sends, then one round of
waits), so that a slow Kafka or vmagent delays delivery, not the agent's answer.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

B = TypeVar("B")


class BatchQueue(Generic[B]):
    def __init__(self, max_round: int) -> None:
        self.max_round = max_round
        self._queue: queue.Queue[B | None] = queue.Queue()
        self._pending = 0
        self._pending_lock = threading.Condition()

    def put(self, batch: B) -> None:
        with self._pending_lock:
            self._pending += 1
        self._queue.put(batch)

    def close(self) -> None:
        """Let ``drain`` return once what is queued before this is sent."""
        self._queue.put(None)

    def drain(self, send: Callable[[list[B]], None]) -> None:
        """On the sender thread: ``send`` what is queued, up to ``max_round`` at a time, until closed."""
        while True:
            first = self._queue.get()
            if first is None:
                return
            # Take whatever else is queued too: one round of sends, then one round of waits.
            batches = [first]
            stop = False
            while len(batches) < self.max_round:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batches.append(more)
            try:
                send(batches)
            finally:
                with self._pending_lock:
                    self._pending -= len(batches)
                    self._pending_lock.notify_all()
            if stop:
                return

    def flush(self, timeout: float) -> bool:
        """Wait until every queued batch was sent or given up on; False after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._pending_lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._pending_lock.wait(left)
        return True


class ReceiverBase:
    """A receiver's HTTP server, its threads (HTTP and the sender) and its batch queue."""

    host: str
    port: int
    _batches: BatchQueue[Any]

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    def _bind(self, handler: type[BaseHTTPRequestHandler]) -> None:
        """Bind the HTTP port (a free one for port 0); requests are served once ``serve`` runs."""
        server = ThreadingHTTPServer((self.host, self.port), handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]

    def _start_sender(self, send: Callable[[list[Any]], None], name: str) -> None:
        sender = threading.Thread(target=self._batches.drain, args=(send,), name=name, daemon=True)
        sender.start()
        self._threads.append(sender)

    def serve(self) -> None:
        """Serve HTTP in a thread (after the backfill, so history is not interleaved)."""
        assert self._server is not None
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="receiver-http", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _stop_threads(self) -> None:
        """Close the HTTP server, let the sender send what is queued, and join the threads."""
        if self._server is not None:
            if any(t.name == "receiver-http" for t in self._threads):
                self._server.shutdown()
            self._server.server_close()
        self._batches.close()
        for thread in self._threads:
            thread.join(timeout=3)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued batch was sent or given up on."""
        return self._batches.flush(timeout)
