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

import numpy as np
import torch

from . import paths
from .convert import materialize
from .state import NotBatchable, batching

Tensor = torch.Tensor


class Fallback(Exception):
    """Raised by lowered code where a condition on a Python operand does not hold."""


def require(condition: bool) -> None:
    """In lowered code: continue only if ``condition`` (a check of Python values) holds."""
    if not condition:
        raise Fallback


class Region:
    """A callable region (see the module docstring)."""

    __slots__ = ("lowered", "eager", "twin", "guard", "label", "adopt")

    def __init__(self, lowered: Callable[..., Any], twin: Callable[..., Any], guard: Callable[..., bool],
                 label: str, eager: Callable[..., Any] | None = None, adopt: tuple[int, ...] = ()) -> None:
        """``lowered`` may be compiled; ``eager`` is the plain lowered function (a batch runs it);
        ``adopt``: the positions of lifted-array inputs that may still arrive as NumPy."""
        self.lowered = lowered
        self.eager = eager if eager is not None else lowered
        self.twin = twin
        self.guard = guard
        self.label = label
        self.adopt = adopt

    def __call__(self, *args: Any) -> Any:
        inputs = args
        accepted = self.guard(*args)
        if not accepted and self.adopt and not batching():
            adopted = _adopted(args, self.adopt)
            if adopted is not None and self.guard(*adopted):
                inputs, accepted = adopted, True
        if accepted:
            try:
                result = self.eager(*inputs) if batching() else self.lowered(*inputs)
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


def _adopted(args: tuple[Any, ...], positions: tuple[int, ...]) -> tuple[Any, ...] | None:
    """``args`` with the NumPy arrays at ``positions`` made tensors on the device of the tensor
    inputs (sharing memory on the CPU: region code never writes into its inputs); None when one
    cannot be (negative strides, a dtype torch lacks)."""
    device = next((a.device for a in args if type(a) is Tensor), None)
    out = list(args)
    for i in positions:
        x = out[i]
        if type(x) is np.ndarray or (isinstance(x, np.generic) and type(x).__module__ == "numpy"):
            array = np.asarray(x)
            try:
                tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
            except (TypeError, ValueError):
                return None
            out[i] = tensor if device is None or device.type == "cpu" else tensor.to(device)
    return tuple(out)
