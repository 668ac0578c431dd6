"""Sorting and searching, selection, clipping and rounding, NaN replacement, comparisons of
whole arrays.

Orders: NaN sorts last in both libraries.  NumPy's default sort is not stable and no torch call
reproduces its order among equal values, so ``argsort`` takes the tensor path for a stable kind,
or when a (stable) sort shows there are no ties at all (then every correct sort gives the same
permutation); ``unique`` is built on a stable sort and merges NaNs as NumPy 2 does.  ``sort``'s
values do not depend on the tie order, except that -0.0 and 0.0 (equal) may come out in another
order.

Functions that NumPy writes in Python on top of ufuncs (``isclose``, ``clip``, ``round``,
``array_equal``) are mirrored step by step with the ufunc entries' tensor paths
(``ufuncs.apply``), so every intermediate has NumPy's dtype.

Lowered code cannot look for ties, so it sorts indices only for a stable kind; ``searchsorted``
searches integer keys of NumPy's sort order (``lib.sort_key``); ``isclose`` and ``unique`` are
``lib`` helpers that mirror NumPy's code.  ``allclose`` and ``array_equal`` return Python bools, a
host read, and stay in NumPy.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..dtypes import NP_TO_TORCH, TORCH_TO_NP
from ..lattice import ArrayV
from .cases import ALL, NUMERIC, OMIT, Arr, Axis, Lifted, Lit, OneOf, Py, case, custom
from .coerce import array_result, check_int_fits, normalize_axis, tensor_of, to_numpy, torch_dtype
from .declare import NO_VALUE, flag, literal_arguments, method_reference, not_given, register_numpy
from .entry import OpEntry, Unsupported
from .arguments import Args, array_value, axis, bound, call_source, source
from .lowering import Call, Emit, Operand, Refuse, cast, dtype_source, operand_source, python_number
from .table import register
from .ufuncs import apply, ufunc_path

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------
# Sorting


def _sort_axis(x: Tensor, axis: Any) -> tuple[Tensor, int]:
    """``axis=None`` sorts the flattened array."""
    if axis is None:
        return x.reshape(-1), 0
    return x, normalize_axis(axis, x.ndim)


def _sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Tensor:
    not_given(order=order)
    x, dim = _sort_axis(tensor_of(a), axis)
    return torch.sort(x, dim=dim, stable=True).values


def _has_ties(ordered: Tensor, dim: int) -> bool:
    """Equal neighbours after sorting (two NaNs count as equal: their order is a tie too)."""
    n = ordered.shape[dim]
    if n < 2:
        return False
    left, right = ordered.narrow(dim, 0, n - 1), ordered.narrow(dim, 1, n - 1)
    tied = left == right
    if ordered.is_floating_point():
        tied |= torch.isnan(left) & torch.isnan(right)
    return bool(tied.any())


def _argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Tensor:
    """A stable sort's permutation: NumPy's for kind='stable'/'mergesort' or stable=True, and
    for any kind when nothing ties."""
    not_given(order=order)
    if kind is not None and stable is not None:
        raise Unsupported("kind and stable together (NumPy raises)")
    x = tensor_of(a)
    if x.ndim == 0 and axis is not None:
        raise Unsupported("argsort of a scalar along an axis")
    x, dim = _sort_axis(x, axis)
    ordered, permutation = torch.sort(x, dim=dim, stable=True)
    if not (kind in ("stable", "mergesort") or stable is True) and _has_ties(ordered, dim):
        raise Unsupported("ties: NumPy's unstable order among equal values is not reproducible")
    return permutation


def _sorted_ascending(seq: Tensor) -> bool:
    """Sorted in NumPy's order (NaN last): binary searches on anything else differ."""
    left, right = seq[:-1], seq[1:]
    if seq.is_floating_point():
        return bool(((left <= right) | torch.isnan(right)).all())
    return bool((left <= right).all())


def _searchsorted(a: Any, v: Any, side: Any = "left", sorter: Any = None) -> Tensor:
    """Both operands compared in ``np.result_type`` of ``a`` and ``asarray(v)``, as NumPy does
    (a Python float ``v`` is float64 here, not weak); bool through uint8."""
    not_given(sorter=sorter)
    if side not in ("left", "right"):
        raise Unsupported("side other than 'left' or 'right' (NumPy raises)")
    seq = tensor_of(a)
    values = tensor_of(v, seq.device)
    if seq.ndim != 1:
        raise Unsupported("a must be 1-d (NumPy raises)")
    common = np.result_type(TORCH_TO_NP[seq.dtype], TORCH_TO_NP[values.dtype])
    dt = torch.uint8 if common == np.bool_ else torch_dtype(common)
    seq, values = seq.to(dt), values.to(dt)
    if dt.is_floating_point and bool(torch.isnan(seq).any() | torch.isnan(values).any()):
        raise Unsupported("NaN: torch's binary search does not place it as NumPy's sort order does")
    if not _sorted_ascending(seq):
        raise Unsupported("a is not sorted: binary searches differ")
    return torch.searchsorted(seq, values.reshape(-1), right=side == "right").reshape(values.shape)


