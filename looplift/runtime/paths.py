"""Which run-time path the rewritten code took, counted only while a test asks.

The runtime calls ``note(name)`` behind ``if paths.ENABLED:`` at the points where it decides
between the lifted path and the original one, so a test can *observe* that a case ran lifted
instead of reading what the report promised.  Off (the default) it costs one global load and a
branch.  ``looplift.testing.observed_paths()`` turns it on and hands out the counts.

Stable names (the runtime keeps them across redesigns; tests assert on them):

* ``"lift.hit"``: a conversion's guard held, the value stays a tensor;
* ``"lift.miss"``: a guard failed or the value was not lifted, the original conversion ran;
* ``"op.tensor"``: a region ran its lowered torch code;
* ``"op.numpy"``: a region ran its NumPy twin (an input was not what the lowering assumed, or
  the torch code raised);
* ``"exit.transfer"``: lifted values crossed to the host in one transfer;
* ``"read.deferred"`` / ``"read.now"``: a host read was kept on the device, or made at once;
* ``"batch.run"`` / ``"batch.declined"``: a loop ran as one batched computation, or item by item.
"""
from __future__ import annotations

from collections import Counter

#: Whether ``note`` is called at all (set by ``looplift.testing.observed_paths``).
ENABLED = False
#: The counts since counting was last enabled.
COUNTS: Counter[str] = Counter()


def note(name: str) -> None:
    """Count one pass through the path ``name`` (only called while ``ENABLED``)."""
    COUNTS[name] += 1
