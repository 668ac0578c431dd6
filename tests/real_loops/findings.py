"""Minimal reproducers of the bugs the realistic loops found (``test_real_loops.py``, last section).

Each function is the smallest loop that shows one finding; the test next to it states what the
original does and what looplift must do.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch


class Loader:
    """An iterable object (a DataLoader stand-in): its items' types are observed at the first call."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


# ---------------------------------------------------------------- correctness

def count_with_int(ts):
    """``int()`` of a NaN raises ValueError in its own iteration: nothing after it runs."""
    n = 0
    for t in ts:
        n += int(t.sum())
        print("step")
    return n


def closure_over_loop_variable(loader):
    """Closures made in the loop see ``scale`` as the function leaves it."""
    fns = []
    sums = []
    scale = 1.0
    for x in loader:
        fns.append(lambda: scale)
        scale = scale + 1.0
        sums.append(x.sum().item())
    scale = -1.0
    return sums, [f() for f in fns]


def progress_closure(loader):
    """A closure defined before the loop reads the loop's counter while the loop runs."""
    seen = 0

    def progress():
        return f"{seen}/{len(loader)}"

    logs = []
    for x in loader:
        seen += 1
        logs.append((progress(), x.sum().item()))
    return logs


# ---------------------------------------------------------------- lifting and reads

def unpacked_targets(loader):
    ys = []
    for x, y in loader:
        ys.append(y.numpy())
    return np.concatenate(ys)


def appends_on_first_call(loader):
    vals = []
    for x in loader:
        vals.append(x.sum().item())
    return vals


def epochs_of_batches(loader, epochs):
    out = []
    for epoch in range(epochs):
        total = 0.0
        for x in loader:
            total += x.sum().item()
        out.append(total)
    return out


def class_loop_after_resume(loader):
    counts = []
    for x in loader:
        pred = x.abs().numpy()
        for c in range(2):
            counts.append(np.logical_and(pred == c, pred >= 0).sum())
    return counts


def numpy_only_after_lift(ts):
    """``np.argsort`` (default kind) stays in NumPy: each lifted operand is materialized for it."""
    out = []
    for t in ts:
        a = t.numpy()
        out.append(np.argsort(a + 1.0))
        out.append(np.argsort(a - 1.0))
    return out


def list_left_as_list(ts, log):
    out = []
    for t in ts:
        out.append(np.abs(t.numpy()))
        log.append(len(out))
    return out


def item_times_batch_size(ts):
    total = 0.0
    for t in ts:
        total += t.mean().item() * t.size(0)
    return total


def deferred_then_compared(ts, limit):
    for i, t in enumerate(ts):
        loss = t.sum().item()
        if loss > limit:
            return i, loss
    return -1, None


def item_twice(ts, tol):
    losses = []
    for t in ts:
        loss = t.sum()
        losses.append(loss.item())
        if loss.item() < tol:
            break
    return losses


def squeezed(loader):
    out = []
    for x in loader:
        p = torch.sigmoid(x).squeeze(1)
        out.append(np.abs(p.numpy()))
    return np.concatenate(out)


def parameter_weights(modules):
    out = []
    for m in modules:
        out.append(np.abs(m.weight.detach().numpy()))
    return np.concatenate([o.ravel() for o in out])


def parameter_norms(model):
    norms = []
    for name, p in model.named_parameters():
        norms.append(np.linalg.norm(p.detach().numpy()))
    return norms


def dict_of_lists(ts):
    hist = {"loss": []}
    for t in ts:
        hist["loss"].append(t.sum().item())
    return hist


def extend_tolist(ts):
    values = []
    for t in ts:
        values.extend(t.tolist())
    return values


def discounted(rewards, gamma):
    R = 0.0
    out = []
    for r in reversed(rewards):
        R = r.item() + gamma * R
        out.insert(0, R)
    return out


def pairs_in_zip(ts, k):
    cm = np.zeros((k, k), dtype=np.int64)
    for t in ts:
        p = t.numpy() % k
        for a, b in zip(t.numpy(), p):
            cm[a, b] += 1
    return cm


def dead_locals_at_resume(loader):
    out = []
    for x in loader:
        a = x.abs().numpy()
        b = a * 2.0
        out.append(np.argsort(b, kind="stable"))
    return out


def logged_every(ts, every):
    running = 0.0
    history = []
    for i, t in enumerate(ts):
        running += t.sum().item()
        if i % every == every - 1:
            print(f"{running / every:.4f}")
            history.append(running / every)
            running = 0.0
    return history


def resumed_region_two_inputs(images, masks):
    out = []
    for img, mask in zip(images, masks):
        pred = img.abs().numpy()
        gt = mask.numpy()
        out.append(np.logical_and(pred == 1, gt == 1).sum())
    return out


def carried_from_numpy(W, iters):
    A = W.numpy()
    v = np.ones(A.shape[1])
    for _ in range(iters):
        v = (A @ v) * 0.5
    return v


def list_aliased_before_the_loop(ts):
    losses = []
    history = {"loss": losses}
    for t in ts:
        losses.append(t.sum().item())
    return history


def arrays_aliased_before_the_loop(ts):
    outs = []
    other = outs
    for t in ts:
        outs.append(np.abs(t.numpy()) * 2)
    return other


def running_sum_kept(ts):
    total = 0.0
    curve = []
    for t in ts:
        total += t.sum().item()
        curve.append(total)
    return curve


def previous_total(ts):
    total = 0.0
    steps = []
    for t in ts:
        prev = total
        total += t.sum().item()
        steps.append(total - prev)
    return steps


def nonzero_rows(ts, log):
    out = []
    for t in ts:
        out.append(np.nonzero(t.numpy())[0])
        log.append(1)
    return out


def raise_in_resumed_loop(loader):
    vals = []
    for i, x in enumerate(loader):
        vals.append(x.sum().item())
        if i == 5:
            raise ValueError(f"bad batch {i}")
    return vals


def comprehension_over_enumerate(ts):
    losses = []
    for t in ts:
        losses.append(t.sum().item())
    positive = [i for i, v in enumerate(losses) if v > 0]
    return positive


def comprehension_variable_in_call(ts):
    losses = []
    for t in ts:
        losses.append(t.sum().item())
    return len([v for v in losses if v > 0])


def walrus_in_comprehension(ts):
    return [y for t in ts if (y := t.sum().item()) > 0]


def sum_over_axes(ts):
    out = []
    for t in ts:
        a = t.numpy()
        out.append(a.sum(axis=(1, 2)))
    return np.stack(out)
