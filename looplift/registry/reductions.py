"""Reductions: sums and means, variance, extrema and their positions, any/all, cumulative
sums, order statistics.

Each tensor path follows NumPy's own algorithm in NumPy's dtypes rather than the nearest torch
function: the accumulation and result dtypes come from NumPy (``coerce.probe_dtype``); mean and
var divide a sum by an ``np.intp`` count exactly as ``numpy/_core/_methods.py`` does (so a float32
mean divides in float64 and rounds); median and quantile sort and interpolate as
``numpy/lib/_function_base_impl.py`` does (its index arithmetic on ``q``, its lerp, its NaN rule).
The torch functions of the same names differ (``var`` defaults to correction=1, ``median``
returns the lower middle value, ``quantile`` needs ``q`` in the input dtype, ``sum(dim=())``
reduces every axis where NumPy's ``axis=()`` reduces none).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from .cases import ALL, FLOAT, NUMERIC, OMIT, Arr, Axis, Case, Lit, OneOf, case
from .coerce import (array_result, copy_if_same, dtype_arg, loop_for, normalize_axes, normalize_axis, probe_dtype,
                     tensor_of, to_numpy)
from .declare import NO_VALUE, flag, literal_arguments, not_given, register_numpy
from .entry import Unsupported
from .ufuncs import apply

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------
# Shared steps


def _count(x: Tensor, axes: tuple[int, ...]) -> int:
    """The number of elements reduced (a plain loop: ``torch.compile`` traces it with symbolic sizes)."""
    count = 1
    for axis in axes:
        count *= x.shape[axis]
    return count


def _total(x: Tensor, axes: tuple[int, ...], keepdims: bool, dtype: torch.dtype) -> Tensor:
    """``np.add.reduce`` in ``dtype`` (torch sums integers in int64; the cast back wraps exactly
    as NumPy's accumulation in ``dtype`` does)."""
    x = x.to(dtype)
    if not axes:
        return x
    if len(axes) == x.ndim and not keepdims:  # the whole array: inductor's split reduction is faster
        return torch.sum(x).to(dtype)
    return torch.sum(x, dim=axes, keepdim=keepdims).to(dtype)


_INTP = np.dtype(np.intp)


def _divide(total: Tensor, count: Any, dtype: torch.dtype) -> Tensor:
    """``np.true_divide(total, count, casting='unsafe')`` into ``dtype``.

    ``count`` is a tensor of counts, a NumPy scalar, or a Python int standing for the
    ``np.intp`` count NumPy divides by.  A NumPy scalar is a strong operand (a float32 total
    divides in float64), so the loop comes from NumPy's dtype resolution for its dtype, and the
    division itself takes the count as a Python number: no NumPy object on the traced path."""
    if isinstance(count, Tensor):
        return apply(np.true_divide, total, count).to(dtype)
    descriptor = count.dtype if isinstance(count, np.generic) else _INTP
    loop = loop_for(np.true_divide, (total.dtype, descriptor))
    if loop is None:
        raise Unsupported(f"true_divide of {total.dtype} by {descriptor}")
    (total_dtype, _), (result_dtype,) = loop
    value = count.item() if isinstance(count, np.generic) else count
    return torch.true_divide(total.to(total_dtype), value).to(result_dtype).to(dtype)


def _accumulator(x: Tensor, dtype: Any) -> torch.dtype:
    """The dtype NumPy's mean/var sum in: ``dtype=`` if given, float64 for int/bool input."""
    given = dtype_arg(dtype)
    if given is not None:
        return probe_dtype(np.add.reduce, (x,), dtype=given)
    return x.dtype if x.is_floating_point() else torch.float64


def _kept_shape(x: Tensor, axes: tuple[int, ...]) -> list[int]:
    return [1 if d in axes else side for d, side in enumerate(x.shape)]


def _reduced_to_last(x: Tensor, axis: Any) -> tuple[Tensor, tuple[int, ...]]:
    """The reduced axes flattened into one last axis, the others in order, like NumPy's
    ``_ureduce``; with the normalized axes.  NumPy reshapes to ``(*kept, -1)`` for an axis tuple
    of other than one axis, which raises when a kept axis is empty."""
    axes = normalize_axes(axis, x.ndim)
    keep = [d for d in range(x.ndim) if d not in axes]
    kept = [x.shape[d] for d in keep]
    if axis is not None and len(axes) != 1 and math.prod(kept) == 0:
        raise Unsupported("NumPy cannot reshape an empty array here (it raises)")
    return x.permute(keep + list(axes)).reshape(kept + [_count(x, axes)]), axes


# ---------------------------------------------------------------------------------------------
# Sums, means, variances


def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = NO_VALUE,
         initial: Any = NO_VALUE, where: Any = NO_VALUE) -> Tensor:
    not_given(out=out, initial=initial, where=where)
    x = tensor_of(a)
    axes = normalize_axes(axis, x.ndim)
    result = _total(x, axes, flag(keepdims), probe_dtype(np.sum, (x,), dtype=dtype))
    return copy_if_same(result, x)


