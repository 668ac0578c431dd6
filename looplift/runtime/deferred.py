"""Host reads kept on the device until their values leave.

On an accelerator ``loss.item()`` waits for the device to finish everything queued before it.
Where the value only flows into a list, an accumulator or a return, the rewritten code keeps the
tensor instead (``Deferred``), and accumulations keep their reads in order (``Fold``); both are
turned into exactly what the original computed by ``convert.materialize``, in one transfer for
everything that leaves at that point.

Exactness:

* a deferred read snapshots the tensor (``detach().clone()``, a device-side copy that queues
  without waiting): the original read the value *then*, and the tensor may change in place later;
* the value is made on the host by the original operation itself (``float``, ``int``, ``.item()``,
  ``.tolist()``) applied to a CPU copy of the same tensor;
* a ``Fold`` adds the values up on the host in the original's order with Python's own ``+`` and
  ``-``: the same IEEE double additions, and unbounded Python ints.

Anything that is not a plain tensor the read applies to (a NumPy scalar a guard kept in NumPy, a
tensor of several elements for ``.item()``) is read at once, exactly as the original does it.
"""
from __future__ import annotations

import builtins
import operator
from typing import Any, Callable

import torch

from . import paths

Tensor = torch.Tensor

#: How each kind of read turns a (CPU) tensor into its Python value.
READS: dict[str, Callable[[Any], Any]] = {
    "item": lambda t: t.item(), "tolist": lambda t: t.tolist(), "float": builtins.float,
    "int": builtins.int, "bool": builtins.bool, "complex": builtins.complex,
}
FOLD_OPS: dict[str, Callable[[Any, Any], Any]] = {"add": operator.add, "sub": operator.sub}


class Deferred:
    """A host read not yet made: ``how`` applied to ``tensor`` (a snapshot) gives the value."""

    __slots__ = ("tensor", "how")

    def __init__(self, tensor: Tensor, how: str) -> None:
        self.tensor = tensor
        self.how = how

    def __repr__(self) -> str:
        return f"Deferred({self.how} of a {self.tensor.dtype} tensor on {self.tensor.device})"


class Fold:
    """``base op step``: a number updated by a deferred read (``x += t.item()``), one step per
    node.  Nodes never change, so a value kept from the middle of an accumulation (``prev = total``,
    ``curve.append(total)``) keeps its own total; materializing adds the steps up on the host, in
    the original's order (``convert._Transfer.fold_value``)."""

    __slots__ = ("base", "op", "step")

    def __init__(self, base: Any, op: str, step: Any) -> None:
        self.base = base
        self.op = op
        self.step = step

    def __repr__(self) -> str:
        return f"Fold({self.op} a deferred step)"


def _deferrable(x: Any, how: str) -> bool:
    if type(x) is not Tensor and type(x) is not torch.nn.Parameter:
        return False
    return how in ("tolist",) or x.numel() == 1  # .item()/float() of several elements raises: at once


def defer(x: Any, how: str) -> Any:
    """``how`` of ``x`` (``x.item()``, ``float(x)``), kept on the device when ``x`` is a tensor."""
    if not _deferrable(x, how):
        if paths.ENABLED:
            paths.note("read.now")
        return READS[how](x)
    if paths.ENABLED:
        paths.note("read.deferred")
    return Deferred(x.detach().clone(), how)


def fold(acc: Any, op: str, x: Any) -> Any:
    """``acc op x`` where ``x`` may be a deferred read: kept as a step (on the device) in order."""
    if type(x) is not Deferred and type(acc) not in (Fold, Deferred):
        return FOLD_OPS[op](acc, x)  # nothing deferred: the original operation, now
    return Fold(acc, op, x)
