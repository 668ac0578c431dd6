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


# ---------------------------------------------------------------------------------------------
# Gradients and weights of a model: ``w.grad`` is a tensor or None (typed so by torch); the type
# observed at the conversion is taken, and the conversion's guard takes the original path
# (AttributeError on None, as the original) wherever the observation does not hold.  The functions
# compute the gradients themselves (a copy of a model, as ``compare_calls`` makes, has none).

def grad_norms(model, x):
    model.zero_grad()
    model(x).pow(2).mean().backward()
    norms = {}
    total = 0.0
    for name, w in model.named_parameters():
        if w.grad is None:
            continue
        n = np.linalg.norm(w.grad.cpu().numpy())
        norms[name] = n
        total += n ** 2
    return norms, np.sqrt(total)


def grad_norms_named(model, x):
    model.zero_grad()
    model(x).pow(2).mean().backward()
    norms, skipped = {}, []
    for name, w in model.named_parameters():
        g = w.grad
        if g is None:
            skipped.append(name)
            continue
        norms[name] = np.abs(g.numpy()).max()
    return norms, skipped


def grad_norms_unchecked(model, x):
    model.zero_grad()
    model(x).pow(2).mean().backward()
    norms = {}
    for name, w in model.named_parameters():
        norms[name] = np.linalg.norm(w.grad.cpu().numpy())  # AttributeError on a None grad
    return norms


def weight_report(model):
    rows = []
    for name, p in model.named_parameters():
        a = p.detach().cpu().numpy()
        rows.append((name, a.shape, float(a.mean()), float(a.std()), float(np.abs(a).max())))
    return rows


def _model(dtype=torch.float32, frozen=()):
    """Three linear layers; the parameters named in ``frozen`` get no gradient (``w.grad`` None)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2), torch.nn.Linear(2, 2)).to(dtype)
    for name, w in model.named_parameters():
        w.requires_grad_(name not in frozen)
    return model, torch.randn(5, 4, dtype=dtype)


@pytest.mark.parametrize("fn", [grad_norms, grad_norms_named, grad_norms_unchecked])
def test_grads_observed_as_tensors_are_lifted(fn):
    args = _model()
    decorated = looplift(fn, compile=False)
    for _ in range(2):
        compare_calls(fn, decorated, args, host_reads="no-more")
    report = explain(decorated, *args)
    assert any("kept as a tensor" in d.what for d in report.rewritten), report


@pytest.mark.parametrize("fn", [grad_norms, grad_norms_named, grad_norms_unchecked])
@pytest.mark.parametrize("frozen", [("1.bias",), ("0.weight", "2.bias"),
                                    ("0.weight", "0.bias", "1.weight", "1.bias", "2.weight")],
                         ids=["one", "two", "all-but-one"])
def test_a_grad_none_at_a_later_call_takes_the_original_path(fn, frozen):
    """Observed as tensors at the first call; None at the next: skipped, or AttributeError, as
    the original does."""
    decorated = looplift(fn, compile=False)
    for _ in range(2):
        compare_calls(fn, decorated, _model())
    compare_calls(fn, decorated, _model(frozen=frozen), compare_messages=True)
    compare_calls(fn, decorated, _model(torch.float64))  # another dtype: the guard fails too


def test_weight_report_defers_its_reads_in_tuples():
    model, _ = _model()
    decorated = looplift(weight_report, compile=False)
    for _ in range(2):
        outcome = compare_calls(weight_report, decorated, (model,), host_reads="no-more", observe=True)
    rows = outcome.decorated.result
    assert all(type(r[1]) is tuple and all(type(n) is int for n in r[1]) for r in rows)  # a.shape, not torch.Size
    assert all(type(x) is float for r in rows for x in r[2:])
    assert outcome.decorated.paths["read.deferred"] == 18 and outcome.decorated.paths["exit.transfer"] == 1
    report = explain(decorated, model)
    assert sum("float() deferred" in d.what for d in report.rewritten) == 3, report
