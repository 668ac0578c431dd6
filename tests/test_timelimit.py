"""The wall-clock limit shared by the fuzzer and the benchmark runner."""
from __future__ import annotations

import threading
import time

import pytest

from looplift.timelimit import time_limit


def test_the_block_is_stopped_after_the_limit():
    start = time.perf_counter()
    with pytest.raises(TimeoutError, match="too slow"):
        with time_limit(0.2, lambda: TimeoutError("too slow")):
            time.sleep(5)
    assert time.perf_counter() - start < 4


def test_no_limit_without_seconds_or_off_the_main_thread():
    with time_limit(None, lambda: TimeoutError()):
        time.sleep(0.01)
    outcome = []

    def worker():
        with time_limit(0.01, lambda: TimeoutError()):
            time.sleep(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert outcome == ["finished"]