def _nonzero(a: Any) -> tuple[Tensor, ...]:
    x = tensor_of(a)
    if x.ndim == 0:
        raise Unsupported("nonzero of a scalar (NumPy raises)")
    return torch.nonzero(x, as_tuple=True)


def _flatnonzero(a: Any) -> Tensor:
    return torch.nonzero(tensor_of(a).reshape(-1)).reshape(-1)


def _argwhere(a: Any) -> Tensor:
    """A scalar is treated as a 1-d array of one element, then the column dropped: (N, 0)."""
    x = tensor_of(a)
    if x.ndim == 0:
        return torch.argwhere(x.reshape(1))[:, :0]
    return torch.argwhere(x)


def _unique(ar: Any, return_index: Any = False, return_inverse: Any = False, return_counts: Any = False,
            axis: Any = None, *, equal_nan: Any = True, sorted: Any = True) -> Any:
    """NumPy's ``_unique1d`` on a stable sort: first of each run of equal values, NaNs merged
    into one when ``equal_nan``; indices of first occurrences, the inverse in the input's shape,
    run lengths."""
    if axis is not None or sorted is not True:
        raise Unsupported("axis= or sorted=False")
    x = tensor_of(ar)
    if x.ndim == 0 and flag(return_inverse):
        raise Unsupported("the inverse of a scalar is a 0-d ndarray in NumPy")
    flat = x.reshape(-1)
    ordered, permutation = torch.sort(flat, stable=True)
    first = torch.ones_like(ordered, dtype=torch.bool)
    if ordered.numel() > 1:
        first[1:] = ordered[1:] != ordered[:-1]
        if flag(equal_nan) and ordered.is_floating_point():
            nan = torch.isnan(ordered)
            first[1:] &= ~(nan[1:] & nan[:-1])
    result = [ordered[first]]
    if flag(return_index):
        result.append(permutation[first])
    if flag(return_inverse):
        inverse = torch.empty_like(permutation)
        inverse[permutation] = torch.cumsum(first, 0) - 1
        result.append(inverse.reshape(x.shape))
    if flag(return_counts):
        starts = torch.nonzero(first).reshape(-1)
        ends = torch.cat([starts[1:], torch.tensor([flat.numel()], device=x.device)])
        result.append(ends - starts)
    return result[0] if len(result) == 1 else tuple(result)


# ---------------------------------------------------------------------------------------------
# Selection, clipping, rounding, NaN replacement


def _where(condition: Any, x: Any = None, y: Any = None, /) -> Any:
    """One argument: ``nonzero``.  Three: the branches in ``np.result_type`` of both (Python
    scalars weak); a 0-d result is a 0-d ndarray in NumPy."""
    if x is None and y is None:
        return _nonzero(condition)
    if x is None or y is None:
        raise Unsupported("either both or neither of x and y (NumPy raises)")
    cond = tensor_of(condition)
    branches = [v if isinstance(v, (bool, int, float)) else tensor_of(v, cond.device) for v in (x, y)]
    common = np.result_type(*(v if isinstance(v, (bool, int, float)) else TORCH_TO_NP[v.dtype] for v in branches))
    dt = torch_dtype(common)
    for v in branches:
        if isinstance(v, int) and not isinstance(v, bool):
            check_int_fits(v, dt)
    lifted = [v.to(dt) if isinstance(v, Tensor) else torch.tensor(v, dtype=dt, device=cond.device) for v in branches]
    return array_result(torch.where(cond.to(torch.bool), *lifted))


#: The ``clip`` ufunc (NumPy's ``np._core.umath.clip``): minimum of maximum, NaN propagating.
_CLIP_UFUNC = ufunc_path(np._core.umath.clip, lambda v, lo, hi: torch.minimum(torch.maximum(v, lo), hi),
                         tensors_only=True)


def _clipped(a: Any, low: Any, high: Any, out: Any, kwargs: Mapping[str, Any]) -> Tensor:
    """NumPy's ``_methods._clip``: Python-int bounds beyond an integer dtype's range are dropped,
    then ``positive``, ``minimum``, ``maximum`` or the ``clip`` ufunc."""
    not_given(out=out, **kwargs)
    x = tensor_of(a)
    if TORCH_TO_NP[x.dtype].kind in "iu":
        info = torch.iinfo(x.dtype)
        if type(low) is int and low <= info.min:
            low = None
        if type(high) is int and high >= info.max:
            high = None
    if low is None and high is None:
        return apply(np.positive, x)
    if low is None:
        return apply(np.minimum, x, high)
    if high is None:
        return apply(np.maximum, x, low)
    return _CLIP_UFUNC(x, low, high)


