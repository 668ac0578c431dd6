"""Microbenchmark of the registry's lowered operations: ``python benchmarks/ops.py``.

For each operation, at 8, 1,024 and 1,048,576 elements (float32 operands, 2-d unless said), on
one thread (torch and NumPy's BLAS alike), it times three versions of the same call:

* NumPy, on the arrays;
* bare torch: the call an expert would write on the tensors for NumPy's result;
* looplift: the entry's lowering for the operands' abstract types (``lowering.lower``), compiled
  by ``lowering.as_function`` (one expression, as generated code runs it), on the tensors.

Each version runs in repeats of calls lasting a millisecond or more, timed by the CPU time of
this thread (all three compute in it: one intra-op thread), which other processes on a shared
machine do not inflate; the three alternate within each round (starting with another each
round).  The table gives the median time per call, and looplift / bare torch as the median over
rounds of the ratio of the two repeats of one round (target: 1.2x or less at every size).
``--quick`` runs fewer rounds; ``--markdown FILE`` also writes the table.
"""
from __future__ import annotations

import os

if __name__ == "__main__":  # one BLAS thread for NumPy, set before NumPy loads its BLAS
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - after the thread settings, which NumPy reads when imported
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's looplift

from looplift import registry  # noqa: E402
from looplift.errors import Refusal  # noqa: E402
from looplift.registry import lowering  # noqa: E402
from looplift.registry.cases import Lifted  # noqa: E402
from looplift.registry.probe import abstract_form  # noqa: E402

SIZES = (8, 1024, 1024 * 1024)
TARGET = 1.2
#: The shortest a timed repeat may be: shorter ones are dominated by timer noise.
REPEAT_SECONDS = 0.001
#: The time one operation at one size may take, all rounds together (fewer rounds for slow calls).
BUDGET_SECONDS = 1.0


@dataclass(frozen=True)
class Op:
    """One benchmarked call: the registry entry, the operands (names of ``inputs`` arrays,
    lists of them, or literals) and keyword literals, NumPy's call and the bare torch one."""

    label: str
    key: str
    operands: tuple[Any, ...]
    numpy: Callable[..., Any]
    torch: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


