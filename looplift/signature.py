"""Stage 3: the specialization key of a call, and the abstract values it stands for.

The key must be cheap (it is computed on every call) and hashable, must not keep tensors
alive, and must separate every pair of calls that the analysis would treat differently.  Per
argument: tensors give (dtype, on the CPU or not, ndim, requires_grad, size class), arrays (dtype, ndim,
size class), lists and tuples the key of their first element, scalars their type.  Shapes stay
out of the key, except the size class that the cost model reads: lifting tiny arrays into torch
costs more than it saves on a CPU.  Elements after the first are not inspected: the rewritten
code guards every conversion at run time, so an odd element falls back to NumPy for itself.
"""
from __future__ import annotations

from typing import Any, Hashable

import numpy as np
import torch

from .analysis.values import AV, BOTTOM, ListV, TupleV, from_runtime

Tensor = torch.Tensor
ndarray = np.ndarray

#: Below this many elements a CPU value is "small": NumPy's per-call overhead is lower than torch's.
SMALL_NUMEL = 1 << 14


def _value_key(value: Any) -> Hashable:
    cls = type(value)
    if cls is Tensor or isinstance(value, Tensor):
        return (cls, value.dtype, value.is_cpu, value.dim(), value.requires_grad,
                value.numel() >= SMALL_NUMEL)
    if cls is ndarray:
        return (cls, value.dtype, value.ndim, value.size >= SMALL_NUMEL)
    if cls is list or cls is tuple:
        return (cls, _value_key(value[0]) if value else None)
    return cls


def key_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """The cache key of a call (see the module docstring)."""
    key = tuple(map(_value_key, args))
    if kwargs:
        key += tuple((name, _value_key(kwargs[name])) for name in sorted(kwargs))
    return key


def abstract_of(value: Any) -> AV:
    """The abstract value the analysis assumes for an argument with this key."""
    if isinstance(value, (list, tuple)):
        elem = abstract_of(value[0]) if value else BOTTOM
        return ListV(elem, local=False) if isinstance(value, list) else TupleV(None, elem)
    return from_runtime(value)


def is_small(value: Any) -> bool:
    """The cost model's size class of one argument (first element of a list)."""
    if isinstance(value, (list, tuple)):
        return not value or is_small(value[0])
    if isinstance(value, Tensor):
        return value.device.type == "cpu" and value.numel() < SMALL_NUMEL
    if isinstance(value, ndarray):
        return value.size < SMALL_NUMEL
    return True

