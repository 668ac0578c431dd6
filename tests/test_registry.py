"""Every registry entry's runtime interpreter against NumPy itself, driven by the registry (see
registry/testing.py; the lowered code has its own tests in test_registry_lowering.py).

An entry without ``cases`` fails, so no entry lands untested.  ``LOOPLIFT_REGISTRY_EXAMPLES``
sets the examples per entry (default 40, derandomized so that runs are reproducible; set
``LOOPLIFT_REGISTRY_RANDOM=1`` to explore new inputs).
"""
from __future__ import annotations

import os

import pytest

from looplift import registry
from looplift.registry import testing

EXAMPLES = int(os.environ.get("LOOPLIFT_REGISTRY_EXAMPLES", "40"))
RANDOM = os.environ.get("LOOPLIFT_REGISTRY_RANDOM") == "1"

@pytest.mark.parametrize("entry", registry.entries(), ids=lambda e: e.key)
def test_entry_reproduces_numpy(entry: registry.OpEntry) -> None:
    assert entry.cases, f"{entry.key} declares no test cases"
    stats = testing.PathStats()

    def check(args: tuple, kwargs: dict, index: int, pin: str | None) -> None:
        testing.check_example(entry, args, kwargs, entry.cases[index], stats, index)

    testing.explore(entry, check, EXAMPLES, derandomize=not RANDOM)
    verdict = stats.verdict(entry)
    assert verdict is None, verdict
