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
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from .cases import ALL, FLOAT, NUMERIC, OMIT, Arr, Axis, Case, Lit, OneOf, case
from .coerce import (array_result, copy_if_same, dtype_arg, loop_for, normalize_axes, normalize_axis, probe_dtype,
                     tensor_of, to_numpy)
from .declare import NO_VALUE, flag, full_reduction, literal_arguments, not_given, register_numpy
from ..dtypes import NP_TO_TORCH
from ..lattice import AV, ArrayV, TupleV
from . import arguments, lib, lowering
from .entry import Unsupported
from .lowering import Call, Emit, Refuse
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


def _to_last(x: Tensor, axis: Any) -> tuple[tuple[int, ...], bool]:
    """The normalized axes, and whether NumPy's ``_ureduce`` reshapes (an axis tuple of other
    than one axis: see ``lib.reduced_to_last``)."""
    axes = normalize_axes(axis, x.ndim)
    return axes, axis is not None and len(axes) != 1


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
    not_given(out=out)
    x = tensor_of(a)
    axes, reshapes = _to_last(x, axis)
    result = lib.median(x, axes, reshapes, flag(keepdims), probe_dtype(np.median, (x,)))
    return array_result(result) if flag(keepdims) else result  # NumPy's keepdims result is an array


def _quantile_of(x: Tensor, q: Any, weak_q: bool, axis: Any, method: str, keepdims: bool, dtype: torch.dtype) -> Tensor:
    if q.ndim > 1 or not ((q >= 0) & (q <= 1)).all():
        raise Unsupported("q out of range or of ndim > 1 (NumPy raises)")
    if method not in lib.VIRTUAL_INDEX:
        raise Unsupported(f"method={method!r}")
    axes, reshapes = _to_last(x, axis)
    result = lib.quantile(x, q, weak_q, axes, reshapes, method, keepdims, dtype)
    return array_result(result) if keepdims else result


def _quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: Any = False,
              method: Any = "linear", keepdims: Any = False, *, weights: Any = None) -> Tensor:
    not_given(out=out, weights=weights)
    x, fraction = tensor_of(a), np.asanyarray(to_numpy(q))
    return _quantile_of(x, fraction, type(q) in (int, float), axis, method, flag(keepdims),
                        probe_dtype(np.quantile, (x, q), method=method))


def _percentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: Any = False,
                method: Any = "linear", keepdims: Any = False, *, weights: Any = None) -> Tensor:
    not_given(out=out, weights=weights)
    x, fraction = tensor_of(a), np.true_divide(to_numpy(q), 100, out=...)
    return _quantile_of(x, fraction, type(q) in (int, float), axis, method, flag(keepdims),
                        probe_dtype(np.percentile, (x, q), method=method))


# ---------------------------------------------------------------------------------------------
# Lowering: arguments bound to the tensor path's signature (which mirrors NumPy's), axes
# normalized to literal dims, the accumulation and result dtypes NumPy's


@dataclass(frozen=True)
class _Reduce:
    """A reduction call bound to NumPy's signature, with its axes normalized to dims."""

    args: arguments.Args
    dims: tuple[int, ...]
    keepdims: bool

    @property
    def x(self) -> lowering.Operand:
        return self.args["a"]

    @property
    def whole(self) -> bool:
        """Every axis reduced to a NumPy scalar: torch's reductions without ``dim``."""
        return len(self.dims) == self.x.ndim and not self.keepdims

    def dim_source(self) -> str:
        return str(self.dims[0]) if len(self.dims) == 1 else lowering.literal_source(self.dims)

    def reduce(self, fn: str, x: str | None = None, *extra: str) -> str:
        """``fn(x, dim=..., keepdim=True, *extra)``, leaving out what is torch's default.  Not for
        a reduction over no axis: torch reads ``dim=()`` as every axis."""
        assert self.dims, "a reduction over no axis reduces nothing"
        parts = [x or self.x.name]
        if not self.whole:
            parts.append(f"dim={self.dim_source()}")
            if self.keepdims:
                parts.append("keepdim=True")
        return f"{fn}({', '.join([*parts, *extra])})"

    def literal(self, name: str) -> Any:
        return self.args.literal(name)


