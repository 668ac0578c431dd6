"""The cost model: what is lifted, batched and compiled on a CPU, on an accelerator, and under
``LOOPLIFT_LIFT`` (the decisions only; results are checked against the original everywhere)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from looplift import costmodel, explain, looplift
from looplift.options import Options
from looplift.signature import LARGE_NUMEL
from looplift.testing import compare_calls


def fused_mean(xs):
    total = 0.0
    for t in xs:
        a = t.detach().cpu().numpy()
        total += float(np.mean(a * a - 0.5 * a))
    return total


def carried(xs):
    acc = np.zeros(xs[0].shape, dtype=np.float32)
    for t in xs:
        acc = acc * 0.5 + t.numpy()
    return acc


def items(n=3, shape=(4, 4)):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=g) for _ in range(n)]


def test_small_cpu_items_batch_independent_loops_only(production_cost_model):
    report = explain(looplift(fused_mean), items())
    assert report.batched and "batched" in report.cost
    report = explain(looplift(carried), items())
    assert not report.batched and not report.rewritten  # a carried value: hoisting only
    assert any("runs item by item" in d.what and "acc" in d.reason for d in report.skipped), report


def test_large_cpu_items_lift_only_where_compiling(production_cost_model):
    large = items(2, (LARGE_NUMEL // 256, 256))
    assert explain(looplift(carried), large).rewritten
    assert not explain(looplift(carried, compile=False), large).rewritten


def test_lifting_forced_and_switched_off(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")
    assert explain(looplift(carried), items()).rewritten
    monkeypatch.setenv("LOOPLIFT_LIFT", "never")
    report = explain(looplift(fused_mean), items())
    assert not report.batched and "kept as a tensor" not in str(report) and "never" in report.cost


def test_observed_device_tensors_count(monkeypatch):
    """Tensors seen inside the loop (from a loader, a model) decide like arguments do."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "auto")
    from looplift.lattice import TensorV
    decision = costmodel.decide((), {}, Options(), {3: TensorV(torch.float32, 2, "cuda", False)})
    assert decision.lift and decision.accelerator


def test_bad_lift_mode_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_LIFT", "bogus")
    with pytest.raises(ValueError, match="LOOPLIFT_LIFT"):
        costmodel.decide((), {}, Options())


@pytest.mark.parametrize("mode", ["auto", "always"])
def test_results_are_the_originals_in_every_mode(monkeypatch, mode):
    monkeypatch.setenv("LOOPLIFT_LIFT", mode)
    for fn in (fused_mean, carried):
        compare_calls(fn, looplift(fn, compile=False), (items(),))
