"""Conversions of tensors whose rank changes from item to item (weights 2-d, biases 1-d): lifted
as arrays of unknown rank, which only rank-free operations (element-wise work, reductions over
every axis) take; a 0-d tensor fails the guard and takes the original path; an operation that
needs the rank stays in NumPy and says so in ``explain()``."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@pytest.fixture(autouse=True)
def lifting(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")


def _tensors(dtype, ranks=(1, 2, 3, 1, 2, 3)):
    g = torch.Generator().manual_seed(0)
    out = []
    for rank in ranks:
        t = torch.randn((3,) * rank, generator=g) * 4
        out.append(t > 0 if dtype is torch.bool else t.to(dtype))
    return {f"p{i}": t for i, t in enumerate(out)}


def stats(ts):
    out = []
    for t in ts.values():  # observed at the first call: the ranks join to "unknown"
        a = t.numpy()
        out.append(np.abs(a).max())
        out.append(a.mean())
        out.append(np.linalg.norm(a))
        out.append(a * 2)
    return out


def needs_rank(ts):
    out = []
    for t in ts.values():  # observed at the first call: the ranks join to "unknown"
        a = t.numpy()
        out.append(a.sum(axis=0))
        out.append(a.T * 2)
        out.append(a[0] + 1)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool])
def test_rank_free_operations_lifted(dtype):
    ts = _tensors(dtype)
    decorated = looplift(stats)
    for _ in range(2):  # the first call observes, the second runs the specialization
        compare_calls(stats, decorated, (ts,))
    report = explain(decorated, ts)
    assert any("kept as a tensor" in d.what for d in report.rewritten), report
    assert "a.dim() >= 1" in report.source, report


def test_zero_d_item_takes_the_original_path():
    """A 0-d tensor's array makes NumPy give scalars (``a * 2`` is a NumPy scalar, not an array):
    the guard (rank at least 1) fails and the original conversion runs."""
    ts = _tensors(torch.float32, (1, 2, 0, 3, 0))
    decorated = looplift(stats)
    for _ in range(2):
        outcome = compare_calls(stats, decorated, (ts,), observe=True)
    assert type(outcome.decorated.result[11]) is np.float32  # a * 2 of the 0-d item
    assert outcome.decorated.paths["lift.miss"] == 2 and outcome.decorated.paths["lift.hit"] == 3
    assert "a.dim() >= 1" in explain(decorated, ts).source


def test_operations_needing_the_rank_stay_numpy():
    ts = _tensors(torch.float32)
    decorated = looplift(needs_rank)
    for _ in range(2):
        compare_calls(needs_rank, decorated, (ts,))
    report = str(explain(decorated, ts))
    assert "rank is unknown here" in report, report
