"""Running a loop's independent iterations as one batched computation.

``batched(body, items, invariants, kinds)`` stacks the items (when they are tensors of one dtype,
shape and device that do not require grad, and the stack is not too large), runs the body of one
iteration on all of them at once with ``torch.func.vmap``, and hands back, per output, the values
the loop would have produced, in order: for an appended lifted value what the original appended
(NumPy scalars or arrays), for a read what the read gives (Python numbers).  Everything crosses to
the host in one transfer.

While a batch runs, every guard in the body that would send a value down the original path (a
conversion's, a region's) stops the batch instead (``NotBatchable``): the loop then runs as it
would have, from its first item.  Running it again is sound: the body is pure (the dependence pass
proved it) and iterating a list or tuple twice is the same.
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Callable, Sequence

import torch

from . import paths
from .convert import _Transfer
from .deferred import DEFERRED_KINDS, LATER_OPS, READS, Later
from .state import batch_running

Tensor = torch.Tensor
#: The most a stacked copy of the items may take.
MAX_STACK_BYTES = 1 << 28

_DTYPE = operator.attrgetter("dtype")


def _stacked(items: Any) -> Tensor | None:
    """The items as one tensor, or None unless they are plain tensors of one dtype, shape and
    device, none requiring grad (``torch.stack`` itself refuses other shapes and devices)."""
    if type(items) not in (list, tuple) or not items:
        return None
    first = items[0]
    if type(first) is not Tensor or first.element_size() * first.numel() * len(items) > MAX_STACK_BYTES:
        return None
    if set(map(type, items)) != {Tensor} or set(map(_DTYPE, items)) != {first.dtype}:
        return None
    try:
        stacked = torch.stack(items)
    except RuntimeError:
        return None
    return None if stacked.requires_grad else stacked


def batched(body: Callable[..., Any], items: Any, invariants: Sequence[Any], kinds: Sequence[str]) -> list[list[Any]] | None:
    """The outputs of ``body`` over every item, as lists (see the module docstring), or None."""
    stacked = _stacked(items)
    if stacked is None:
        return None
    in_dims = (0, *(None,) * len(invariants))
    try:
        with batch_running():
            outputs = torch.func.vmap(body, in_dims=in_dims)(stacked, *invariants)
    except Exception:  # a guard did not hold, or the body raised: the loop decides
        if paths.ENABLED:
            paths.note("batch.declined")
        return None
    if not all(type(o) is Tensor and o.shape[:1] == (len(items),) for o in outputs):
        return None
    if any(kind.startswith("read:") and kind != "read:tolist" and o[0].numel() != 1
           for o, kind in zip(outputs, kinds)):
        return None  # ``.item()`` of several elements raises: the loop raises it
    transfer = _Transfer()
    transfer.collect(tuple(outputs))
    transfer.run()
    if paths.ENABLED:
        paths.note("batch.run")
    return [_values(transfer.tensor_value(o), kind) for o, kind in zip(outputs, kinds)]


def _values(host: Any, kind: str) -> list[Any]:
    if kind == "array":
        return list(host)  # NumPy scalars for 0-d items, array views otherwise
    how = kind.removeprefix("read:")
    if how == "tolist":
        return [row.tolist() for row in host]
    numbers = host.reshape(host.shape[0]).tolist()
    return numbers if how == "item" else [READS[how](n) for n in numbers]


def fold_all(acc: Any, op: str, values: Sequence[Any]) -> Any:
    """``acc`` updated by ``op`` with each value, in order (``x += v`` over a batch's reads)."""
    if type(acc) not in DEFERRED_KINDS:
        return functools.reduce(LATER_OPS[op], values, acc)  # host numbers: add them up now, in order
    for value in values:
        acc = Later(op, acc, value)
    return acc


def batched_or(body: Callable[..., Any], items: Any, invariants: Sequence[Any], kinds: Sequence[str],
               otherwise: Callable[[Any], list[Any]]) -> list[Any]:
    """A list comprehension's list: batched where it can be, else ``otherwise(items)``."""
    outputs = batched(body, items, invariants, kinds)
    return outputs[0] if outputs is not None else otherwise(items)