def _clip(a: Any, a_min: Any = NO_VALUE, a_max: Any = NO_VALUE, out: Any = None, *, min: Any = NO_VALUE,
          max: Any = NO_VALUE, **kwargs: Any) -> Tensor:
    if a_min is NO_VALUE and a_max is NO_VALUE:
        a_min = None if min is NO_VALUE else min
        a_max = None if max is NO_VALUE else max
    elif a_min is NO_VALUE or a_max is NO_VALUE or min is not NO_VALUE or max is not NO_VALUE:
        raise Unsupported("inconsistent bounds (NumPy raises)")
    return _clipped(a, a_min, a_max, out, kwargs)


def _clip_method(a: Any, min: Any = None, max: Any = None, out: Any = None, **kwargs: Any) -> Tensor:
    return _clipped(a, min, max, out, kwargs)


def _round(a: Any, decimals: Any = 0, out: Any = None) -> Tensor:
    """NumPy's ``PyArray_Round``: integers copied unchanged for decimals >= 0, else
    ``rint(a * 10**d) / 10**d`` (divide first for negative decimals), integers in float64 and
    cast back; bool goes to NumPy (float16)."""
    not_given(out=out)
    x = tensor_of(a)
    if x.dtype is torch.bool:
        raise Unsupported("bool: NumPy rounds in float16, or raises for decimals > 0")
    decimals = operator.index(decimals)
    integer = TORCH_TO_NP[x.dtype].kind in "iu"
    if decimals >= 0 and integer:
        return x.clone()
    if decimals == 0:
        return apply(np.rint, x)
    first, second = (np.multiply, np.true_divide) if decimals >= 0 else (np.true_divide, np.multiply)
    scale = 10.0 ** abs(decimals)
    work = x.to(torch.float64) if integer else x
    result = apply(second, apply(np.rint, apply(first, work, scale).to(work.dtype)), scale).to(work.dtype)
    return result.to(x.dtype) if integer else result


def _nan_to_num(x: Any, copy: Any = True, nan: Any = 0.0, posinf: Any = None, neginf: Any = None) -> Tensor:
    """Replacements converted to the array's dtype as NumPy's ``copyto`` converts them (the
    defaults are the dtype's largest and smallest finite values); copy=False writes in place and
    goes to NumPy."""
    if copy is not True:
        raise Unsupported("copy=False writes into the array")
    t = tensor_of(x)
    if not t.is_floating_point():
        return t.clone()
    dtype = TORCH_TO_NP[t.dtype]
    info = np.finfo(dtype)
    values = [_as_dtype(v, dtype) for v in (nan, info.max if posinf is None else posinf,
                                             info.min if neginf is None else neginf)]
    result = torch.where(torch.isnan(t), values[0], t)
    result = torch.where(torch.isposinf(t), values[1], result)
    return torch.where(torch.isneginf(t), values[2], result)


def _as_dtype(value: Any, dtype: np.dtype) -> float:
    """``value`` as NumPy stores it into an array of ``dtype`` (``np.copyto`` rules);
    ``Unsupported`` where that overflows (NumPy warns)."""
    holder = np.zeros((), dtype)
    with np.errstate(all="raise"):
        try:
            np.copyto(holder, to_numpy(value))
        except FloatingPointError:
            raise Unsupported(f"{value!r} overflows {dtype} (NumPy warns)") from None
    return float(holder)


def _isclose_tensor(a: Any, b: Any, rtol: Any, atol: Any, equal_nan: Any) -> Tensor:
    """NumPy's isclose step by step: ``y`` made inexact, then
    ``|x - y| <= atol + rtol * |y| & isfinite(y) | x == y`` (plus NaN pairs)."""
    x, y = (v if isinstance(v, (int, float, complex)) else tensor_of(v) for v in (a, b))
    if isinstance(y, Tensor):
        y = y.to(torch_dtype(np.result_type(TORCH_TO_NP[y.dtype], 1.0)))
    elif isinstance(y, int):
        y = float(y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise Unsupported("no array operand")
    if not (np.all(np.isfinite(to_numpy(atol))) and np.all(np.isfinite(to_numpy(rtol)))):
        raise Unsupported("non-finite tolerance (NumPy warns)")
    bound = _mirror(np.add, operator.add, atol, _mirror(np.multiply, operator.mul, rtol, _mirror(np.absolute, abs, y)))
    distance = _mirror(np.absolute, abs, _mirror(np.subtract, operator.sub, x, y))
    close = _mirror(np.less_equal, operator.le, distance, bound)
    result = _mirror(np.bitwise_or, operator.or_, _mirror(np.bitwise_and, operator.and_, close,
                                                           _mirror(np.isfinite, math.isfinite, y)),
                     _mirror(np.equal, operator.eq, x, y))
    if flag(equal_nan):
        both = _mirror(np.bitwise_and, operator.and_, _mirror(np.isnan, math.isnan, x),
                       _mirror(np.isnan, math.isnan, y))
        result = _mirror(np.bitwise_or, operator.or_, result, both)
    return result


def _mirror(ufunc: np.ufunc, python: Any, *operands: Any) -> Any:
    """One operator of NumPy's Python code: the ufunc where a tensor is involved, Python's own
    operator on Python numbers (which NumPy's code leaves weak: ``abs(y)`` of a float is a float)."""
    if any(isinstance(v, Tensor) for v in operands):
        return apply(ufunc, *operands)
    return python(*operands)


def _isclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: Any = False) -> Tensor:
    return _isclose_tensor(a, b, rtol, atol, equal_nan)


