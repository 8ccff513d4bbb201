"""Checks of health synchronization payloads (seed 004; health docs 5.x)."""

from __future__ import annotations

import re
from typing import Any

from stsdebug.jsontext import (
    quote,
)
from stsdebug.payloads.base import (
    CheckerBase,
)
from stsdebug.payloads.helpers import (
    _ARRAYS,
    _is_number,
    _kind,
    _missing,
    _non_finite,
    _Path,
    _show,
    _suggest,
)
from stsdebug.payloads.rules import (
    _HEALTH_LIST,
    _MODEL_LIST,
    _TRANSFORMER,
    CONSISTENCY_MODELS,
    HEALTH_STATES,
    MAX_REPEAT_INTERVAL_S,
)

_URN = re.compile(r"urn:health:([^:]+):(.+)", re.S)
_HEALTH_LOWER = frozenset(s.lower() for s in HEALTH_STATES)



class HealthChecks(CheckerBase):
    def _health_entry(self, entry: Any, path: _Path) -> None:
        self.counts["health_snapshots"] += 1
        if not isinstance(entry, dict):
            self.add(
                "health.shape", path,
                f"a health entry must be an object {{consistency_model, stream, check_states, ...}}, "
                f"got {_kind(entry)}",
            )
            return
        model = self._consistency_model(entry, path)
        sub_stream = self._stream(entry, path)
        if model == "REPEAT_SNAPSHOTS":
            self._foreign_blocks(entry, path, model, ("expiry", "increment"))
            for block in ("start_snapshot", "stop_snapshot"):
                value = entry.get(block)
                if value is not None and not isinstance(value, dict):
                    self.add(
                        "health.member-type", path + (block,),
                        f"{block} must be an object, got {_kind(value)}",
                    )
            if isinstance(entry.get("start_snapshot"), dict):
                self._intervals(entry["start_snapshot"], path + ("start_snapshot",), sub_stream)
        elif model == "REPEAT_STATES":
            self._foreign_blocks(entry, path, model, ("start_snapshot", "stop_snapshot", "increment"))
            expiry = entry.get("expiry")
            if expiry is not None:
                if isinstance(expiry, dict):
                    self._intervals(expiry, path + ("expiry",), sub_stream)
                else:
                    self.add("health.member-type", path + ("expiry",), f"expiry must be an object, got {_kind(expiry)}")
        else:
            self._foreign_blocks(entry, path, model, ("start_snapshot", "stop_snapshot", "expiry"))
            self._increment(entry, path)
        self._check_states(entry, path, model)

    def _consistency_model(self, entry: dict[Any, Any], path: _Path) -> str:
        if "consistency_model" not in entry:
            # The agent never sends it; the blocks present say which model is meant.
            if "increment" in entry:
                return "TRANSACTIONAL_INCREMENTS"
            return "REPEAT_STATES" if "expiry" in entry else "REPEAT_SNAPSHOTS"
        model, mpath = entry["consistency_model"], path + ("consistency_model",)
        if not isinstance(model, str):
            self.add(
                "health.consistency-model", mpath,
                f"consistency_model must be one of {_MODEL_LIST}, got {_kind(model)}",
            )
            return "REPEAT_SNAPSHOTS"
        if model in CONSISTENCY_MODELS:
            return model
        if model.upper() in CONSISTENCY_MODELS:
            self.add(
                "health.consistency-model-case", mpath,
                f"consistency_model {quote(model)} should be written {quote(model.upper())}",
            )
            return model.upper()
        self.add(
            "health.consistency-model", mpath,
            f"consistency_model {quote(model)} is not one of {_MODEL_LIST}"
            f"{_suggest(model, CONSISTENCY_MODELS)}",
        )
        return "REPEAT_SNAPSHOTS"

    def _foreign_blocks(
        self, entry: dict[Any, Any], path: _Path, model: str, blocks: tuple[str, ...]
    ) -> None:
        for block in blocks:
            if block in entry:
                self.add(
                    "health.model-mismatch", path + (block,),
                    f"{block} does not belong to the {model} consistency model and is ignored",
                )

    def _stream(self, entry: dict[Any, Any], path: _Path) -> str | None:
        """Check ``stream``; return its sub_stream_id when one is set."""
        spath = path + ("stream",)
        if "stream" not in entry:
            self.add("health.missing-member", spath, _missing(entry, "stream", _TRANSFORMER))
            return None
        stream = entry["stream"]
        if not isinstance(stream, dict):
            self.add(
                "health.member-type", spath,
                f"stream must be an object {{urn, sub_stream_id}}, got {_kind(stream)}",
            )
            return None
        if "urn" not in stream:
            self.add("health.missing-member", spath + ("urn",), _missing(stream, "urn", _TRANSFORMER))
        elif not isinstance(stream["urn"], str):
            self.add(
                "health.member-type", spath + ("urn",),
                f"stream urn must be a string urn:health:<sourceId>:<streamId>, got {_kind(stream['urn'])}",
            )
        elif not _URN.fullmatch(stream["urn"]):
            self.add(
                "health.urn", spath + ("urn",),
                f"stream urn {quote(stream['urn'])} does not match urn:health:<sourceId>:<streamId>",
            )
        if "sub_stream_id" not in stream or stream["sub_stream_id"] is None:
            return None
        sub = stream["sub_stream_id"]
        if not isinstance(sub, str):
            self.add(
                "health.member-type", spath + ("sub_stream_id",),
                f"sub_stream_id must be a string, got {_kind(sub)}",
            )
            return None
        if not sub:
            self.add(
                "health.sub-stream-empty", spath + ("sub_stream_id",),
                "sub_stream_id is empty; leave it out when the stream has no sub streams",
            )
            return None
        return sub

    def _intervals(self, block: dict[Any, Any], path: _Path, sub_stream: str | None) -> None:
        repeat: Any = block.get("repeat_interval_s")
        rpath, epath = path + ("repeat_interval_s",), path + ("expiry_interval_s",)
        if "repeat_interval_s" not in block:
            self.add("health.missing-member", rpath, _missing(block, "repeat_interval_s", _TRANSFORMER))
            repeat = None
        elif not _is_number(repeat) or _non_finite(repeat):
            if not isinstance(repeat, float):
                self.add(
                    "health.member-type", rpath,
                    f"repeat_interval_s must be a number of seconds, got {_show(repeat)}",
                )
            repeat = None
        elif repeat <= 0 or repeat > MAX_REPEAT_INTERVAL_S:
            self.add(
                "health.repeat-interval", rpath,
                f"repeat_interval_s {_show(repeat)} is outside 1..{MAX_REPEAT_INTERVAL_S} seconds; "
                "health synchronization refuses it (SubStreamRepeatIntervalTooHigh above 1800)",
            )
            repeat = None
        expiry = block.get("expiry_interval_s")
        if expiry is not None and (
            not _is_number(expiry) or _non_finite(expiry)
        ):
            if not isinstance(expiry, float):
                self.add(
                    "health.member-type", epath,
                    f"expiry_interval_s must be a number of seconds, got {_show(expiry)}",
                )
            return
        if sub_stream is not None and not expiry:
            self.add(
                "health.expiry-required", epath,
                f"expiry_interval_s is required when stream.sub_stream_id is set "
                f"(sub stream {quote(sub_stream, 40)})",
            )
        elif expiry and repeat is not None and 0 < expiry < repeat:
            self.add(
                "health.expiry-shorter", epath,
                f"expiry_interval_s {_show(expiry)} is shorter than repeat_interval_s "
                f"{_show(repeat)}; check states expire before the next repeat arrives",
            )

    def _increment(self, entry: dict[Any, Any], path: _Path) -> None:
        ipath = path + ("increment",)
        if "increment" not in entry:
            self.add(
                "health.missing-member", ipath,
                _missing(entry, "increment", "TRANSACTIONAL_INCREMENTS needs one on every message"),
            )
            return
        inc = entry["increment"]
        if not isinstance(inc, dict):
            self.add("health.member-type", ipath, f"increment must be an object, got {_kind(inc)}")
            return
        for block in ("checkpoint", "previous_checkpoint"):
            if block not in inc or (inc[block] is None and block == "previous_checkpoint"):
                if block == "checkpoint":
                    self.add(
                        "health.missing-member", ipath + (block,),
                        _missing(inc, block, "an increment needs the checkpoint of its check states"),
                    )
                continue
            cp, cpath = inc[block], ipath + (block,)
            if not isinstance(cp, dict):
                self.add("health.member-type", cpath, f"{block} must be an object, got {_kind(cp)}")
                continue
            if "offset" not in cp:
                self.add("health.missing-member", cpath + ("offset",), _missing(cp, "offset", _TRANSFORMER))
            for member in ("offset", "batch_index"):
                if member in cp and not _is_number(cp[member]):
                    self.add(
                        "health.member-type", cpath + (member,),
                        f"{member} must be a number, got {_show(cp[member])}",
                    )

    def _check_states(self, entry: dict[Any, Any], path: _Path, model: str) -> None:
        cpath = path + ("check_states",)
        if "check_states" not in entry:
            self.add(
                "health.check-states-missing", cpath,
                "the health entry has no check_states; send an array, empty when there is nothing to report",
            )
            return
        states = entry["check_states"]
        if states is None:
            return  # what the agent sends for an empty Go slice
        if not isinstance(states, _ARRAYS):
            self.add(
                "health.member-type", cpath,
                f"check_states must be an array of check state objects, got {_kind(states)}",
            )
            return
        seen: set[str] = set()
        for i, state in enumerate(states):
            self.counts["check_states"] += 1
            spath = cpath + (i,)
            if not isinstance(state, dict):
                self.add("health.shape", spath, f"a check state must be an object, got {_kind(state)}")
                continue
            state_id = state.get("checkStateId")
            if isinstance(state_id, str):
                if state_id in seen:
                    self.add(
                        "health.duplicate-check-state", spath + ("checkStateId",),
                        f"checkStateId {quote(state_id, 60)} appears more than once in this "
                        "health entry; the later one replaces the earlier",
                    )
                seen.add(state_id)
            self._check_state(state, spath, model)

    def _check_state(self, state: dict[Any, Any], path: _Path, model: str) -> None:
        delete = state.get("delete")
        if "delete" in state and not isinstance(delete, bool):
            self.add("health.member-type", path + ("delete",), f"delete must be true or false, got {_show(delete)}")
        required: tuple[str, ...] = ("checkStateId", "health", "topologyElementIdentifier", "name")
        if delete is True:
            if model != "TRANSACTIONAL_INCREMENTS":
                self.add(
                    "health.delete-outside-increments", path + ("delete",),
                    f"delete is only understood by TRANSACTIONAL_INCREMENTS, not {model}; "
                    "leave the check state out of the next snapshot instead",
                )
            required = ("checkStateId",)
        for member in required:
            if member not in state:
                self.add("health.missing-member", path + (member,), _missing(state, member, _TRANSFORMER))
            elif not isinstance(state[member], str):
                self.add(
                    "health.member-type", path + (member,),
                    f"{member} must be a string, got {_kind(state[member])}",
                )
        if "message" in state and state["message"] is not None and not isinstance(state["message"], str):
            self.add(
                "health.member-type", path + ("message",),
                f"message must be a string (markdown), got {_kind(state['message'])}",
            )
        value = state.get("health")
        if "health" in required and isinstance(value, str) and value.lower() not in _HEALTH_LOWER:
            self.add(
                "health.state", path + ("health",),
                f"health {quote(value)} is not one of {_HEALTH_LIST}",
            )


