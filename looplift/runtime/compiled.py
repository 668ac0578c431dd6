"""A lifted region of a loop body, run through ``torch.compile`` when that works.

The region is a pure function of its inputs (registry operations only), so when the compiled
version fails, for any reason, running the eager version on the same inputs repeats nothing
observable and gives NumPy's exact result or exception.  After a failure the region stays
eager; a warning says so once.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Callable

import torch

from ..errors import LoopliftWarning

logger = logging.getLogger("looplift")
Tensor = torch.Tensor
_SCALARS = (int, float, bool)


def compile_available() -> bool:
    return hasattr(torch, "compile")


class CompiledRegion:
    """Calls ``torch.compile(eager, dynamic=True)`` on tensor inputs, ``eager`` otherwise."""

    def __init__(self, eager: Callable[..., Any], label: str):
        self.eager = eager
        self.label = label
        self.compiled: Callable[..., Any] | None = None
        self.failed = not compile_available()
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        if self.failed or not all(type(a) is Tensor or type(a) in _SCALARS for a in args):
            return self.eager(*args)
        if self.compiled is None:
            self.compiled = torch.compile(self.eager, dynamic=True, fullgraph=False)
        try:
            result = self.compiled(*args)
        except Exception as exc:
            self.failed = True
            logger.info("compiled region %s failed (%r); running it eagerly", self.label, exc)
            warnings.warn(f"looplift: torch.compile of the region at {self.label} failed "
                          f"({type(exc).__name__}); it runs eagerly", LoopliftWarning, stacklevel=2)
            return self.eager(*args)
        self.calls += 1
        return result