def _allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: Any = False) -> bool:
    return bool(_isclose_tensor(a, b, rtol, atol, equal_nan).all())


def _array_equal(a1: Any, a2: Any, equal_nan: Any = False) -> bool:
    x = tensor_of(a1)
    y = tensor_of(a2, x.device)
    if x.shape != y.shape:
        return False
    if not flag(equal_nan) or not (x.is_floating_point() or y.is_floating_point()):
        return bool(apply(np.equal, x, y).all())
    x_nan, y_nan = apply(np.isnan, x), apply(np.isnan, y)
    if not bool((x_nan == y_nan).all()):
        return False
    return bool(apply(np.equal, x[~x_nan], y[~x_nan]).all())


# ---------------------------------------------------------------------------------------------
# Lowerings


def _sorted_operand(a: Operand, where: Any) -> tuple[str, int]:
    """The operand and dimension a sort works on: ``axis=None`` sorts the flattened array."""
    if where is None:
        return f"{a.name}.reshape(-1)", 0
    return a.name, axis(where, a.ndim)


def _lower_sort(args: Args) -> Emit:
    """Values do not depend on the order among ties, but for -0.0 and 0.0, which are equal:
    NumPy's default sort orders those its own way (its SIMD sorts differ by platform), so only a
    stable sort asked for is one here; torch's default sort is the faster one."""
    args.only("a", "axis", "kind", "stable")
    operand, dim = _sorted_operand(args.array("a"), args.literal("axis"))
    stable = args.literal("kind") in ("stable", "mergesort") or args.literal("stable") is True
    return Emit(f"torch.sort({operand}, dim={dim}{', stable=True' if stable else ''}).values")


def _lower_argsort(args: Args) -> Emit:
    """A stable sort's permutation is NumPy's only where NumPy sorts stably: its default sort
    orders ties its own way, which no torch sort reproduces and no check can see without reading
    the data.  A scalar's argsort has one element, as in NumPy."""
    args.only("a", "axis", "kind", "stable")
    kind, stable = args.literal("kind"), args.literal("stable")
    if not (kind in ("stable", "mergesort") or stable is True):
        raise Refuse("NumPy's default sort orders ties its own way: only kind='stable'/'mergesort' or "
                     "stable=True is exact")
    a = args.array("a")
    operand, dim = _sorted_operand(a, None if a.ndim == 0 else args.literal("axis"))
    return Emit(f"torch.argsort({operand}, dim={dim}, stable=True)")


def _comparison_dtype(a: Operand, v: Operand) -> np.dtype:
    """NumPy compares ``a`` with ``np.asarray(v)`` in their common dtype: a Python float ``v``
    is float64 here, not weak."""
    array = array_value(v)
    if array is not None:
        other = array.dtype
    elif python_number(v) is not None:
        other = np.asarray(v.literal if v.is_literal else python_number(v)(1)).dtype
    else:
        raise Refuse("v must be an array or a Python number")
    return np.result_type(a.array.dtype, other)


def _lower_searchsorted(args: Args) -> Emit:
    """torch's binary search on NumPy's sort order: floats as integer keys (``lib.sort_key``,
    NaN last, -0.0 equal to 0.0), bools as uint8.

    One key only: both libraries then run the same lower-bound search, so they agree even on an
    unsorted ``a``.  With several keys NumPy narrows each search by the previous key, which
    answers differently when ``a`` is not sorted, and whether it is sorted is data."""
    args.only("a", "v", "side")
    a, v, side = args.array("a"), args["v"], args.literal("side")
    if side not in ("left", "right") or a.ndim != 1:
        raise Refuse("side other than 'left'/'right', or a not 1-d (NumPy raises)")
    if _key_count_unknown(v):
        raise Refuse("more than one key: NumPy's search depends on a being sorted, which is data")
    common = _comparison_dtype(a, v)
    dtype = torch.uint8 if common == np.bool_ else NP_TO_TORCH[common]
    seq, values = cast(a.name, dtype, a.dtype), operand_source(args.call, v, dtype, tensor=True)
    if dtype.is_floating_point:
        seq, values = f"lib.sort_key({seq})", f"lib.sort_key({values})"
    return Emit(f"torch.searchsorted({seq}, {values}, right={side == 'right'})")


