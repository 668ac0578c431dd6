"""A lifted region of a loop body, run through ``torch.compile`` when that pays.

The region is a pure function of its inputs (registry operations only), so when the compiled
version fails, for any reason, running the eager version on the same inputs repeats nothing
observable and gives NumPy's exact result or exception.

"Eager" is the region's *baseline*: eager torch ops where the data lives on an accelerator, and
on the CPU NumPy itself (the region's *NumPy twin*, which calls each registry entry's NumPy
reference): the region's tensors go in as the arrays they share memory with, so it runs exactly
the original code.
On a CPU mid-sized eager torch ops lose to NumPy (2x on ``np.mean(a * a - 0.5 * a)`` at 65,536
elements, one thread), so the only torch worth running there is a compiled, fused one, and until
it is ready, or where it loses, the original NumPy runs.  The lifted code around a region takes
NumPy values wherever it takes lifted ones (as after a guard that kept a value in NumPy).

Whether compiling pays is measured, not guessed, and never makes a call wait for the compiler
(``compile="auto"``):

1. *warming*: the region runs eagerly and adds up its time.  Compiling costs seconds of CPU, so
   it starts only once the region has spent ``COMPILE_AFTER_S`` eagerly (a region that runs a
   few times never pays for a compiler);
2. *waiting*: a background thread (one for the process, so compiles never overlap) compiles the
   region for the current inputs' shapes while the calls keep running eagerly.  Static shapes
   give inductor's fastest kernels (about 15% faster than ``dynamic=True`` on a fused chain
   here); a call whose shapes differ runs eagerly and asks, once, for a ``dynamic=True``
   compile, also in the background, which then serves every other shape.  So no call ever
   waits for dynamo to recompile;
3. *measuring*: after ``QUIET_S`` of untimed compiled calls, calls alternate between eager and
   compiled in blocks of ``BLOCK`` calls (alternating cancels the drift of a shared machine;
   the first call of each block is not kept, since here the first compiled calls after other
   work ran up to 5x slower than the next ones) until each side has ``SAMPLES`` timings per
   input element by two clocks: the wall clock (what the user waits for) and the process's CPU
   time (all its threads: a kernel spread over threads is not free, and other processes cannot
   inflate it; the thread's own CPU time proved unreliable on this VM);
4. *compiled* or *eager* (the baseline), for good: compiled only where its medians are below
   ``MARGIN`` times the baseline's by both clocks.  Anything closer keeps the baseline, which on
   the CPU is the original code: a wrong "compiled" measured here once made ``accum`` 0.58x of
   the original.

``compile=True`` compiles at the first call, in the calling thread, and keeps it.  A compile or
compiled call that fails sends the region to eager for good, with one ``LoopliftWarning``.
"""
from __future__ import annotations

import os
import queue
import statistics
import threading
import time
import warnings
from concurrent.futures import Future
from typing import Any, Callable

import numpy as np
import torch

from ..dtypes import LIFTABLE_NP_DTYPES
from .. import logs
from ..errors import LoopliftWarning
from ..registry.coerce import to_numpy

logger = logs.compile
Tensor = torch.Tensor
_SCALARS = (int, float, bool)

#: Eager seconds a region spends before its compile starts (``compile="auto"``).
COMPILE_AFTER_S = 0.25
#: Timings per side (eager, compiled) before the choice, taken in blocks of ``BLOCK`` calls.
SAMPLES = 12
BLOCK = 5
#: How much faster (both clocks, medians) compiled code must be to be kept: by a quarter.  Here
#: a region that measured 10% faster compiled (``accum``: 55 us a call either way) ran 1.4x
#: slower inside the real loop, while the regions that really win do so by 2x (``seed``).
MARGIN = 0.75
#: Seconds after a compile finishes before timing starts: the compiler's worker processes and
#: caches are still busy then, and slowed both sides 2-3x in measurements here.
QUIET_S = 1.0


def compile_available() -> bool:
    return hasattr(torch, "compile")


def _tensor_args(args: tuple[Any, ...], from_numpy: bool) -> tuple[Any, ...] | None:
    """The arguments as the compiled side takes them (tensors and Python numbers), or None when
    one cannot be: with ``from_numpy``, NumPy arrays and scalars become tensors over the same
    memory (what the NumPy baseline returns flows back in here, as in ``acc = f(acc, a)``)."""
    if all(type(a) is Tensor or type(a) in _SCALARS for a in args):
        return args
    if not from_numpy:
        return None
    converted = []
    for a in args:
        if type(a) is Tensor or type(a) in _SCALARS:
            converted.append(a)
        elif isinstance(a, (np.ndarray, np.generic)) and a.dtype in LIFTABLE_NP_DTYPES and \
                (isinstance(a, np.generic) or (a.flags.writeable and min(a.strides, default=0) >= 0)):
            converted.append(torch.from_numpy(np.asarray(a)))
        else:
            return None
    return tuple(converted)


