"""The benchmark workloads: loops that mix torch and NumPy, as users write them.

Each workload has

* ``original``: the loop as a user writes it (what ``looplift`` and ``torch.compile`` are given);
* ``hand``: a hand-optimised eager torch version that keeps the loop (conversions hoisted, work
  in torch, one device-to-host copy at the end, per-iteration scalars written into a
  preallocated tensor instead of a Python list of 0-d tensors, see issue 6);
* ``hand_compiled``: the same with its loop body ``torch.compile``d (the loop stays Python);
* optionally ``extra``: other hand-written alternatives worth showing (reported, but not
  counted among the alternatives of the issue-6 targets);
* ``make_args(n, size, device)``: the inputs; ``n`` is the list length or trip count (the
  recompile check varies it from 4 to 64), ``size`` is ``"full"``, ``"quick"`` or ``"tiny"``.

Every variant must return what ``original`` returns (types, NumPy dtypes, shapes, values within
float tolerance scaled by ``scale``); the runner checks that with ``looplift.testing.assert_same``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

SIZES = ("full", "quick", "tiny")

_COMPILED: dict[Callable[..., Any], Callable[..., Any]] = {}


def compiled(body: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.compile(body)``, created once per process (the compile itself runs at the first call)."""
    fn = _COMPILED.get(body)
    if fn is None:
        fn = _COMPILED[body] = torch.compile(body)
    return fn


def reset_compiled() -> None:
    """Forget the compiled bodies (after ``torch._dynamo.reset()``)."""
    _COMPILED.clear()


def _tensors(n: int, shape: tuple[int, ...], device: str, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen).to(device) for _ in range(n)]


# --------------------------------------------------------------------------- 1. seed example
def seed_original(batches):
    out = []
    for t in batches:
        a = t.detach().cpu().numpy()
        out.append(np.sum(np.exp(a) * 2 + 1))
    return out


def seed_hand(batches):
    if not batches:
        return []
    res = torch.empty(len(batches), dtype=batches[0].dtype, device=batches[0].device)
    for i, t in enumerate(batches):
        res[i] = torch.sum(torch.exp(t.detach()) * 2 + 1)
    return list(res.cpu().numpy())


def _seed_body(t):
    return torch.sum(torch.exp(t) * 2 + 1)


def seed_hand_compiled(batches):
    if not batches:
        return []
    body = compiled(_seed_body)
    res = torch.empty(len(batches), dtype=batches[0].dtype, device=batches[0].device)
    for i, t in enumerate(batches):
        res[i] = body(t.detach())
    return list(res.cpu().numpy())


def seed_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    shape = {"full": (512, 512), "quick": (256, 256), "tiny": (128, 128)}[size]
    return (_tensors(n, shape, device, 1),)


# --------------------------------------------------------------------------- 2. power iteration
def power_original(m, v0, steps):
    v = v0
    for _ in range(steps):
        a = m.cpu().numpy()
        w = a @ v
        v = w / np.linalg.norm(w)
    return v


def power_hand(m, v0, steps):
    mt = m.detach()
    v = torch.from_numpy(v0).to(mt.device)
    for _ in range(steps):
        w = mt @ v
        v = w / torch.linalg.vector_norm(w)
    return v.cpu().numpy()


def _power_body(m, v):
    w = m @ v
    return w / torch.linalg.vector_norm(w)


def power_hand_compiled(m, v0, steps):
    body = compiled(_power_body)
    mt = m.detach()
    v = torch.from_numpy(v0).to(mt.device)
    for _ in range(steps):
        v = body(mt, v)
    return v.cpu().numpy()


def power_hand_numpy(m, v0, steps):
    a = m.cpu().numpy()
    v = v0
    for _ in range(steps):
        w = a @ v
        v = w / np.linalg.norm(w)
    return v


def power_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    k = {"full": 256, "quick": 256, "tiny": 128}[size]
    gen = torch.Generator().manual_seed(2)
    m = (torch.randn(k, k, generator=gen) / k ** 0.5).to(device)
    v0 = np.random.default_rng(2).standard_normal(k).astype(np.float32)
    return (m, v0, n)


# --------------------------------------------------------------------------- 3. accumulation
def accum_original(xs):
    total = 0.0
    for t in xs:
        a = t.detach().cpu().numpy()
        total += float(np.mean(a * a - 0.5 * a))
    return total


def accum_hand(xs):
    if not xs:
        return 0.0
    vals = torch.empty(len(xs), dtype=xs[0].dtype, device=xs[0].device)
    for i, t in enumerate(xs):
        t = t.detach()
        vals[i] = torch.mean(t * t - 0.5 * t)
    total = 0.0
    for v in vals.tolist():
        total += v
    return total


def _accum_body(t):
    return torch.mean(t * t - 0.5 * t)


def accum_hand_compiled(xs):
    if not xs:
        return 0.0
    body = compiled(_accum_body)
    vals = torch.empty(len(xs), dtype=xs[0].dtype, device=xs[0].device)
    for i, t in enumerate(xs):
        vals[i] = body(t.detach())
    total = 0.0
    for v in vals.tolist():
        total += v
    return total


def accum_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    shape = {"full": (256, 256), "quick": (128, 128), "tiny": (128, 128)}[size]
    return (_tensors(n, shape, device, 3),)


# --------------------------------------------------------------------------- 4. NumPy-to-torch copy
def copy_original(xs, a):
    out = []
    for t in xs:
        w = torch.tensor(a)
        out.append(float((t * w).sum()))
    return out