def inputs(size: int) -> dict[str, np.ndarray]:
    """The operand arrays of ``size`` elements: matrices ``a``, ``b`` (2 x 4 up to 1024 x 1024),
    positive ``p``, masks ``m``, ``n``, vectors ``v``, ``w``, ``b`` transposed, as many row
    indices ``i`` as rows."""
    rows = {8: 2, 1024: 32, 1024 * 1024: 1024}[size]
    rng = np.random.default_rng(size)
    a, b = (rng.standard_normal((rows, size // rows), dtype=np.float32) for _ in range(2))
    return {"a": a, "b": b, "p": np.abs(a) + np.float32(0.5), "m": a > 0, "n": b > 0,
            "v": a.reshape(-1), "w": b.reshape(-1), "bt": np.ascontiguousarray(b.T),
            "i": rng.integers(0, rows, rows)}


OPS: tuple[Op, ...] = (
    Op("a + b", "operator.add", ("a", "b"), lambda a, b: a + b, lambda a, b: a + b),
    Op("a * 2.0", "operator.mul", ("a", 2.0), lambda a, s: a * s, lambda a, s: a * s),
    Op("a / b", "operator.truediv", ("a", "b"), lambda a, b: a / b, lambda a, b: a / b),
    Op("a ** 2", "operator.pow", ("a", 2), lambda a, s: a ** s, lambda a, s: a ** s),
    Op("np.exp(a)", "numpy.exp", ("a",), np.exp, torch.exp),
    Op("np.log(p)", "numpy.log", ("p",), np.log, torch.log),
    Op("np.sqrt(p)", "numpy.sqrt", ("p",), np.sqrt, torch.sqrt),
    Op("np.tanh(a)", "numpy.tanh", ("a",), np.tanh, torch.tanh),
    Op("np.maximum(a, 0.0)", "numpy.maximum", ("a", 0.0), np.maximum, lambda a, s: torch.clamp(a, min=s)),
    Op("np.maximum(a, b)", "numpy.maximum", ("a", "b"), np.maximum, torch.maximum),
    Op("a > 0", "operator.gt", ("a", 0), lambda a, s: a > s, lambda a, s: a > s),
    Op("np.abs(a)", "numpy.absolute", ("a",), np.abs, torch.abs),
    Op("np.floor(a)", "numpy.floor", ("a",), np.floor, torch.floor),
    Op("np.isnan(a)", "numpy.isnan", ("a",), np.isnan, torch.isnan),
    Op("np.logical_and(m, n)", "numpy.logical_and", ("m", "n"), np.logical_and, torch.logical_and),
    Op("np.sum(a)", "numpy.sum", ("a",), np.sum, torch.sum),
    Op("np.sum(a, axis=-1)", "numpy.sum", ("a",), lambda a, axis: np.sum(a, axis=axis),
       lambda a, axis: torch.sum(a, dim=axis), {"axis": -1}),
    Op("np.sum(a, axis=(0, 1))", "numpy.sum", ("a",), lambda a, axis: np.sum(a, axis=axis),
       lambda a, axis: torch.sum(a, dim=axis), {"axis": (0, 1)}),
    Op("a.mean(axis=-1, keepdims=True)", "ndarray.mean", ("a",),
       lambda a, axis, keepdims: a.mean(axis=axis, keepdims=keepdims),
       lambda a, axis, keepdims: a.mean(dim=axis, keepdim=keepdims), {"axis": -1, "keepdims": True}),
    Op("np.std(a)", "numpy.std", ("a",), np.std, lambda a: torch.std(a, correction=0)),
    Op("np.var(a, axis=0)", "numpy.var", ("a",), lambda a, axis: np.var(a, axis=axis),
       lambda a, axis: torch.var(a, dim=axis, correction=0), {"axis": 0}),
    Op("np.max(a, axis=0)", "numpy.max", ("a",), lambda a, axis: np.max(a, axis=axis),
       lambda a, axis: torch.amax(a, dim=axis), {"axis": 0}),
    Op("np.argmax(a)", "numpy.argmax", ("a",), np.argmax, torch.argmax),
    Op("np.argmax(a, axis=1)", "numpy.argmax", ("a",), lambda a, axis: np.argmax(a, axis=axis),
       lambda a, axis: torch.argmax(a, dim=axis), {"axis": 1}),
    Op("np.any(m)", "numpy.any", ("m",), np.any, torch.any),
    Op("np.cumsum(a, axis=-1)", "numpy.cumsum", ("a",), lambda a, axis: np.cumsum(a, axis=axis),
       lambda a, axis: torch.cumsum(a, dim=axis), {"axis": -1}),
    Op("np.nansum(a)", "numpy.nansum", ("a",), np.nansum, torch.nansum),
    Op("np.median(a, axis=-1)", "numpy.median", ("a",), lambda a, axis: np.median(a, axis=axis),
       lambda a, axis: torch.quantile(a, 0.5, dim=axis), {"axis": -1}),
    Op("a.astype(np.float64)", "ndarray.astype", ("a", np.float64), lambda a, t: a.astype(t),
       lambda a, t: a.to(torch.float64)),
    Op("a.copy()", "ndarray.copy", ("a",), lambda a: a.copy(), lambda a: a.clone()),
    Op("a @ b.T", "operator.matmul", ("a", "bt"), lambda a, b: a @ b, lambda a, b: a @ b),
    Op("np.dot(v, w)", "numpy.dot", ("v", "w"), np.dot, torch.dot),
    Op("a[1:]", "operator.getitem", ("a", slice(1, None)), lambda a, s: a[s], lambda a, s: a[s]),
    Op("a[i]", "operator.getitem", ("a", "i"), lambda a, i: a[i], lambda a, i: a[i]),
    Op("np.concatenate([a, b])", "numpy.concatenate", (["a", "b"],), np.concatenate, torch.cat),
    Op("np.stack([a, b])", "numpy.stack", (["a", "b"],), np.stack, torch.stack),
    Op("np.where(m, a, 0.0)", "numpy.where", ("m", "a", 0.0), np.where, torch.where),
    Op("np.clip(a, -1, 1)", "numpy.clip", ("a", -1, 1), np.clip, torch.clamp),
    Op("a.T", "ndarray.T", ("a",), lambda a: a.T, lambda a: a.T),
    Op("a.reshape(-1)", "ndarray.reshape", ("a", -1), lambda a, s: a.reshape(s), lambda a, s: a.reshape(s)),
    Op("np.sort(a, axis=-1)", "numpy.sort", ("a", -1), np.sort, lambda a, d: torch.sort(a, dim=d).values),
)


def _operand(spec: Any, arrays: dict[str, np.ndarray]) -> Any:
    """An operand as the lowering test draws it: arrays named by ``spec`` are lifted."""
    if isinstance(spec, str):
        return Lifted(arrays[spec])
    if isinstance(spec, list):
        return [_operand(s, arrays) for s in spec]
    return spec


def _numpy(value: Any) -> Any:
    if isinstance(value, Lifted):
        return value.value
    return [_numpy(v) for v in value] if isinstance(value, list) else value


def _tensor(value: Any) -> Any:
    if isinstance(value, Lifted):
        return torch.from_numpy(value.value)
    return [_tensor(v) for v in value] if isinstance(value, list) else value


@dataclass
class Row:
    op: Op
    size: int
    lowered: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    ratio: float | None = None
    """looplift / bare torch: the median over rounds of the two repeats' ratio (None: not lowered)."""


def calls(op: Op, size: int) -> tuple[dict[str, Callable[[], Any]], str]:
    """The three versions of ``op`` at ``size`` as argument-less callables, and the lowered
    expression (or why there is none)."""
    operands = [_operand(s, inputs(size)) for s in op.operands]
    np_args, t_args = [_numpy(o) for o in operands], [_tensor(o) for o in operands]
    versions = {"numpy": lambda: op.numpy(*np_args, **op.kwargs), "torch": lambda: op.torch(*t_args, **op.kwargs)}
    entry = registry.by_key(op.key)
    try:
        lowered = lowering.lower(entry, [abstract_form(o) for o in operands],
                                 {k: abstract_form(v) for k, v in op.kwargs.items()})
    except Refusal as refusal:
        return versions, f"stays in NumPy: {refusal.reason}"
    function = lowering.as_function(lowered)
    values = [*t_args, *op.kwargs.values()]
    assert lowering.admits(lowered)(*values), lowered.source
    versions["looplift"] = lambda: function(*values)
    return versions, lowered.source


def _seconds(call: Callable[[], Any], number: int) -> float:
    """CPU seconds of this thread for ``number`` calls."""
    return timeit.Timer(call, timer=time.thread_time).timeit(number)


def _number(call: Callable[[], Any]) -> int:
    """Calls per repeat: enough for ``REPEAT_SECONDS``."""
    number, elapsed = 1, _seconds(call, 1)
    while elapsed < REPEAT_SECONDS:
        number *= 10 if elapsed < REPEAT_SECONDS / 10 else 2
        elapsed = _seconds(call, number)
    return number


def measure(op: Op, size: int, rounds: int) -> Row:
    versions, source = calls(op, size)
    row = Row(op, size, source)
    for call in versions.values():
        call()  # warm-up
    numbers = {name: _number(call) for name, call in versions.items()}
    repeat = sum(_seconds(call, numbers[name]) for name, call in versions.items())
    rounds = max(3, min(rounds, int(BUDGET_SECONDS / repeat)))
    times: dict[str, list[float]] = {name: [] for name in versions}
    names = list(versions)
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times[name].append(_seconds(versions[name], numbers[name]) / numbers[name])
    row.seconds = {name: statistics.median(values) for name, values in times.items()}
    if "looplift" in times:
        row.ratio = statistics.median(mine / bare for mine, bare in zip(times["looplift"], times["torch"]))
    return row


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}" if seconds < 1e-3 else f"{seconds * 1e6:,.0f}"


def table(rows: list[Row]) -> str:
    lines = ["| operation | size | NumPy µs | torch µs | looplift µs | looplift / torch | lowered |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        lowered = row.lowered.replace("|", "\\|")
        looplift = _us(row.seconds["looplift"]) if "looplift" in row.seconds else "-"
        lines.append(f"| `{row.op.label}` | {row.size:,} | {_us(row.seconds['numpy'])} | {_us(row.seconds['torch'])} | "
                     f"{looplift} | {ratio} | `{lowered}` |")
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    ratios = [r.ratio for r in rows if r.ratio is not None]
    over = [f"{r.op.label} at {r.size:,} ({r.ratio:.2f}x)" for r in rows if r.ratio is not None and r.ratio > TARGET]
    unlowered = sorted({r.op.label for r in rows if r.ratio is None})
    lines = [f"{len({r.op.label for r in rows})} operations x {len(SIZES)} sizes, torch {torch.__version__}, "
             f"NumPy {np.__version__}, 1 thread, load average {os.getloadavg()[0]:.1f} "
             f"on {os.cpu_count()} CPUs",
             f"looplift / bare torch: median {statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x; "
             f"over {TARGET}x: {', '.join(over) or 'none'}"]
    if unlowered:
        lines.append(f"not lowered (NumPy runs them): {', '.join(unlowered)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 15")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rounds = 5 if args.quick else 15
    rows = [measure(op, size, rounds) for op in OPS for size in SIZES]
    text = f"{summary(rows)}\n\n{table(rows)}\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
