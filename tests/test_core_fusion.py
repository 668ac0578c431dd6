"""The CPU cost model for mid-sized items: lift only where every lifted operation fuses into a
compiled region, and hand the calls to the hoist-only rewrite when NumPy wins every region."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from looplift import explain, looplift
from looplift.runtime import compiled as compiled_module
from looplift.signature import LARGE_NUMEL, SMALL_NUMEL
from looplift.testing import compare_calls

MEDIUM = (128, 256)
assert SMALL_NUMEL <= MEDIUM[0] * MEDIUM[1] < LARGE_NUMEL


def fused_mean(xs):
    total = 0.0
    for t in xs:
        a = t.detach().cpu().numpy()
        total += float(np.mean(a * a - 0.5 * a))
    return total


def lone_argmax(xs):
    out = []
    for t in xs:
        out.append(np.argmax(t.numpy(), axis=1))
    return out


def items(n=3, shape=MEDIUM):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=g) for _ in range(n)]


@pytest.fixture
def cpu_cost_model(production_cost_model, monkeypatch):
    monkeypatch.setattr(compiled_module, "QUIET_S", 0.0)
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 0.0)


def test_a_fused_chain_of_mid_sized_items_is_lifted_and_compiled(cpu_cost_model):
    report = explain(looplift(fused_mean), items())
    assert "fuses into a compiled region" in report.cost and report.compiled
    assert "__ll_r0" in report.source


def test_an_operation_that_would_not_fuse_keeps_numpy(cpu_cost_model):
    report = explain(looplift(lone_argmax), items())
    assert "would not all fuse" in report.cost and not report.compiled
    assert "__ll.op" not in report.source


def test_small_items_and_compile_false_only_hoist(cpu_cost_model):
    assert "nothing is lifted" in explain(looplift(fused_mean), items(shape=(4, 4))).cost
    assert "nothing is lifted" in explain(looplift(fused_mean, compile=False), items()).cost


class SlowCompile:
    """A ``torch.compile`` stand-in whose "compiled" code is slower than NumPy."""

    def __call__(self, fn, dynamic):
        def compiled(*args):
            end = time.thread_time() + 0.003
            while time.thread_time() < end:
                pass
            return fn(*args)
        return compiled


def test_when_numpy_wins_every_region_the_hoist_only_rewrite_takes_over(cpu_cost_model, monkeypatch):
    monkeypatch.setattr(torch, "compile", SlowCompile())
    decorated = looplift(fused_mean)
    xs = items()
    compare_calls(fused_mean, decorated, (xs,))
    (spec,) = decorated.__looplift__.cache.values()
    lifted = spec.call
    deadline = time.monotonic() + 20
    while spec.call is lifted:
        assert decorated(xs) == pytest.approx(fused_mean(xs), rel=1e-6)
        assert time.monotonic() < deadline, "the regions never settled"
        time.sleep(0.001)
    assert any(name.startswith("__ll_r") for name in lifted.__code__.co_freevars)
    assert not any(name.startswith("__ll_r") for name in spec.call.__code__.co_freevars)
    compare_calls(fused_mean, decorated, (xs,))
