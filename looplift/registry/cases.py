"""The argument forms an entry claims, as plain data for the differential test.

Every entry lists its forms in ``OpEntry.cases`` as ``Case`` values built from the specs below.
``looplift.registry.testing`` turns them into hypothesis strategies; this module imports neither
hypothesis nor torch, so entry modules can declare their forms at no runtime cost.

A drawn example is the call's positional and keyword arguments in which operands that stand for
lifted values are wrapped in ``Lifted`` (the test hands them to the tensor path as tensors, and to
NumPy as NumPy values) and Python numbers whose value the analysis would not know are wrapped in
``Weak``.  Everything else is a literal (``ConstV`` for static inference).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

FLOAT = ("float32", "float64")
SIGNED = ("int32", "int64", "int8", "int16")
INT = SIGNED + ("uint8",)
NUMERIC = FLOAT + INT
ALL = NUMERIC + ("bool",)

#: Value sets for drawn elements.  "any": floats include NaN, infinities and ties, ints include
#: the dtype's extremes now and then; "finite": no NaN/inf, ints small; "small": integral values
#: in [-3, 3] (safe for products and powers); "positive": (0, 10].
VALUES = ("any", "finite", "small", "positive")


class _Omit:
    """A keyword drawn as ``OMIT`` is left out of the call (so defaults get tested too)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()


@dataclass(frozen=True)
class Lifted:
    """A drawn operand that the rewritten program would hold as a tensor."""

    value: Any


@dataclass(frozen=True)
class Weak:
    """A drawn Python number whose value static analysis does not know (``PyScalarV``)."""

    value: Any


@dataclass(frozen=True)
class Arr:
    """An array operand; ndim 0 draws a NumPy scalar (what a lifted 0-d value stands for).

    ``group``: operands of one group get broadcast-compatible shapes (a size-1 or missing axis
    here and there); ``like``: the index of an earlier positional operand whose shape is copied
    exactly.  ``lifted=None`` draws a tensor or a plain NumPy operand (a 0-d one then is a NumPy
    scalar or a 0-d array).  ``large`` draws 10^4 to 2·10^4 elements (``ndim`` at least 1), where
    real kernels (blocked sums, vectorized loops) run.
    """

    dtypes: tuple[str, ...] = ALL
    ndim: tuple[int, int] = (0, 3)
    group: str | None = None
    like: int | None = None
    lifted: bool | None = True
    values: str = "any"
    min_side: int = 0
    large: bool = False


@dataclass(frozen=True)
class Py:
    """A Python number operand of one of ``types`` (drawn as ``Weak``)."""

    types: tuple[type, ...] = (int, float)


@dataclass(frozen=True)
class Lit:
    """One of the given literal values."""

    options: tuple[Any, ...]

    def __init__(self, *options: Any) -> None:
        object.__setattr__(self, "options", options)


@dataclass(frozen=True)
class Axis:
    """An axis argument for positional operand ``of``: ``None``, an int (negative too), a tuple of
    distinct axes when ``multi``; now and then an out-of-range axis, where NumPy raises."""

    of: int = 0
    none: bool = True
    multi: bool = True


@dataclass(frozen=True)
class Seq:
    """A list (or tuple) of array operands of the same dtype choice and equal shapes."""

    item: Arr = Arr()
    count: tuple[int, int] = (1, 3)
    kind: type = list
    same_dtype: bool = False


@dataclass(frozen=True)
class OneOf:
    """One of several specs (or literals)."""

    options: tuple[Any, ...]

    def __init__(self, *options: Any) -> None:
        object.__setattr__(self, "options", options)


class Drawer(Protocol):
    """What a ``Custom`` builder may draw (implemented on hypothesis in ``testing.py``)."""

    def array(self, shape: tuple[int, ...], dtypes: tuple[str, ...] = ALL, values: str = "any",
              lifted: bool | None = True) -> Any: ...

    def shape(self, ndim: tuple[int, int] = (0, 3), min_side: int = 0, max_side: int = 4) -> tuple[int, ...]: ...

    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Any) -> Any: ...


@dataclass(frozen=True)
class Custom:
    """Shape-coupled forms (matrix products, reshape sizes, index objects): ``build(drawer)``
    returns ``(args, kwargs)`` with operands already drawn."""

    build: Callable[[Drawer], tuple[tuple[Any, ...], dict[str, Any]]]


#: Comparison modes (see ``testing.tolerance``): "exact" is the per-dtype float tolerance; "sum"
#: and "dot" widen it by the magnitude of the summed terms, "mean" by the mean magnitude,
#: "var"/"std" by the mean square, "linalg" by the result's magnitude, "det" by the Hadamard
#: bound; "meta" compares only kind, dtype and shape (``np.empty``).
TOLERANCES = ("exact", "sum", "mean", "dot", "var", "std", "linalg", "det", "meta")


@dataclass(frozen=True)
class Case:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    tolerance: str = "exact"
    custom: Custom | None = None
    numpy_only: str = ""
    """Why this form is never lowered (it stays in NumPy); the lowering tests hold it to that."""


def case(*args: Any, tolerance: str = "exact", numpy_only: str = "", **kwargs: Any) -> Case:
    """``case(Arr(), Axis(), keepdims=Lit(False, True))``: positional and keyword forms."""
    if tolerance not in TOLERANCES:
        raise ValueError(f"unknown tolerance {tolerance}")
    return Case(args, kwargs, tolerance, numpy_only=numpy_only)


def custom(build: Callable[[Drawer], tuple[tuple[Any, ...], dict[str, Any]]], *, tolerance: str = "exact",
           numpy_only: str = "") -> Case:
    if tolerance not in TOLERANCES:
        raise ValueError(f"unknown tolerance {tolerance}")
    return Case(tolerance=tolerance, custom=Custom(build), numpy_only=numpy_only)

