"""What entry modules share to declare entries: references for ndarray methods and attributes,
static checks on argument forms, and registering a NumPy function with its ndarray method.

A method entry's reference calls the method on the receiver (``a.sum(axis=0)`` is
``reference(a, axis=0)``), so it works for NumPy scalars too: a lifted 0-d value stands for a
NumPy scalar, and ``np.ndarray.sum`` would reject one.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..lattice import AV, ArrayV, ConstV, PyScalarV, TupleV, is_literal
from ..dtypes import LIFTABLE_NP_DTYPES
from ..errors import Refusal
from .entry import Check, OpEntry, RankFree, Unsupported
from .table import register

#: NumPy's "argument not given" marker (``keepdims=<no value>``).
NO_VALUE = np._NoValue


def method_reference(name: str) -> Callable[..., Any]:
    def call(receiver: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(receiver, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def attribute_reference(name: str) -> Callable[[Any], Any]:
    def read(receiver: Any) -> Any:
        return getattr(receiver, name)

    read.__name__ = read.__qualname__ = name
    return read


def literal_arguments(impl: Callable[..., Any], *names: str) -> Check:
    """A check that ``names`` (by keyword, or by position in ``impl``'s signature, which mirrors
    NumPy's) are literals when given: they decide the result's ndim or structure (``axis``,
    ``keepdims``, ``return_counts``), and probes of an unknown Python value would guess."""
    params = list(inspect.signature(impl).parameters)
    positions = {name: params.index(name) for name in names}

    def check(args: Sequence[AV], kwargs: Mapping[str, AV]) -> str | None:
        for name, index in positions.items():
            value = kwargs.get(name, args[index] if index < len(args) else None)
            if value is not None and not is_literal(value):
                return f"{name}= must be a literal"
        return None

    return check


def full_reduction(impl: Callable[..., Any], *names: str) -> RankFree:
    """A ``rank_free`` rule for reductions: the call reduces over every axis, the same at any
    rank, when each of ``names`` (``axis``, ``keepdims``, ``ord``; by keyword, or by position in
    ``impl``'s signature, which mirrors NumPy's) is not given or is a literal None or False."""
    params = list(inspect.signature(impl).parameters)
    positions = {name: params.index(name) for name in names}

    def rank_free(args: Sequence[AV], kwargs: Mapping[str, AV]) -> bool:
        for name, index in positions.items():
            value = argument(args, kwargs, index, name)
            if value is not None and not (isinstance(value, ConstV) and (value.value is None or value.value is False)):
                return False
        return True

    return rank_free


def not_given(**values: Any) -> None:
    """Raise ``Unsupported`` for arguments a tensor path does not implement (``out=``,
    ``where=``, ``initial=``, ...): NumPy then runs the call."""
    for name, value in values.items():
        if value is not None and value is not NO_VALUE and not (name == "where" and value is True):
            raise Unsupported(f"{name}= is left to NumPy")


def flag(value: Any) -> bool:
    """A boolean option such as ``keepdims`` (NumPy's "not given" counts as False)."""
    if value is NO_VALUE:
        return False
    if not isinstance(value, (bool, np.bool_)):
        raise Unsupported("non-bool flag")
    return bool(value)


def register_numpy(name: str, impl: Callable[..., Any], *, method: bool = False, function: bool = True,
                   namespace: Any = np, **fields: Any) -> None:
    """Register ``numpy.<name>`` (``namespace`` for ``numpy.linalg``) and, with ``method``,
    ``ndarray.<name>`` with the same tensor path, whose signature mirrors NumPy's."""
    if function:
        obj = getattr(namespace, name)
        prefix = namespace.__name__
        register(OpEntry(key=f"{prefix}.{name}", reference=obj, torch_impl=impl, **fields), obj=obj)
    if method:
        method_impl = impl if hasattr(np.float64(0), name) else _array_receiver_only(impl)
        register(OpEntry(key=f"ndarray.{name}", reference=method_reference(name), torch_impl=method_impl, **fields))


def _array_receiver_only(impl: Callable[..., Any]) -> Callable[..., Any]:
    """For ndarray methods NumPy scalars lack (``dot``): a 0-d receiver stands for a NumPy
    scalar, on which NumPy raises AttributeError."""

    @functools.wraps(impl)
    def call(receiver: Any, *args: Any, **kwargs: Any) -> Any:
        if np.ndim(receiver) == 0:
            raise Unsupported("NumPy scalars have no such method")
        return impl(receiver, *args, **kwargs)

    return call


# ---------------------------------------------------------------------------------------------
# Static results for entries whose result ndim the probes cannot find


def operand(value: AV) -> ArrayV:
    """The abstract array operand of a shape function (one alternative, dtype and ndim known)."""
    options = list(value.options())
    if len(options) != 1 or not isinstance(options[0], ArrayV):
        raise Refusal("operand is not one known array")
    array = options[0]
    if array.dtype is None or array.ndim is None:
        raise Refusal("operand with unknown dtype or ndim")
    return array


def array_of(like: ArrayV, ndim: int, *, zero_d_scalar: bool) -> ArrayV:
    """A result of ``like``'s dtype and ``ndim``; a 0-d result is a NumPy scalar only where
    NumPy returns one (``zero_d_scalar``), otherwise a 0-d ndarray, which is never lifted."""
    liftable = like.dtype in LIFTABLE_NP_DTYPES
    if ndim == 0 and not zero_d_scalar:
        return ArrayV(like.dtype, 0, scalar=False, lifted=False)
    return ArrayV(like.dtype, ndim, scalar=ndim == 0, lifted=liftable)


def argument(args: Sequence[AV], kwargs: Mapping[str, AV], index: int, name: str) -> AV | None:
    """The abstract argument passed by keyword ``name`` or at position ``index``."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if index < len(args) else None


def length_of(value: AV) -> int:
    """How many items a shape-like argument has: an int is one, a tuple its length."""
    if isinstance(value, ConstV):
        if isinstance(value.value, tuple):
            return len(value.value)
        if isinstance(value.value, int):
            return 1
    if isinstance(value, TupleV) and value.items is not None:
        return len(value.items)
    if isinstance(value, PyScalarV) and value.type is int:
        return 1
    if isinstance(value, ArrayV) and value.scalar and value.dtype is not None and value.dtype.kind in "iu":
        return 1
    raise Refusal("shape argument of unknown length")
