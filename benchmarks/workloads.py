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
  recompile check varies it from 4 to 64), ``size`` is ``"full"``, ``"quick"`` or ``"tiny"``;
* ``suite``: ``"core"`` (the six workloads of issue 6), ``"batch"`` (loops over many small
  tensors whose iterations are independent, issue 15: ``hand`` is an expert's *hand-batched*
  version, stack once, one batched computation, split back into exactly what the original
  returns, and there is no ``hand_compiled``) or ``"eval"`` (evaluation loops over a loader
  with a model call, issue 13: ``hand`` is the expert's version with device accumulators, one
  ``torch.cat`` and one transfer where values leave).

Every variant must return what ``original`` returns (types, NumPy dtypes, shapes, values within
float tolerance); the runner checks that with ``looplift.testing.assert_close`` against the original
run on float64 copies of the inputs (the oracle's rule, docs/guarantees.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

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


# =========================================================================== batching suite
# Loops over lists of small tensors whose iterations are independent (issue 15).  ``hand`` is
# what an expert writes by hand: stack the items once, run one batched computation, and split
# the result back into exactly what the original returns (a list of NumPy scalars stays a list
# of NumPy scalars, a Python float stays a float).  One transfer to the host in each.

def _stack(items: list[torch.Tensor]) -> torch.Tensor:
    # no per-item ``.detach()``: the originals call ``t.numpy()``, which raises on a tensor that
    # requires grad, so the items do not (and a detach per item costs more than the whole stack)
    return torch.stack(items)


# ---- B1. a comprehension of elementwise work and a full reduction (the first row)
def bsum_original(ts):
    return [np.sum(np.exp(t.numpy()) * 2 + 1) for t in ts]


def bsum_hand(ts):
    if not ts:
        return []
    return list(torch.sum(torch.exp(_stack(ts)) * 2 + 1, dim=1).cpu().numpy())


def bsum_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (8,), device, 11),)


# ---- B2. standardize each item: a loop appending a per-item array
def bstd_original(xs):
    out = []
    for t in xs:
        a = t.numpy()
        out.append((a - a.mean()) / (a.std() + 1e-6))
    return out


def bstd_hand(xs):
    if not xs:
        return []
    s = _stack(xs)
    mean = s.mean(dim=1, keepdim=True)
    std = s.std(dim=1, correction=0, keepdim=True)
    return list(((s - mean) / (std + 1e-6)).cpu().numpy())


def bstd_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (16,), device, 12),)


# ---- B3. an elementwise op, then a product with a loop-invariant matrix
def btanh_original(xs, w):
    out = []
    for t in xs:
        a = t.numpy()
        out.append(np.tanh(a) @ w)
    return out


def btanh_hand(xs, w):
    if not xs:
        return []
    s = _stack(xs)
    return list((torch.tanh(s) @ torch.from_numpy(w).to(s.device)).cpu().numpy())


def btanh_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    w = (np.random.default_rng(13).standard_normal((64, 16)) / 8).astype(np.float32)
    return (_tensors(n, (64,), device, 13), w)


# ---- B4. argmax per batch of logits, then one concatenate after the loop
def bargmax_original(batches):
    preds = []
    for logits in batches:
        preds.append(np.argmax(logits.numpy(), axis=1))
    return np.concatenate(preds)


def bargmax_hand(batches):
    s = _stack(batches)
    return torch.argmax(s, dim=2).reshape(-1).cpu().numpy()


def bargmax_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (32, 10), device, 14),)


# ---- B5. a Python float accumulated from a per-item dot product
def bdot_original(xs):
    total = 0.0
    for t in xs:
        a = t.numpy()
        total += float(np.dot(a, a))
    return total


def bdot_hand(xs):
    if not xs:
        return 0.0
    s = _stack(xs)
    return torch.linalg.vecdot(s, s).to(torch.float64).sum().item()


def bdot_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (32,), device, 15),)


# ---- B6. a comprehension with a reduction over an axis (items are 2-d)
def brow_original(xs):
    return [np.mean(np.abs(t.numpy()), axis=1) for t in xs]


def brow_hand(xs):
    if not xs:
        return []
    return list(torch.mean(torch.abs(_stack(xs)), dim=2).cpu().numpy())


def brow_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (16, 8), device, 16),)


# ---- B7. several lists, each appended a per-item result of several ops
def bstats_original(xs):
    lo, hi, energy = [], [], []
    for t in xs:
        a = t.numpy()
        c = a - a.mean()
        lo.append(c.min())
        hi.append(c.max())
        energy.append(np.sqrt(np.sum(c * c)))
    return lo, hi, energy


