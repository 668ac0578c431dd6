"""Run the benchmark suite: ``python benchmarks/run.py`` or ``python -m looplift bench``.

Three suites of workloads (``benchmarks/workloads.py``, ``--suite``): ``core`` (issue 6's six
loops), ``batch`` (loops over many small tensors with independent iterations, issue 15) and
``eval`` (evaluation loops with a model call, issue 13).  For each workload it measures, in one
interleaved run, the original loop and the variants of its suite (``SUITE_VARIANTS``): the
hand-written version (eager torch that keeps the loop in ``core``; an expert's hand-batched
version in ``batch``; device accumulators and one transfer in ``eval``), the hand version with
its loop body ``torch.compile``d (``core``), ``torch.compile(original)``, and ``looplift`` with
``compile=False``, ``compile="auto"`` and ``compile=False`` specialized under
``LOOPLIFT_LIFT=always`` (what looplift does with tensors on an accelerator):

* steady-state time: warm-up calls first (compiles happen there), then ``--rounds`` rounds; each
  round runs every variant once (a few calls averaged when one call is short), starting at a
  different variant each round; reported are the median over rounds, in milliseconds, of the
  original (and of the hand version), and speedups (higher is better) over them: the median over
  rounds of the ratio of the two samples taken in the same round;
* correctness: every variant's results (warm-up and last timed call) are compared with the
  original's by ``looplift.testing.assert_same``; a variant that differs is marked
  "wrong result" and never counts as the fastest;
* first-call latency (transform plus compile plus one run) of ``torch.compile(original)`` and of
  both looplift variants, each in a fresh process with an empty inductor cache, capped at
  ``--cap`` seconds (a compile still running at the cap is killed and reported as "> cap");
* recompiles when the list length (or trip count) goes 4, 8, 16, 32, 64, in the same process:
  graphs compiled by dynamo (``torch._dynamo.utils.counters``) plus new looplift
  specializations, after the first length;
* host reads of tensor data per call (``.item()``, ``float()``, ``.tolist()``, ``.numpy()``, ...,
  ``benchmarks/hostreads.py``), counted in one steady-state call after the warm-up, outside
  the timing; with the looplift run-time paths taken in that call (batched or not);
* dispatch overhead of a decorated trivial function against the plain function (ns per call).

Progress goes to stderr (logging); the tables to stdout, and to ``--markdown FILE``.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import gc
import itertools
import json
import logging
import math
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import workloads as W  # noqa: E402
from looplift.timelimit import time_limit  # noqa: E402

logger = logging.getLogger("looplift.bench")

ORIGINAL = "original"
HAND = "hand eager"
HAND_BATCHED = "hand batched"
HAND_COMPILED = "hand compiled"
TORCH_COMPILE = "torch.compile(orig)"
LL_EAGER = "looplift eager"
LL_AUTO = "looplift auto"
LL_ALWAYS = "looplift eager, lift=always"
VARIANTS = (ORIGINAL, HAND, HAND_BATCHED, HAND_COMPILED, TORCH_COMPILE, LL_EAGER, LL_AUTO, LL_ALWAYS)
SUITES = ("core", "batch", "eval")
#: the variants each suite runs (``--variant`` selects among them)
SUITE_VARIANTS = {
    "core": (ORIGINAL, HAND, HAND_COMPILED, TORCH_COMPILE, LL_EAGER, LL_AUTO, LL_ALWAYS),
    "batch": (ORIGINAL, HAND_BATCHED, TORCH_COMPILE, LL_EAGER, LL_AUTO),
    "eval": (ORIGINAL, HAND, TORCH_COMPILE, LL_EAGER, LL_AUTO, LL_ALWAYS),
}
#: the alternatives issue 6's targets compare looplift auto with
ALTERNATIVES = (ORIGINAL, HAND, HAND_COMPILED, TORCH_COMPILE)
FIRST_CALL = (TORCH_COMPILE, LL_EAGER, LL_AUTO)
#: the variants whose first call is measured in a fresh process, per suite (in ``batch`` and
#: ``eval`` only to learn whether ``torch.compile(original)`` finishes within ``--batch-cap``)
SUITE_FIRST_CALL = {"core": FIRST_CALL, "batch": (TORCH_COMPILE,), "eval": (TORCH_COMPILE,)}
COMPILING = (HAND_COMPILED, TORCH_COMPILE, LL_AUTO)
#: environment variables a variant is specialized under (read when a specialization is built)
VARIANT_ENV = {LL_ALWAYS: {"LOOPLIFT_LIFT": "always"}}
#: variants whose host reads are not counted: under a ``TorchFunctionMode`` dynamo recompiles
#: (its guards cover the mode stack), which would cost a whole compile for one count
NOT_COUNTED = (HAND_COMPILED, TORCH_COMPILE)
#: the key of ``WorkloadResult.explain_variants`` for ``explain()`` under ``LOOPLIFT_LIFT=always``
#: of a batch-suite loop (measured or not): what stops batching where the cost model does not
WHY_ALWAYS = "explain, lift=always"
#: issue targets
BATCH_GEOMEAN_TARGET, BATCH_VS_HAND_TARGET = 5.0, 0.8  # issue 15
EAGER_VS_HAND_TARGET = 1 / 1.1  # issue 14: compile=False within 10% of hand eager's time

PROFILES = {  # size, rounds, target seconds per timing sample, lengths for the recompile check
    "full": ("full", 30, 0.005, (4, 8, 16, 32, 64)),
    "quick": ("quick", 7, 0.002, (4, 16, 64)),
    "tiny": ("tiny", 1, 0.0, (4, 8)),
}
CHILD_TAG = "@@bench "
TIMERS = {"wall": time.perf_counter, "cpu": time.process_time}
#: calls after the first whose time above the steady state counts as first-call latency
FOLLOW_UP_CALLS = 8
#: warm-up calls before timing (at least 2; looplift auto until its regions chose compiled or
#: eager: they compile in the background, so that takes as many calls as the compile lasts)
WARMUP_CALLS, WARMUP_MAX = 2, 12


# --------------------------------------------------------------------------- results
@dataclass
class VariantResult:
    name: str
    status: str = "ok"  # ok | wrong | error | skipped
    detail: str = ""
    samples: list[float] = field(default_factory=list)  # seconds per call, one per round
    inner: int = 1
    checks: int = 0  # results compared with the original's
    first_call: float | None = None  # seconds
    first_call_status: str = ""  # "" | "> cap" | "error: ..." | "wrong result"
    first_call_deferred: float | None = None  # part of first_call spent in calls 2..9 (deferred compiles)
    regions: str = ""  # looplift: the state of each compiled region after warm-up
    host_reads: int | None = None  # reads of tensor data by the host in one steady-state call
    reads_looplift: int | None = None  # of which inside looplift's own code (its exits included)
    reads_detail: str = ""
    paths: dict[str, int] = field(default_factory=dict)  # looplift run-time paths in that call
    respecialized: int = 0  # new looplift specializations while timing (should stay 0)
    recompiles: int | None = None
    recompile_detail: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def correct(self) -> bool:
        return self.status == "ok"


@dataclass
class WorkloadResult:
    name: str
    title: str
    n: int
    variants: dict[str, VariantResult] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    explain: str = ""
    suite: str = "core"
    explain_variants: dict[str, str] = field(default_factory=dict)  # looplift variant -> explain() text

    def median(self, variant: str) -> float | None:
        v = self.variants.get(variant)
        return v.median if v is not None else None

    def speedup(self, variant: str, over: str = ORIGINAL) -> float | None:
        """How many times faster ``variant`` ran than ``over``: the median over rounds of the two
        samples' ratio within each round (both ran moments apart, under the same load: on a shared
        machine the load moves between rounds more than within one), or, when the rounds do not
        pair up, the ratio of the medians."""
        a, b = self.variants.get(over), self.variants.get(variant)
        if a is None or b is None or not a.samples or not b.samples:
            return None
        if len(a.samples) == len(b.samples):
            ratios = [x / y for x, y in zip(a.samples, b.samples) if y > 0]
            return statistics.median(ratios) if ratios else None
        base, this = a.median, b.median
        if base is None or this is None or this <= 0:
            return None
        return base / this

    def fastest_correct(self, among: Sequence[str] = ALTERNATIVES) -> tuple[str, float] | None:
        candidates = [(v.median, name) for name, v in self.variants.items()
                      if name in among and v.correct and v.median is not None]
        if not candidates:
            return None
        best, name = min(candidates)
        return name, best


@dataclass
class BenchReport:
    machine: dict[str, Any]
    settings: dict[str, Any]
    workloads: list[WorkloadResult] = field(default_factory=list)
    dispatch: dict[str, float] = field(default_factory=dict)  # ns per call
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for wl, raw in zip(self.workloads, data["workloads"]):
            for name, v in wl.variants.items():
                raw["variants"][name]["median"] = v.median
        return data


# --------------------------------------------------------------------------- variants
def make_variant(wl: W.Workload, name: str) -> Callable[..., Any]:
    """A fresh callable for variant ``name`` of ``wl`` (decorators and torch.compile applied now)."""
    import torch

    from looplift import looplift

    if name == ORIGINAL:
        return wl.original
    if name in (HAND, HAND_BATCHED):
        return wl.hand
    if name == HAND_COMPILED:
        if wl.hand_compiled is None:
            raise KeyError(f"{wl.name} has no {HAND_COMPILED} version")
        return wl.hand_compiled
    if name == TORCH_COMPILE:
        return torch.compile(wl.original)
    if name == LL_EAGER:
        return looplift(compile=False)(wl.original)
    if name == LL_AUTO:
        return looplift(compile="auto")(wl.original)
    if name == LL_ALWAYS:  # specialized under VARIANT_ENV (see ``variant_env``)
        return looplift(compile=False)(wl.original)
    if name in wl.extra:
        return wl.extra[name]
    raise KeyError(name)


def suite_variants(wl: W.Workload, selected: Sequence[str] | None = None) -> list[str]:
    """The variants measured for ``wl``: its suite's (those in ``selected``, when given; the
    original always), then its extras."""
    chosen = set(selected or ())
    if chosen & {HAND, HAND_BATCHED}:  # either name selects the suite's hand-written version
        chosen |= {HAND, HAND_BATCHED}
    names = [v for v in SUITE_VARIANTS[wl.suite] if v == ORIGINAL or not selected or v in chosen]
    return names + [name for name in wl.extra if name not in names]


@contextlib.contextmanager
def variant_env(name: str) -> Iterator[None]:
    """The environment variant ``name`` is specialized under (``VARIANT_ENV``), while the block runs."""
    env = VARIANT_ENV.get(name, {})
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def looplift_regions(fn: Any) -> list[Any]:
    """The ``CompiledRegion`` objects of a decorated function's specializations (in the
    rewritten function's closure, directly or as a ``Region``'s ``lowered`` code)."""
    from looplift.runtime.compiled import CompiledRegion

    dispatcher = getattr(fn, "__looplift__", None)
    found = []
    for spec in list(getattr(dispatcher, "cache", {}).values()):
        for cell in getattr(spec.call, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            for candidate in (value, getattr(value, "lowered", None)):
                if isinstance(candidate, CompiledRegion) and candidate not in found:
                    found.append(candidate)
    return found


def specializations(fn: Any) -> int:
    """How many specializations a looplift function has built (0 for anything else)."""
    info = getattr(fn, "cache_info", None)
    return info().misses if info is not None else 0


def settled(fn: Any) -> bool:
    """Whether every compiled region of a looplift function has chosen compiled or eager."""
    return all(getattr(r, "state", "compiled") in ("compiled", "eager") for r in looplift_regions(fn))


def idle_regions(fn: Any) -> tuple[Any, ...] | None:
    """The warm-up clocks of a looplift function's compiled regions while every unsettled one is
    still warming up (else None): unchanged over a call, those regions did not run in it (a
    batched loop runs the regions' eager code under ``vmap``), and waiting for them to settle
    would wait forever.  (A region waiting for its background compile, or measuring, changes
    nothing per call either, but it will settle.)"""
    regions = [r for r in looplift_regions(fn) if getattr(r, "state", "compiled") not in ("compiled", "eager")]
    if any(getattr(r, "state", None) != "warming" for r in regions):
        return None
    return tuple(getattr(r, "eager_spent", None) for r in regions)


def warmed_up(fn: Any, calls: int, before: tuple[Any, ...] | None) -> bool:
    """Whether a looplift auto function is ready to be timed after ``calls`` warm-up calls
    (``before``: ``idle_regions(fn)`` before the last one)."""
    if calls < WARMUP_CALLS:
        return False
    return settled(fn) or (before is not None and idle_regions(fn) == before)


@dataclass
class Expected:
    """What the original returns on a workload's inputs, and its run on float64 copies of them
    (None when no input is low precision or that run failed): the oracle's reference."""

    value: Any
    reference: Any
    inputs: tuple[Any, ...]
    upcast: frozenset[float]


def expect(wl: W.Workload, inputs: tuple[Any, ...]) -> Expected:
    """The original's result on ``inputs`` (a call that also warms kernels; not timed)."""
    from looplift.testing import reference_run

    value = wl.original(*inputs)
    high, units = reference_run(wl.original, inputs)
    usable = bool(units) and high.error is None
    return Expected(value, high.result if usable else None, inputs, units if usable else frozenset())


def check(expected: Expected, actual: Any) -> str:
    """'' when ``actual`` is what the original returned, else what differs."""
    from looplift.testing import Mismatch, assert_close

    try:
        assert_close(expected.value, actual, expected.reference, inputs=expected.inputs, upcast=expected.upcast)
    except Mismatch as exc:
        text = str(exc)
        return text if len(text) <= 160 else text[:157] + "..."
    return ""


class CapExceeded(BaseException):
    """A ``BaseException``, like ``KeyboardInterrupt``: looplift's run-time falls back to the
    original code on any ``Exception`` raised inside it, which would swallow the cap."""


def time_cap(seconds: float) -> Any:
    """Raise ``CapExceeded`` in the block after ``seconds`` (see ``looplift.timelimit``)."""
    return time_limit(seconds if seconds > 0 else None, lambda: CapExceeded(f"still running after {seconds:.0f} s"))


def _sync(device: str) -> Callable[[], None]:
    if device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


# --------------------------------------------------------------------------- first call (child)
def _graphs() -> int:
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def child_main(workload: str, variant: str, size: str, device: str, lengths: Sequence[int],
               threads: int | None = None) -> int:
    """Run in a fresh process: time the first call, then count recompiles over ``lengths``."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    warnings.simplefilter("ignore")
    wl = W.WORKLOADS[workload]

    def emit(**record: Any) -> None:
        print(CHILD_TAG + json.dumps(record), flush=True)

    args = wl.args(size, device)
    expected = expect(wl, args)
    fn = make_variant(wl, variant)
    sync = _sync(device)

    def timed() -> tuple[float, Any]:
        start = time.perf_counter()
        out = fn(*args)
        sync()
        return time.perf_counter() - start, out

    try:
        first, result = timed()
        # looplift auto times a region eagerly, then compiles it, at later calls: that deferred
        # compile belongs to the first-call latency too (the same calls run for every variant)
        later = [timed()[0] for _ in range(FOLLOW_UP_CALLS)]
        steady = statistics.median(timed()[0] for _ in range(3))
    except Exception as exc:  # reported, the parent marks the variant
        emit(kind="first", seconds=None, error=f"{type(exc).__name__}: {exc}"[:200])
        return 0
    deferred = sum(max(0.0, t - steady) for t in later)
    emit(kind="first", seconds=first + deferred, call1=first, deferred=deferred, steady=steady,
         mismatch=check(expected, result))

    torch._dynamo.reset()
    W.reset_compiled()
    fn = make_variant(wl, variant)
    base: tuple[int, int] | None = None
    for n in lengths:
        length_args = wl.args(size, device, n=n)
        # at the first length, settle first (looplift auto compiles a region in the background,
        # after it has run a while): graphs compiled before the next length do not count
        for i in itertools.count():
            idle = idle_regions(fn)
            fn(*length_args)
            if base is not None or (i >= FOLLOW_UP_CALLS and warmed_up(fn, i, idle)):
                break
        now = (_graphs(), specializations(fn))
        if base is None:
            base = now
        emit(kind="length", n=n, graphs=now[0] - base[0], specializations=now[1] - base[1])
    return 0


def run_child(workload: str, variant: str, size: str, device: str, lengths: Sequence[int],
              cap: float, threads: int | None = None) -> dict[str, Any]:
    """First-call latency and recompiles of one variant, measured in a fresh process."""
    cache = tempfile.mkdtemp(prefix="looplift-bench-inductor-")
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, TRITON_CACHE_DIR=os.path.join(cache, "triton"),
               PYTHONWARNINGS="ignore")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", f"{workload}:{variant}", "--size", size,
           "--device", device, "--lengths", ",".join(map(str, lengths)) or "none"]
    if threads:
        cmd += ["--threads", str(threads)]
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True,
                            start_new_session=hasattr(os, "setsid"))
    records: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(CHILD_TAG):
                records.put(json.loads(line[len(CHILD_TAG):]))
        records.put(None)

    threading.Thread(target=reader, daemon=True).start()
    out: dict[str, Any] = {"first": None, "lengths": [], "capped": None}
    deadline = time.monotonic() + cap
    phase = "first"
    try:
        while True:
            try:
                record = records.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                out["capped"] = phase
                break
            if record is None:
                break
            if record["kind"] == "first":
                out["first"] = record
                phase = "lengths"
                deadline = time.monotonic() + cap  # the recompile check gets its own cap
            else:
                out["lengths"].append(record)
    finally:
        if proc.poll() is None:
            try:
                if hasattr(os, "killpg"):
                    os.killpg(proc.pid, signal.SIGKILL)  # the child and its compile workers
                else:
                    proc.kill()
            except ProcessLookupError:
                pass
        proc.wait()
        stderr.seek(0)
        tail = stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        stderr.close()
        shutil.rmtree(cache, ignore_errors=True)
    if out["first"] is None and out["capped"] is None:
        out["crash"] = " | ".join(tail) or f"exit status {proc.returncode}"
    return out


def first_calls(wl: W.Workload, result: WorkloadResult, profile: tuple[Any, ...], device: str, cap: float,
                variants: Sequence[str], threads: int | None = None) -> None:
    size, _, _, lengths = profile
    if wl.suite != "core":
        lengths = ()  # only whether torch.compile(original) finishes in time, and its first call
    for name in variants:
        if name not in SUITE_FIRST_CALL[wl.suite]:
            continue
        logger.info("[%s] first call of %s in a fresh process (cap %.0f s)", wl.name, name, cap)
        v = result.variants[name]
        out = run_child(wl.name, name, size, device, lengths, cap, threads)
        first = out["first"]
        if first is None:
            v.first_call_status = f"> {cap:.0f} s" if out["capped"] == "first" else f"error: {out.get('crash', '')}"
        elif first.get("error"):
            v.first_call_status = "error: " + first["error"]
        else:
            v.first_call = first["seconds"]
            v.first_call_deferred = first["deferred"]
            if first.get("mismatch"):
                v.first_call_status = "wrong result"
        counted = out["lengths"]
        if counted:
            last = counted[-1]
            v.recompiles = last["graphs"] + last["specializations"]
            v.recompile_detail = ", ".join(f"{r['n']}: {r['graphs']}+{r['specializations']}" for r in counted)
            if out["capped"] == "lengths":
                v.recompile_detail += f" (stopped at the {cap:.0f} s cap before {lengths[len(counted)]})"
        elif first is not None:
            v.recompile_detail = f"no length finished within {cap:.0f} s" if out["capped"] else \
                f"error: {out.get('crash', '')}"
        logger.info("[%s]   %s: first call %s; recompiles %s", wl.name, name,
                    _seconds(v.first_call) if v.first_call is not None else v.first_call_status,
                    v.recompiles if v.recompiles is not None else v.recompile_detail or "n/a")


# --------------------------------------------------------------------------- steady state
def count_reads(fn: Callable[..., Any], args: tuple[Any, ...], v: VariantResult, sync: Callable[[], None]) -> Any:
    """One call of ``fn`` with its host reads counted and looplift's run-time paths observed
    (into ``v``); its result."""
    from looplift.runtime import paths

    from benchmarks.hostreads import count_host_reads

    saved = paths.ENABLED, paths.COUNTS
    counts: Any = collections.Counter()
    paths.ENABLED, paths.COUNTS = True, counts
    try:
        with count_host_reads() as reads:
            out = fn(*args)
            sync()
    finally:
        paths.ENABLED, paths.COUNTS = saved
    v.host_reads, v.reads_looplift, v.reads_detail = reads.total, reads.looplift, reads.describe()
    v.paths = dict(counts)
    return out


def measure_workload(wl: W.Workload, profile: tuple[Any, ...], device: str, cap: float,
                     variants: Sequence[str], do_first_call: bool, threads: int | None = None,
                     timer: Callable[[], float] = time.perf_counter, compile_cap: float | None = None) -> WorkloadResult:
    """Measure ``variants`` of ``wl`` (those of its suite; ``compile_cap``: the cap on
    ``torch.compile(original)`` outside the core suite, default ``cap``)."""
    size, rounds, target, _ = profile
    args = wl.args(size, device)
    result = WorkloadResult(wl.name, wl.title, wl.n[size], suite=wl.suite)
    for name in suite_variants(wl, variants):
        result.variants[name] = VariantResult(name)
    cap_here = cap if wl.suite == "core" or compile_cap is None else compile_cap
    if do_first_call:
        first_calls(wl, result, profile, device, cap_here, list(result.variants), threads)

    from looplift import explain

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = expect(wl, args)
        sync = _sync(device)
        fns: dict[str, Callable[..., Any]] = {}
        for name, v in result.variants.items():
            if name == TORCH_COMPILE and v.first_call_status.startswith(">"):
                v.status, v.detail = "skipped", f"compile did not finish within {cap_here:.0f} s"
                continue
            fn = make_variant(wl, name)
            logger.info("[%s] warm-up %s", wl.name, name)
            try:
                with time_cap(2 * cap_here if name in COMPILING else 0), variant_env(name):
                    began, idle = time.perf_counter(), None
                    for i in itertools.count():
                        if i >= WARMUP_CALLS and (i >= WARMUP_MAX if name != LL_AUTO else warmed_up(fn, i, idle)
                                                  or time.perf_counter() - began > 2 * cap_here):
                            break
                        idle = idle_regions(fn)
                        start = time.perf_counter()
                        out = fn(*args)
                        sync()
                        elapsed = time.perf_counter() - start
                        mismatch = check(expected, out)
                        v.checks += 1
                        if mismatch and v.status == "ok":
                            v.status, v.detail = "wrong", mismatch
                    if name not in NOT_COUNTED:
                        out = count_reads(fn, args, v, sync)
                        mismatch = check(expected, out)
                        if mismatch and v.status == "ok":
                            v.status, v.detail = "wrong", "(in the call with reads counted) " + mismatch
                    if name in (LL_EAGER, LL_AUTO, LL_ALWAYS):
                        try:
                            result.explain_variants[name] = str(explain(fn, *args))
                        except Exception as exc:  # noqa: BLE001 - reported, the variant still runs
                            result.explain_variants[name] = f"explain() raised {type(exc).__name__}: {exc}"
                v.regions = ", ".join(f"{r.label.rsplit('/', 1)[-1]} {getattr(r, 'state', '?')}"
                                      for r in looplift_regions(fn))
            except CapExceeded as exc:
                v.status, v.detail = "skipped", f"warm-up {exc}"
                continue
            except Exception as exc:  # noqa: BLE001 - a failing variant is reported, not fatal
                v.status, v.detail = "error", f"{type(exc).__name__}: {exc}"[:200]
                logger.info("[%s]   %s raised %s", wl.name, name, v.detail)
                continue
            v.inner = max(1, math.ceil(target / max(elapsed, 1e-7))) if target else 1
            fns[name] = fn
        result.explain = result.explain_variants.get(LL_AUTO, "")
        if wl.suite == "batch" and LL_EAGER in result.variants:  # what stops batching, the cost model aside
            with variant_env(LL_ALWAYS):
                try:
                    result.explain_variants[WHY_ALWAYS] = str(explain(make_variant(wl, LL_ALWAYS), *args))
                except Exception as exc:  # noqa: BLE001 - reported
                    result.explain_variants[WHY_ALWAYS] = f"explain() raised {type(exc).__name__}: {exc}"
        result.warnings = sorted({str(w.message) for w in caught if "looplift" in str(w.category.__name__).lower()
                                  or "looplift" in str(w.message)})

    order = list(fns)
    last: dict[str, Any] = {}
    built = {name: specializations(fn) for name, fn in fns.items()}
    logger.info("[%s] timing %d variants x %d rounds", wl.name, len(order), rounds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(rounds):
            shift = r % len(order) if order else 0
            for name in order[shift:] + order[:shift]:
                fn, v = fns[name], result.variants[name]
                if v.status == "error":
                    continue
                try:
                    start = timer()
                    for _ in range(v.inner):
                        out = fn(*args)
                    sync()
                except Exception as exc:  # noqa: BLE001 - reported; the variant is not timed further
                    v.status, v.detail, v.samples = "error", f"{type(exc).__name__}: {exc}"[:200], []
                    last.pop(name, None)
                    continue
                v.samples.append((timer() - start) / v.inner)
                last[name] = out
            if rounds >= 10 and (r + 1) % 10 == 0:
                logger.info("[%s]   round %d/%d", wl.name, r + 1, rounds)
    for name, out in last.items():
        v = result.variants[name]
        v.respecialized = specializations(fns[name]) - built[name]
        mismatch = check(expected, out)
        v.checks += 1
        if mismatch and v.status == "ok":
            v.status, v.detail = "wrong", mismatch
    summary = ", ".join(f"{n} {_ms(result.median(n))}" for n in order)
    logger.info("[%s] medians: %s", wl.name, summary)
    return result


def dispatch_overhead(number: int = 100_000, repeat: int = 7) -> dict[str, float]:
    """ns per call of a trivial function, plain and decorated, with a tensor and with a list of 16
    tensors as argument; ``overhead*`` is decorated minus plain.  Measured twice, interleaved: by
    the wall clock (``wall_*``) and by this process's CPU time (``time.process_time``), which a
    loaded machine inflates much less (the call is single-threaded Python)."""
    import torch

    from looplift import looplift

    plain = W.trivial
    decorated = looplift(W.trivial)
    x = torch.ones(4)
    xs = [torch.ones(4) for _ in range(16)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decorated(x), decorated(xs)
    cases = {"plain": (plain, x), "looplift": (decorated, x), "plain_list": (plain, xs),
             "looplift_list": (decorated, xs)}
    timers = {"": time.process_time, "wall_": time.perf_counter}
    samples: dict[str, list[float]] = {p + k: [] for p in timers for k in cases}
    for _ in range(repeat):  # interleaved
        for prefix, timer in timers.items():
            for name, (fn, arg) in cases.items():
                t = timeit.Timer("fn(arg)", globals={"fn": fn, "arg": arg}, timer=timer)
                samples[prefix + name].append(t.timeit(number) / number)
    med = {k: statistics.median(v) * 1e9 for k, v in samples.items()}
    for prefix in timers:
        med[prefix + "overhead"] = med[prefix + "looplift"] - med[prefix + "plain"]
        med[prefix + "overhead_list"] = med[prefix + "looplift_list"] - med[prefix + "plain_list"]
    return med


# --------------------------------------------------------------------------- formatting
def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.2f} s"


def _seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _x(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}×" if value >= 0.095 else f"{value:.2g}×"


def _cell(result: WorkloadResult, name: str, over: str) -> str:
    v = result.variants.get(name)
    if v is None:
        return "–"
    if v.status in ("skipped", "error"):
        return v.status + (f" ({v.detail})" if v.status == "skipped" else "")
    text = _x(result.speedup(name, over))
    return text + " (wrong result)" if v.status == "wrong" else text


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _geomean(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _columns(workloads: Sequence[WorkloadResult]) -> list[str]:
    """The variants measured for any of ``workloads``, in ``VARIANTS`` order, then the extras."""
    extras = sorted({name for wl in workloads for name in wl.variants if name not in VARIANTS})
    return [name for name in VARIANTS if any(name in wl.variants for wl in workloads)] + extras


def speed_table(report: BenchReport | Sequence[WorkloadResult], over: str) -> list[str]:
    workloads = report.workloads if isinstance(report, BenchReport) else list(report)
    head = ["workload", f"{over} (median)"]
    cols = [n for n in _columns(workloads) if n != over]
    lines = ["| " + " | ".join(head + cols) + " |", "|" + "---|" * (len(head) + len(cols))]
    for wl in workloads:
        base = wl.variants.get(over)
        base_text = _ms(wl.median(over)) if base is not None and base.median is not None else \
            (base.status if base is not None else "–")
        row = [_escape(f"{wl.title} (n={wl.n})"), base_text] + [_escape(_cell(wl, n, over)) for n in cols]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _reads_cell(v: VariantResult | None) -> str:
    if v is None:
        return "–"
    if v.name in NOT_COUNTED:
        return "not counted"
    if v.host_reads is None:
        return v.status if v.status != "ok" else "n/a"
    text = str(v.host_reads)
    if v.reads_looplift:
        text += f" ({v.reads_looplift} in looplift)"
    return text + (" (wrong result)" if v.status == "wrong" else "")


def reads_table(workloads: Sequence[WorkloadResult]) -> list[str]:
    """Host reads of tensor data in one steady-state call, per variant (issue 13)."""
    cols = [n for n in _columns(workloads) if n not in NOT_COUNTED]
    lines = ["| workload | iterations | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 2)]
    for wl in workloads:
        lines.append("| " + " | ".join([_escape(wl.name), str(wl.n)] + [_reads_cell(wl.variants.get(n)) for n in cols])
                     + " |")
    return lines


def _batched(v: VariantResult | None) -> str:
    """Whether the call with reads counted ran a batch (looplift's run-time paths)."""
    if v is None or v.host_reads is None:
        return "n/a"
    runs, declined = v.paths.get("batch.run", 0), v.paths.get("batch.declined", 0)
    if runs:
        return "yes" if not declined else f"{runs} run, {declined} declined"
    return "declined" if declined else "no"


def batch_table(workloads: Sequence[WorkloadResult]) -> tuple[list[str], list[str]]:
    """Issue 15's batching suite: medians, speedups over the original and over the hand-batched
    version, whether looplift batched, and the targets."""
    lines = ["| loop (n) | original | hand batched | torch.compile(orig) | looplift eager | looplift auto "
             f"| auto ÷ hand batched (≥ {BATCH_VS_HAND_TARGET}×) | eager ÷ hand batched | batched (auto, eager) |",
             "|---|---|---|---|---|---|---|---|---|"]
    auto_orig, eager_orig, hand_orig, misses, misses_eager = [], [], [], [], []
    why_not: list[str] = []
    for wl in workloads:
        cells = [_escape(f"{wl.name}: {wl.title} (n={wl.n})"), _ms(wl.median(ORIGINAL))]
        hand = wl.variants.get(HAND_BATCHED)
        cells.append(_ms(wl.median(HAND_BATCHED)) + (f" ({_x(wl.speedup(HAND_BATCHED))})" if hand and hand.correct
                                                     else f" ({hand.status})" if hand else ""))
        cells += [_escape(_cell(wl, n, ORIGINAL)) for n in (TORCH_COMPILE, LL_EAGER, LL_AUTO)]
        ratios = []
        for name, sink, missed in ((LL_AUTO, auto_orig, misses), (LL_EAGER, eager_orig, misses_eager)):
            v = wl.variants.get(name)
            ratio = wl.speedup(name, HAND_BATCHED) if v is not None and v.correct else None
            ok = ratio is not None and ratio >= BATCH_VS_HAND_TARGET
            ratios.append("n/a" if ratio is None else f"{_x(ratio)} {'yes' if ok else 'no'}")
            if v is not None and v.correct and wl.speedup(name) is not None:
                sink.append(wl.speedup(name))
            if not ok:
                missed.append(wl.name)
        if hand is not None and hand.correct and wl.speedup(HAND_BATCHED) is not None:
            hand_orig.append(wl.speedup(HAND_BATCHED))
        cells += ratios
        cells.append(f"{_batched(wl.variants.get(LL_AUTO))}, {_batched(wl.variants.get(LL_EAGER))}")
        lines.append("| " + " | ".join(cells) + " |")
        if _batched(wl.variants.get(LL_EAGER)) != "yes":
            text = wl.explain_variants.get(WHY_ALWAYS) or wl.explain_variants.get(LL_EAGER, "")
            why = _kept(text) or (["explain() names no reason"] if text else ["no explain() text"])
            why_not.append(f"- {wl.name}: " + "; ".join(_escape(w) for w in why))
    g_auto, g_eager, g_hand = _geomean(auto_orig), _geomean(eager_orig), _geomean(hand_orig)
    summary = [
        f"- geometric mean of looplift auto's speedup over the original: {_x(g_auto)} "
        f"({'meets' if g_auto is not None and g_auto >= BATCH_GEOMEAN_TARGET else 'misses'} the "
        f"{BATCH_GEOMEAN_TARGET:.0f}× target); looplift eager: {_x(g_eager)}; the hand-batched versions: {_x(g_hand)}",
        f"- loops where looplift auto is below {BATCH_VS_HAND_TARGET}× of the hand-batched version: "
        f"{len(misses)} of {len(workloads)}" + (f" ({', '.join(misses)})" if misses else "")
        + f"; looplift eager: {len(misses_eager)}",
    ]
    if why_not:
        summary += ["", "Loops looplift eager did not batch, with what `explain()` leaves as NumPy (or as the original) "
                    "when lifting is forced (`LOOPLIFT_LIFT=always`): what stops batching besides the cost model:",
                    ""] + why_not
    return lines, summary


def eager_vs_hand_table(workloads: Sequence[WorkloadResult]) -> tuple[list[str], list[str]]:
    """Issue 14's CPU target: looplift ``compile=False`` within 10% of the hand-written eager
    torch version (speed relative to it at least 1/1.1), specialized by default and under
    ``LOOPLIFT_LIFT=always``."""
    lines = ["| workload | hand eager (median) | looplift eager | ÷ hand (≥ 0.91×) | lifted? | "
             "looplift eager, lift=always | ÷ hand (≥ 0.91×) | lifted? |", "|---|---|---|---|---|---|---|---|"]
    missed: dict[str, list[str]] = {LL_EAGER: [], LL_ALWAYS: []}
    for wl in workloads:
        if HAND not in wl.variants:
            continue
        cells = [_escape(wl.name), _ms(wl.median(HAND))]
        for name in (LL_EAGER, LL_ALWAYS):
            v = wl.variants.get(name)
            if v is None:
                cells += ["–", "–", "–"]
                continue
            ratio = wl.speedup(name, HAND) if v.correct else None
            ok = ratio is not None and ratio >= EAGER_VS_HAND_TARGET
            cells += [_ms(v.median) + ("" if v.correct else f" ({v.status})"),
                      "n/a" if ratio is None else f"{_x(ratio)} {'yes' if ok else 'no'}",
                      _lifted(wl.explain_variants.get(name, ""))]
            if not ok and wl.suite == "core":
                missed[name].append(wl.name)
        lines.append("| " + " | ".join(cells) + " |")
    core = sum(1 for wl in workloads if wl.suite == "core" and HAND in wl.variants)
    summary = [f"- {label}: within 10% of hand eager on {core - len(missed[name])} of {core} core workloads"
               + (f"; missed on {', '.join(missed[name])}" if missed[name] else "")
               for name, label in ((LL_EAGER, "looplift eager (default)"), (LL_ALWAYS, "looplift eager, lift=always"))
               if any(name in wl.variants for wl in workloads)]
    return lines, summary


def _lifted(explain_text: str) -> str:
    """What a specialization did, in a word or two, from its ``explain()`` text."""
    if not explain_text:
        return "n/a"
    if "runs as the original code" in explain_text:
        return "original code"
    if explain_text.startswith("explain() raised"):
        return "n/a (explain() raised)"
    report = explain_text.split("  rewritten source:")[0]
    parts = []
    if "  batched:" in report:
        parts.append("batched")
    if "kept as a tensor" in report:
        parts.append("lifted")
    if "  compiled:" in report:
        parts.append("regions")
    if "deferred (kept on the device" in report:
        parts.append("reads deferred")
    if "  hoisted:" in report:
        parts.append("hoisted")
    if "-> .numpy() (one step" in report:
        parts.append("conversions shortened")
    return ", ".join(parts) or "as written"


def _kept(explain_text: str) -> list[str]:
    """The lines of an ``explain()`` text under "left as NumPy / original" (why not lifted or batched)."""
    report = explain_text.split("  rewritten source:")[0]
    if "left as NumPy / original:" not in report:
        return []
    lines = []
    for line in report.split("left as NumPy / original:")[1].splitlines()[1:]:
        if not line.startswith("    "):
            break
        lines.append(line.strip())
    return lines


def compile_table(report: BenchReport | Sequence[WorkloadResult]) -> list[str]:
    workloads = report.workloads if isinstance(report, BenchReport) else list(report)
    lines = ["| workload | first call: torch.compile(orig) | looplift eager | looplift auto | auto ÷ torch.compile "
             "| recompiles 4→64: torch.compile(orig) | looplift eager | looplift auto |",
             "|---|---|---|---|---|---|---|---|"]
    for wl in workloads:
        cells = [_escape(wl.name)]
        for name in FIRST_CALL:
            v = wl.variants.get(name)
            if v is None:
                cells.append("–")
            else:
                text = _seconds(v.first_call) if v.first_call is not None else (v.first_call_status or "n/a")
                if v.first_call is not None and (v.first_call_deferred or 0) >= max(1.0, 0.2 * v.first_call):
                    text += f" ({_seconds(v.first_call_deferred)} at later calls)"
                if v.first_call is not None and v.first_call_status:
                    text += f" ({v.first_call_status})"
                cells.append(_escape(text))
        cells.append(_x(_first_call_ratio(wl)) if _first_call_ratio(wl) is not None else
                     _first_call_bound(wl))
        for name in FIRST_CALL:
            v = wl.variants.get(name)
            if v is None:
                cells.append("–")
            elif v.recompiles is None:
                cells.append(_escape(v.recompile_detail or ("not measured (first call > cap)"
                                                            if v.first_call_status.startswith(">") else "n/a")))
            else:
                capped = " (capped)" if "cap" in v.recompile_detail else ""
                cells.append(f"{'≥ ' if capped else ''}{v.recompiles}{capped}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _first_call_ratio(wl: WorkloadResult) -> float | None:
    auto, tc = wl.variants.get(LL_AUTO), wl.variants.get(TORCH_COMPILE)
    if auto is None or tc is None or auto.first_call is None or tc.first_call is None or tc.first_call <= 0:
        return None
    return auto.first_call / tc.first_call


def _first_call_bound(wl: WorkloadResult) -> str:
    auto, tc = wl.variants.get(LL_AUTO), wl.variants.get(TORCH_COMPILE)
    if auto is not None and tc is not None and auto.first_call is not None and tc.first_call_status.startswith(">"):
        cap = float(tc.first_call_status.split()[1])
        return f"< {auto.first_call / cap:.2g}×"
    return "n/a"


def targets(report: BenchReport, workloads: Sequence[WorkloadResult] | None = None) -> tuple[list[str], list[str]]:
    """The per-workload target table and the summary lines (issue 6: the core suite)."""
    lines = ["| workload | fastest correct alternative | auto ÷ fastest (≥ 0.9×) | auto vs original (≥ 0.95×) "
             "| first call ÷ torch.compile (≤ 0.2×) | recompiles (0) |",
             "|---|---|---|---|---|---|"]
    vs_best, vs_orig = [], []
    misses: dict[str, int] = {"speed": 0, "original": 0, "first": 0, "recompile": 0}
    for wl in (report.workloads if workloads is None else workloads):
        auto = wl.variants.get(LL_AUTO)
        best = wl.fastest_correct()
        if auto is None or best is None or auto.median is None:
            lines.append(f"| {wl.name} | {best[0] if best else 'n/a'} | n/a | n/a | n/a | n/a |")
            continue
        ratio = wl.speedup(LL_AUTO, best[0]) or best[1] / auto.median
        orig = wl.speedup(LL_AUTO)
        ok_best = auto.correct and ratio >= 0.9
        ok_orig = auto.correct and orig is not None and orig >= 0.95
        if auto.correct:
            vs_best.append(ratio)
            if orig is not None:
                vs_orig.append(orig)
        first = _first_call_ratio(wl)
        bound = _first_call_bound(wl)
        if first is not None:
            first_text, ok_first = f"{_x(first)} {'yes' if first <= 0.2 else 'no'}", first <= 0.2
        elif bound != "n/a":
            first_text, ok_first = f"{bound} yes", float(bound.split()[1].rstrip("×")) <= 0.2
        else:
            first_text, ok_first = "n/a", None
        rec = auto.recompiles
        rec_text = "n/a" if rec is None else f"{rec} {'yes' if rec == 0 else 'no'}"
        wrong = "" if auto.correct else f" ({auto.status})"
        lines.append(f"| {wl.name} | {best[0]} ({_ms(best[1])}) | {ratio:.2f}× {'yes' if ok_best else 'no'}{wrong} "
                     f"| {_x(orig)} {'yes' if ok_orig else 'no'} | {first_text} | {rec_text} |")
        misses["speed"] += not ok_best
        misses["original"] += not ok_orig
        misses["first"] += ok_first is False
        misses["recompile"] += rec is not None and rec != 0
    g_best, g_orig = _geomean(vs_best), _geomean(vs_orig)
    summary = [
        f"- geometric mean of looplift auto ÷ fastest correct alternative: {_x(g_best)} "
        f"({'meets' if g_best is not None and g_best >= 1.0 else 'misses'} the 1.0× target)",
        f"- geometric mean of looplift auto's speedup over the original: {_x(g_orig)}",
        f"- workloads where auto is below 0.9× of the fastest correct alternative: {misses['speed']}",
        f"- workloads where auto is more than 5% slower than the original: {misses['original']}",
        f"- workloads where auto's first call exceeds a fifth of torch.compile(orig)'s: {misses['first']}",
        f"- workloads where auto recompiled between lengths 4 and 64: {misses['recompile']}",
    ]
    if report.dispatch:
        d = report.dispatch
        summary.append(f"- dispatch overhead (CPU time): {d['overhead']:.0f} ns per call with a tensor argument "
                       f"({d['looplift']:.0f} ns decorated vs {d['plain']:.0f} ns plain), "
                       f"{d['overhead_list']:.0f} ns with a list of 16 tensors; target ≤ 1500 ns: "
                       f"{'met' if max(d['overhead'], d['overhead_list']) <= 1500 else 'missed'} "
                       f"(wall clock: {d['wall_overhead']:.0f} ns and {d['wall_overhead_list']:.0f} ns)")
    return lines, summary


def _cost_lines(explain_text: str) -> list[str]:
    return [line.strip() for line in explain_text.splitlines()
            if line.strip().startswith(("cost model:", "runs as the original code", "explain() raised"))]


def render(report: BenchReport) -> str:
    m, s = report.machine, report.settings
    out = [f"Machine: {m['cpus']} CPUs ({m['processor'] or m['machine']}), {m['platform']}; Python {m['python']}, "
           f"torch {m['torch']} ({m['torch_threads']} threads), NumPy {m['numpy']}; device {s['device']}"
           + (f" ({m['gpu']})" if m.get("gpu") else "") + f"; load average {m['load_before']} before, "
           f"{m['load_after']} after; commit {s.get('commit', 'unknown')}.",
           f"Settings: size `{s['size']}`, {s['rounds']} interleaved rounds, medians of "
           f"{'wall-clock' if s.get('timer', 'wall') == 'wall' else 'process CPU'} time; compile cap {s['cap']:.0f} s "
           f"(batch and eval suites: {s.get('batch_cap', s['cap']):.0f} s); run took {report.seconds:.0f} s.",
           "Host reads: reads of tensor data by the host (`.item()`, `float()`, `.tolist()`, `.numpy()`, "
           "`__array__`, device-to-host `.cpu()`/`.to()`, ...) in one steady-state call after the warm-up, "
           "counted with a `TorchFunctionMode` (`benchmarks/hostreads.py`); \"in looplift\": made inside "
           "looplift's package (its exits, where values leave lifted code)."]
    suites = {suite: [wl for wl in report.workloads if wl.suite == suite] for suite in SUITES}
    core, batch, evals = suites["core"], suites["batch"], suites["eval"]
    if core:
        out += ["", "#### Core suite (issue 6)", "",
                "Steady state: the original's median time per call, then each variant's speedup over it "
                "(higher is better):", ""]
        out += speed_table(core, ORIGINAL)
        if any(HAND in wl.variants for wl in core):
            out += ["", "The same medians as speedups over the hand-written eager torch version:", ""]
            out += speed_table(core, HAND)
        out += ["", "Host reads of tensor data per call:", ""] + reads_table(core)
        if any(v.first_call is not None or v.first_call_status for wl in core for v in wl.variants.values()):
            lengths = s.get("lengths") or [4, 8, 16, 32, 64]
            out += ["", "First call (transform + compile + one run, fresh process, empty inductor cache) and "
                    f"recompiles while the list length goes {' → '.join(map(str, lengths))} (graphs compiled + new "
                    "looplift specializations after the first length):", ""]
            out += [line.replace("4→64", f"{lengths[0]}→{lengths[-1]}") for line in compile_table(core)]
        table, summary = targets(report, core)
        out += ["", "Issue 6 targets, per workload (looplift auto):", ""] + table + [""] + summary
    if batch:
        table, summary = batch_table(batch)
        out += ["", "#### Batching suite (issue 15)", "",
                "Medians per call for the original and the hand-batched version (its speedup over the original "
                "in brackets), the other variants' speedups over the original, and looplift's speed relative to "
                "the hand-batched version (higher is better). \"batched\": whether the call with reads counted "
                "ran the loop as one batch (looplift's run-time paths).", ""] + table + [""] + summary
        out += ["", "Host reads of tensor data per call:", ""] + reads_table(batch)
    if evals:
        out += ["", "#### Evaluation loops (issue 13)", "",
                "The original's median time per call, then each variant's speedup over it:", ""]
        out += speed_table(evals, ORIGINAL)
        out += ["", "Host reads of tensor data per call (the expert's version, `hand eager`, reads once or "
                "twice: device accumulators, one `torch.cat`, one transfer):", ""] + reads_table(evals)
    if any(HAND in wl.variants and (LL_EAGER in wl.variants or LL_ALWAYS in wl.variants) for wl in core + evals):
        table, summary = eager_vs_hand_table(core + evals)
        out += ["", "#### Issue 14: looplift `compile=False` against the hand-written eager torch version", "",
                "Speed relative to hand eager (higher is better; ≥ 0.91× is within 10% of its time), specialized "
                "by default (the CPU cost model) and under `LOOPLIFT_LIFT=always` (lifting as on an accelerator); "
                "\"lifted?\": what the specialization did (from `explain()`). The target covers the core suite; "
                "the evaluation loops are shown for information.", ""] + table + [""] + summary
    notes = []
    for wl in report.workloads:
        for v in wl.variants.values():
            if v.status in ("wrong", "error"):
                notes.append(f"- {wl.name} / {v.name}: {v.status}: {_escape(v.detail)}")
            if v.respecialized:
                notes.append(f"- {wl.name} / {v.name}: {v.respecialized} new specialization(s) while timing")
    if notes:
        out += ["", "Variants that did not reproduce the original (or changed while timed):", ""] + notes
    decisions: dict[str, dict[str, list[str]]] = {}
    for wl in report.workloads:
        texts = wl.explain_variants or {LL_AUTO: wl.explain}
        for name, text in texts.items():
            if name == WHY_ALWAYS:
                continue
            for line in _cost_lines(text):
                decisions.setdefault(line, {}).setdefault(wl.name, []).append(name.removeprefix("looplift "))
    if decisions:
        out += ["", "looplift's cost model (from `explain()`), with the workloads (variants) it was given for:", ""]
        out += [f"- {_escape(line)}: " + ", ".join(f"{w} ({', '.join(v)})" for w, v in where.items())
                for line, where in decisions.items()]
    caught = [f"- {wl.name}: {_escape(w if len(w) <= 200 else w[:197] + '...')}"
              for wl in report.workloads for w in wl.warnings]
    if caught:
        out += ["", "looplift warnings (what ran as NumPy or as the original, and why):", ""] + caught
    regions = [f"- {wl.name}: {_escape(v.regions)}" for wl in report.workloads for v in wl.variants.values()
               if v.name == LL_AUTO and v.regions]
    if regions:
        out += ["", "looplift auto's compiled regions after warm-up (each times eager against compiled "
                "and keeps the faster):", ""] + regions
    return "\n".join(out) + "\n"


def load_report(path: str | os.PathLike[str]) -> BenchReport:
    """A report written with ``--json`` (to render it again without measuring)."""
    raw = json.loads(Path(path).read_text())
    report = BenchReport(raw["machine"], raw["settings"], dispatch=raw.get("dispatch", {}),
                         seconds=raw.get("seconds", 0.0))
    fields = {f.name for f in dataclasses.fields(VariantResult)}
    for w in raw["workloads"]:
        result = WorkloadResult(w["name"], w["title"], w["n"], warnings=w.get("warnings", []),
                                explain=w.get("explain", ""), suite=w.get("suite", "core"),
                                explain_variants=w.get("explain_variants", {}))
        for name, v in w["variants"].items():
            result.variants[name] = VariantResult(**{k: val for k, val in v.items() if k in fields})
        report.workloads.append(result)
    return report


# --------------------------------------------------------------------------- driver
def machine_info(device: str) -> dict[str, Any]:
    import numpy as np
    import torch

    info = {"cpus": os.cpu_count(), "processor": platform.processor(), "machine": platform.machine(),
            "platform": platform.platform(terse=True), "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "torch_threads": torch.get_num_threads(),
            "load_before": _load(), "load_after": ""}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _warn_if_loaded(threads: int) -> None:
    """torch's intra-op threads wait at every parallel region for a core that is busy elsewhere:
    on a loaded machine a 0.1 ms op can take 50-100 ms, and torch variants measure the scheduler."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return
    cpus = os.cpu_count() or 1
    if threads > 1 and load > 0.75 * cpus:
        logger.warning("load average %.1f on %d CPUs with %d torch threads: torch ops will wait for busy cores "
                       "and their timings will be far off; rerun on a quieter machine or with --threads 1 "
                       "--timer cpu", load, cpus, threads)


def _commit() -> str:
    """The git commit of the tree being measured (with ``+changes`` when it has uncommitted ones)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (" +changes" if dirty else "")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    names = list(W.WORKLOADS)
    parser.add_argument("--suite", action="append", choices=SUITES, metavar="NAME",
                        help=f"run only this suite (repeatable): {', '.join(SUITES)} (default: all)")
    parser.add_argument("--workload", action="append", choices=names, metavar="NAME",
                        help=f"run only this workload (repeatable): {', '.join(names)}")
    parser.add_argument("--variant", action="append", choices=VARIANTS, metavar="NAME",
                        help="run only this variant (repeatable; the original always runs): "
                             + ", ".join(VARIANTS))
    parser.add_argument("--rounds", type=int, metavar="N", help="interleaved timing rounds (default 30, quick 7)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few rounds (a fast look)")
    parser.add_argument("--size", choices=W.SIZES, help=argparse.SUPPRESS)  # "tiny" is for the smoke test
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE as Markdown")
    parser.add_argument("--json", metavar="FILE", help="also write the raw measurements to FILE")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the tensors live")
    parser.add_argument("--cap", type=float, default=120.0, metavar="SECONDS",
                        help="give up on a compile after this long (default 120)")
    parser.add_argument("--batch-cap", type=float, default=45.0, metavar="SECONDS",
                        help="the cap on torch.compile(original) in the batch and eval suites, whose loops it "
                             "unrolls over hundreds of items (default 45)")
    parser.add_argument("--no-first-call", action="store_true",
                        help="skip the first-call and recompile measurements (fresh processes)")
    parser.add_argument("--threads", type=int, metavar="N", help="torch.set_num_threads(N) (default: torch's)")
    parser.add_argument("--timer", choices=tuple(TIMERS), default="wall",
                        help="steady-state clock: wall (default) or this process's CPU time, steadier on a "
                             "machine shared with other jobs (use with --threads 1; CUDA always uses wall)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: render the tables of a run saved with --json FILE")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--lengths", help=argparse.SUPPRESS)
    return parser


def run_benchmarks(args: argparse.Namespace) -> BenchReport:
    """Measure what ``args`` selects; the report (``render`` turns it into the tables)."""
    import torch

    started = time.perf_counter()
    size = args.size or ("quick" if args.quick else "full")
    size_name, rounds, target, lengths = PROFILES[size]
    profile: tuple[Any, ...] = (size_name, max(1, args.rounds) if args.rounds is not None else rounds, target,
                                lengths)
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [ORIGINAL] + [v for v in VARIANTS if v != ORIGINAL and (not args.variant or v in args.variant)]
    names = [n for n in (args.workload or list(W.WORKLOADS))
             if not args.suite or W.WORKLOADS[n].suite in args.suite]
    _warn_if_loaded(torch.get_num_threads())
    timer = "wall" if args.device == "cuda" else args.timer
    report = BenchReport(machine_info(args.device),
                         {"size": size, "rounds": profile[1], "cap": args.cap, "device": args.device, "timer": timer,
                          "lengths": list(profile[3]),
                          "variants": variants, "workloads": names, "batch_cap": args.batch_cap,
                          "commit": _commit()})
    for i, name in enumerate(names, 1):
        wl = W.WORKLOADS[name]
        if args.device == "cuda" and not wl.cuda:
            logger.info("[%s] skipped on CUDA: %s", name, wl.note)
            continue
        logger.info("workload %d/%d: %s", i, len(names), wl.title)
        gc.collect()
        report.workloads.append(measure_workload(wl, profile, args.device, args.cap, variants,
                                                 not args.no_first_call, args.threads, TIMERS[timer],
                                                 compile_cap=args.batch_cap))
    logger.info("dispatch overhead")
    report.dispatch = dispatch_overhead(number=20_000 if size != "full" else 100_000, repeat=3 if size == "tiny" else 7)
    report.machine["load_after"] = _load()
    report.seconds = time.perf_counter() - started
    return report


def run(args: argparse.Namespace) -> int:
    """Entry point shared by ``benchmarks/run.py`` and ``python -m looplift bench``."""
    if args.child:
        workload, variant = args.child.split(":", 1)
        lengths = [] if args.lengths == "none" else [int(x) for x in (args.lengths or "4").split(",")]
        return child_main(workload, variant, args.size or "full", args.device, lengths, args.threads)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("looplift bench: --device cuda: CUDA is not available on this machine "
                  f"(torch {torch.__version__}); run without --device or on a GPU machine", file=sys.stderr)
            return 2
    if args.rounds is not None and args.rounds < 1:
        print("looplift bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    if not args.quiet:
        logger.setLevel(logging.INFO)
        if not logging.getLogger().handlers and not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("bench %(asctime)s %(message)s", "%H:%M:%S"))
            logger.addHandler(handler)
    report = load_report(args.from_json) if args.from_json else run_benchmarks(args)
    text = render(report)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
        logger.info("table written to %s", args.markdown)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1, default=str))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0]))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