def _prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = NO_VALUE,
          initial: Any = NO_VALUE, where: Any = NO_VALUE) -> Tensor:
    """torch.prod reduces one dim at a time (last first, so the others keep their index)."""
    not_given(out=out, initial=initial, where=where)
    x = tensor_of(a)
    axes = normalize_axes(axis, x.ndim)
    dt = probe_dtype(np.prod, (x,), dtype=dtype)
    result = x.to(dt)
    for d in sorted(axes, reverse=True):
        result = torch.prod(result, d, keepdim=flag(keepdims))
    return copy_if_same(result.to(dt), x)


def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = NO_VALUE, *,
          where: Any = NO_VALUE) -> Tensor:
    not_given(out=out, where=where)
    x = tensor_of(a)
    axes = normalize_axes(axis, x.ndim)
    total = _total(x, axes, flag(keepdims), _accumulator(x, dtype))
    return copy_if_same(_divide(total, _count(x, axes), probe_dtype(np.mean, (x,), dtype=dtype)), x)


def _variance(reference: Callable[..., Any], a: Any, axis: Any, dtype: Any, out: Any, ddof: Any,
              keepdims: Any, where: Any, mean: Any, correction: Any) -> Tensor:
    """``_methods._var``: the mean (a keepdims sum divided by the count), squared deviations in
    NumPy's promoted dtype, their sum divided by ``max(count - ddof, 0)``."""
    not_given(out=out, where=where, mean=mean)
    if correction is not NO_VALUE:
        if ddof != 0:
            raise Unsupported("ddof and correction together (NumPy raises)")
        ddof = correction
    if isinstance(ddof, (bool, np.bool_)) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise Unsupported("ddof of another type")
    x = tensor_of(a)
    axes = normalize_axes(axis, x.ndim)
    acc = _accumulator(x, dtype)
    count = _count(x, axes)
    mean_ = _divide(_total(x, axes, True, acc), count, acc)
    deviation = apply(np.subtract, x, mean_)
    squares = _total(deviation * deviation, axes, flag(keepdims), acc)
    # np.intp minus a Python int stays np.intp (a plain int here); other ddofs promote in NumPy
    rest = max(count - ddof, 0) if type(ddof) is int and abs(ddof) < 2 ** 62 else \
        np.maximum(np.intp(count) - ddof, 0)
    return _divide(squares, rest, probe_dtype(reference, (x,), dtype=dtype))


def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: Any = NO_VALUE, *, where: Any = NO_VALUE, mean: Any = NO_VALUE,
         correction: Any = NO_VALUE) -> Tensor:
    return _variance(np.var, a, axis, dtype, out, ddof, keepdims, where, mean, correction)


def _std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: Any = NO_VALUE, *, where: Any = NO_VALUE, mean: Any = NO_VALUE,
         correction: Any = NO_VALUE) -> Tensor:
    return torch.sqrt(_variance(np.std, a, axis, dtype, out, ddof, keepdims, where, mean, correction))


def _nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = NO_VALUE,
            initial: Any = NO_VALUE, where: Any = NO_VALUE) -> Tensor:
    """NumPy replaces NaN by 0 and sums."""
    x = tensor_of(a)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), 0, x)
    return _sum(x, axis, dtype, out, keepdims, initial, where)


def _nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = NO_VALUE, *,
             where: Any = NO_VALUE) -> Tensor:
    """NumPy: the sum with NaN as 0 divided (unsafe cast) by the count of non-NaN values."""
    x = tensor_of(a)
    if not x.is_floating_point():
        return _mean(x, axis, dtype, out, keepdims, where=where)
    not_given(out=out, where=where)
    axes = normalize_axes(axis, x.ndim)
    nan = torch.isnan(x)
    count = _total(~nan, axes, flag(keepdims), torch.int64)
    total = _total(torch.where(nan, 0, x), axes, flag(keepdims), probe_dtype(np.sum, (x,), dtype=dtype))
    return _divide(total, count, probe_dtype(np.nanmean, (x,), dtype=dtype))


