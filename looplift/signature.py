"""Stage 3: the specialization key of a call, and the abstract values it stands for.

The key must be cheap (it is computed on every call) and hashable, must not keep tensors
alive, and must separate every pair of calls that the analysis would treat differently.  Per
argument: tensors give (dtype, on the CPU or not, ndim, requires_grad), arrays (dtype, ndim),
short tuples the keys of their items, lists and long tuples the key of their first element,
scalars their type.  Shapes stay out of the key, except the size class of list and tuple items,
which the cost model reads (``size_class``).  Elements after the first are not inspected: the
rewritten code guards every conversion at run time, so an odd element falls back to NumPy for
itself.
"""
from __future__ import annotations

from typing import Any, Hashable

import numpy as np
import torch

from .lattice import AV, BOTTOM, ListV, TupleV, from_runtime, sampled

Tensor = torch.Tensor
ndarray = np.ndarray

#: Short tuples (``(inputs, labels)`` pairs) are keyed item by item; longer ones by their first.
MAX_TUPLE_ITEMS = 8

#: Size classes the cost model tells apart: below SMALL_NUMEL elements NumPy's per-call
#: overhead dominates; from LARGE_NUMEL on, torch's reductions and transcendentals win on a CPU.
SMALL_NUMEL = 1 << 14
LARGE_NUMEL = 1 << 17
SMALL, MEDIUM, LARGE = 0, 1, 2


def size_class(numel: int) -> int:
    return SMALL if numel < SMALL_NUMEL else MEDIUM if numel < LARGE_NUMEL else LARGE


def _value_key(value: Any) -> Hashable:
    cls = type(value)
    if cls is Tensor or isinstance(value, Tensor):
        return (cls, value.dtype, value.is_cpu, value.dim(), value.requires_grad)
    if cls is ndarray:
        return (cls, value.dtype, value.ndim)
    if cls is tuple and len(value) <= MAX_TUPLE_ITEMS:
        return (cls, tuple(map(_item_key, value)))
    if cls is list or cls is tuple:
        return (cls, _item_key(value[0]) if value else None)
    return cls


def _item_key(value: Any) -> Hashable:
    """The key of an item of a list or tuple: with its size class, which the cost model reads
    (items are what loops convert one by one; a plain argument's size decides nothing)."""
    cls = type(value)
    if cls is Tensor or isinstance(value, Tensor):
        return (cls, value.dtype, value.is_cpu, value.dim(), value.requires_grad, size_class(value.numel()))
    if cls is ndarray:
        return (cls, value.dtype, value.ndim, size_class(value.size))
    return _value_key(value)


def key_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """The cache key of a call (see the module docstring)."""
    key = tuple(map(_value_key, args))
    if kwargs:
        key += tuple((name, _value_key(kwargs[name])) for name in sorted(kwargs))
    return key


def abstract_of(value: Any) -> AV:
    """The abstract value the analysis assumes for an argument with this key."""
    if type(value) is tuple and len(value) <= MAX_TUPLE_ITEMS:
        return TupleV(tuple(map(abstract_of, value)))
    if isinstance(value, (list, tuple)):
        elem = sampled(abstract_of(value[0])) if value else BOTTOM  # the key looks at the first item only
        return ListV(elem, local=False) if isinstance(value, list) else TupleV(None, elem)
    return from_runtime(value)


def largest_class(value: Any) -> int:
    """The largest size class among the tensors and arrays the key of ``value`` looks at."""
    if type(value) is tuple and len(value) <= MAX_TUPLE_ITEMS:
        return max(map(largest_class, value), default=SMALL)
    if isinstance(value, (list, tuple)):
        return largest_class(value[0]) if value else SMALL
    if isinstance(value, Tensor):
        return size_class(value.numel())
    if isinstance(value, ndarray):
        return size_class(value.size)
    return SMALL