def copy_hand(xs, a):
    if not xs:
        return []
    w = torch.from_numpy(a)
    res = torch.empty(len(xs), dtype=xs[0].dtype)
    for i, t in enumerate(xs):
        res[i] = (t * w).sum()
    return res.tolist()


def _copy_body(t, w):
    return (t * w).sum()


def copy_hand_compiled(xs, a):
    if not xs:
        return []
    body = compiled(_copy_body)
    w = torch.from_numpy(a)
    res = torch.empty(len(xs), dtype=xs[0].dtype)
    for i, t in enumerate(xs):
        res[i] = body(t, w)
    return res.tolist()


def copy_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    shape = {"full": (128, 128), "quick": (128, 128), "tiny": (128, 128)}[size]
    a = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    return (_tensors(n, shape, device, 4), a)


# --------------------------------------------------------------------------- 5. evaluation loop
def eval_original(batches, labels):
    preds = []
    for logits in batches:
        p = logits.detach().cpu().numpy()
        preds.append(np.argmax(p, axis=1))
    pred = np.concatenate(preds)
    return float(np.mean(pred == labels))


def eval_hand(batches, labels):
    preds = []
    for logits in batches:
        preds.append(torch.argmax(logits.detach(), dim=1))
    pred = torch.cat(preds)
    lab = torch.from_numpy(labels).to(pred.device)
    return int((pred == lab).sum()) / len(labels)


def _eval_body(logits):
    return torch.argmax(logits, dim=1)


def eval_hand_compiled(batches, labels):
    body = compiled(_eval_body)
    preds = []
    for logits in batches:
        preds.append(body(logits.detach()))
    pred = torch.cat(preds)
    lab = torch.from_numpy(labels).to(pred.device)
    return int((pred == lab).sum()) / len(labels)


def eval_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    rows, classes = {"full": (512, 100), "quick": (256, 100), "tiny": (200, 100)}[size]
    batches = _tensors(n, (rows, classes), device, 5)
    # labels agree with the prediction about half the time, so the accuracy is not trivial
    truth = np.concatenate([b.cpu().numpy().argmax(axis=1) for b in batches]) if batches else \
        np.zeros(0, dtype=np.int64)
    noise = np.random.default_rng(5).integers(0, classes, truth.shape[0])
    keep = np.random.default_rng(6).random(truth.shape[0]) < 0.5
    labels = np.where(keep, truth, noise).astype(np.int64)
    return (batches, labels)


# --------------------------------------------------------------------------- 6. tiny iterations
def tiny_original(xs):
    acc = np.zeros(8, dtype=np.float32)
    for t in xs:
        a = t.detach().cpu().numpy()
        acc = acc + a * a
    return acc


def tiny_hand(xs):
    acc = torch.zeros(8, dtype=torch.float32, device=xs[0].device if xs else "cpu")
    for t in xs:
        t = t.detach()
        acc.addcmul_(t, t)
    return acc.cpu().numpy()


def _tiny_body(acc, t):
    return acc + t * t


def tiny_hand_compiled(xs):
    body = compiled(_tiny_body)
    acc = torch.zeros(8, dtype=torch.float32, device=xs[0].device if xs else "cpu")
    for t in xs:
        acc = body(acc, t.detach())
    return acc.cpu().numpy()


def tiny_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (8,), device, 6),)


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    original: Callable[..., Any]
    hand: Callable[..., Any]
    hand_compiled: Callable[..., Any]
    make_args: Callable[[int, str, str], tuple[Any, ...]]
    n: dict[str, int]
    scale: float = 1.0
    extra: dict[str, Callable[..., Any]] = field(default_factory=dict)
    cuda: bool = True  # runs unchanged on CUDA tensors
    note: str = ""

    def args(self, size: str = "full", device: str = "cpu", n: int | None = None) -> tuple[Any, ...]:
        return self.make_args(self.n[size] if n is None else n, size, device)


WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    Workload("seed", "seed example 1: 16 x 512², `np.sum(np.exp(a)*2+1)`", seed_original, seed_hand,
             seed_hand_compiled, seed_args, {"full": 16, "quick": 8, "tiny": 4}, scale=1e3),
    Workload("power", "power iteration, fixed 256² matrix converted every step", power_original, power_hand,
             power_hand_compiled, power_args, {"full": 50, "quick": 20, "tiny": 4}, scale=10.0,
             extra={"hand NumPy": power_hand_numpy},
             note="n is the number of steps; `hand NumPy` hoists the conversion and stays in NumPy"),
    Workload("accum", "elementwise accumulate with `float(np.mean(...))`", accum_original, accum_hand,
             accum_hand_compiled, accum_args, {"full": 16, "quick": 8, "tiny": 4}, scale=10.0),
    Workload("copy", "`torch.tensor(a)` copy in the loop", copy_original, copy_hand, copy_hand_compiled,
             copy_args, {"full": 16, "quick": 8, "tiny": 4}, scale=1e3, cuda=False,
             note="CPU only: the original multiplies a CUDA tensor by a CPU tensor"),
    Workload("eval", "eval loop: argmax, `np.concatenate`, accuracy", eval_original, eval_hand,
             eval_hand_compiled, eval_args, {"full": 16, "quick": 8, "tiny": 4}),
    Workload("tiny", "2000 tiny iterations (size 8)", tiny_original, tiny_hand, tiny_hand_compiled,
             tiny_args, {"full": 2000, "quick": 500, "tiny": 16}, scale=1e3),
]}


def trivial(x):
    """The function the dispatch-overhead check decorates."""
    return x
