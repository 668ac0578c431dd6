"""A lowering's view of its call: operands by NumPy parameter name, literals normalized.

A lowering decides everything from the abstract operands, so what the runtime tensor paths work
out per call (which parameter an argument fills, what its default is, where a negative axis
points) is worked out here once.  Parameters come from the entry's tensor path, whose signature
mirrors NumPy's (``declare.register_numpy``), so no lowering restates where ``axis`` sits.
Everything that cannot be decided statically (an axis of unknown value, an operand that is not a
lifted array) raises ``Refuse``: the call stays in NumPy.
"""
from __future__ import annotations

import inspect
import operator
from typing import Any, Callable

import numpy as np
import torch

from ..dtypes import LIFTABLE_NP_DTYPES, NP_TO_TORCH
from ..lattice import ArrayV, ListV, TupleV
from .lowering import Call, Emit, Operand, Refuse, literal_source

#: Default of a parameter the signature does not give one (a required parameter).
_REQUIRED = inspect.Parameter.empty


def bound(signature: Callable[..., Any], lower: Callable[["Args"], Emit]) -> Callable[[Call], Emit]:
    """A lowering (``lowering.LowerFn``) that sees its call's operands bound to ``signature``."""

    def lower_call(call: Call) -> Emit:
        return lower(Args(call, signature))

    lower_call.__name__ = lower_call.__qualname__ = lower.__name__
    return lower_call