def _weighted_average(a: Any, weights: Any) -> Any:
    """``np.average`` with weights, for probing its result dtype."""
    return np.average(a, weights=weights)


def _average(a: Any, axis: Any = None, weights: Any = None, returned: Any = False, *,
             keepdims: Any = NO_VALUE) -> Any:
    """``np.average`` without weights, or with weights of ``a``'s shape, as NumPy computes it:
    the weighted sum in ``result_type(a, w[, 'f8'])`` divided by the sum of the weights."""
    x = tensor_of(a)
    axes = normalize_axes(axis, x.ndim)
    keep = flag(keepdims)
    if weights is None:
        avg = _mean(x, axis, keepdims=keepdims)
        scale = torch.tensor(x.numel() / avg.numel(), dtype=avg.dtype, device=x.device)
    else:
        w = tensor_of(weights, x.device)
        if w.shape != x.shape:
            raise Unsupported("weights of another shape than a")
        dt = probe_dtype(_weighted_average, (x, w))
        scale = _total(w, axes, keep, dt)
        if bool((scale == 0).any()):
            raise Unsupported("weights sum to zero (NumPy raises)")
        avg = apply(np.true_divide, _total(x.to(dt) * w.to(dt), axes, keep, dt), scale)
    if not flag(returned):
        return copy_if_same(avg, x)
    if scale.shape != avg.shape:
        scale = scale.expand(avg.shape).clone()
    return copy_if_same(avg, x), scale


# ---------------------------------------------------------------------------------------------
# Extrema, positions, logical reductions, counts


def _extremum(torch_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: Any = NO_VALUE, initial: Any = NO_VALUE,
             where: Any = NO_VALUE) -> Tensor:
        not_given(out=out, initial=initial, where=where)
        x = tensor_of(a)
        axes = normalize_axes(axis, x.ndim)
        if not axes:
            return x.clone()
        if _count(x, axes) == 0:
            raise Unsupported("empty reduction (NumPy raises)")
        return torch_fn(x, dim=axes, keepdim=flag(keepdims))

    return impl


_max = _extremum(torch.amax)
_min = _extremum(torch.amin)


def _nan_extremum(torch_fn: Callable[..., Tensor], fill: float) -> Callable[..., Tensor]:
    """``np.fmax.reduce``: NaN ignored, NaN only for an all-NaN slice."""
    plain = _extremum(torch_fn)

    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: Any = NO_VALUE, initial: Any = NO_VALUE,
             where: Any = NO_VALUE) -> Tensor:
        x = tensor_of(a)
        if not x.is_floating_point():
            return plain(x, axis, out, keepdims, initial, where)
        axes = normalize_axes(axis, x.ndim)
        nan = torch.isnan(x)
        result = plain(torch.where(nan, fill, x), axis, out, keepdims, initial, where)
        if not axes:
            return torch.where(nan, x, result)
        return torch.where(nan.all(dim=axes, keepdim=flag(keepdims)), math.nan, result)

    return impl


def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: Any = NO_VALUE) -> Tensor:
    """NumPy subtracts the minimum from the maximum (bool raises, integers wrap)."""
    not_given(out=out)
    x = tensor_of(a)
    return apply(np.subtract, _max(x, axis, keepdims=keepdims), _min(x, axis, keepdims=keepdims))


