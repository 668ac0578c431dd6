"""The short GPU check of issues 13 and 15: host reads, syncs and device-to-host copies per call.

    python benchmarks/gpu_check.py [--suite eval --suite batch --suite core] [--rounds 15]
                                   [--budget 240] [--no-compile] [--markdown FILE]

Meant to be run once, by hand, when a CUDA machine is lent (never in CI): a few minutes at most
(``--budget`` seconds, after which the remaining workloads are skipped and listed).  It needs
torch and NumPy only: the repository is put on ``sys.path``, no ``pip install``.

For each workload of the evaluation-loop and batching suites (``benchmarks/workloads.py``; add
``--suite core`` for issue 6's) it runs, on CUDA tensors, the original, the hand-written version
(the expert's device accumulators and one transfer, or the hand-batched version), looplift
``compile=False`` and looplift ``compile="auto"`` (``--no-compile`` drops it;
``--torch-compile`` adds ``torch.compile(original)``, slow to compile), and for each variant:

* checks its result against the original's (``looplift.testing.assert_same``);
* counts, in one steady-state call after the warm-up,
  - host reads of tensor data with the benchmark's ``TorchFunctionMode`` counter
    (``benchmarks/hostreads.py``: ``.item()``, ``float()``, ``.tolist()``, ``.numpy()``,
    ``.cpu()``/``.to("cpu")`` of a CUDA tensor, ...),
  - synchronizing CUDA calls, as the warnings ``torch.cuda.set_sync_debug_mode("warn")`` emits,
  - device-to-host copies, as "Memcpy DtoH" activities in ``torch.profiler`` (and host-to-device
    copies beside them);
* times ``--rounds`` interleaved rounds (wall clock, ``torch.cuda.synchronize()`` around each
  call) and reports medians and speedups over the original.

It prints a Markdown table (and writes it to ``--markdown FILE``).  Without CUDA it prints that
it is skipped and exits with status 0: nothing is measured, nothing is faked.  (``--cpu-dry-run``,
for the test suite only, runs the same steps on CPU tensors at tiny sizes, without the CUDA
counters.)
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks import run as R  # noqa: E402
from benchmarks import workloads as W  # noqa: E402
from benchmarks.hostreads import count_host_reads  # noqa: E402

SYNC_MESSAGE = "synchroniz"  # "called a synchronizing CUDA operation"


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def count_copies(fn: Callable[..., Any], args: tuple[Any, ...]) -> dict[str, int]:
    """Transfers during one call of ``fn``, from the profiler's GPU activities and CPU ops."""
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fn(*args)
        torch.cuda.synchronize()
    counts = {"dtoh": 0, "htod": 0, "item": 0, "gpu_events": 0}
    for event in prof.events():
        name = event.name
        counts["gpu_events"] += str(getattr(event, "device_type", "")).endswith("CUDA")
        if "memcpy dtoh" in name.lower():
            counts["dtoh"] += 1
        elif "memcpy htod" in name.lower():
            counts["htod"] += 1
        elif name == "aten::_local_scalar_dense":
            counts["item"] += 1
    return counts