def _bound_reduction(call: Call, impl: Callable[..., Any], *handled: str, multi: bool = True) -> _Reduce:
    """The call bound to ``impl``'s signature (NumPy's); ``handled``: the parameters the lowering
    reads besides ``a``, ``axis`` and ``keepdims`` (any other given, not at its default, stays in
    NumPy: ``initial=``, ``mean=``, ``weights=``)."""
    args = arguments.Args(call, impl)
    args.only("a", "axis", "keepdims", *handled)
    x = args.array("a")
    keepdims = args.literal("keepdims") if "keepdims" in args.defaults else False
    if keepdims is NO_VALUE:
        keepdims = False
    if type(keepdims) is not bool:
        raise Refuse("keepdims= other than a literal bool")
    axis = args.literal("axis")
    if multi or axis is None:
        dims = arguments.axes(axis, x.ndim)
    else:
        dims = (arguments.axis(axis, x.ndim),)
    return _Reduce(args, dims, keepdims)


def _copy(x: lowering.Operand, dtype: torch.dtype) -> str:
    """``x`` as a new tensor of ``dtype`` (what a reduction over no axis returns)."""
    return f"{x.name}.clone()" if x.dtype is dtype else lowering.cast(x.name, dtype)


def _with_dtype(call: Call, template: Callable[[tuple[str, ...]], str]) -> Emit:
    """``template(())``, or ``template(("dtype=R",))`` where torch's own result dtype is not
    NumPy's ``R``: torch then casts the input first, as NumPy's ``dtype=`` does."""
    plain = template(())
    if lowering.torch_dtype_of(call, plain) is call.result_dtype:
        return Emit(plain)
    return lowering.finish(call, template((f"dtype={lowering.dtype_source(call.result_dtype)}",)))


def _lower_sum(impl: Callable[..., Any]) -> lowering.LowerFn:
    """``np.sum`` (and ``np.nansum`` of integers): torch's sum in NumPy's accumulation dtype;
    integer results wrap alike whatever width torch accumulates in."""

    def lower(call: Call) -> Emit:
        r = _bound_reduction(call, impl, "dtype")
        if not r.dims:
            return Emit(_copy(r.x, call.result_dtype))
        return _with_dtype(call, lambda extra: r.reduce("torch.sum", None, *extra))

    return lower


def _lower_nansum(call: Call) -> Emit:
    """``np.nansum``: NaN as 0, then the sum (``torch.nansum`` where the sum is a float; a float
    summed as integers is cast after NaN is replaced, as NumPy does)."""
    r = _bound_reduction(call, _nansum, "dtype")
    if not r.x.dtype.is_floating_point:
        return _lower_sum(_nansum)(call)
    zeroed = f"torch.where(torch.isnan({r.x.name}), 0, {r.x.name})"
    if not r.dims:
        return lowering.finish(call, zeroed)
    if call.result_dtype.is_floating_point:
        return _with_dtype(call, lambda extra: r.reduce("torch.nansum", None, *extra))
    return lowering.finish(call, r.reduce("torch.sum", zeroed, f"dtype={lowering.dtype_source(call.result_dtype)}"))


def _lower_prod(call: Call) -> Emit:
    """``np.prod``: ``torch.prod`` takes one dim, so several nest (last first, so the others
    keep their index)."""
    r = _bound_reduction(call, _prod, "dtype")
    if not r.dims:
        return Emit(_copy(r.x, call.result_dtype))
    if r.whole:
        return _with_dtype(call, lambda extra: f"torch.prod({', '.join([r.x.name, *extra])})")

    def nested(extra: tuple[str, ...]) -> str:
        text = r.x.name
        for i, dim in enumerate(sorted(r.dims, reverse=True)):
            parts = [text, str(dim), *(["keepdim=True"] if r.keepdims else []), *(extra if i == 0 else ())]
            text = f"torch.prod({', '.join(parts)})"
        return text

    return _with_dtype(call, nested)


