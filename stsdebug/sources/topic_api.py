"""The StackState topic API: the same topic read over HTTP, for when Kafka itself is not
reachable from the engineer's machine.

    GET <sts_api>/api/topic/<topic>?limit=N[&offset=O][&partition=P]
    -> {"messages": [{"key", "partition", "offset", "message": {"MultiMetric": {...}}}]}

This is what ``sts topic describe --name sts_multi_metrics`` calls. The token is sent as
``X-API-Token: <token>``, the header StackState's own CLI uses for API tokens (its
generated client, StackVista/stackstate-cli, ``generated/stackstate_api``; service
tokens go in ``X-API-Key`` there).

What the API does not give, and how this source makes up for it:

- No end offset. Without ``offset`` the API answers the newest ``limit`` messages; that
  is checked by asking for the offset after the newest one seen (it must be empty), and
  if it is not, the end is found by galloping then bisecting on single-message requests
  (bounded, like every search here).
- No record timestamps. Ages and the window come from the messages' own ``timestamp``
  (unit told apart by magnitude), so a producer with a wrong clock shows here as it
  would in Elasticsearch.
- No partition list. The partitions are those the API's default answer shows, plus 0
  (StackState 5.1 creates ``sts_multi_metrics`` with one partition).
- No consumer groups: the mm2es lag cannot be read this way.
- An empty topic and a missing one look the same.

Every request has the configured timeout, and each failure is one ``SourceError``
sentence: 401/403 (token), other statuses (5xx with the body's first words), answers
that are not JSON or not shaped like the above (malformed).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from stsdebug.deadline import DeadlineExceeded, bounded
from stsdebug.errors import SourceError, UsageError
from stsdebug.sources.http import HttpSource, HttpStatusError, display_url
from stsdebug.sources.topic import (
    MAX_PROBES,
    PartitionInfo,
    PartitionTail,
    Record,
    TopicInfo,
    TopicSource,
    boundary_in,
    count_window,
    decode_value,
    search_offset,
)

SYSTEM = "StackState topic API"
TOKEN_HEADER = "X-API-Token"
PAGE = 1000  # messages per request when reading the tail


class TopicApiSource(TopicSource):
    access = "StackState topic API"
    supports_groups = False

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url.strip()) if isinstance(base_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(
                f"--sts-api {base_url!r} is not an http:// or https:// URL.", system=SYSTEM, cause="config"
            )
        path = parts.path.rstrip("/")
        # Accept the StackState base URL or its /api URL.
        if not path.endswith("/api"):
            path += "/api"
        self.base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.endpoint = display_url(self.base)
        self.timeout = float(timeout)
        headers = {"Accept": "application/json"}
        self._has_token = bool(token)
        if token:
            headers[TOKEN_HEADER] = token
        try:
            self._http = HttpSource(self.timeout, headers=headers, system=SYSTEM)
        except UsageError as exc:
            raise SourceError(str(exc), system=SYSTEM, cause="config") from None
        self._broken: SourceError | None = None

    def _get(
        self, topic: str, *, limit: int, offset: int | None = None, partition: int | None = None
    ) -> list[dict[str, Any]]:
        if self._broken is not None:
            raise self._broken
        url = f"{self.base}/topic/{quote(topic, safe='')}"
        params: dict[str, Any] = {"limit": limit}
        if offset is not None:
            params["offset"] = offset
        if partition is not None:
            params["partition"] = partition
        shown = display_url(url)
        try:
            # The HTTP client bounds each phase; this bounds the whole call (DNS included).
            resp = bounded(lambda: self._http.get(url, params=params), self.timeout + 0.5, "stsdebug-topic-api")
        except DeadlineExceeded:
            err = SourceError(
                f"The StackState topic API at {shown} did not answer within {self.timeout:g} s.",
                system=SYSTEM,
                cause="timeout",
            )
            self._broken = err
            raise err from None
        except HttpStatusError as exc:
            raise self._status_error(exc, shown) from None
        except SourceError as exc:
            if exc.cause in ("refused", "dns", "tls", "timeout", "network"):
                self._broken = exc  # the same failure again would only cost another timeout
            raise
        data = resp.json()
        return _messages(data, shown)

    def _status_error(self, exc: HttpStatusError, shown: str) -> SourceError:
        status = f"HTTP {exc.status} {exc.reason}".strip()
        if exc.status in (401, 403):
            what = "the API token was not accepted" if self._has_token else "no API token was given"
            return SourceError(
                f"The StackState topic API at {shown} refused the request: {status} ({what}; "
                "set sts_api_token, e.g. STSDEBUG_STS_API_TOKEN).",
                system=SYSTEM,
                cause="auth",
            )
        body = _excerpt(exc.body)
        if exc.status == 404:
            return SourceError(
                f"There is no topic API at {shown} ({status}); check --sts-api (the StackState "
                "base URL, e.g. https://stackstate.example.com).",
                system=SYSTEM,
                cause="http",
            )
        return SourceError(
            f"The StackState topic API at {shown} answered {status}" + (f": {body}" if body else "") + ".",
            system=SYSTEM,
            cause="http",
        )

    def close(self) -> None:
        self._http.close()

    # -- what the Kafka stage reads -------------------------------------------------------

    def describe_topic(self, topic: str) -> TopicInfo:
        messages = self._get(topic, limit=1)
        partitions = sorted({0} | {int(m["partition"]) for m in messages})
        return TopicInfo(
            topic,
            True,
            [PartitionInfo(p, None) for p in partitions],
            note="The topic API cannot tell an empty topic from a missing one, and shows no leaders.",
        )

    def read_window(
        self, topic: str, partitions: list[int], start: float, cap: int
    ) -> list[PartitionTail]:
        deadline = time.monotonic() + 2 * self.timeout
        return [self._read_partition(topic, p, start, cap, deadline) for p in partitions]

    def _first(self, topic: str, partition: int, offset: int) -> Record | None:
        got = self._get(topic, limit=1, offset=offset, partition=partition)
        mine = [m for m in got if int(m["partition"]) == partition and int(m["offset"]) >= offset]
        return _record(min(mine, key=lambda m: int(m["offset"]))) if mine else None

    def _read_partition(
        self, topic: str, partition: int, start: float, cap: int, deadline: float
    ) -> PartitionTail:
        def check_time() -> None:
            if time.monotonic() > deadline:
                raise SourceError(
                    f"Reading topic {topic} through the StackState topic API at {self.endpoint} took "
                    f"longer than {2 * self.timeout:g} s.",
                    system=SYSTEM,
                    cause="timeout",
                )

        newest_page = self._own(self._get(topic, limit=min(cap, PAGE), partition=partition), partition)
        earliest_rec = self._first(topic, partition, 0)
        if earliest_rec is None:
            return PartitionTail(partition, None, None, "topic API (no messages)", 0, True, "empty partition")
        earliest = earliest_rec.offset
        end = (max(m.offset for m in newest_page) + 1) if newest_page else earliest + 1
        end_method = "topic API: its newest messages, checked by asking past the last one"
        # The answer without an offset should be the newest messages. Check by asking past
        # them; if something is there, gallop forward and bisect back to the real end.
        rec = self._first(topic, partition, end)
        step, probes, last = 1, 0, None
        while rec is not None:
            check_time()
            probes += 1
            if probes > MAX_PROBES:
                raise SourceError(
                    f"The StackState topic API at {self.endpoint} keeps answering past offset {end:,} "
                    f"of {topic}; its end could not be found.",
                    system=SYSTEM,
                    cause="malformed",
                )
            end_method = "topic API: end found by searching offsets (its default answer is not the newest)"
            last = rec.offset
            end = rec.offset + step
            step *= 2
            rec = self._first(topic, partition, end)
        if last is not None:  # the end is in (last, end]: the first offset with nothing at or after it
            lo, hi = last + 1, end
            while lo < hi:
                check_time()
                mid = (lo + hi) // 2
                hit = self._first(topic, partition, mid)
                if hit is None:
                    hi = mid
                else:
                    lo = hit.offset + 1
            end = lo
        # The tail: the newest `cap` messages.
        lo = max(earliest, end - cap)
        records = [r for r in newest_page if lo <= r.offset < end]
        have = {r.offset for r in records}
        cursor = lo
        while cursor < end:
            check_time()
            if cursor in have:
                cursor += 1
                continue
            page = self._own(self._get(topic, limit=min(PAGE, end - cursor), offset=cursor, partition=partition), partition)
            fresh = [r for r in page if cursor <= r.offset < end and r.offset not in have]
            if not fresh:
                break
            records += fresh
            have.update(r.offset for r in fresh)
            cursor = max(r.offset for r in fresh) + 1
        records.sort(key=lambda r: r.offset)
        timed = [r for r in records if r.timestamp is not None]
        newest = max(timed, key=lambda r: r.timestamp or 0.0, default=None)
        if not timed and records:
            return PartitionTail(
                partition, earliest, end, end_method, None, False,
                "unknown: the messages carry no timestamp the topic API shows", None, [], lo, records,
            )
        why = "payload timestamps; the topic API gives no record timestamps"
        if lo <= earliest or boundary_in(records, start):
            counted = count_window(records, start, earliest=earliest, lo=lo, end=end, unit="messages")
            counted.method += f" ({why})"
            return PartitionTail(partition, earliest, end, end_method, counted.count, counted.exact, counted.method,
                                 newest, counted.records, lo, records)
        oldest = timed[0] if timed else None
        first: int | None = None
        probes = 0
        if oldest is not None and earliest_rec.timestamp is not None:
            if earliest_rec.timestamp >= start:
                first = earliest
            else:
                def fetch(offset: int) -> Record | None:
                    check_time()
                    return self._first(topic, partition, offset)

                first, probes = search_offset(start, earliest_rec, oldest, fetch)
        how = (f"searched on message timestamps, {probes} request{'s' if probes != 1 else ''}, assuming they "
               f"grow with offsets")
        counted = count_window(records, start, earliest=earliest, lo=lo, end=end, first=first, how=how,
                               unit="messages")
        counted.method += f" ({why})"
        return PartitionTail(partition, earliest, end, end_method, counted.count, counted.exact, counted.method,
                             newest, counted.records, lo, records)

    @staticmethod
    def _own(messages: list[dict[str, Any]], partition: int) -> list[Record]:
        return [_record(m) for m in messages if int(m["partition"]) == partition]


def _messages(data: Any, shown: str) -> list[dict[str, Any]]:
    """The ``messages`` list, each with integer ``partition`` and ``offset``, or one sentence."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        kind = type(data).__name__ if not isinstance(data, dict) else "an object without a 'messages' list"
        raise SourceError(
            f"The StackState topic API at {shown} answered JSON that is not a topic listing ({kind}).",
            system=SYSTEM,
            cause="malformed",
        )
    out = []
    for i, m in enumerate(data["messages"]):
        ok = (
            isinstance(m, dict)
            and isinstance(m.get("offset"), int)
            and not isinstance(m.get("offset"), bool)
            and isinstance(m.get("partition"), int)
            and not isinstance(m.get("partition"), bool)
        )
        if not ok:
            raise SourceError(
                f"The StackState topic API at {shown} answered a message without an integer "
                f"offset and partition (message {i + 1}).",
                system=SYSTEM,
                cause="malformed",
            )
        out.append(m)
    return out


def _record(m: dict[str, Any]) -> Record:
    message = m.get("message")
    decoded = decode_value(message) if isinstance(message, (dict, str)) else None
    return Record(
        int(m["partition"]),
        int(m["offset"]),
        decoded.timestamp if decoded else None,
        m.get("key"),
        message,
        0,
    )


def _excerpt(text: str, limit: int = 120) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