@contextlib.contextmanager
def sync_debug_warnings() -> Iterator[list[str]]:
    """The messages of the synchronizing CUDA calls made while the block runs
    (``torch.cuda.set_sync_debug_mode("warn")``)."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        previous = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield found
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    found += [str(w.message) for w in caught if SYNC_MESSAGE in str(w.message).lower()]


def hand_name(wl: W.Workload) -> str:
    return R.HAND_BATCHED if wl.suite == "batch" else R.HAND


def measure(wl: W.Workload, variants: Sequence[str], args: argparse.Namespace, device: str,
            lines: list[str]) -> None:
    """One workload: checks, counts and timing of every variant, as table rows appended to ``lines``."""
    size = "tiny" if device == "cpu" else args.size
    inputs = wl.args(size, device)
    expected = R.expect(wl, inputs)
    fns: dict[str, Callable[..., Any]] = {}
    status: dict[str, str] = {}
    counts: dict[str, dict[str, Any]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for variant in variants:
            counted: dict[str, Any] = {}
            try:
                fn = R.make_variant(wl, variant)
                with R.time_cap(args.cap if variant in R.COMPILING else 0):
                    calls = 0
                    while True:  # warm-up: at least 2 calls; looplift auto until its regions settled
                        idle = R.idle_regions(fn)
                        out = fn(*inputs)
                        _sync(device)
                        calls += 1
                        if calls >= 2 and (variant != R.LL_AUTO or R.warmed_up(fn, calls, idle)
                                           or calls >= args.max_warmup):
                            break
                    with count_host_reads() as reads:
                        out = fn(*inputs)
                        _sync(device)
                counted["reads"] = f"{reads.total}" + (f" ({reads.looplift} in looplift)" if reads.looplift else "")
                counted["sites"] = reads.describe(3)
                if device == "cuda":
                    with sync_debug_warnings() as syncs:
                        fn(*inputs)
                        torch.cuda.synchronize()
                    counted["syncs"] = str(len(syncs))
                    copies = count_copies(fn, inputs)
                    counted["dtoh"] = str(copies["dtoh"]) if copies["gpu_events"] else "profiler saw no GPU activity"
                    counted["htod"] = str(copies["htod"]) if copies["gpu_events"] else "n/a"
                mismatch = R.check(expected, out)
                status[variant] = f"wrong: {mismatch}" if mismatch else "ok"
                if variant == R.LL_AUTO:
                    regions = R.looplift_regions(fn)
                    if regions:
                        status[variant] += " (regions: " + ", ".join(getattr(r, "state", "?") for r in regions) + ")"
                fns[variant] = fn
            except R.CapExceeded as exc:
                status[variant] = f"skipped: warm-up {exc}"
            except Exception as exc:  # noqa: BLE001 - reported
                status[variant] = f"error: {type(exc).__name__}: {exc}"[:160]
            counts[variant] = counted
        samples: dict[str, list[float]] = {v: [] for v in fns}
        order = list(fns)
        for r in range(args.rounds if device == "cuda" else 1):
            shift = r % len(order) if order else 0
            for variant in order[shift:] + order[:shift]:
                _sync(device)
                start = time.perf_counter()
                fns[variant](*inputs)
                _sync(device)
                samples[variant].append(time.perf_counter() - start)
    medians = {v: statistics.median(s) for v, s in samples.items() if s}
    base = medians.get(R.ORIGINAL)
    for variant in variants:
        med = medians.get(variant)
        c = counts.get(variant, {})
        cells = [wl.name, variant, R._ms(med), R._x(base / med) if base and med else "n/a",
                 c.get("reads", "n/a"), c.get("syncs", "n/a"), c.get("dtoh", "n/a"), c.get("htod", "n/a"),
                 R._escape(status.get(variant, "n/a"))]
        lines.append("| " + " | ".join(cells) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_check.py", description=__doc__.split("\n")[0])
    parser.add_argument("--suite", action="append", choices=R.SUITES, metavar="NAME",
                        help="suites to run (repeatable; default: eval and batch)")
    parser.add_argument("--workload", action="append", choices=list(W.WORKLOADS), metavar="NAME")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--budget", type=float, default=240.0, metavar="SECONDS",
                        help="start no new workload after this long (default 240)")
    parser.add_argument("--cap", type=float, default=60.0, metavar="SECONDS",
                        help="give up on one variant's warm-up (compiles) after this long (default 60)")
    parser.add_argument("--max-warmup", type=int, default=30, metavar="N",
                        help="warm-up calls at most while looplift auto's regions settle (default 30)")
    parser.add_argument("--no-compile", action="store_true", help="skip looplift compile='auto'")
    parser.add_argument("--torch-compile", action="store_true", help="add torch.compile(original) (slow)")
    parser.add_argument("--size", choices=W.SIZES, default="full")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    parser.add_argument("--cpu-dry-run", action="store_true", help=argparse.SUPPRESS)  # tests: the steps on CPU
    args = parser.parse_args(argv)

    if args.cpu_dry_run:
        device = "cpu"
    elif not torch.cuda.is_available():
        print(f"gpu_check: skipped: no CUDA device on this machine (torch {torch.__version__}, "
              f"CUDA build {torch.version.cuda or 'none'}); nothing was measured")
        return 0
    else:
        device = "cuda"

    started = time.perf_counter()
    suites = args.suite or ["eval", "batch"]
    names = args.workload or [name for name, wl in W.WORKLOADS.items() if wl.suite in suites]
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        where = (f"{torch.cuda.get_device_name()} ({props.total_memory / 2**30:.0f} GiB), torch {torch.__version__}, "
                 f"CUDA {torch.version.cuda}")
    else:
        where = f"CPU dry run (no CUDA counters), torch {torch.__version__}"
    lines = [f"GPU check: {where}, Python {platform.python_version()}; commit {R._commit()}; size `{args.size}`, "
             f"{args.rounds} interleaved rounds, wall-clock medians.", "",
             "Host reads: reads of tensor data by the host in one call (`TorchFunctionMode`, "
             "`benchmarks/hostreads.py`; `.cpu().numpy()` of a CUDA tensor counts 2: the copy and the conversion). "
             "Syncs: warnings of `torch.cuda.set_sync_debug_mode(\"warn\")` in one call. DtoH/HtoD: "
             "`Memcpy` activities of `torch.profiler` in one call.", "",
             "| workload | variant | median | × original | host reads | syncs | DtoH copies | HtoD copies | result |",
             "|---|---|---|---|---|---|---|---|---|"]
    skipped: list[str] = []
    for name in names:
        wl = W.WORKLOADS[name]
        if not wl.cuda:
            skipped.append(f"{name} ({wl.note})")
            continue
        if time.perf_counter() - started > args.budget:
            skipped.append(f"{name} (budget of {args.budget:.0f} s spent)")
            continue
        variants = [R.ORIGINAL, hand_name(wl), R.LL_EAGER] + ([] if args.no_compile else [R.LL_AUTO])
        if args.torch_compile:
            variants.insert(2, R.TORCH_COMPILE)
        print(f"gpu_check: {name}", file=sys.stderr, flush=True)
        measure(wl, variants, args, device, lines)
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped)]
    lines += ["", f"Took {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