class Args:
    """The operands of ``call`` bound to the parameters of ``signature`` (a function whose
    signature mirrors NumPy's)."""

    def __init__(self, call: Call, signature: Callable[..., Any]) -> None:
        params = inspect.signature(signature).parameters
        self.call = call
        self.defaults = {name: p.default for name, p in params.items()}
        positional = [name for name, p in params.items()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(call.args) > len(positional):
            raise Refuse("more positional arguments than the signature takes")
        self.operands: dict[str, Operand] = dict(zip(positional, call.args))
        for name, op in call.kwargs.items():
            if name not in params or params[name].kind is inspect.Parameter.POSITIONAL_ONLY or name in self.operands:
                raise Refuse(f"argument {name}= (NumPy raises, or it is not a parameter here)")
            self.operands[name] = op

    def given(self, name: str) -> bool:
        return name in self.operands

    def __getitem__(self, name: str) -> Operand:
        """The operand passed for ``name`` (``Refuse`` when it was not passed)."""
        if name not in self.operands:
            raise Refuse(f"{name} not given")
        return self.operands[name]

    def literal(self, name: str) -> Any:
        """The literal value passed for ``name``, or its default; ``Refuse`` when it was passed
        but is known only by type."""
        if name in self.operands:
            return self.operands[name].literal
        default = self.defaults[name]
        if default is _REQUIRED:
            raise Refuse(f"{name} not given")
        return default

    def array(self, name: str) -> Operand:
        """The lifted array passed for ``name``."""
        return lifted(self[name])

    def only(self, *names: str) -> None:
        """Arguments other than ``names`` keep their defaults (else ``Refuse``): ``out=``,
        ``order=``, ``like=`` and friends are NumPy's to handle."""
        for name, op in self.operands.items():
            if name not in names and op.is_literal and _same_literal(op.literal, self.defaults[name]):
                continue
            if name not in names:
                raise Refuse(f"{name}= is left to NumPy")


def _same_literal(value: Any, default: Any) -> bool:
    return value is default or (type(value) is type(default) and value == default)


def lifted(op: Operand) -> Operand:
    """``op``, which must be a lifted array of a torch dtype (a tensor in generated code)."""
    if op.array is None or op.array.dtype not in LIFTABLE_NP_DTYPES or op.array.ndim is None:
        raise Refuse(f"{op.name} is not a lifted array")
    return op


def array_value(op: Operand) -> ArrayV | None:
    """The array an operand is, lifted (a tensor) or a NumPy value (which
    ``lowering.operand_source`` makes a tensor), when its dtype has a torch form and its rank is
    known; None for anything else."""
    options = list(op.value.options())
    if len(options) == 1 and isinstance(options[0], ArrayV) and options[0].dtype in LIFTABLE_NP_DTYPES \
            and options[0].ndim is not None:
        return options[0]
    return None


# ---------------------------------------------------------------------------------------------
# Sequences of arrays (``np.concatenate([a, b])``)


def sequence_items(op: Operand) -> list[ArrayV] | None:
    """The abstract arrays a list or tuple operand may hold (every alternative of every item),
    or None unless each is a lifted array of known dtype and rank."""
    value = op.value
    if isinstance(value, TupleV):
        items = list(value.item_types())
    elif isinstance(value, ListV):
        items = [value.elem]
    else:
        return None
    arrays = [option for item in items for option in item.options()]
    if not arrays or not all(isinstance(a, ArrayV) and a.lifted and a.dtype in LIFTABLE_NP_DTYPES and
                             a.ndim is not None for a in arrays):
        return None
    return arrays


def array_sequence(op: Operand) -> tuple[int, set[torch.dtype]]:
    """The common ndim of a list/tuple of lifted arrays and the dtypes its items may have
    (``Refuse`` when ranks differ: an axis is normalized against one ndim)."""
    items = sequence_items(op)
    if not items:
        raise Refuse(f"{op.name} is not a list or tuple of lifted arrays")
    if len({a.ndim for a in items}) != 1:
        raise Refuse(f"{op.name} holds arrays of different ranks")
    return items[0].ndim, {NP_TO_TORCH[a.dtype] for a in items}


# ---------------------------------------------------------------------------------------------
# Normalization of literal arguments


def axis(value: Any, ndim: int) -> int:
    """A literal ``axis`` as a non-negative int (``Refuse`` where NumPy raises)."""
    if isinstance(value, (bool, np.bool_)):
        raise Refuse("bool axis (NumPy raises)")
    try:
        index = operator.index(value)
    except TypeError:
        raise Refuse(f"axis {value!r} is not an integer") from None
    if not -ndim <= index < ndim:
        raise Refuse(f"axis {value} out of range for {ndim} dimensions (NumPy raises)")
    return index % ndim


def axes(value: Any, ndim: int) -> tuple[int, ...]:
    """A literal ``axis`` argument (None, an int, a tuple or list of ints) as distinct
    non-negative axes; None is every axis."""
    if value is None:
        return tuple(range(ndim))
    if isinstance(value, (tuple, list)):
        found = tuple(axis(a, ndim) for a in value)
        if len(set(found)) != len(found):
            raise Refuse("repeated axis (NumPy raises)")
        return found
    return (axis(value, ndim),)


def int_tuple(value: Any) -> tuple[int, ...]:
    """A literal int or sequence of ints (a shape, repetitions, shifts) as a tuple of ints."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    try:
        if any(isinstance(v, (bool, np.bool_)) for v in items):
            raise TypeError
        return tuple(operator.index(v) for v in items)
    except TypeError:
        raise Refuse(f"{value!r} is not an int or a sequence of ints") from None


def dtype_literal(value: Any) -> torch.dtype | None:
    """A literal ``dtype=`` (a dtype, a type, a string) as the torch dtype, None when not given."""
    if value is None:
        return None
    try:
        parsed = np.dtype(value)
    except TypeError:
        raise Refuse(f"dtype {value!r}") from None
    if parsed not in LIFTABLE_NP_DTYPES:
        raise Refuse(f"dtype {parsed} has no lifted form")
    return NP_TO_TORCH[parsed]


# ---------------------------------------------------------------------------------------------
# Writing source


def source(value: Any) -> str:
    """``lowering.literal_source``, for NumPy scalars, lists and Ellipsis too."""
    if isinstance(value, np.generic):
        return source(value.item())
    if isinstance(value, tuple):
        inner = ", ".join(map(source, value))
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(map(source, value)) + "]"
    if value is Ellipsis:
        return "..."
    return literal_source(value)


def call_source(function: str, *args: str, **kwargs: str) -> str:
    """``function(arg, ..., name=value, ...)`` from argument sources."""
    parts = [*args, *(f"{k}={v}" for k, v in kwargs.items())]
    return f"{function}({', '.join(parts)})"


def each_item(op: Operand, transform: str) -> str:
    """The arrays of a list/tuple operand, each through ``transform`` (a template over the name
    ``_item``), as a list comprehension."""
    return f"[{transform} for _item in {op.name}]"