def _key_count_unknown(v: Operand) -> bool:
    """Whether ``v`` may hold more than one key (anything but a number or a 0-d array)."""
    if v.is_literal or v.python_type is not None:
        return False
    options = list(v.value.options())
    return not all(isinstance(o, ArrayV) and o.ndim == 0 for o in options)


def _number_source(op: Operand) -> str:
    """A Python number operand as source: the literal, or the placeholder of one of unknown value."""
    return source(op.literal) if op.is_literal else op.name


def _lower_nonzero(args: Args) -> Emit:
    return Emit(f"torch.nonzero({args.array('a').name}, as_tuple=True)")


def _lower_flatnonzero(args: Args) -> Emit:
    return Emit(f"torch.nonzero({args.array('a').name}.reshape(-1)).reshape(-1)")


def _lower_argwhere(args: Args) -> Emit:
    """A scalar counts as one element, and its index has no coordinates: shape (N, 0)."""
    a = args.array("a")
    if a.ndim == 0:
        return Emit(f"torch.argwhere({a.name}.reshape(1))[:, :0]")
    return Emit(f"torch.argwhere({a.name})")


def _lower_unique(args: Args) -> Emit:
    """NumPy's ``_unique1d`` on a stable sort (``lib.unique``)."""
    args.only("ar", "return_index", "return_inverse", "return_counts", "equal_nan", "sorted")
    a = args.array("ar")
    flags = [args.literal(n) for n in ("return_index", "return_inverse", "return_counts", "equal_nan")]
    if args.literal("sorted") is not True or not all(isinstance(f, bool) for f in flags):
        raise Refuse("sorted=False, or flags that are not literal bools")
    return Emit(call_source("lib.unique", a.name, *map(repr, flags)))


def _lower_where(args: Args) -> Emit:
    """One argument: ``nonzero``.  Three: the branches in NumPy's result dtype; Python numbers
    stay weak, but where both are numbers the first becomes a 0-d tensor of that dtype (torch
    would pick its default float32)."""
    condition = args.array("condition")
    if not args.given("x") and not args.given("y"):
        return Emit(f"torch.nonzero({condition.name}, as_tuple=True)")
    call, dtype = args.call, args.call.result_dtype
    x, y = args["x"], args["y"]
    numbers = not (array_value(x) or array_value(y))
    branches = (operand_source(call, x, dtype, tensor=numbers), operand_source(call, y, dtype))
    test = condition.name if condition.dtype is torch.bool else f"{condition.name} != 0"
    return Emit(f"torch.where({test}, {branches[0]}, {branches[1]})")


def _clip_bound(call: Call, op: Operand | None, x: Operand, low: bool) -> tuple[str | None, tuple[str, ...]]:
    """A bound as NumPy's ``_clip`` uses it: on an integer array a Python-int lower bound at or
    below the dtype's minimum (an upper one at or above its maximum) is dropped (None); for an
    int of unknown value, that it is strictly within the range is required."""
    if op is None or (op.is_literal and op.literal is None):
        return None, ()
    if python_number(op) is int and not x.dtype.is_floating_point and x.dtype is not torch.bool:
        info = torch.iinfo(x.dtype)
        if not op.is_literal:
            return op.name, (f"{info.min} < {op.name} < {info.max}",)
        if (op.literal <= info.min) if low else (op.literal >= info.max):
            return None, ()
    return operand_source(call, op, call.result_dtype), ()


def _clip_pair(args: Args, low: str, high: str) -> tuple[Operand | None, Operand | None]:
    """The bounds: ``np.clip``'s ``a_min``/``a_max`` as a pair, else ``min``/``max``."""
    if low != "min" and (args.given(low) or args.given(high)):
        if not (args.given(low) and args.given(high)) or args.given("min") or args.given("max"):
            raise Refuse("inconsistent bounds (NumPy raises)")
        return args[low], args[high]
    return tuple(args[n] if args.given(n) else None for n in ("min", "max"))  # type: ignore[return-value]