def _float_result(call: Call) -> torch.dtype:
    if not call.result_dtype.is_floating_point:
        raise Refuse("an integer dtype= (NumPy truncates a float64 quotient)")
    return call.result_dtype


def _mean_source(r: _Reduce, result: torch.dtype, fn: str = "torch.mean") -> str:
    """The mean of a bound reduction in ``result`` (NumPy's float dtype): the sum in NumPy's
    accumulation dtype (float64 for integers, ``dtype=``) over the count; torch divides in that
    dtype where NumPy divides in float64 and rounds, within a rounding of each other."""
    if not r.dims:
        return _copy(r.x, result)
    given = "dtype" in r.args.defaults and r.literal("dtype") is not None
    extra = (f"dtype={lowering.dtype_source(result)}",) if given or not r.x.dtype.is_floating_point else ()
    return r.reduce(fn if r.x.dtype.is_floating_point else "torch.mean", None, *extra)


def _lower_mean(impl: Callable[..., Any], fn: str = "torch.mean") -> lowering.LowerFn:
    """``np.mean``, and ``np.nanmean`` (``fn="torch.nanmean"``; of integers, the mean)."""

    def lower(call: Call) -> Emit:
        return lowering.finish(call, _mean_source(_bound_reduction(call, impl, "dtype"), _float_result(call), fn))

    return lower


def _lower_average(call: Call) -> Emit:
    """``np.average`` without weights: the mean, with the count when ``returned`` (the division
    that makes the count raises for an empty result in NumPy, always: ``lib.average``)."""
    r = _bound_reduction(call, _average, "returned")
    returned = r.literal("returned")
    if type(returned) is not bool:
        raise Refuse("returned= other than a literal bool")
    mean = _first(call.result) if returned else call.result_array
    if not isinstance(mean, ArrayV) or mean.dtype is None or mean.dtype.kind != "f":
        raise Refuse("NumPy's average is not a float array here")
    return Emit(f"lib.average({_mean_source(r, NP_TO_TORCH[mean.dtype])}, {r.x.name}, {returned})")


def _first(result: AV) -> AV:
    options = list(result.options())
    if len(options) != 1 or not isinstance(options[0], TupleV) or options[0].items is None:
        raise Refuse("returned=True gives no pair")
    return options[0].items[0]


def _ddof(r: _Reduce) -> str:
    """``ddof=``/``correction=`` as torch's ``correction`` (NumPy's default is 0, torch's 1)."""
    given = [r.args[name] for name in ("ddof", "correction") if r.args.given(name)]
    if len(given) > 1:
        raise Refuse("ddof= and correction= together (NumPy raises unless ddof is 0)")
    if not given:
        return "0"
    op = given[0]
    if lowering.python_number(op) not in (int, float):
        raise Refuse("ddof= other than a Python int or float")
    return lowering.literal_source(op.literal) if op.is_literal else op.name


def _lower_variance(impl: Callable[..., Any], fn: str) -> lowering.LowerFn:
    """``np.var``/``np.std``: torch's with ``correction=ddof``, in float64 where NumPy
    accumulates in float64 (integers, ``dtype=float64``, float64 data), else float32; over no
    axis each value alone (a last axis of length 1)."""

    def lower(call: Call) -> Emit:
        r = _bound_reduction(call, impl, "dtype", "ddof", "correction")
        result = _float_result(call)
        computed = torch.float32 if r.x.dtype is result is torch.float32 else torch.float64
        x = lowering.cast(r.x.name, computed, r.x.dtype)
        correction = _ddof(r)
        if not r.dims:
            return lowering.finish(call, f"{fn}({lowering.atom(x)}.unsqueeze(-1), dim=-1, correction={correction})")
        kept = tuple(d for d in range(r.x.ndim) if d not in r.dims)
        if kept:  # a kept axis may be empty (lib.variance)
            dims, kept_source = lowering.literal_source(r.dims), lowering.literal_source(kept)
            return lowering.finish(call, f"lib.variance({fn}, {x}, {dims}, {kept_source}, {correction}, {r.keepdims})")
        return lowering.finish(call, r.reduce(fn, x, f"correction={correction}"))

    return lower


