"""Every registry entry's lowered code against NumPy itself (see registry/testing.py,
``check_lowered``): the torch expression generated code runs must give NumPy's result, read no
tensor data on the host, and be reached by every argument form an entry declares.

The examples per entry follow ``LOOPLIFT_REGISTRY_EXAMPLES`` (default 40) and
``LOOPLIFT_REGISTRY_RANDOM`` as in test_registry.py.  The last test prints the lowering's
coverage of (operation, dtype) pairs over the entries tested before it.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from looplift import registry
from looplift.registry import testing
from looplift.registry.coerce import to_numpy

EXAMPLES = int(os.environ.get("LOOPLIFT_REGISTRY_EXAMPLES", "40"))
RANDOM = os.environ.get("LOOPLIFT_REGISTRY_RANDOM") == "1"
#: Share of (operation, dtype) pairs that must lower (the supported-ops table, dtypes
#: ``testing.COVERAGE_DTYPES``).
MIN_COVERAGE = 0.9

STATS: dict[str, testing.LoweringStats] = {}


@pytest.mark.parametrize("entry", registry.entries(), ids=lambda e: e.key)
def test_lowering_reproduces_numpy(entry: registry.OpEntry) -> None:
    stats = testing.lowering_stats(entry, EXAMPLES, derandomize=not RANDOM)
    STATS[entry.key] = stats
    verdict = stats.verdict(entry)
    assert verdict is None, verdict


def test_lowering_coverage() -> None:
    """At least ``MIN_COVERAGE`` of the (operation, dtype) pairs lower."""
    if not STATS:
        pytest.skip("run with the lowering tests above")
    coverage = testing.Coverage.of(STATS)
    print("\n" + coverage.report())
    assert coverage.share >= MIN_COVERAGE, coverage.report()


def test_benchmark_operations_lower_to_numpy_results() -> None:
    """Each operation of ``benchmarks/ops.py`` that lowers gives NumPy's result there (the
    benchmark times what the registry tests check)."""
    ops = _module(Path(__file__).resolve().parents[1] / "benchmarks" / "ops.py")
    for op in ops.OPS:
        versions, source = ops.calls(op, 8)
        if "looplift" in versions:
            expected = versions["numpy"]()
            actual = to_numpy(versions["looplift"]())
            testing.compare(expected, actual, "exact", lambda rtol: 0.0, where=op.label)


def _module(path: Path) -> ModuleType:
    """The script at ``path`` imported as a module (registered, as its dataclasses need)."""
    spec = importlib.util.spec_from_file_location(f"looplift_{path.stem}", path)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reductions_over_axis_tuples(xs):
    import numpy as np

    out = []
    for t in xs:
        a = t.numpy()
        out.append(a.sum(axis=(1, 2)))
        out.append(np.std(a, axis=(0, 2), ddof=1))
        out.append(np.max(a, axis=(-1, 0), keepdims=True))
    return out


@pytest.mark.lift("always")
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 1, 3)])
def test_a_tuple_of_literal_axes_lowers(shape: tuple[int, ...]) -> None:
    """``axis=(1, 2)`` is as literal as ``axis=1``: the reduction runs lowered, with NumPy's result."""
    import torch

    from looplift import explain, looplift
    from looplift.testing import compare_calls

    xs = [torch.randn(*shape) for _ in range(3)]
    fast = looplift(_reductions_over_axis_tuples, compile=False)
    compare_calls(_reductions_over_axis_tuples, fast, (xs,))
    source = explain(fast, xs).source
    assert "dim=(1, 2)" in source and "torch.amax(a, dim=(2, 0), keepdim=True)" in source


def _rows_by_index(xs, index):
    out = []
    for t in xs:
        out.append(t.numpy()[index.numpy()] * 2)
    return out


@pytest.mark.lift("always")
@pytest.mark.parametrize("shape, index", [((4, 3), [2, 0, -1, 2]), ((3, 0), [5]), ((3, 0), [1]), ((3, 2), [])])
def test_one_index_array_is_torch_indexing_with_numpy_bounds(shape: tuple[int, ...], index: list[int]) -> None:
    """``a[i]`` with one int64 index array lowers to torch's indexing (``lib.take``); where the
    result is empty torch gathers nothing and checks nothing, so the bounds are checked as NumPy does."""
    import torch

    from looplift import explain, looplift
    from looplift.testing import compare_calls

    xs, i = [torch.randn(*shape) for _ in range(3)], torch.tensor(index, dtype=torch.int64)
    fast = looplift(_rows_by_index, compile=False)
    compare_calls(_rows_by_index, fast, (xs, i))
    assert "lib.take(" in explain(fast, xs, i).source
