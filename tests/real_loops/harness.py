"""Running a realistic loop original vs decorated, counting host reads and lifted paths.

``HostReads`` is a ``TorchFunctionMode`` that records every read of tensor data by the host
(each one a device sync on an accelerator): ``.item()``, ``.tolist()``, ``.numpy()``,
``bool``/``float``/``int``/``index``/``format``/``repr`` of a tensor, ``np.asarray(t)``
(``__array__``), ``torch.equal``/``allclose``, and ``.cpu()``/``.to(...)`` of a tensor that is not
on the CPU already.  Reads made by ``torch.utils.data`` itself (a DataLoader's ``.item()`` of its
base seed at each ``iter(loader)``) are counted apart: they are the same for every version.  All of these reach ``__torch_function__`` on torch 2.x (checked in
``test_real_loops.py::test_counter_sees_every_read``).
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from looplift import LoopliftWarning, looplift
from looplift import testing
from looplift.runtime import paths

#: Method names that read tensor data on the host.
READ_NAMES = frozenset({"item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__",
                        "__array__", "__format__", "__repr__", "equal", "allclose", "__complex__"})


def _is_device_move(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """``t.cpu()`` / ``t.to("cpu")`` of a tensor that is not on the CPU: a device-to-host copy."""
    if not args or not isinstance(args[0], torch.Tensor) or args[0].device.type == "cpu":
        return False
    if name == "cpu":
        return True
    if name == "to":
        targets = [*args[1:], kwargs.get("device")]
        return any(isinstance(t, (str, torch.device)) and torch.device(t).type == "cpu" for t in targets)
    return False


def _site() -> str:
    """Where a read comes from: the innermost frame in looplift's runtime, else in the loops."""
    import sys

    frame = sys._getframe(2)
    user = None
    while frame is not None:
        name = frame.f_code.co_filename
        if "/looplift/runtime/" in name:
            return f"looplift.{frame.f_code.co_name}"
        if user is None and "real_loops/loops.py" in name:
            user = f"line {frame.f_lineno}"
        frame = frame.f_back
    return user or "?"


def _in_data_loader() -> bool:
    """The read is made by ``torch.utils.data`` itself (a DataLoader draws its base seed with
    ``.item()`` at each ``iter(loader)``): the loader's cost, the same for every version of a loop."""
    import sys

    frame = sys._getframe(2)
    for _ in range(6):
        if frame is None:
            return False
        name = frame.f_code.co_filename
        if "torch/utils/data/" in name:
            return True
        if "torch/" not in name:
            return False
        frame = frame.f_back
    return False


def _exit_call() -> Any:
    """The frame of the outermost ``materialize``/``batched`` call of looplift's runtime the read is
    made in (None outside them).  On a device, everything one such call hands back crosses in
    one transfer; on the CPU it makes one ``.numpy()`` per tensor."""
    import sys

    frame = sys._getframe(2)
    found = None
    while frame is not None:
        code = frame.f_code
        if "/looplift/runtime/" in code.co_filename and code.co_name in ("materialize", "batched"):
            found = frame
        frame = frame.f_back
    return found


class HostReads(TorchFunctionMode):
    """Counts host reads of tensor data while active; ``reads`` lists their names in order.
    Reads made inside ``torch.utils.data`` are counted apart (``loader_reads``).  ``device_count``
    counts the reads made inside one of looplift's exits (one ``materialize``) once: what a device
    would pay, where an exit packs every tensor into one transfer."""

    def __init__(self, where: bool = False) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.where = where
        self.sites: list[str] = []
        self.loader_reads = 0
        self.exits: list[Any] = []  # the exits' frames, kept alive (so that none is taken for another)
        self.merged = 0

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in READ_NAMES or _is_device_move(name, args, kwargs):
            if _in_data_loader():
                self.loader_reads += 1
                return func(*args, **kwargs)
            self.reads.append(name)
            exit_call = _exit_call()
            if exit_call is not None:
                if any(exit_call is f for f in self.exits):
                    self.merged += 1
                else:
                    self.exits.append(exit_call)
            if self.where:
                self.sites.append(f"{name}@{_site()}")
        return func(*args, **kwargs)

    @property
    def count(self) -> int:
        return len(self.reads)

    @property
    def device_count(self) -> int:
        return len(self.reads) - self.merged


@dataclass
class Counted:
    """``fn`` wrapped so that each call is counted (host reads and path notes) and starts from a
    fixed RNG state (loops that draw dropout noise must draw the same on both sides)."""

    fn: Callable[..., Any]
    seed: int = 0
    where: bool = False
    reads: list[list[str]] = field(default_factory=list)
    device_reads: list[int] = field(default_factory=list)
    paths: list[dict[str, int]] = field(default_factory=list)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        paths.COUNTS.clear()
        host = HostReads(self.where)
        try:
            with host:
                return self.fn(*args, **kwargs)
        finally:
            self.reads.append(host.sites if self.where else host.reads)
            self.device_reads.append(host.device_count)
            self.paths.append(dict(paths.COUNTS))