def _lower_extremum(impl: Callable[..., Any], fn: str, nan_ignoring: bool = False) -> lowering.LowerFn:
    """max/min (``torch.amax``/``amin``, NaN propagating as in NumPy; an empty reduction raises
    in both); nanmax/nanmin of floats through ``lib.nan_extremum``."""

    def lower(call: Call) -> Emit:
        r = _bound_reduction(call, impl)
        if not r.dims:
            return Emit(_copy(r.x, call.result_dtype))
        if nan_ignoring and r.x.dtype.is_floating_point:
            dims = lowering.literal_source(r.dims)
            return Emit(f"lib.nan_extremum({r.x.name}, {dims}, {r.keepdims}, {fn == 'torch.amax'})")
        return lowering.finish(call, r.reduce(fn))

    return lower


def _lower_ptp(call: Call) -> Emit:
    r = _bound_reduction(call, _ptp)
    if not r.dims:
        return lowering.finish(call, f"{r.x.name} - {r.x.name}")
    return lowering.finish(call, f"{r.reduce('torch.amax')} - {r.reduce('torch.amin')}")


def _lower_position(fn: str, impl: Callable[..., Any]) -> lowering.LowerFn:
    """argmax/argmin: the first position of the extremum, NaN counting as one (torch's rule too);
    bool viewed as uint8, which torch accepts."""

    def lower(call: Call) -> Emit:
        r = _bound_reduction(call, impl, multi=False)
        x = f"{r.x.name}.view(torch.uint8)" if r.x.dtype is torch.bool else r.x.name
        if r.literal("axis") is not None:
            return lowering.finish(call, f"{fn}({x}, dim={r.dims[0]}{', keepdim=True' if r.keepdims else ''})")
        flat = f"{fn}({x})"
        return lowering.finish(call, f"{flat}.reshape({lowering.literal_source((1,) * r.x.ndim)})" if r.keepdims
                               else flat)

    return lower


def _lower_logical(impl: Callable[..., Any], fn: str) -> lowering.LowerFn:
    def lower(call: Call) -> Emit:
        r = _bound_reduction(call, impl)
        if not r.dims:
            return lowering.finish(call, f"{r.x.name} != 0")
        return lowering.finish(call, r.reduce(fn))

    return lower


def _lower_count_nonzero(call: Call) -> Emit:
    r = _bound_reduction(call, _count_nonzero)
    if r.literal("axis") is None and not r.keepdims:
        raise Refuse("count_nonzero(a) returns a Python int (a host value)")
    if not r.dims:
        return lowering.finish(call, f"{r.x.name} != 0")
    return lowering.finish(call, r.reduce("torch.sum", f"{r.x.name} != 0"))


def _lower_cumulative(fn: str, impl: Callable[..., Any]) -> lowering.LowerFn:
    """cumsum/cumprod along one axis; ``axis=None`` flattens first (torch has no such mode)."""

    def lower(call: Call) -> Emit:
        r = _bound_reduction(call, impl, "dtype", multi=False)
        axis = r.literal("axis")
        if axis is None:
            return _with_dtype(call, lambda extra: f"{fn}({', '.join([f'{r.x.name}.reshape(-1)', '0', *extra])})")
        dim = r.dims[0]
        return _with_dtype(call, lambda extra: f"{fn}({', '.join([r.x.name, str(dim), *extra])})")

    return lower


