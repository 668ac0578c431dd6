"""Batching (``analysis/dependence.py``, ``runtime/batch.py``): loops whose iterations are
independent run as one computation over the stacked items, and give exactly the original's
results; loops that are not independent, or items that do not stack, run item by item."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from looplift import explain, looplift
from looplift.testing import compare_calls




def comprehension(ts):
    return [np.exp(t.numpy()) * 2 + 1 for t in ts]


def appended(ts, w):
    out = []
    for t in ts:
        a = t.numpy()
        b = a * a - 0.5 * a
        out.append(np.tanh(b) @ w)
    return out


def accumulated(ts):
    total = 0.0
    for t in ts:
        a = t.numpy()
        total += float((a * a).sum())
    return total


def two_outputs(ts):
    squares, signs = [], []
    for t in ts:
        a = t.numpy()
        squares.append(a * a)
        signs.append(np.sign(a))
    return squares, signs


def carried(ts):
    acc = None
    out = []
    for t in ts:
        a = t.numpy()
        acc = a if acc is None else acc + a
        out.append(acc * 1)
    return out


def with_effect(ts):
    out = []
    for t in ts:
        a = t.numpy()
        print(a.shape)
        out.append(a * 2)
    return out


def with_break(ts):
    out = []
    for t in ts:
        a = t.numpy()
        out.append(a * 2)
        if len(out) > 2:
            break
    return out


def bad_reshape(ts):
    return [np.reshape(t.numpy() * 2, (3, -1)) for t in ts]


def target_read_after(ts):
    out = []
    for t in ts:
        out.append(t.numpy() * 2)
    return out, t


def items(shape, n, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g).to(dtype) for _ in range(n)]


BATCHED = [(comprehension, lambda ts: (ts,)), (appended, lambda ts: (ts, np.ones((ts[0].shape[-1], 2), np.float32) if ts else np.ones((1, 2), np.float32))),
           (accumulated, lambda ts: (ts,)), (two_outputs, lambda ts: (ts,))]


@pytest.mark.parametrize("mode", ["auto", "always"])
@pytest.mark.parametrize("fn, make", BATCHED, ids=lambda v: getattr(v, "__name__", ""))
@given(n=st.integers(0, 6), side=st.integers(1, 5), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=st.integers(0, 100))
def test_batched_loops_give_the_originals_results(monkeypatch, mode, fn, make, n, side, dtype, seed):
    monkeypatch.setenv("LOOPLIFT_LIFT", mode)
    ts = items((side,), n, dtype, seed)
    if fn is appended and n:
        args = (ts, np.ones((side, 2), dtype=np.float32))
    else:
        args = make(ts)
    compare_calls(fn, looplift(fn, compile=False), args)


@pytest.mark.parametrize("fn", [comprehension, accumulated, two_outputs])
def test_they_run_batched(monkeypatch, counts, fn):
    monkeypatch.setenv("LOOPLIFT_LIFT", "auto")
    decorated = looplift(fn, compile=False)
    assert explain(decorated, items((4,), 5)).batched
    decorated(items((4,), 5))
    assert counts["batch.run"] == 1


def test_items_that_do_not_stack_run_item_by_item(counts):
    mixed = [torch.zeros(3), torch.zeros(4), torch.zeros(3)]
    compare_calls(comprehension, looplift(comprehension, compile=False), (mixed,))
    kinds = [torch.zeros(3), torch.zeros(3, dtype=torch.float64)]
    compare_calls(comprehension, looplift(comprehension, compile=False), (kinds,))
    assert counts["batch.run"] == 0


def test_an_item_dependent_error_is_the_originals():
    ts = [torch.zeros(6), torch.zeros(6), torch.zeros(5)]
    compare_calls(bad_reshape, looplift(bad_reshape, compile=False), ([torch.zeros(6)] * 3,))
    compare_calls(bad_reshape, looplift(bad_reshape, compile=False), (ts,))  # raises at the third item


@pytest.mark.parametrize("fn, why", [
    (carried, "acc + a"), (with_effect, "print"), (with_break, "`out` is also used"),
    (target_read_after, "read after the loop"),
], ids=lambda v: getattr(v, "__name__", v))
def test_dependent_loops_are_not_batched_and_say_why(monkeypatch, fn, why):
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")
    ts = items((4,), 4)
    report = explain(looplift(fn, compile=False), ts)
    assert not report.batched
    assert any(why in str(d) for d in report.skipped), report
    compare_calls(fn, looplift(fn, compile=False), (ts,))