@contextlib.contextmanager
def counting_paths():
    previous = paths.ENABLED
    paths.ENABLED = True
    try:
        yield
    finally:
        paths.ENABLED = previous
        paths.COUNTS.clear()


@dataclass
class Run:
    """What one mode's run of a loop produced: per call, reads and paths of both sides."""

    original: Counted
    decorated: Counted
    fn: Callable[..., Any]
    warnings: list[str]
    mismatches: list[BaseException] = field(default_factory=list)
    """``testing.Mismatch`` per call that differed (with ``keep_going``; else the first is raised)."""

    @property
    def reads_original(self) -> int:
        return len(self.original.reads[-1])

    @property
    def reads_decorated(self) -> int:
        return len(self.decorated.reads[-1])


def run_mode(fn: Callable[..., Any], make_args: Callable[[], tuple[Any, ...]], calls: int = 2,
             where: bool = False, keep_going: bool = False, **options: Any) -> Run:
    """A freshly decorated ``fn`` against ``fn`` for ``calls`` calls (each on fresh arguments),
    compared by ``looplift.testing.compare_calls``; reads and paths recorded per call."""
    decorated = looplift(fn, **options)
    original_c, decorated_c = Counted(fn, where=where), Counted(decorated, where=where)
    caught: list[str] = []
    mismatches: list[BaseException] = []
    with counting_paths(), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", LoopliftWarning)
        for _ in range(calls):
            try:
                testing.compare_calls(original_c, decorated_c, make_args(), reference=fn)
            except testing.Mismatch as exc:
                if not keep_going:
                    raise
                mismatches.append(exc)
        caught = [str(x.message) for x in w if issubclass(x.category, LoopliftWarning)]
    return Run(original_c, decorated_c, decorated, caught, mismatches)


def count_reads(fn: Callable[..., Any], args: tuple[Any, ...]) -> int:
    counted = Counted(fn)
    testing.run(counted, args)
    return len(counted.reads[-1])


def lifted_paths(counts: Mapping[str, int]) -> bool:
    """A call took a lifted path: a conversion kept as a tensor, a read deferred, a lowered op, a
    batch."""
    return any(counts.get(k, 0) for k in ("lift.hit", "op.tensor", "read.deferred", "batch.run"))


@contextlib.contextmanager
def lift_mode(mode: str):
    """``LOOPLIFT_LIFT=<mode>`` while the block runs (read when a specialization is built)."""
    import os

    previous = os.environ.get("LOOPLIFT_LIFT")
    os.environ["LOOPLIFT_LIFT"] = mode
    try:
        yield
    finally:
        if previous is None:
            del os.environ["LOOPLIFT_LIFT"]
        else:
            os.environ["LOOPLIFT_LIFT"] = previous


@dataclass
class CaseRun:
    """One loop in one mode (``run_case``): ``steady`` (always mode only) and ``resumed``, whose
    FIRST call runs the long loop (observing, then resuming specialized)."""

    mode: str
    steady: Run | None = None
    resumed: Run | None = None
    error: BaseException | None = None
    report: Any = None

    @property
    def mismatches(self) -> list[BaseException]:
        return [m for run in (self.steady, self.resumed) if run is not None for m in run.mismatches]

    def all_calls(self) -> list[tuple[list[str], list[str]]]:
        out = []
        for run in (self.steady, self.resumed):
            if run is not None:
                out.extend(zip(run.original.reads, run.decorated.reads))
        return out


def run_case(case: Any, mode: str) -> CaseRun:
    """With ``LOOPLIFT_LIFT=always``: a decorated copy called short, short, long (``steady``: the
    second call runs the full specialization; its reads are the ones the tables record), then
    another copy whose first call runs the long loop (``resumed``).  In the default mode (where
    nothing is lifted on the CPU) one copy called long, short, short covers both."""
    from looplift import explain

    result = CaseRun(mode)
    with lift_mode(mode):
        try:
            if mode == "always":
                sequence = iter([case.short, case.short, case.long])
                result.steady = run_mode(case.fn, lambda: case.make(next(sequence)), calls=3, keep_going=True)
                result.report = explain(result.steady.fn, *case.make(case.short))
            sequence2 = iter([case.long, case.short, case.short] if mode != "always" else [case.long, case.short])
            result.resumed = run_mode(case.fn, lambda: case.make(next(sequence2)),
                                      calls=3 if mode != "always" else 2, keep_going=True)
        except BaseException as exc:  # recorded; the tests that need the run raise it
            result.error = exc
    return result
