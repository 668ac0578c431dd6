"""A region at run time: lowered torch code behind a guard, and the original code beside it.

The rewritten function calls a region with its inputs.  When every input is what the lowering
assumed (the guard: dtype, rank and Python type, checked without reading tensor data) the
lowered torch code runs; when an input is not (a guard upstream kept it in NumPy, an observed type
did not hold) or the torch code raises (NumPy would raise too: shapes that do not broadcast, an
index out of range; or a condition ``require`` checks on a Python operand fails), the region's
*twin*, its original statements, runs on the NumPy form of the inputs and gives the original's
result or exception.  Region code is pure, so running the twin after the torch code started
repeats nothing a user can observe.
"""
from __future__ import annotations

from typing import Any, Callable

from . import paths
from .convert import materialize
from .state import NotBatchable, batching


class Fallback(Exception):
    """Raised by lowered code where a condition on a Python operand does not hold."""


def require(condition: bool) -> None:
    """In lowered code: continue only if ``condition`` (a check of Python values) holds."""
    if not condition:
        raise Fallback


class Region:
    """A callable region (see the module docstring)."""

    __slots__ = ("lowered", "eager", "twin", "guard", "label")

    def __init__(self, lowered: Callable[..., Any], twin: Callable[..., Any], guard: Callable[..., bool],
                 label: str, eager: Callable[..., Any] | None = None) -> None:
        """``lowered`` may be compiled; ``eager`` is the plain lowered function (a batch runs it)."""
        self.lowered = lowered
        self.eager = eager if eager is not None else lowered
        self.twin = twin
        self.guard = guard
        self.label = label

    def __call__(self, *args: Any) -> Any:
        if self.guard(*args):
            try:
                result = self.eager(*args) if batching() else self.lowered(*args)
            except Exception:
                if batching():
                    raise
            else:
                if paths.ENABLED:
                    paths.note("op.tensor")
                return result
        elif batching():
            raise NotBatchable
        if paths.ENABLED:
            paths.note("op.numpy")
        return self.twin(*map(materialize, args))  # NumPy's answer, or NumPy's error

    def __repr__(self) -> str:
        return f"<looplift region {self.label}>"
