"""The short GPU check of issue 6: workloads on CUDA, and device-to-host copies per call.

    python benchmarks/gpu_check.py [--rounds 15] [--budget 180] [--no-compile] [--markdown FILE]

For each workload that runs unchanged on CUDA tensors it runs the original, the hand-written
eager torch version, looplift ``compile=False`` and looplift ``compile="auto"`` (``--no-compile``
drops the last; ``--torch-compile`` adds ``torch.compile(original)``, slow to compile), checks each
result against the original's, and counts with ``torch.profiler`` the device-to-host copies of one
call ("Memcpy DtoH" GPU activities; host-to-device copies and ``aten::_local_scalar_dense``,
i.e. ``.item()``-style syncs, alongside).  The target: one device-to-host transfer per call for
the lifted workloads.  Then a short interleaved timing (medians).  Prints a Markdown table.

Meant for a brief loan of a GPU machine: a few minutes at most (``--budget`` seconds, after which
the remaining workloads are skipped and listed).  On a machine without CUDA it prints that it is
skipped and exits with status 0: nothing is measured, nothing is faked.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks import run as R  # noqa: E402
from benchmarks import workloads as W  # noqa: E402


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
        on_gpu = str(getattr(event, "device_type", "")).endswith("CUDA")
        counts["gpu_events"] += on_gpu
        if "Memcpy DtoH" in name or "memcpy DtoH" in name.lower():
            counts["dtoh"] += 1
        elif "Memcpy HtoD" in name:
            counts["htod"] += 1
        elif name == "aten::_local_scalar_dense":
            counts["item"] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_check.py", description=__doc__.split("\n")[0])
    parser.add_argument("--workload", action="append", choices=list(W.WORKLOADS), metavar="NAME")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--budget", type=float, default=180.0, metavar="SECONDS",
                        help="start no new workload after this long (default 180)")
    parser.add_argument("--cap", type=float, default=60.0, metavar="SECONDS",
                        help="give up on one variant's warm-up (compile) after this long")
    parser.add_argument("--no-compile", action="store_true", help="skip looplift compile='auto'")
    parser.add_argument("--torch-compile", action="store_true", help="add torch.compile(original) (slow)")
    parser.add_argument("--size", choices=W.SIZES, default="full")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    args = parser.parse_args(argv)

    if not torch.cuda.is_available():
        print(f"gpu_check: skipped: no CUDA device on this machine (torch {torch.__version__}, "
              f"CUDA build {torch.version.cuda or 'none'}); nothing was measured")
        return 0

    started = time.perf_counter()
    variants = [R.ORIGINAL, R.HAND, R.LL_EAGER] + ([] if args.no_compile else [R.LL_AUTO])
    if args.torch_compile:
        variants.insert(2, R.TORCH_COMPILE)
    props = torch.cuda.get_device_properties(0)
    lines = [f"GPU check: {torch.cuda.get_device_name()} ({props.total_memory / 2**30:.0f} GiB), "
             f"torch {torch.__version__}, CUDA {torch.version.cuda}, Python {platform.python_version()}; "
             f"size `{args.size}`, {args.rounds} interleaved rounds, medians.", "",
             "| workload | variant | median | × original | DtoH copies per call | HtoD per call "
             "| `.item()` syncs | result |", "|---|---|---|---|---|---|---|---|"]
    skipped: list[str] = []
    for name in args.workload or list(W.WORKLOADS):
        wl = W.WORKLOADS[name]
        if not wl.cuda:
            skipped.append(f"{name} ({wl.note})")
            continue
        if time.perf_counter() - started > args.budget:
            skipped.append(f"{name} (budget of {args.budget:.0f} s spent)")
            continue
        print(f"gpu_check: {name}", file=sys.stderr, flush=True)
        gpu_args = wl.args(args.size, "cuda")
        expected = wl.original(*gpu_args)
        fns: dict[str, Callable[..., Any]] = {}
        status: dict[str, str] = {}
        copies: dict[str, dict[str, int]] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for variant in variants:
                fn = R.make_variant(wl, variant)
                try:
                    with R.time_cap(args.cap if variant in R.COMPILING else 0):
                        for _ in range(2):
                            out = fn(*gpu_args)
                        torch.cuda.synchronize()
                    mismatch = R.check(expected, out, wl.scale)
                    status[variant] = f"wrong: {mismatch}" if mismatch else "ok"
                    copies[variant] = count_copies(fn, gpu_args)
                    fns[variant] = fn
                except R.CapExceeded as exc:
                    status[variant] = f"skipped: warm-up {exc}"
                except Exception as exc:  # noqa: BLE001 - reported
                    status[variant] = f"error: {type(exc).__name__}: {exc}"[:160]
            samples: dict[str, list[float]] = {v: [] for v in fns}
            order = list(fns)
            for r in range(args.rounds):
                shift = r % len(order)
                for variant in order[shift:] + order[:shift]:
                    torch.cuda.synchronize()
                    start = time.perf_counter()
                    fns[variant](*gpu_args)
                    torch.cuda.synchronize()
                    samples[variant].append(time.perf_counter() - start)
        base = statistics.median(samples[R.ORIGINAL]) if samples.get(R.ORIGINAL) else None
        for variant in variants:
            med = statistics.median(samples[variant]) if samples.get(variant) else None
            c = copies.get(variant)
            cells = [name, variant, R._ms(med), R._x(base / med) if base and med else "n/a"]
            if c is None:
                cells += ["n/a"] * 3
            elif c["gpu_events"] == 0:
                cells += ["profiler saw no GPU activity"] + ["n/a"] * 2
            else:
                cells += [str(c["dtoh"]), str(c["htod"]), str(c["item"])]
            cells.append(R._escape(status.get(variant, "n/a")))
            lines.append("| " + " | ".join(cells) + " |")
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
