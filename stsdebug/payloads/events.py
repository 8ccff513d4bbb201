"""Checks of the intake's events and service checks."""

from __future__ import annotations

from typing import Any

from stsdebug.jsontext import (
    quote,
)
from stsdebug.payloads.base import (
    CheckerBase,
)
from stsdebug.payloads.helpers import (
    _ARRAYS,
    _EVENTS_PATH,
    _is_number,
    _Key,
    _kind,
    _missing,
    _non_finite,
    _Path,
    _show,
    _suggest,
)
from stsdebug.payloads.rules import (
    _CATEGORY_LIST,
    _REJECTED,
    EVENT_CATEGORIES,
    RESERVED_EVENT_PREFIXES,
)


class EventChecks(CheckerBase):
    def _events(self, obj: dict[Any, Any]) -> None:
        if "events" not in obj or obj["events"] is None:
            return
        events = obj["events"]
        if not isinstance(events, dict):
            hint = (
                ' (e.g. {"http_check": [{...}, ...]}, not a plain array)'
                if isinstance(events, _ARRAYS) else ""
            )
            self.add(
                "intake.member-type", _EVENTS_PATH,
                f"events must be an object that maps an event name to an array of events{hint}, "
                f"got {_kind(events)}; {_REJECTED}",
            )
            return
        for name, items in events.items():
            if not isinstance(name, str):
                continue  # reported by the document walk
            path = _EVENTS_PATH + (_Key(name),)
            prefix = next((p for p in RESERVED_EVENT_PREFIXES if name.startswith(p)), None)
            if prefix:
                self.add(
                    "event.reserved-name", path,
                    f"event name {quote(name)} starts with the reserved prefix {quote(prefix)}; "
                    "event names must not start with eventType, host, labels, message, name, "
                    "tags, timeReceived, timestamp or title",
                )
            elif not name:
                self.add("event.name-empty", path, "event name is empty")
            if not isinstance(items, _ARRAYS):
                self.add(
                    "event.shape", path,
                    f"the events under an event name must be an array of event objects, got "
                    f"{_kind(items)}; {_REJECTED}",
                )
                continue
            for i, event in enumerate(items):
                self.counts["events"] += 1
                self._event(event, path + (i,))

    def _event(self, event: Any, path: _Path) -> None:
        if not isinstance(event, dict):
            self.add("event.shape", path, f"an event must be an object, got {_kind(event)}; {_REJECTED}")
            return
        for member in ("msg_title", "msg_text"):
            if member not in event:
                self.add(
                    "event.missing-member", path + (member,),
                    _missing(event, member, "StackState 5.x requires msg_title and msg_text on every event"),
                )
        if "timestamp" not in event:
            self.add(
                "event.missing-member", path + ("timestamp",),
                _missing(event, "timestamp", "every event needs its epoch-seconds timestamp"),
            )
        else:
            self._event_or_metric_time(event["timestamp"], path + ("timestamp",), "event timestamp")
        for member in ("msg_title", "msg_text", "event_type", "source_type_name", "host"):
            if member in event and not isinstance(event[member], str):
                self.add(
                    "event.member-type", path + (member,),
                    f"{member} must be a string, got {_kind(event[member])}",
                )
        self._string_list(event, "tags", path, "event.member-type", "event tags")
        context = event.get("context")
        if context is None:
            return  # optional: events without a context become a log stream
        cpath = path + ("context",)
        if not isinstance(context, dict):
            self.add("event.member-type", cpath, f"context must be an object, got {_kind(context)}")
            return
        self._event_context(context, cpath)

    def _event_context(self, ctx: dict[Any, Any], path: _Path) -> None:
        for member in ("category", "element_identifiers", "source"):
            if member not in ctx:
                self.add(
                    "event.missing-member", path + (member,),
                    _missing(ctx, member, "an event context needs category, element_identifiers and source"),
                )
        if "category" in ctx:
            category = ctx["category"]
            if not isinstance(category, str):
                self.add(
                    "event.category", path + ("category",),
                    f"category must be one of {_CATEGORY_LIST}, got {_kind(category)}",
                )
            elif category not in EVENT_CATEGORIES:
                match = next((c for c in EVENT_CATEGORIES if c.lower() == category.lower()), None)
                if match:
                    self.add(
                        "event.category-case", path + ("category",),
                        f"category {quote(category)} differs from {quote(match)} only in case; "
                        f"the documented values are {_CATEGORY_LIST}",
                    )
                else:
                    self.add(
                        "event.category", path + ("category",),
                        f"category {quote(category)} is not one of {_CATEGORY_LIST}"
                        f"{_suggest(category, EVENT_CATEGORIES)}",
                    )
        self._string_list(
            ctx, "element_identifiers", path, "event.member-type", "element_identifiers",
            allow_null=False,
        )
        for member in ("source", "source_identifier"):
            if member in ctx and not isinstance(ctx[member], str):
                self.add(
                    "event.member-type", path + (member,),
                    f"context.{member} must be a string, got {_kind(ctx[member])}",
                )
        if "data" in ctx and not isinstance(ctx["data"], dict) and ctx["data"] is not None:
            self.add(
                "event.member-type", path + ("data",),
                f"context.data must be an object of key/value details, got {_kind(ctx['data'])}",
            )
        if "source_id" in ctx and "source_identifier" not in ctx:
            self.add(
                "event.source-id", path + ("source_id",),
                "context.source_id is the older documentation's name; StackState 5.x and the "
                "agent use source_identifier, so this value is ignored",
            )
        self._source_links(ctx, path)

    def _source_links(self, ctx: dict[Any, Any], path: _Path) -> None:
        if "source_links" not in ctx:
            return
        links, lpath = ctx["source_links"], path + ("source_links",)
        if links is None:
            self.add(
                "event.source-links-null", lpath,
                "context.source_links is null; send an array (the StackState agent sends [] "
                "when there are no links)",
            )
            return
        if not isinstance(links, _ARRAYS):
            self.add(
                "event.member-type", lpath,
                f"context.source_links must be an array of {{title, url}} objects, got {_kind(links)}",
            )
            return
        for i, link in enumerate(links):
            if not isinstance(link, dict):
                self.add(
                    "event.member-type", lpath + (i,),
                    f"a source link must be an object {{title, url}}, got {_kind(link)}",
                )
                continue
            for member in ("title", "url"):
                if member not in link:
                    self.add(
                        "event.missing-member", lpath + (i, member),
                        _missing(link, member, "a source link needs a title and a url"),
                    )
                elif not isinstance(link[member], str):
                    self.add(
                        "event.member-type", lpath + (i, member),
                        f"source link {member} must be a string, got {_kind(link[member])}",
                    )

    # -- service checks -------------------------------------------------------------

    def _service_check(self, check: Any, path: _Path) -> None:
        if not isinstance(check, dict):
            self.add(
                "service-check.shape", path,
                f"a service check must be an object {{check, host_name, status, ...}}, got {_kind(check)}",
            )
            return
        for member in ("check", "host_name", "status"):
            if member not in check:
                self.add(
                    "service-check.missing-member", path + (member,),
                    _missing(check, member, "service checks carry check, host_name and status"),
                )
        for member in ("check", "host_name", "message"):
            if member in check and not isinstance(check[member], str):
                self.add(
                    "service-check.member-type", path + (member,),
                    f"service check {member} must be a string, got {_kind(check[member])}",
                )
        if "timestamp" in check and not _is_number(check["timestamp"]):
            self.add(
                "service-check.member-type", path + ("timestamp",),
                f"service check timestamp must be a number of epoch seconds, got {_show(check['timestamp'])}",
            )
        if "status" in check:
            status = check["status"]
            if not (_is_number(status) and status in (0, 1, 2, 3)) and not _non_finite(status):
                self.add(
                    "service-check.status", path + ("status",),
                    f"service check status must be 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 "
                    f"(UNKNOWN), got {_show(status)}",
                )
        self._string_list(check, "tags", path, "service-check.member-type", "service check tags")

    # -- health ---------------------------------------------------------------------