def bstats_hand(xs):
    if not xs:
        return [], [], []
    s = _stack(xs)
    c = s - s.mean(dim=1, keepdim=True)
    host = torch.stack((c.amin(dim=1), c.amax(dim=1), torch.sqrt(torch.sum(c * c, dim=1)))).cpu().numpy()
    return list(host[0]), list(host[1]), list(host[2])


def bstats_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (24,), device, 17),)


# ---- B8. a Python float per item (a host read appended to a list)
def bnorm_original(xs):
    norms = []
    for t in xs:
        a = t.numpy()
        norms.append(float(np.linalg.norm(np.clip(a, -1.0, 1.0))))
    return norms


def bnorm_hand(xs):
    if not xs:
        return []
    return torch.linalg.vector_norm(torch.clamp(_stack(xs), -1.0, 1.0), dim=1).tolist()


def bnorm_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (_tensors(n, (64,), device, 18),)


# =========================================================================== evaluation loops
# A model called in the loop over a loader (issue 13).  On a GPU every ``.item()``, ``float()``
# and ``.cpu().numpy()`` in the loop is a sync and a device-to-host copy; the expert keeps the
# values on the device (accumulators, a list of tensors, one ``torch.cat``) and reads once.

def make_model(device: str = "cpu", seed: int = 20) -> torch.nn.Module:
    """A small classifier (32 features, 10 classes), in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / p.shape[-1] ** 0.5)
    return model.to(device).eval()


def _loader(n: int, size: str, device: str, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    rows = {"full": 64, "quick": 64, "tiny": 16}[size]
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(rows, 32, generator=gen).to(device), torch.randint(0, 10, (rows,), generator=gen).to(device))
            for _ in range(n)]


# ---- E1. `.item()` accumulated: loss and correct predictions
def eitem_original(model, loader):
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total += F.cross_entropy(out, y).item()
            correct += (out.argmax(1) == y).sum().item()
            n += y.shape[0]
    return total / len(loader), correct / n


def eitem_hand(model, loader):
    device = next(model.parameters()).device
    total = torch.zeros((), dtype=torch.float64, device=device)  # float64: Python's float addition
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total += F.cross_entropy(out, y)
            correct += (out.argmax(1) == y).sum()
            n += y.shape[0]
    t, c = torch.stack((total, correct.to(torch.float64))).tolist()  # one transfer
    return t / len(loader), int(c) / n


def eitem_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (make_model(device), _loader(n, size, device, 21))


# ---- E2. `.cpu().numpy()` appended, then `np.concatenate`
def enp_original(model, loader):
    probs = []
    with torch.no_grad():
        for x, _ in loader:
            probs.append(torch.softmax(model(x), dim=1).cpu().numpy())
    return np.concatenate(probs)


def enp_hand(model, loader):
    probs = []
    with torch.no_grad():
        for x, _ in loader:
            probs.append(torch.softmax(model(x), dim=1))
    return torch.cat(probs).cpu().numpy()


def enp_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    return (make_model(device), _loader(n, size, device, 22))


# ---- E3. both, as an `evaluate()` usually looks: losses as floats, predictions as arrays
def emix_original(model, loader, labels):
    losses, preds = [], []
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            losses.append(F.cross_entropy(out, y).item())
            preds.append(out.argmax(1).cpu().numpy())
    pred = np.concatenate(preds)
    return {"loss": float(np.mean(losses)), "acc": float(np.mean(pred == labels)), "pred": pred}


def emix_hand(model, loader, labels):
    losses, preds = [], []
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            losses.append(F.cross_entropy(out, y))
            preds.append(out.argmax(1))
    loss = torch.stack(losses).to(torch.float64).mean()  # np.mean of Python floats: float64
    pred = torch.cat(preds).cpu().numpy()
    return {"loss": loss.item(), "acc": float(np.mean(pred == labels)), "pred": pred}


def emix_args(n: int, size: str, device: str = "cpu") -> tuple[Any, ...]:
    loader = _loader(n, size, device, 23)
    labels = np.concatenate([y.cpu().numpy() for _, y in loader]) if loader else np.zeros(0, np.int64)
    return (make_model(device), loader, labels)


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    original: Callable[..., Any]
    hand: Callable[..., Any]
    hand_compiled: Callable[..., Any] | None
    make_args: Callable[[int, str, str], tuple[Any, ...]]
    n: dict[str, int]
    extra: dict[str, Callable[..., Any]] = field(default_factory=dict)
    cuda: bool = True  # runs unchanged on CUDA tensors
    note: str = ""
    suite: str = "core"

    def args(self, size: str = "full", device: str = "cpu", n: int | None = None) -> tuple[Any, ...]:
        return self.make_args(self.n[size] if n is None else n, size, device)


SUITES = {
    "core": "the workloads of issue 6 (hand eager and hand compiled keep the loop)",
    "batch": "independent iterations over many small tensors (issue 15; hand = hand-batched)",
    "eval": "evaluation loops with a model call (issue 13; hand = device accumulators, one transfer)",
}

CORE: list[Workload] = [
    Workload("seed", "seed example 1: 16 x 512², `np.sum(np.exp(a)*2+1)`", seed_original, seed_hand,
             seed_hand_compiled, seed_args, {"full": 16, "quick": 8, "tiny": 4}),
    Workload("power", "power iteration, fixed 256² matrix converted every step", power_original, power_hand,
             power_hand_compiled, power_args, {"full": 50, "quick": 20, "tiny": 4},
             extra={"hand NumPy": power_hand_numpy},
             note="n is the number of steps; `hand NumPy` hoists the conversion and stays in NumPy"),
    Workload("accum", "elementwise accumulate with `float(np.mean(...))`", accum_original, accum_hand,
             accum_hand_compiled, accum_args, {"full": 16, "quick": 8, "tiny": 4}),
    Workload("copy", "`torch.tensor(a)` copy in the loop", copy_original, copy_hand, copy_hand_compiled,
             copy_args, {"full": 16, "quick": 8, "tiny": 4}, cuda=False,
             note="CPU only: the original multiplies a CUDA tensor by a CPU tensor"),
    Workload("eval", "eval loop: argmax, `np.concatenate`, accuracy", eval_original, eval_hand,
             eval_hand_compiled, eval_args, {"full": 16, "quick": 8, "tiny": 4}),
    Workload("tiny", "2000 tiny iterations (size 8)", tiny_original, tiny_hand, tiny_hand_compiled,
             tiny_args, {"full": 2000, "quick": 500, "tiny": 16}),
]

BATCH: list[Workload] = [
    Workload("b-sumexp", "`[np.sum(np.exp(t.numpy()) * 2 + 1) for t in ts]`, items of 8", bsum_original,
             bsum_hand, None, bsum_args, {"full": 2000, "quick": 500, "tiny": 6}, suite="batch"),
    Workload("b-standardize", "`(a - a.mean()) / (a.std() + 1e-6)` appended, items of 16", bstd_original,
             bstd_hand, None, bstd_args, {"full": 1000, "quick": 250, "tiny": 6}, suite="batch"),
    Workload("b-tanh-matmul", "`np.tanh(a) @ w` appended, items of 64, `w` (64, 16) invariant", btanh_original,
             btanh_hand, None, btanh_args, {"full": 500, "quick": 125, "tiny": 6}, suite="batch"),
    Workload("b-argmax", "`np.argmax(logits.numpy(), axis=1)` of (32, 10) appended, `np.concatenate`",
             bargmax_original, bargmax_hand, None, bargmax_args, {"full": 200, "quick": 50, "tiny": 6},
             suite="batch"),
    Workload("b-dot", "`total += float(np.dot(a, a))`, items of 32", bdot_original, bdot_hand, None, bdot_args,
             {"full": 1000, "quick": 250, "tiny": 6}, suite="batch"),
    Workload("b-rowmean", "`[np.mean(np.abs(t.numpy()), axis=1) for t in xs]`, items (16, 8)", brow_original,
             brow_hand, None, brow_args, {"full": 1000, "quick": 250, "tiny": 6}, suite="batch"),
    Workload("b-stats", "three lists appended: min, max, `np.sqrt(np.sum(c * c))` of `c = a - a.mean()`, "
             "items of 24", bstats_original, bstats_hand, None, bstats_args, {"full": 1000, "quick": 250, "tiny": 6}, suite="batch"),
    Workload("b-norm", "`norms.append(float(np.linalg.norm(np.clip(a, -1.0, 1.0))))`, items of 64",
             bnorm_original, bnorm_hand, None, bnorm_args, {"full": 1000, "quick": 250, "tiny": 6},
             suite="batch"),
]

EVAL: list[Workload] = [
    Workload("e-item", "`total += loss.item()`, `correct += (...).sum().item()` over a loader", eitem_original,
             eitem_hand, None, eitem_args, {"full": 50, "quick": 20, "tiny": 4}, suite="eval"),
    Workload("e-numpy", "`probs.append(torch.softmax(model(x), 1).cpu().numpy())`, `np.concatenate`",
             enp_original, enp_hand, None, enp_args, {"full": 50, "quick": 20, "tiny": 4}, suite="eval"),
    Workload("e-mixed", "`losses.append(loss.item())`, `preds.append(out.argmax(1).cpu().numpy())`, "
             "`np.mean`, accuracy", emix_original, emix_hand, None, emix_args, {"full": 50, "quick": 20, "tiny": 4}, suite="eval"),
]

WORKLOADS: dict[str, Workload] = {w.name: w for w in [*CORE, *BATCH, *EVAL]}


def trivial(x):
    """The function the dispatch-overhead check decorates."""
    return x
