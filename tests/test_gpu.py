"""GPU checks: run where CUDA is available (skipped, and saying so, everywhere else).

What matters on a GPU is where data lives: the original copies every iteration's tensor to the
host (a sync and a device-to-host copy each); the decorated function keeps the work on the
device and copies once when the values leave.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def energy(batches):
    out = []
    for t in batches:
        a = t.detach().cpu().numpy()
        out.append(np.sum(np.exp(a) * 2 + 1))
    return out


def running_total(batches):
    total = 0.0
    for t in batches:
        a = t.detach().cpu().numpy()
        total += float(np.mean(a * a))
    return total


def normalized(batches):
    rows = []
    for t in batches:
        a = t.cpu().numpy()
        rows.append((a - a.mean()) / (a.std() + 1e-6))
    return np.concatenate(rows)


def evaluate(logits, labels):
    correct = 0
    preds = []
    for x, y in zip(logits, labels):
        p = np.argmax(x.detach().cpu().numpy(), axis=1)
        preds.append(p)
        correct += int((p == y.cpu().numpy()).sum())
    return correct, np.concatenate(preds)


def _batches(dtype=torch.float32, n=8, shape=(256, 256)):
    gen = torch.Generator(device="cuda").manual_seed(0)
    return [torch.randn(shape, generator=gen, device="cuda", dtype=dtype) for _ in range(n)]


def _device_to_host_copies(fn, *args) -> int:
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fn(*args)
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if "DtoH" in e.name or "Memcpy DtoH" in e.name)


@pytest.mark.parametrize("fn", [energy, running_total, normalized])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_same_results_on_cuda(fn, dtype):
    compare_calls(fn, looplift(compile=False)(fn), (_batches(dtype),))


def test_evaluation_loop_on_cuda():
    logits = _batches(n=4, shape=(64, 10))
    labels = [torch.randint(0, 10, (64,), device="cuda") for _ in range(4)]
    compare_calls(evaluate, looplift(compile=False)(evaluate), (logits, labels))


def test_lifted_on_cuda():
    report = explain(energy, _batches())
    assert report.rewritten and not report.fallback, str(report)


def test_one_device_to_host_copy_per_call():
    batches = _batches(n=16)
    fast = looplift(compile=False)(energy)
    fast(batches)  # specialize first
    original = _device_to_host_copies(energy, batches)
    decorated = _device_to_host_copies(fast, batches)
    print(f"device-to-host copies per call: original {original}, looplift {decorated}")
    assert original >= 16
    assert decorated == 1
