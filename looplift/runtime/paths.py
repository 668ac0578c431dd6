"""Which path the rewritten code took, counted while a test asks (``looplift.testing``).

The runtime notes a name at each decision point (a guard that held or failed, a region that ran
lowered torch or its NumPy twin, a read made now or deferred).  Counting is off unless enabled,
and then costs one global lookup per decision, so the hot path stays as it is.
"""
from __future__ import annotations

from collections import Counter

ENABLED = False
COUNTS: Counter[str] = Counter()


def note(name: str) -> None:
    COUNTS[name] += 1
