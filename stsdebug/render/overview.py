"""The census of every integration (`stsdebug check` without --integration) as text or JSON."""

from __future__ import annotations

import json

from stsdebug.census import (
    FRESH,
    ON_DEMAND,
    STALE,
    UNRECOGNISED,
    UNSEEN,
    IntegrationState,
    Overview,
)
from stsdebug.termsafe import clean

ORDER = (STALE, FRESH, UNSEEN, ON_DEMAND, UNRECOGNISED)


def text(ov: Overview) -> str:
    lines = [f"Census of every integration, window {ov.window} (read: {', '.join(ov.read) or 'nothing'})"]
    for kind in ("push", "pull"):
        rows = [r for r in ov.rows if kind in r.kind.split("/")]
        if not rows:
            continue
        lines.append(f"  {kind}:")
        for state in ORDER:
            mine = [r for r in rows if r.state == state]
            if mine:
                lines.append(f"    {state:<17} " + ", ".join(_one(r) for r in mine))
    for p in ov.problems:
        lines.append(f"  could not read {p}")
    stale = ov.by(STALE)
    if stale:
        lines.append(
            f"Stopped: {', '.join(r.name for r in stale)}. Trace one with --integration NAME to see where its "
            "data stops."
        )
    elif not ov.read:
        lines.append("Nothing could be read: give --kafka or --sts-api and --es (or a profile).")
    else:
        lines.append("No integration in the census stopped.")
    notes = [f"  {r.name}: {r.note}" for r in ov.rows if r.note and r.state in (UNSEEN, ON_DEMAND, UNRECOGNISED)]
    if notes:
        lines += ["Not judged:", *notes]
    return clean("\n".join(lines)) + "\n"


def as_json(ov: Overview) -> str:
    return json.dumps(ov.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _one(r: IntegrationState) -> str:
    if r.newest_age_s is None:
        return r.name
    age = r.newest_age_s
    shown = f"{age:.0f} s" if age < 120 else f"{age / 60:.0f} min" if age < 7200 else f"{age / 3600:.1f} h"
    return f"{r.name} (newest {shown} ago)"