def _order_statistic(call: Call, impl: Callable[..., Any]) -> tuple[_Reduce, bool]:
    """The reduction of a median or quantile, and whether NumPy reshapes its reduced axes (see
    ``lib.reduced_to_last``)."""
    r = _bound_reduction(call, impl, "q", "method")  # overwrite_input=True lets NumPy reorder a: NumPy's
    return r, r.literal("axis") is not None and len(r.dims) != 1


def _lower_median(call: Call) -> Emit:
    r, reshapes = _order_statistic(call, _median)
    return Emit(f"lib.median({r.x.name}, {lowering.literal_source(r.dims)}, {reshapes}, {r.keepdims}, "
                f"{lowering.dtype_source(_float_result(call))})")


def _lower_quantile(scale: int) -> lowering.LowerFn:
    """quantile/percentile of a literal ``q``: its index arithmetic is NumPy's, on the host, from
    ``q`` and the slice length (``lib.quantile``); a ``q`` from array data stays in NumPy."""

    def lower(call: Call) -> Emit:
        impl = _quantile if scale == 1 else _percentile
        r, reshapes = _order_statistic(call, impl)
        q = r.args["q"]
        if not q.is_literal:
            raise Refuse("q from array data (its index arithmetic would read the host)")
        weak = type(q.literal) in (int, float)
        fraction = np.true_divide(np.asanyarray(q.literal), scale)
        if fraction.ndim > 1 or not ((fraction >= 0) & (fraction <= 1)).all():
            raise Refuse("q out of range or of ndim > 1 (NumPy raises)")
        method = r.literal("method")
        if method not in lib.VIRTUAL_INDEX:
            raise Refuse(f"method={method!r}")
        source = lowering.literal_source(float(fraction) if weak else tuple(fraction.tolist()))
        return Emit(f"lib.quantile({r.x.name}, {source}, {weak}, {lowering.literal_source(r.dims)}, {reshapes}, "
                    f"{method!r}, {r.keepdims}, {lowering.dtype_source(call.result_dtype)})")

    return lower


# ---------------------------------------------------------------------------------------------
# Registration

_LITERALS = ("axis", "keepdims")
_KEEP = Lit(OMIT, False, True)
_DTYPE = Lit(OMIT, None, "float64", np.float32, "int64", int, float)


def _axis_cases(*more: Case, tolerance: str = "exact", dtypes: tuple[str, ...] = ALL, large: bool = True,
                **kwargs: Any) -> tuple[Case, ...]:
    """The forms every axis-reduction takes: axis positional and keyword, keepdims; with
    ``large``, also arrays of 10^4+ elements (where torch's and NumPy's kernels block sums)."""
    x = Arr(dtypes)
    forms = (case(x, Axis(), tolerance=tolerance),
             case(x, axis=Axis(), keepdims=_KEEP, tolerance=tolerance, **kwargs), *more)
    if large:
        forms += (case(Arr(tuple(d for d in dtypes if d in _LARGE_DTYPES), ndim=(1, 2), large=True),
                       axis=Axis(), keepdims=_KEEP, tolerance=tolerance),)
    return forms


#: The dtypes large draws use (the common ones; small draws cover every dtype).
_LARGE_DTYPES = ("float32", "float64", "int32", "int64", "bool")


def _reduction(name: str, impl: Callable[..., Any], torch_name: str, *, method: bool = True,
               cases: tuple[Case, ...], notes: str = "", literals: tuple[str, ...] = _LITERALS,
               forms: str = "axis None/int/negative/tuple, keepdims", lower: lowering.LowerFn,
               full: bool = False) -> None:
    """``full``: without ``axis`` (or ``keepdims``) the call reduces every axis, at any rank."""
    register_numpy(name, impl, method=method, torch_name=torch_name, forms=forms, notes=notes,
                   check=literal_arguments(impl, *literals), cases=cases, lower=lower,
                   rank_free=full_reduction(impl, "axis", "keepdims") if full else None)


