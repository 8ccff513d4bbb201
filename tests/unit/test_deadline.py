"""The one bounded-deadline helper the trace and the sources use."""

from __future__ import annotations

import threading
import time

import pytest

from stsdebug.deadline import Cancelled, DeadlineExceeded, bounded


def test_value_and_exception_come_back() -> None:
    assert bounded(lambda: 42, 1.0) == 42
    with pytest.raises(KeyError):
        bounded(lambda: {}["missing"], 1.0)


def test_a_hanging_call_is_given_up_at_the_deadline() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        bounded(lambda: release.wait(10), 0.3)
    assert time.monotonic() - started < 1.0
    release.set()


def test_cancel_ends_the_wait_at_once() -> None:
    cancel, release = threading.Event(), threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        bounded(lambda: release.wait(10), 30.0, cancel=cancel)
    assert time.monotonic() - started < 1.0
    release.set()


def test_watch_can_give_up_early_with_its_own_error() -> None:
    release = threading.Event()
    with pytest.raises(ValueError, match="settled"):
        bounded(lambda: release.wait(10), 30.0, watch=lambda: ValueError("settled"))
    release.set()


def test_a_value_that_arrives_late_is_handed_to_on_late() -> None:
    late: list[str] = []
    done = threading.Event()

    def slow() -> str:
        time.sleep(0.3)
        return "client"

    def keep(value: object) -> None:
        late.append(str(value))
        done.set()

    with pytest.raises(DeadlineExceeded):
        bounded(slow, 0.05, on_late=keep)
    assert done.wait(2.0) and late == ["client"]
