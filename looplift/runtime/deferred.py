"""Host reads kept on the device until their values leave.

On an accelerator ``loss.item()`` waits for the device to finish everything queued before it.
Where the value only flows into a list, an accumulator or a return, the rewritten code keeps the
tensor instead (``Deferred``), and Python arithmetic on such values (``total += loss.item()``,
``loss.item() * n``) is kept as a computation to do later (``Later``); both are turned into
exactly what the original computed by ``convert.materialize``, in one transfer for everything
that leaves at that point.

Exactness:

* a deferred read snapshots the tensor (``detach().clone()``, a device-side copy that queues
  without waiting): the original read the value *then*, and the tensor may change in place later;
* the value is made on the host by the original operation itself (``float``, ``int``, ``.item()``,
  ``.tolist()``) applied to a CPU copy of the same tensor;
* ``xs.extend(t.tolist())`` of a 1-d tensor splices one ``Deferred`` per element (element ``i`` of
  the snapshot's ``.tolist()``): the list has the original's length at once, so ``len(xs)`` needs
  no read, and an element indexed or iterated is made on its own like any deferred number;
* a ``Later`` is computed on the host with Python's own ``+``, ``-`` and ``*``, in the original's
  order: the same IEEE double operations, and unbounded Python ints (none of the three raises
  for numbers, so doing it later moves no exception).

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
#: The Python operations a ``Later`` may do (none raises for numbers).
LATER_OPS: dict[str, Callable[[Any, Any], Any]] = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


class Deferred:
    """A host read not yet made: ``how`` applied to ``tensor`` (a snapshot) gives the value, or
    with an ``index``, the element ``index`` of the 1-d snapshot's ``.tolist()``."""

    __slots__ = ("tensor", "how", "index")

    def __init__(self, tensor: Tensor, how: str, index: int | None = None) -> None:
        self.tensor = tensor
        self.how = how
        self.index = index

    def __repr__(self) -> str:
        what = self.how if self.index is None else f"element {self.index} of tolist"
        return f"Deferred({what} of a {self.tensor.dtype} tensor on {self.tensor.device})"


class Later:
    """``a op b`` for Python numbers of which one or both are deferred (``Deferred`` or ``Later``):
    computed on the host where the value leaves.  Nodes never change, so a value kept from the
    middle of an accumulation (``prev = total``, ``curve.append(total)``) keeps its own total;
    ``convert._Transfer.value_of`` computes a chain of them iteratively, in order."""

    __slots__ = ("op", "a", "b")

    def __init__(self, op: str, a: Any, b: Any) -> None:
        self.op = op
        self.a = a
        self.b = b

    def __repr__(self) -> str:
        return f"Later({self.op} of a deferred value)"


DEFERRED_KINDS = (Deferred, Later)


def _deferrable(x: Any, how: str) -> bool:
    if type(x) is not Tensor and type(x) is not torch.nn.Parameter:
        return False
    if how == "tolist":
        return x.dim() == 1  # a number (0-d) or nested lists (n-d): read at once, as the original
    return x.numel() == 1  # .item()/float() of several elements raises: at once


def defer(x: Any, how: str) -> Any:
    """``how`` of ``x`` (``x.item()``, ``float(x)``), kept on the device when ``x`` is a tensor.
    ``x.tolist()`` (only ever spliced into a list: ``xs.extend(...)``) gives a list of one
    deferred element per element of ``x``."""
    if not _deferrable(x, how):
        if paths.ENABLED:
            paths.note("read.now")
        return READS[how](x)
    if paths.ENABLED:
        paths.note("read.deferred")
    snapshot = x.detach().clone()
    if how == "tolist":
        return [Deferred(snapshot, how, i) for i in range(len(snapshot))]
    return Deferred(snapshot, how)


def later(op: str, a: Any, b: Any) -> Any:
    """``a op b`` (``op`` in ``LATER_OPS``), kept for later where an operand is deferred."""
    if type(a) not in DEFERRED_KINDS and type(b) not in DEFERRED_KINDS:
        return LATER_OPS[op](a, b)  # nothing deferred: the original operation, now
    return Later(op, a, b)
