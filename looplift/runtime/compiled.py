"""A lifted region of a loop body, run through ``torch.compile`` when that pays.

The region is a pure function of its inputs (registry operations only), so when the compiled
version fails, for any reason, running the eager version on the same inputs repeats nothing
observable and gives NumPy's exact result or exception.

Whether compiling pays is measured, not guessed: the first calls run eagerly and are timed,
then the region is compiled (that call's time excluded) and the next calls are timed; the
faster version (time per input element, median) is kept.  A compiled region costs ~10 us per
call, so small work stays eager.
"""
from __future__ import annotations

import logging
import statistics
import time
import warnings
from typing import Any, Callable

import torch

from ..errors import LoopliftWarning

logger = logging.getLogger("looplift")
Tensor = torch.Tensor
_SCALARS = (int, float, bool)
SAMPLES = 3


def compile_available() -> bool:
    return hasattr(torch, "compile")


class CompiledRegion:
    """``eager`` with its ``torch.compile``d twin; see the module docstring for the choice."""

    def __init__(self, eager: Callable[..., Any], label: str, *, measure: bool = True):
        """``measure=False`` (``compile=True``) compiles at the first call and keeps it."""
        self.eager = eager
        self.label = label
        self.compiled: Callable[..., Any] | None = None
        self.state = ("measuring" if measure else "compiling") if compile_available() else "eager"
        self.eager_times: list[float] = []
        self.compiled_times: list[float] = []

    def __call__(self, *args: Any) -> Any:
        if self.state == "eager" or not all(type(a) is Tensor or type(a) in _SCALARS for a in args):
            return self.eager(*args)
        if self.state == "compiled":
            return self._compiled(args)
        if self.state == "compiling":
            self.compiled = torch.compile(self.eager, dynamic=True)
            self.state = "compiled"
            return self._compiled(args)
        return self._measure(args)

    def _compiled(self, args: tuple[Any, ...]) -> Any:
        assert self.compiled is not None
        try:
            return self.compiled(*args)
        except Exception as exc:
            self.state = "eager"
            logger.info("compiled region %s failed (%r); it runs eagerly from now on", self.label, exc)
            warnings.warn(f"looplift: torch.compile of the region at {self.label} failed "
                          f"({type(exc).__name__}); it runs eagerly", LoopliftWarning, stacklevel=3)
            return self.eager(*args)

    def _measure(self, args: tuple[Any, ...]) -> Any:
        size = max(1, sum(a.numel() for a in args if type(a) is Tensor))
        if len(self.eager_times) < SAMPLES:
            start = time.perf_counter()
            result = self.eager(*args)
            self.eager_times.append((time.perf_counter() - start) / size)
            return result
        if self.compiled is None:
            self.compiled = torch.compile(self.eager, dynamic=True)
            return self._compiled(args)  # includes compiling: not timed
        start = time.perf_counter()
        result = self._compiled(args)
        if self.state == "measuring":
            self.compiled_times.append((time.perf_counter() - start) / size)
            if len(self.compiled_times) >= SAMPLES:
                faster = statistics.median(self.compiled_times) < statistics.median(self.eager_times)
                self.state = "compiled" if faster else "eager"
                logger.info("region %s: %s (eager %.3g s/elem, compiled %.3g s/elem)", self.label,
                            self.state, statistics.median(self.eager_times),
                            statistics.median(self.compiled_times))
        return result