def _lower_clip(low: str, high: str) -> Callable[[Args], Emit]:
    """``np.clip`` / ``ndarray.clip``: bounds by NumPy's ``_clip`` (``_clip_bound``), then its
    ufunc in the resolved dtype: with no bound ``positive`` (a copy), else clamp (NaN bounds
    propagate, as NumPy's minimum/maximum do)."""

    def lower(args: Args) -> Emit:
        args.only("a", low, high, "min", "max")
        x, dtype = args.array("a"), args.call.result_dtype
        first, second = _clip_pair(args, low, high)
        lo, lo_requires = _clip_bound(args.call, first, x, low=True)
        hi, hi_requires = _clip_bound(args.call, second, x, low=False)
        if lo is None and hi is None:
            return Emit(f"{cast(x.name, dtype, x.dtype)}.clone()")
        operand = cast(x.name, dtype, x.dtype)
        if lo is not None and hi is not None:  # positional: torch parses them faster than keywords
            template = call_source("torch.clamp", operand, lo, hi)
        else:
            template = call_source("torch.clamp", operand, **({"min": lo} if hi is None else {"max": hi}))
        return Emit(template, requires=lo_requires + hi_requires)

    lower.__name__ = "_lower_clip"
    return lower


def _lower_round(args: Args) -> Emit:
    """NumPy's ``PyArray_Round``: integers copied for decimals >= 0; otherwise
    ``rint(x * 10**d) / 10**d`` (divide first for negative decimals), integers in float64 and
    cast back."""
    a, decimals = args.array("a"), args.literal("decimals")
    if type(decimals) is not int:
        raise Refuse("decimals must be a literal int")
    integer = not a.dtype.is_floating_point
    if integer and decimals >= 0:
        return Emit(f"{a.name}.clone()")
    if decimals == 0:
        return Emit(f"torch.round({a.name})")
    scale = repr(10.0 ** abs(decimals))
    work = cast(a.name, torch.float64) if integer else a.name
    rounded = f"torch.round({work} * {scale}) / {scale}" if decimals > 0 else f"torch.round({work} / {scale}) * {scale}"
    return Emit(cast(rounded, a.dtype, torch.float64) if integer else rounded)


def _lower_nan_to_num(args: Args) -> Emit:
    """Replacements as NumPy stores them into the array (``_as_dtype``; the defaults are the
    dtype's extremes, as in torch)."""
    x = args.array("x")
    if args.literal("copy") is not True:
        raise Refuse("copy=False writes into the array")
    if not x.dtype.is_floating_point:
        return Emit(f"{x.name}.clone()")
    dtype = TORCH_TO_NP[x.dtype]
    info = np.finfo(dtype)
    replacements = {}
    for name, default in (("nan", 0.0), ("posinf", info.max), ("neginf", info.min)):
        op = args.operands.get(name)
        if op is not None and not op.is_literal and python_number(op) is not None:
            replacements[name] = op.name
            continue
        value = args.literal(name)
        try:
            replacements[name] = source(_as_dtype(default if value is None else value, dtype))
        except (Unsupported, TypeError, ValueError):
            raise Refuse(f"{name}={value!r} does not fit {dtype} (NumPy raises or warns)") from None
    return Emit(call_source("torch.nan_to_num", x.name, **replacements))


def _lower_isclose(args: Args) -> Emit:
    """NumPy's formula (``lib.isclose``) with the two dtypes it computes in, decided here from
    NumPy's own arithmetic: ``y`` made inexact, and ``x - y``'s."""
    x, y = args["a"], args["b"]
    tolerances = [args.literal(n) for n in ("rtol", "atol")]
    equal_nan = args.literal("equal_nan")
    if not all(type(t) in (int, float) and math.isfinite(t) for t in tolerances) or type(equal_nan) is not bool:
        raise Refuse("tolerances must be finite literal numbers (NumPy warns otherwise), equal_nan a literal bool")
    x_probe, y_probe = _numpy_probe(x), _numpy_probe(y)
    inexact = np.result_type(y_probe, 1.0) if isinstance(y_probe, np.ndarray) else np.dtype(np.float64)
    common = np.result_type(x_probe - (y_probe.astype(inexact) if isinstance(y_probe, np.ndarray) else 1.0))
    if common not in NP_TO_TORCH or inexact not in NP_TO_TORCH:
        raise Refuse("no torch dtype for NumPy's intermediate results")
    operands = [_isclose_operand(args.call, op) for op in (x, y)]
    return Emit(call_source("lib.isclose", *operands, *map(repr, tolerances), repr(equal_nan),
                            dtype_source(NP_TO_TORCH[inexact]), dtype_source(NP_TO_TORCH[common])))


def _numpy_probe(op: Operand) -> Any:
    """A NumPy stand-in of an isclose operand: an array of its dtype, or a weak Python number."""
    array = array_value(op)
    if array is not None:
        return np.ones(1, array.dtype)
    kind = python_number(op)
    if kind is None:
        raise Refuse(f"{op.name} must be an array or a Python number")
    return kind(1)