def _size(args: tuple[Any, ...]) -> int:
    return max(1, sum(a.numel() for a in args if type(a) is Tensor))


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _layout(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a statically compiled graph is specialized on (dynamo guards on it): each tensor's
    dtype, device, grad flag, sizes and strides, each number's type and value, the grad mode."""
    return (torch.is_grad_enabled(), *((a.dtype, a.device, a.requires_grad, a.shape, a.stride())
                                       if type(a) is Tensor else (type(a), a) for a in args))


class _Compiler:
    """One daemon thread that compiles regions in turn.  Daemon: a process that ends while a
    compile is under way does not wait for a result nobody will use."""

    def __init__(self) -> None:
        self.start_afresh()

    def start_afresh(self) -> None:
        """No thread, no jobs.  Also what a forked child does: the parent's thread is not there
        (a compile the parent had under way never finishes in the child, so its region keeps
        running its baseline)."""
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.put((job, future))
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="looplift-compile", daemon=True)
                self.thread.start()
        return future

    def run(self) -> None:
        while True:
            job, future = self.jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as exc:  # the region sees it at its next call
                    logger.info("a background compile failed: %r", exc)
                    future.set_exception(exc)


_COMPILER = _Compiler()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_COMPILER.start_afresh)


class CompiledRegion:
    """``eager`` with its ``torch.compile``d twin; see the module docstring for the choice."""

    def __init__(self, eager: Callable[..., Any], label: str, *, measure: bool = True,
                 numpy_twin: Callable[..., Any] | None = None, compile_options: dict[str, Any] | None = None,
                 preset: str | None = None):
        """``measure=False`` (``compile=True``) compiles at the first call and keeps it;
        ``numpy_twin`` (CPU data: the region calling NumPy's references) is then the side that
        compiled code must beat, on the NumPy values of the arguments."""
        self.eager = eager
        self.options = dict(compile_options or {})  # torch.compile's keywords (``mode=``, ``backend=``, ...)
        self.numpy_twin = numpy_twin
        self.baseline = self._in_numpy if numpy_twin is not None else eager
        self.label = label
        self.compiled: Callable[..., Any] | None = None  # compile=True: dynamic=True, any shape
        self.static: Callable[..., Any] | None = None  # compile="auto": for the shapes of
        self.static_layout: tuple[Any, ...] | None = None  # ... this layout
        self.dynamic: Callable[..., Any] | None = None  # compile="auto": every other shape
        self.state = ("warming" if measure else "compiling") if compile_available() else "eager"
        #: A choice an earlier process measured (``diskcache``): "eager" from the start, or
        #: "compiled" as soon as a compile is ready, without measuring again.
        self.preset = preset
        if preset == "eager":
            self.state = "eager"
        self.eager_spent = 0.0
        self.pending: Future[Any] | None = None
        self.pending_dynamic: Future[Any] | None = None
        self.measure_from = 0.0  # time.monotonic() when measuring may start (``QUIET_S``)
        self.measured = 0  # calls made while measuring: blocks of ``BLOCK``, eager first
        self.eager_times: list[tuple[float, float]] = []  # (wall, CPU) seconds per element
        self.compiled_times: list[tuple[float, float]] = []
        self.lock = threading.Lock()
        #: Called once the region has chosen compiled or eager for good (see ``pipeline``).
        self.on_settle: Callable[[], None] | None = None

    def __call__(self, *args: Any) -> Any:
        state = self.state
        if state == "eager":
            return self.baseline(*args)
        tensors = _tensor_args(args, self.numpy_twin is not None)
        if tensors is None:
            if state == "warming":  # inputs a guard kept in NumPy: nothing to compile
                logger.debug("region %s: NumPy inputs; it runs eagerly", self.label)
                self._settle("eager")
            return self.baseline(*args)
        if state == "compiled":
            return self._compiled(args, tensors)
        if state == "measuring":
            return self._measure(args, tensors)
        if state == "compiling":
            with self.lock:
                if self.compiled is None:
                    self.compiled = torch.compile(self.eager, **{"dynamic": True, **self.options})
                    self.state = "compiled"
            return self._run(self.compiled, args, tensors)
        if state == "waiting":
            assert self.pending is not None
            if self.pending.done():
                self._collect()
            return self.baseline(*args)
        return self._warm(args, tensors)

    def _in_numpy(self, *args: Any) -> Any:
        """The region on the NumPy values its arguments stand for: the original NumPy code."""
        assert self.numpy_twin is not None
        return self.numpy_twin(*map(to_numpy, args))

    # --------------------------------------------------------------------------- the stages
    def _warm(self, args: tuple[Any, ...], tensors: tuple[Any, ...]) -> Any:
        start = time.perf_counter()
        result = self.baseline(*args)
        self.eager_spent += time.perf_counter() - start
        if self.eager_spent >= COMPILE_AFTER_S or self.preset == "compiled":
            with self.lock:
                if self.state == "warming":
                    self.state = "waiting"
                    self.static_layout = _layout(tensors)
                    self.pending = _COMPILER.submit(self._compile_job(tensors, dynamic=False))
        return result

    def _compile_job(self, args: tuple[Any, ...], dynamic: bool) -> Callable[[], Callable[..., Any]]:
        """Compile on copies of ``args`` (the caller may write its tensors in place meanwhile),
        with their strides and grad flags, under the caller's grad mode (dynamo guards on all
        three: anything else would make the calling thread recompile)."""
        copies = tuple(torch.empty_strided(a.shape, a.stride(), dtype=a.dtype, device=a.device)
                       .copy_(a.detach()).requires_grad_(a.requires_grad) if type(a) is Tensor else a
                       for a in args)
        grad = torch.is_grad_enabled()
        threads = torch.get_num_threads()
        eager = self.eager
        options = {**self.options, "dynamic": dynamic}

        def job() -> Callable[..., Any]:
            # the thread count is per thread (OpenMP), and inductor builds it into CPU kernels
            torch.set_num_threads(threads)
            compiled = torch.compile(eager, **options)
            with torch.set_grad_enabled(grad):
                compiled(*copies)
            return compiled

        return job

    def _collect(self) -> None:
        """The background compile has finished: measure it, or stay eager if it failed."""
        assert self.pending is not None
        with self.lock:
            if self.state != "waiting":
                return
            error = self.pending.exception()
            if error is None:
                self.static = self.pending.result()
                if self.preset == "compiled":
                    self._settle("compiled")
                    logger.info("region %s: compiled (measured faster in an earlier process)", self.label)
                else:
                    self.measure_from = time.monotonic() + QUIET_S
                    self.state = "measuring"
                    logger.debug("region %s: compiled in the background; measuring", self.label)
            else:
                self._give_up(error)
            self.pending = None

    def _measure(self, args: tuple[Any, ...], tensors: tuple[Any, ...]) -> Any:
        if _layout(tensors) != self.static_layout:
            return self.baseline(*args)  # only like against like is timed
        assert self.static is not None
        if time.monotonic() < self.measure_from:  # let the compiler quieten down: not timed
            return self._run(self.static, args, tensors)
        block, position = divmod(self.measured, BLOCK)
        compiled_turn = block % 2 == 1
        wall, cpu = _clocks()
        result = self._run(self.static, args, tensors) if compiled_turn else self.baseline(*args)
        wall_end, cpu_end = _clocks()
        size = _size(tensors)
        with self.lock:
            if self.state != "measuring":
                return result
            self.measured += 1
            if position:  # the first call of a block is not kept
                (self.compiled_times if compiled_turn else self.eager_times).append(
                    ((wall_end - wall) / size, (cpu_end - cpu) / size))
            if len(self.compiled_times) >= SAMPLES and len(self.eager_times) >= SAMPLES:
                self._choose()
        return result

    def _choose(self) -> None:
        eager = [statistics.median(t[i] for t in self.eager_times) for i in (0, 1)]
        compiled = [statistics.median(t[i] for t in self.compiled_times) for i in (0, 1)]
        faster = all(c <= MARGIN * e for c, e in zip(compiled, eager))
        self._settle("compiled" if faster else "eager")
        logger.info("region %s: %s (per element, wall/CPU: eager %.3g/%.3g s, compiled %.3g/%.3g s)",
                    self.label, self.state, *eager, *compiled)

    def _compiled(self, args: tuple[Any, ...], tensors: tuple[Any, ...]) -> Any:
        """The compiled state: ``compile=True``'s graph, or the static graph where the layout
        matches, else the dynamic one (compiled in the background at the first mismatch)."""
        if self.compiled is not None:
            return self._run(self.compiled, args, tensors)
        if self.static is not None and _layout(tensors) == self.static_layout:
            return self._run(self.static, args, tensors)
        if self.dynamic is not None:
            return self._run(self.dynamic, args, tensors)
        pending = self.pending_dynamic
        if pending is None:
            with self.lock:
                if self.pending_dynamic is None:
                    self.pending_dynamic = _COMPILER.submit(self._compile_job(tensors, dynamic=True))
        elif pending.done() and pending.exception() is None:  # a failed one leaves other shapes eager
            self.dynamic = pending.result()
        return self.baseline(*args)

    def _run(self, compiled: Callable[..., Any], args: tuple[Any, ...], tensors: tuple[Any, ...]) -> Any:
        try:
            return compiled(*tensors)
        except Exception as exc:
            with self.lock:
                if self.state != "eager":
                    self._give_up(exc)
            return self.baseline(*args)

    def _settle(self, state: str) -> None:
        self.state = state
        if self.on_settle is not None:
            self.on_settle()

    def _give_up(self, error: BaseException) -> None:
        self._settle("eager")
        logger.info("compiled region %s failed (%r); it runs eagerly from now on", self.label, error)
        warnings.warn(f"looplift: torch.compile of the region at {self.label} failed "
                      f"({type(error).__name__}); it runs eagerly", LoopliftWarning, stacklevel=4)