def _position(torch_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """argmax/argmin: the first position of the extremum (NaN counts as the extremum); bool goes
    through uint8, which torch accepts."""

    def impl(a: Any, axis: Any = None, out: Any = None, *, keepdims: Any = NO_VALUE) -> Tensor:
        not_given(out=out)
        x = tensor_of(a)
        keep = flag(keepdims)
        if x.dtype is torch.bool:
            x = x.to(torch.uint8)
        if axis is None:
            result = torch_fn(x.reshape(-1))
            return result.reshape((1,) * x.ndim) if keep else result
        return torch_fn(x, dim=normalize_axis(axis, x.ndim), keepdim=keep)

    return impl


def _logical(torch_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: Any = NO_VALUE, *,
             where: Any = NO_VALUE) -> Tensor:
        not_given(out=out, where=where)
        x = tensor_of(a)
        axes = normalize_axes(axis, x.ndim)
        if not axes:
            return x != 0
        return torch_fn(x, dim=axes, keepdim=flag(keepdims)).to(torch.bool)

    return impl


def _count_nonzero(a: Any, axis: Any = None, *, keepdims: Any = False) -> Tensor:
    x = tensor_of(a)
    axes = normalize_axes(axis, x.ndim)
    counts = _total(x != 0, axes, flag(keepdims), torch.int64)
    return copy_if_same(counts, x)


def _cumulative(torch_fn: Callable[..., Tensor], reference: Callable[..., Any]) -> Callable[..., Tensor]:
    """cumsum/cumprod; ``axis=None`` flattens first (torch has no such mode)."""

    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Tensor:
        not_given(out=out)
        x = tensor_of(a)
        dt = probe_dtype(reference, (x,), dtype=dtype)
        if axis is None:
            x, dim = x.reshape(-1), 0
        else:
            dim = normalize_axis(axis, x.ndim)
        return torch_fn(x.to(dt), dim=dim).to(dt)

    return impl


# ---------------------------------------------------------------------------------------------
# Order statistics


def _median(a: Any, axis: Any = None, out: Any = None, overwrite_input: Any = False, keepdims: Any = False) -> Tensor:
    """NumPy: the mean of the middle one or two sorted values (in float64 for int input), NaN
    where the slice holds a NaN."""
    not_given(out=out)
    x = tensor_of(a)
    lined, axes = _reduced_to_last(x, axis)
    n = lined.shape[-1]
    if n == 0:
        raise Unsupported("median of an empty slice (NumPy warns and returns NaN)")
    ordered = torch.sort(lined, dim=-1).values
    middle = ordered[..., (n - 1) // 2: n // 2 + 1]
    acc = _accumulator(x, None)
    dt = probe_dtype(np.median, (x,))
    result = _divide(_total(middle, (middle.ndim - 1,), False, acc), middle.shape[-1], dt)
    if x.is_floating_point():
        last = ordered[..., -1]
        result = torch.where(torch.isnan(last), last.to(dt), result)
    if flag(keepdims):  # NumPy indexes the result with (..., newaxis...): an array, even 0-d
        return array_result(result.reshape(_kept_shape(x, axes)))
    return result


#: method -> NumPy's virtual index of quantile ``q`` among ``n`` sorted values (integer dtype:
#: take that value; float: interpolate), from ``_QuantileMethods``.
_VIRTUAL_INDEX: dict[str, Callable[[int, np.ndarray], np.ndarray]] = {
    "linear": lambda n, q: (n - 1) * q,
    "lower": lambda n, q: np.floor((n - 1) * q).astype(np.intp),
    "higher": lambda n, q: np.ceil((n - 1) * q).astype(np.intp),
    "nearest": lambda n, q: np.around((n - 1) * q).astype(np.intp),
}


def _neighbours(virtual: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """NumPy's ``_get_indexes``: floor and floor + 1, clamped to the first/last value."""
    previous = np.floor(virtual, out=...)
    following = np.add(previous, 1, out=...)
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    return previous.astype(np.intp), following.astype(np.intp)


def _lerp(a: Tensor, b: Tensor, t: Any) -> Tensor:
    """NumPy's ``_lerp``: ``a + (b-a)*t``, or ``b - (b-a)*(1-t)`` where t >= 0.5, in NumPy's
    promoted dtypes (``t`` is a Python float for a Python-number ``q``, else a NumPy array)."""
    diff = apply(np.subtract, b, a)
    result = apply(np.add, a, apply(np.multiply, diff, t))
    upper = b.to(result.dtype) - apply(np.multiply, diff, 1 - t).to(result.dtype)
    high = torch.as_tensor(np.asarray(t) >= 0.5, device=result.device)
    return torch.where(high, upper, result)


def _quantile_of(x: Tensor, q: Any, weak_q: bool, axis: Any, method: str, keepdims: bool) -> Tensor:
    """``_quantile`` over the flattened reduced axes: sort, take or interpolate, then NaN where a
    slice holds one (the last sorted value is NaN)."""
    if q.ndim > 1 or not ((q >= 0) & (q <= 1)).all():
        raise Unsupported("q out of range or of ndim > 1 (NumPy raises)")
    if method not in _VIRTUAL_INDEX:
        raise Unsupported(f"method={method!r}")
    lined, axes = _reduced_to_last(x, axis)
    ordered = torch.sort(lined, dim=-1).values.movedim(-1, 0)
    n = ordered.shape[0]
    if n == 0:
        raise Unsupported("quantile of an empty slice (NumPy raises)")
    virtual = np.asanyarray(_VIRTUAL_INDEX[method](n, q))
    if virtual.dtype.kind in "iu":
        result = ordered[torch.as_tensor(virtual, device=x.device)]
    else:
        previous, following = _neighbours(virtual, n)
        gamma = np.asanyarray(np.asanyarray(virtual - previous), dtype=virtual.dtype)
        gamma = float(gamma) if weak_q else gamma.reshape(virtual.shape + (1,) * (ordered.ndim - 1))
        index = torch.as_tensor(previous, device=x.device), torch.as_tensor(following, device=x.device)
        result = _lerp(ordered[index[0]], ordered[index[1]], gamma)
    if x.is_floating_point():
        last = ordered[-1]
        if result.ndim == 0:
            result = last if bool(torch.isnan(last)) else result
        else:
            result = torch.where(torch.isnan(last), math.nan, result)
    if keepdims:
        return array_result(result.reshape(tuple(q.shape) + tuple(_kept_shape(x, axes))))
    return result


def _quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: Any = False,
              method: Any = "linear", keepdims: Any = False, *, weights: Any = None) -> Tensor:
    not_given(out=out, weights=weights)
    return _quantile_of(tensor_of(a), np.asanyarray(to_numpy(q)), type(q) in (int, float), axis, method,
                        flag(keepdims))


def _percentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: Any = False,
                method: Any = "linear", keepdims: Any = False, *, weights: Any = None) -> Tensor:
    not_given(out=out, weights=weights)
    fraction = np.true_divide(to_numpy(q), 100, out=...)
    return _quantile_of(tensor_of(a), fraction, type(q) in (int, float), axis, method, flag(keepdims))


# ---------------------------------------------------------------------------------------------
# Registration

_LITERALS = ("axis", "keepdims")
_KEEP = Lit(OMIT, False, True)
_DTYPE = Lit(OMIT, None, "float64", np.float32, "int64", int, float)


def _axis_cases(*more: Case, tolerance: str = "exact", dtypes: tuple[str, ...] = ALL,
                **kwargs: Any) -> tuple[Case, ...]:
    """The forms every axis-reduction takes: axis positional and keyword, keepdims."""
    x = Arr(dtypes)
    return (case(x, Axis(), tolerance=tolerance),
            case(x, axis=Axis(), keepdims=_KEEP, tolerance=tolerance, **kwargs), *more)


def _reduction(name: str, impl: Callable[..., Any], torch_name: str, *, method: bool = True,
               cases: tuple[Case, ...], notes: str = "", literals: tuple[str, ...] = _LITERALS,
               forms: str = "axis None/int/negative/tuple, keepdims") -> None:
    register_numpy(name, impl, method=method, torch_name=torch_name, forms=forms, notes=notes,
                   check=literal_arguments(impl, *literals), cases=cases)


_reduction("sum", _sum, "torch.sum (in NumPy's accumulation dtype)", forms="axis, dtype=, keepdims",
           cases=_axis_cases(tolerance="sum", dtype=_DTYPE),
           notes="out=/initial=/where= go to NumPy; dtypes NumPy accumulates in uint64 go to NumPy")
_reduction("prod", _prod, "torch.prod, one axis at a time", forms="axis, dtype=, keepdims",
           cases=_axis_cases(dtype=_DTYPE), notes="out=/initial=/where= go to NumPy")
_reduction("mean", _mean, "torch.sum / count (float64 division like NumPy)", forms="axis, dtype=, keepdims",
           cases=_axis_cases(tolerance="sum", dtype=_DTYPE), notes="out=/where= go to NumPy")
for _name, _impl in (("var", _var), ("std", _std)):
    _reduction(_name, _impl, "NumPy's two-pass algorithm on tensors",
               forms="axis, dtype=, ddof=, correction=, keepdims",
               cases=_axis_cases(case(Arr(), Axis(), Lit(None, "float64"), None, Lit(0, 1, 2)), tolerance=_name,
                                 ddof=Lit(OMIT, 0, 1, 2, 0.5), dtype=Lit(OMIT, None, "float64", np.float32)),
               notes="out=/where=/mean= go to NumPy; the division by max(n - ddof, 0) is NumPy's "
                     "(torch.var's default correction is 1)")
for _name, _impl, _target in (("max", _max, "amax"), ("min", _min, "amin"), ("amax", _max, "amax"),
                              ("amin", _min, "amin")):
    _reduction(_name, _impl, f"torch.{_target}", method=_name in ("max", "min"), cases=_axis_cases(),
               notes="empty reductions, out=/initial=/where= go to NumPy (it raises for empty ones)")
for _name, _impl, _target in (("nanmax", _nan_extremum(torch.amax, -math.inf), "amax"),
                              ("nanmin", _nan_extremum(torch.amin, math.inf), "amin")):
    _reduction(_name, _impl, f"torch.{_target} with NaN masked", method=False,
               cases=_axis_cases(), notes="all-NaN slices give NaN without NumPy's warning; empty "
                                         "reductions and out=/initial=/where= go to NumPy")
for _name, _impl in (("argmax", _position(torch.argmax)), ("argmin", _position(torch.argmin))):
    _reduction(_name, _impl, f"torch.{_name} (bool via uint8)", forms="axis None/int, keepdims",
               cases=(case(Arr(), OneOf(None, Axis(none=False, multi=False))),
                      case(Arr(), axis=OneOf(None, Axis(none=False, multi=False)), keepdims=_KEEP)),
               notes="out= goes to NumPy; empty input raises in both")
for _name, _impl in (("any", _logical(torch.any)), ("all", _logical(torch.all))):
    _reduction(_name, _impl, f"torch.{_name}", cases=_axis_cases(), notes="out=/where= go to NumPy")
for _name, _fn in (("cumsum", torch.cumsum), ("cumprod", torch.cumprod)):
    _reduction(_name, _cumulative(_fn, getattr(np, _name)), f"torch.{_name} (flattened for axis=None)",
               forms="axis None/int, dtype=", literals=("axis",),
               cases=(case(Arr(values="small" if _name == "cumprod" else "any"),
                           OneOf(None, Axis(none=False, multi=False)),
                           tolerance="sum"),
                      case(Arr(values="small" if _name == "cumprod" else "any"),
                           axis=OneOf(None, Axis(none=False, multi=False)), dtype=_DTYPE, tolerance="sum")),
               notes="out= goes to NumPy")
_reduction("ptp", _ptp, "torch.amax - torch.amin", method=False, cases=_axis_cases(),
           notes="bool input and out= go to NumPy (it raises for bool)")
_reduction("count_nonzero", _count_nonzero, "sum of x != 0 (int64)", method=False,
           cases=_axis_cases(), notes="")
_reduction("nansum", _nansum, "torch.sum with NaN replaced by 0", method=False,
           cases=_axis_cases(tolerance="sum", dtype=_DTYPE), notes="out=/initial=/where= go to NumPy")
_reduction("nanmean", _nanmean, "sum with NaN as 0 / count of non-NaN", method=False,
           cases=_axis_cases(tolerance="sum", dtype=Lit(OMIT, None, "float64", np.float32)),
           notes="all-NaN slices give NaN without NumPy's warning; out=/where= go to NumPy")
_reduction("median", _median, "torch.sort, then the mean of the middle values", method=False,
           cases=_axis_cases(), notes="empty slices (NumPy warns, returns NaN) and out= go to NumPy")
_Q = OneOf(Lit(0.5, 0.25, 0, 1, 0.0, 1.0, 0.3), Lit([0.25, 0.75], [0.0, 1.0], np.array([0.1, 0.9])),
           Arr(FLOAT, ndim=(0, 1), values="small"))
for _name, _impl, _scale in (("quantile", _quantile, 1), ("percentile", _percentile, 100)):
    _q = _Q if _scale == 1 else OneOf(Lit(50, 25, 0, 100, 30.0), Lit([25, 75], [0.0, 100.0]))
    _reduction(_name, _impl, "torch.sort, then NumPy's index arithmetic and lerp", method=False,
               forms="q scalar/list/array, axis, keepdims, method linear/lower/higher/nearest",
               cases=(case(Arr(NUMERIC), _q, Axis()),
                      case(Arr(NUMERIC), _q, axis=Axis(), keepdims=_KEEP,
                           method=Lit(OMIT, "linear", "lower", "higher", "nearest", "midpoint"))),
               notes="other methods, weights=, out= and empty slices go to NumPy")
_reduction("average", _average, "weighted sum / sum of weights", method=False,
           forms="axis, weights of a's shape, returned, keepdims", literals=("axis", "keepdims", "returned"),
           cases=(case(Arr(), Axis(), tolerance="sum"),
                  case(Arr(), axis=Axis(), returned=Lit(OMIT, False, True), keepdims=_KEEP, tolerance="sum"),
                  case(Arr(), axis=Axis(), weights=Arr(NUMERIC, like=0, values="positive", lifted=None),
                       returned=Lit(False, True), tolerance="dot")),
           notes="weights of another shape than a, and weights summing to zero, go to NumPy")