def _isclose_operand(call: Call, op: Operand) -> str:
    """A tensor in its own dtype, or a Python number as it is (weak)."""
    array = array_value(op)
    return operand_source(call, op, NP_TO_TORCH[array.dtype]) if array is not None else _number_source(op)


# ---------------------------------------------------------------------------------------------
# Registration


def _searchsorted_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Sorted ``a`` (NumPy's precondition), and now and then an unsorted one with one key: NumPy
    then answers by its search path from the whole range, the path a binary search takes."""
    raw = d.array((d.integer(0, 5),), ALL, d.choice(["small", "any"]), lifted=False)
    seq = np.sort(raw) if d.integer(0, 4) else raw
    value = d.choice(["array", "scalar", "python"] if seq is not raw else ["scalar", "python"])
    if value == "array":
        v = d.array(d.shape((0, 2)), ALL, "any", lifted=None)
    elif value == "scalar":
        v = d.array((), ALL, "any", lifted=None)
    else:
        v = d.choice([1, 0.5, -2, 0.1, True, 300])
    kwargs = {"side": d.choice(["left", "right"])} if d.integer(0, 1) else {}
    return (Lifted(seq), v), kwargs


def _sorting(name: str, impl: Callable[..., Any], torch_name: str, cases: tuple[Any, ...], *,
             method: bool = False, forms: str = "", notes: str = "", literals: tuple[str, ...] = (),
             infer: Any = None, lower: Callable[[Args], Emit] | None = None, **fields: Any) -> None:
    register_numpy(name, impl, method=method, torch_name=torch_name, forms=forms, notes=notes,
                   check=literal_arguments(impl, *literals) if literals else None, infer=infer, cases=cases,
                   lower=bound(impl, lower) if lower is not None else None, **fields)


_AXIS = OneOf(Lit(-1, None), Axis(none=True, multi=False))
#: What the notes of operations whose result size is data say (NumPy's ``nonzero`` family).
_DATA_SIZE = "the result's size is data: torch reads it on the host (a sync on CUDA), as NumPy's result needs it"
_sorting("sort", _sort, "torch.sort(stable=True).values",
         (case(Arr(), _AXIS), case(Arr(), kind=Lit(OMIT, "stable", "quicksort"))),
         literals=("axis",), forms="axis int/None, any kind",
         notes="order= goes to NumPy; -0.0 and 0.0 may come out in another order (they are equal)",
         lower=_lower_sort)
_sorting("argsort", _argsort, "torch.sort(stable=True).indices",
         (case(Arr(), _AXIS, kind=Lit("stable", "mergesort")),
          case(Arr(), _AXIS, numpy_only="NumPy's default sort orders equal values its own way"),
          case(Arr(values="small"), axis=_AXIS, kind=Lit(OMIT, "stable", "mergesort", "quicksort")),
          case(Arr(values="small"), stable=Lit(True, False))),
         method=True, literals=("axis",), forms="axis int/None, kind, stable",
         notes="lowered for kind='stable'/'mergesort' or stable=True only: NumPy's default sort orders equal "
               "values its own way, which no torch sort reproduces (the runtime path takes it where nothing "
               "ties, a check that reads the data); order= goes to NumPy", lower=_lower_argsort)
_sorting("searchsorted", _searchsorted, "torch.searchsorted on NumPy's sort order", (custom(_searchsorted_operands),), method=True,
         forms="1-d sorted a, scalar or array v, side",
         notes="a must be sorted, as NumPy requires: the search is NumPy's for a sorted a (NaN last, -0.0 "
               "equal to 0.0, through integer sort keys), while on an unsorted a NumPy's answer depends on its "
               "search order over the keys (only a single key is answered alike); sorter= goes to NumPy",
         lower=_lower_searchsorted)
_sorting("nonzero", _nonzero, "torch.nonzero(as_tuple=True)", (case(Arr()),), method=True,
         notes="returns a tuple of tensors; a scalar goes to NumPy (it raises); " + _DATA_SIZE, lower=_lower_nonzero)
_sorting("flatnonzero", _flatnonzero, "torch.nonzero of the flattened tensor", (case(Arr()),), notes=_DATA_SIZE,
         lower=_lower_flatnonzero)
_sorting("argwhere", _argwhere, "torch.argwhere", (case(Arr()),), notes=_DATA_SIZE, lower=_lower_argwhere)
_UNIQUE_FLAGS = dict(return_index=Lit(OMIT, False, True), return_inverse=Lit(OMIT, False, True),
                     return_counts=Lit(OMIT, False, True), equal_nan=Lit(OMIT, True, False))
_sorting("unique", _unique, "torch.sort(stable=True), then runs", (case(Arr(), **_UNIQUE_FLAGS),
                                                                   case(Arr(values="small"), **_UNIQUE_FLAGS)),
         literals=("return_index", "return_inverse", "return_counts", "axis"),
         forms="return_index/inverse/counts, equal_nan",
         notes="axis= and sorted=False go to NumPy; NaNs merge into one as in NumPy 2; -0.0 and 0.0 are one "
               "value, which may keep the other sign; " + _DATA_SIZE, lower=_lower_unique)
_sorting("where", _where, "torch.where (branches cast to np.result_type)",
         (case(Arr(group="w"), Arr(group="w", lifted=None), Arr(group="w", lifted=None)),
          case(Arr(), Py((int, float, bool)), Arr(ndim=(0, 1), lifted=None)),
          case(Arr(), Arr(), Py((int, float))), case(Arr(ndim=(0, 3)))),
         forms="where(c) (nonzero) and where(c, x, y) with broadcasting",
         notes="a 0-d result is a 0-d ndarray in NumPy and goes to NumPy; where(c): " + _DATA_SIZE,
         lower=_lower_where)
_BOUND = OneOf(Py((int, float)), Arr(ndim=(0, 1), lifted=None), Lit(None, 2**40, -2**40))
_CLIP_NUMPY_WHEN = ("a Python int bound of unknown value on an integer array, when it is at or beyond the "
                    "dtype's range (NumPy then drops it)")
_sorting("clip", _clip, "torch.clamp in the dtype of NumPy's clip ufunc",
         (case(Arr(), _BOUND, _BOUND), case(Arr(), min=_BOUND, max=_BOUND), case(Arr(), a_min=_BOUND, a_max=_BOUND)),
         forms="bounds Python scalars, arrays or None",
         notes="dtype as NumPy's clip ufunc resolves it; out=/casting= go to NumPy",
         lower=_lower_clip("a_min", "a_max"), numpy_when=_CLIP_NUMPY_WHEN)
register(OpEntry(key="ndarray.clip", reference=method_reference("clip"), torch_impl=_clip_method,
                 torch_name="torch.clamp in the dtype of NumPy's clip ufunc",
                 forms="bounds Python scalars, arrays or None", notes="out=/casting= go to NumPy",
                 lower=bound(_clip_method, _lower_clip("min", "max")), numpy_when=_CLIP_NUMPY_WHEN,
                 cases=(case(Arr(), _BOUND, _BOUND), case(Arr(), min=_BOUND, max=_BOUND))))
for _name in ("round", "around"):
    _sorting(_name, _round, "torch.round(x * 10**d) / 10**d, as NumPy rounds",
             (case(Arr(NUMERIC), Lit(OMIT, 0, 1, 2, -1, -2)), case(Arr(ALL), decimals=Lit(0, 3, -1))),
             method=_name == "round", forms="decimals (negative too)",
             notes="bool input goes to NumPy (float16 result, or an error for decimals > 0)", lower=_lower_round)
_sorting("nan_to_num", _nan_to_num, "torch.nan_to_num (replacements as NumPy stores them)",
         (case(Arr()), case(Arr(), nan=Lit(OMIT, 0.0, 5, -1.5, 1e300), posinf=Lit(OMIT, None, 1.0, 1e300),
                            neginf=Lit(OMIT, None, -2.0), copy=Lit(OMIT, True, False))),
         forms="nan=, posinf=, neginf=", notes="copy=False (writes in place) goes to NumPy",
         lower=_lower_nan_to_num)
_TOL = Lit(OMIT, 1e-5, 0.5, 0.0, 1)
_PYTHON_BOOL = "returns a Python bool: a read of tensor data on the host, which lowered code never makes"
for _name, _impl in (("isclose", _isclose), ("allclose", _allclose)):
    _sorting(_name, _impl, "NumPy's isclose formula on tensors",
             (case(Arr(group="c"), Arr(group="c", lifted=None), rtol=_TOL, atol=_TOL, equal_nan=Lit(OMIT, True, False)),
              case(Arr(), Py((int, float))), case(Py((int, float)), Arr())),
             forms="rtol, atol, equal_nan; broadcasting",
             notes="non-finite tolerances go to NumPy (it warns)",
             **({"lower": _lower_isclose} if _name == "isclose" else {"numpy_only": _PYTHON_BOOL}))
_sorting("array_equal", _array_equal, "elementwise == then all()",
         (case(Arr(group="e"), Arr(group="e", lifted=None), equal_nan=Lit(OMIT, True, False)),
          case(Arr(values="small"), Arr(values="small", like=0, lifted=None))),
         notes="returns a Python bool", numpy_only=_PYTHON_BOOL)
