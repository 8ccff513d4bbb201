"""Print the table of docs/security.md ("Measured against the hostile servers"): seconds and
peak memory of `stsdebug check --timeout 2` against each hostile server of tests/hostile.py.

    python -m tests.hostile_report            # about two minutes

Not a test (the bounds are asserted in tests/integration/test_hostile_servers.py); this only
measures, so the figures in the docs can be made again.
"""

from __future__ import annotations

from collections.abc import Callable

from tests import hostile
from tests.hostile import CliRun, HostileServer
from tests.integration.test_hostile_servers import check

HTTP: dict[str, Callable[[], hostile.Behaviour]] = {
    "black hole": lambda: hostile.black_hole,
    "endless body": hostile.endless_chunked,
    "dripped body": lambda: hostile.drip_body(0.5),
    "dripped headers": lambda: hostile.drip_headers(0.5),
    "gzip bomb (4 GB)": hostile.gzip_bomb,
    "two-layer bomb": lambda: hostile.gzip_bomb(4 << 30, layers=2),
    "64 MB header": hostile.huge_header,
    "reflected credentials": hostile.reflect,
}
KAFKA: dict[str, hostile.Behaviour] = {
    "black hole": hostile.black_hole,
    "endless, full speed": hostile.endless_bytes(),
    "endless, trickled": hostile.endless_bytes(interval=0.05),
    "2 GB size prefix": hostile.endless_bytes(size_prefix=True, interval=0.2),
}


def cell(run: CliRun) -> str:
    flag = "" if run.code == 3 and not run.timed_out else f" (exit {run.code})"
    return f"{run.elapsed:.1f} s, {run.peak_rss_mb:.0f} MB{flag}"


def http_row(name: str, run: Callable[[Callable[[], hostile.Behaviour]], CliRun]) -> str:
    return f"| {name} | " + " | ".join(cell(run(make)) for make in HTTP.values()) + " |"


def es(make: Callable[[], hostile.Behaviour]) -> CliRun:
    with HostileServer(make()) as server:
        return check("-i", "mysql", "--es", server.url)


def receiver_and_api(make: Callable[[], hostile.Behaviour]) -> CliRun:
    with HostileServer(make()) as receiver, HostileServer(make()) as api:
        return check("-i", "mysql", "--receiver", receiver.url, "--sts-api", api.url)


def mirror(make: Callable[[], hostile.Behaviour]) -> CliRun:
    with HostileServer(make()) as server:
        return check("-i", "prometheus", "--mirror", server.url)


def main() -> None:
    print("| endpoint | " + " | ".join(HTTP) + " |")
    print("| --- |" + " --- |" * len(HTTP))
    print(http_row("Elasticsearch", es))
    print(http_row("receiver and topic API (both hostile)", receiver_and_api))
    print(http_row("Prometheus mirror", mirror))
    print()
    for name, behaviour in KAFKA.items():
        with HostileServer(behaviour, read_request=False) as broker:
            print(f"Kafka, {name}: {cell(check('-i', 'mysql', '--kafka', broker.bootstrap))}")
    drip = hostile.drip_headers(0.5)
    with HostileServer(drip) as receiver, HostileServer(drip) as api, HostileServer(drip) as server, \
            HostileServer(hostile.black_hole, read_request=False) as kafka:
        run = check("-i", "mysql", "--receiver", receiver.url, "--sts-api", api.url, "--es", server.url,
                    "--kafka", kafka.bootstrap)
    print(f"Every endpoint hostile at once: {cell(run)}")


if __name__ == "__main__":
    main()