_reduction("sum", _sum, "torch.sum (in NumPy's accumulation dtype)", forms="axis, dtype=, keepdims",
           cases=_axis_cases(tolerance="sum", dtype=_DTYPE), lower=_lower_sum(_sum), full=True,
           notes="out=/initial=/where= go to NumPy; dtypes NumPy accumulates in uint64 go to NumPy")
_reduction("prod", _prod, "torch.prod, one axis at a time", forms="axis, dtype=, keepdims",
           cases=_axis_cases(dtype=_DTYPE, large=False), lower=_lower_prod, full=True,
           notes="out=/initial=/where= go to NumPy")
_reduction("mean", _mean, "torch.mean (in NumPy's accumulation dtype)", forms="axis, dtype=, keepdims",
           cases=_axis_cases(tolerance="mean", dtype=_DTYPE), lower=_lower_mean(_mean), full=True,
           notes="out=/where= and an integer dtype= go to NumPy")
for _name, _impl in (("var", _var), ("std", _std)):
    _reduction(_name, _impl, f"torch.{_name}(correction=ddof)",
               forms="axis, dtype=, ddof=, correction=, keepdims", lower=_lower_variance(_impl, f"torch.{_name}"), full=True,
               cases=_axis_cases(case(Arr(), Axis(), Lit(None, "float64"), None, Lit(0, 1, 2)), tolerance=_name,
                                 ddof=Lit(OMIT, 0, 1, 2, 0.5), dtype=Lit(OMIT, None, "float64", np.float32)),
               notes="out=/where=/mean= go to NumPy; the division by max(n - ddof, 0) is NumPy's "
                     "(torch.var's default correction is 1)")
for _name, _impl, _target in (("max", _max, "amax"), ("min", _min, "amin"), ("amax", _max, "amax"),
                              ("amin", _min, "amin")):
    _reduction(_name, _impl, f"torch.{_target}", method=_name in ("max", "min"), cases=_axis_cases(),
               lower=_lower_extremum(_impl, f"torch.{_target}"), full=True,
               notes="out=/initial=/where= go to NumPy; an empty reduction raises in both")
for _name, _impl, _target in (("nanmax", _nan_extremum(torch.amax, -math.inf), "amax"),
                              ("nanmin", _nan_extremum(torch.amin, math.inf), "amin")):
    _reduction(_name, _impl, f"torch.{_target} with NaN masked", method=False,
               lower=_lower_extremum(_impl, f"torch.{_target}", nan_ignoring=True),
               cases=_axis_cases(), notes="all-NaN slices give NaN without NumPy's warning; "
                                         "out=/initial=/where= go to NumPy; an empty reduction raises in both")
for _name, _impl in (("argmax", _position(torch.argmax)), ("argmin", _position(torch.argmin))):
    _reduction(_name, _impl, f"torch.{_name} (bool viewed as uint8)", forms="axis None/int, keepdims",
               lower=_lower_position(f"torch.{_name}", _impl),
               cases=(case(Arr(), OneOf(None, Axis(none=False, multi=False))),
                      case(Arr(), axis=OneOf(None, Axis(none=False, multi=False)), keepdims=_KEEP),
                      case(Arr(_LARGE_DTYPES, ndim=(1, 2), large=True), OneOf(None, Axis(none=False, multi=False)))),
               notes="out= goes to NumPy; the first of equal extrema, NaN counting as one; empty input raises in both")
for _name, _impl in (("any", _logical(torch.any)), ("all", _logical(torch.all))):
    _reduction(_name, _impl, f"torch.{_name}", cases=_axis_cases(), lower=_lower_logical(_impl, f"torch.{_name}"), full=True,
               notes="out=/where= go to NumPy")
