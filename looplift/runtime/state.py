"""Per-thread state the runtime's guards consult: whether a batch is running.

While ``runtime/batch.py`` runs a loop body on every item at once, a guard that would send a value
down the original path (a conversion's, a region's) must stop the batch instead, so the loop can
run item by item from the start.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

_state = threading.local()


class NotBatchable(Exception):
    """A guard in a batched body did not hold: the loop runs item by item."""


def batching() -> bool:
    return getattr(_state, "active", False)


@contextlib.contextmanager
def batch_running() -> Iterator[None]:
    _state.active = True
    try:
        yield
    finally:
        _state.active = False
