"""Every registry entry against NumPy itself, driven by the registry (see registry/testing.py).

An entry without ``cases`` fails, so no entry lands untested.  ``LOOPLIFT_REGISTRY_EXAMPLES``
sets the examples per entry (default 40, derandomized so that runs are reproducible; set
``LOOPLIFT_REGISTRY_RANDOM=1`` to explore new inputs).
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from looplift import registry
from looplift.registry import testing

EXAMPLES = int(os.environ.get("LOOPLIFT_REGISTRY_EXAMPLES", "40"))
RANDOM = os.environ.get("LOOPLIFT_REGISTRY_RANDOM") == "1"


@pytest.mark.parametrize("entry", registry.entries(), ids=lambda e: e.key)
def test_entry_reproduces_numpy(entry: registry.OpEntry) -> None:
    assert entry.cases, f"{entry.key} declares no test cases"
    stats = testing.PathStats()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(entry.cases), label="case")
        args, kwargs = testing.draw_example(data, case)
        testing.check_example(entry, args, kwargs, case, stats)

    run()
    verdict = stats.verdict(entry)
    assert verdict is None, verdict
