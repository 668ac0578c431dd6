"""Views that torch copies: a write through NumPy's view must still reach its base."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from looplift import looplift
from looplift.testing import compare_calls

pytestmark = pytest.mark.lift("always")  # lifting forced: these tests check lifted code on small CPU inputs


def writes_through_views(ts):
    out = []
    for t in ts:
        a = t.numpy() * 2
        b = np.flip(a)
        c = a[::-1]
        b[0] = 7
        c[1] += 3
        out.append(a.sum())
    return out


def reads_views_only(ts):
    out = []
    for t in ts:
        a = t.numpy() * 2
        out.append(a[1:5, ::2].sum() + np.flip(a).sum())
    return out


def test_writes_through_numpy_views_reach_their_base():
    ts = [torch.rand(128, 128) for _ in range(3)]
    compare_calls(writes_through_views, looplift(compile=False)(writes_through_views), (ts,))


def test_views_that_are_only_read_are_lifted():
    ts = [torch.rand(128, 128) for _ in range(3)]
    fast = looplift(compile=False)(reads_views_only)
    compare_calls(reads_views_only, fast, (ts,))
    report = next(iter(fast.__looplift__.cache.values())).report
    assert any("numpy.flip" in d.what for d in report.rewritten)


def writes_into_a_view_of_the_argument(xs):
    for t in xs:
        v = t.numpy()
        flat = np.ravel(v)  # lowered to a view of t: made NumPy, it must still be t's memory
        flat += flat


def test_a_lowered_view_of_an_argument_made_numpy_shares_its_memory():
    """The fuzzer's find: an in-place write into ``np.ravel(t.numpy())`` must reach ``t``."""
    xs = [torch.tensor([3, 1, 0], dtype=torch.int32), torch.arange(6, dtype=torch.float32).reshape(2, 3)]
    compare_calls(writes_into_a_view_of_the_argument, looplift(compile=False)(writes_into_a_view_of_the_argument),
                  (xs,))


def writes_through_an_alias_after_another(xs):
    out = []
    for t in xs:
        v = t.detach().cpu().numpy()
        out.append(np.exp(t.detach().cpu().numpy()))  # a second alias of t, gone after this line
        v += 1  # still t's memory


def test_a_write_through_an_alias_reaches_the_tensor_after_another_alias_died():
    """The fuzzer's find: the second, short-lived alias of ``t`` took the first one's place as
    the owner of ``t``'s memory, and the write went into a copy once it died."""
    xs = [torch.tensor([0.5, 0.625, 1.0], requires_grad=True) for _ in range(2)]
    compare_calls(writes_through_an_alias_after_another, looplift(compile=False)(writes_through_an_alias_after_another),
                  (xs,))


def views_kept_then_base_written(xs, w):
    acc = w.detach().numpy().copy()
    out = []
    for t in xs:
        out.append(acc.reshape(-1))  # NumPy views of acc
    acc += acc  # after the loop: the views see it
    return acc, out


def test_a_write_to_a_base_reaches_the_views_kept_before():
    """The fuzzer's find: ``acc`` made NumPy for an in-place write became a copy, so the views of
    it appended in the loop kept the old values."""
    xs = [torch.tensor([0.5, -2.0, 1.0]) for _ in range(2)]
    compare_calls(views_kept_then_base_written, looplift(compile=False)(views_kept_then_base_written),
                  (xs, torch.tensor([1.0, -2.0, 3.0])))
