"""Stage `streams`: placeholder until its checks land."""

from __future__ import annotations

from stsdebug.model import StageResult
from stsdebug.stages.base import Context

TITLE = "Telemetry streams"


def run(ctx: Context) -> StageResult:
    return ctx.skip("This stage is not available in this build of stsdebug yet.")