for _name, _fn in (("cumsum", torch.cumsum), ("cumprod", torch.cumprod)):
    _impl = _cumulative(_fn, getattr(np, _name))
    _values = "small" if _name == "cumprod" else "any"
    _reduction(_name, _impl, f"torch.{_name} (flattened for axis=None)",
               forms="axis None/int, dtype=", literals=("axis",), lower=_lower_cumulative(f"torch.{_name}", _impl),
               cases=(case(Arr(values=_values), OneOf(None, Axis(none=False, multi=False)), tolerance="sum"),
                      case(Arr(values=_values), axis=OneOf(None, Axis(none=False, multi=False)), dtype=_DTYPE,
                           tolerance="sum"))
               + ((case(Arr(_LARGE_DTYPES, ndim=(1, 2), large=True), OneOf(None, Axis(none=False, multi=False)),
                        tolerance="sum"),) if _name == "cumsum" else ()),
               notes="out= goes to NumPy")
_reduction("ptp", _ptp, "torch.amax - torch.amin", method=False, cases=_axis_cases(), lower=_lower_ptp,
           notes="out= goes to NumPy (NumPy raises for bool)")
_reduction("count_nonzero", _count_nonzero, "sum of x != 0 (int64)", method=False,
           cases=_axis_cases(), lower=_lower_count_nonzero,
           notes="without axis it returns a Python int, which stays in NumPy (a host value)")
_reduction("nansum", _nansum, "torch.nansum", method=False, lower=_lower_nansum,
           cases=_axis_cases(tolerance="sum", dtype=_DTYPE), notes="out=/initial=/where= go to NumPy")
_reduction("nanmean", _nanmean, "torch.nanmean", method=False, lower=_lower_mean(_nanmean, "torch.nanmean"),
           cases=_axis_cases(tolerance="mean", dtype=Lit(OMIT, None, "float64", np.float32)),
           notes="all-NaN slices give NaN without NumPy's warning; out=/where= go to NumPy")
_reduction("median", _median, "torch.sort, then the mean of the middle values", method=False,
           cases=_axis_cases(), lower=_lower_median, notes="out= goes to NumPy; empty slices give NaN")
_Q = OneOf(Lit(0.5, 0.25, 0, 1, 0.0, 1.0, 0.3), Lit([0.25, 0.75], [0.0, 1.0], np.array([0.1, 0.9])),
           Arr(FLOAT, ndim=(0, 1), values="small"))
for _name, _impl, _scale in (("quantile", _quantile, 1), ("percentile", _percentile, 100)):
    _q = _Q if _scale == 1 else OneOf(Lit(50, 25, 0, 100, 30.0), Lit([25, 75], [0.0, 100.0]))
    _reduction(_name, _impl, "torch.sort, then NumPy's index arithmetic and lerp", method=False,
               forms="q scalar/list/array, axis, keepdims, method linear/lower/higher/nearest",
               lower=_lower_quantile(_scale),
               cases=(case(Arr(NUMERIC), _q, Axis()),
                      case(Arr(NUMERIC), _q, axis=Axis(), keepdims=_KEEP,
                           method=Lit(OMIT, "linear", "lower", "higher", "nearest", "midpoint"))),
               notes="q from array data (its index arithmetic needs q on the host), other methods, weights=, "
                     "out= and empty slices go to NumPy")
_reduction("average", _average, "torch.mean; weighted: sum of products / sum of weights", method=False,
           forms="axis, weights of a's shape, returned, keepdims", literals=("axis", "keepdims", "returned"),
           lower=_lower_average,
           cases=(case(Arr(), Axis(), tolerance="mean"),
                  case(Arr(), axis=Axis(), returned=Lit(OMIT, False, True), keepdims=_KEEP, tolerance="mean"),
                  case(Arr(), axis=Axis(), weights=Arr(NUMERIC, like=0, values="positive", lifted=None),
                       returned=Lit(False, True), tolerance="dot",
                       numpy_only="NumPy raises where weights sum to zero, which only a host read could tell")),
           notes="weights= stays in NumPy (it raises where they sum to zero: a host read); the interpreter "
                 "runs weights of a's shape")
