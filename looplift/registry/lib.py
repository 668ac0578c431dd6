"""Plain torch helpers that lowered code calls (as ``lib.<name>``) where one expression cannot
say what NumPy does.  Each is a pure function of tensors and Python values that reads no tensor
data on the host (see ``lowering.py``): value-dependent NumPy behaviour is written with
``torch.where``, and what depends on sizes reads only shapes.  The runtime interpreter calls the
same helpers, so both paths share one definition of each rule.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..dtypes import TORCH_TO_NP

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------
# Elementwise


def int_floor_divide(x: Any, y: Tensor) -> Tensor:
    """NumPy's integer ``x // y``: 0 where ``y`` is 0 (torch raises on the CPU and gives
    garbage on CUDA)."""
    zero = y == 0
    return torch.where(zero, 0, x // torch.where(zero, 1, y))


def int_remainder(x: Any, y: Tensor) -> Tensor:
    """NumPy's integer ``x % y``: 0 where ``y`` is 0."""
    zero = y == 0
    return torch.where(zero, 0, x % torch.where(zero, 1, y))


def int_fmod(x: Tensor, y: Tensor) -> Tensor:
    """NumPy's integer ``fmod``: 0 where ``y`` is 0."""
    zero = y == 0
    return torch.where(zero, 0, torch.fmod(x, torch.where(zero, 1, y)))


def float_remainder(x: Tensor, y: Any) -> Tensor:
    """NumPy's float remainder: ``fmod`` moved into the divisor's sign (``npy_divmod``), exact for
    every pair; torch's ``a - b*floor(a/b)`` gives NaN where ``a/b`` overflows (a subnormal
    divisor).  A zero result takes the divisor's sign."""
    mod = torch.fmod(x, y)
    moved = torch.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)
    return torch.where(mod == 0, torch.copysign(torch.zeros_like(mod), y), moved)


def sign(x: Tensor) -> Tensor:
    """``np.sign`` of floats keeps NaN; ``torch.sign`` turns it into 0."""
    return torch.where(torch.isnan(x), x, torch.sign(x))


def cbrt(x: Tensor) -> Tensor:
    """The real cube root (torch has none): ``sign(x) * |x| ** (1/3)``."""
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


def int_matmul(x: Tensor, y: Tensor) -> Tensor:
    """Integer ``matmul``, wrapping like NumPy's: torch's on the CPU; elsewhere (CUDA has no
    integer matmul) as products summed in the operands' dtype."""
    return torch.matmul(x, y) if x.device.type == "cpu" else matmul_by_sums(x, y)


def matmul_by_sums(x: Tensor, y: Tensor) -> Tensor:
    """``matmul`` as broadcast products summed over the inner axis (1-d operands as NumPy treats
    them: a row, a column, dropped from the result)."""
    a = x.unsqueeze(0) if x.ndim == 1 else x
    b = y.unsqueeze(-1) if y.ndim == 1 else y
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner dimensions {a.shape[-1]} and {b.shape[-2]} differ")
    product = (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2, dtype=x.dtype)
    if x.ndim == 1:
        product = product.squeeze(-2)
    return product.squeeze(-1) if y.ndim == 1 else product


def sqrt_at_half(x: Tensor, exponent: Tensor) -> Tensor:
    """NumPy's float power with an exponent that repeats along its loop (a NumPy scalar): its
    fast path takes ``sqrt`` where the exponent is 0.5 (``-inf ** 0.5`` is NaN there, +inf in C's
    ``pow``)."""
    return torch.where(exponent == 0.5, torch.sqrt(x), torch.pow(x, exponent))


def shape(x: Tensor) -> tuple[int, ...]:
    """``a.shape`` of the array a tensor stands for: a tuple (``torch.Size`` is a subclass that
    prints otherwise)."""
    return tuple(x.shape)


def numpy_dtype(x: Tensor) -> np.dtype:
    """``a.dtype`` of the array a tensor stands for (its metadata: no read of its data)."""
    return TORCH_TO_NP[x.dtype]


# ---------------------------------------------------------------------------------------------
# Reductions


def nan_extremum(x: Tensor, dims: tuple[int, ...], keepdim: bool, largest: bool) -> Tensor:
    """``np.nanmax``/``np.nanmin`` of floats (``np.fmax.reduce``): NaN ignored, NaN only for an
    all-NaN slice; an empty slice raises, as in NumPy."""
    nan = torch.isnan(x)
    fill = -math.inf if largest else math.inf
    reduce = torch.amax if largest else torch.amin
    result = reduce(torch.where(nan, fill, x), dim=dims, keepdim=keepdim)
    return torch.where(nan.all(dim=dims, keepdim=keepdim), math.nan, result)


def average(mean: Tensor, x: Tensor, returned: bool) -> Tensor | tuple[Tensor, Tensor]:
    """``np.average`` without weights: the mean of ``x``, with ``returned`` also the number of
    values averaged in the mean's dtype and shape.  NumPy divides ``x.size / mean.size`` either
    way, so an empty result raises ZeroDivisionError there and here."""
    count = x.numel() / mean.numel()
    return (mean, torch.full_like(mean, count)) if returned else mean


def kept_shape(x: Tensor, axes: Sequence[int]) -> list[int]:
    """``x``'s shape with the reduced ``axes`` as 1s (NumPy's ``keepdims``)."""
    return [1 if d in axes else side for d, side in enumerate(x.shape)]


def reduced_to_last(x: Tensor, axes: Sequence[int], reshapes: bool) -> Tensor:
    """The reduced axes flattened into one last axis, the others in order, like NumPy's
    ``_ureduce``; ``reshapes`` (an axis tuple of other than one axis) reshapes to
    ``(*kept, -1)`` as NumPy does, which raises when a kept axis is empty."""
    keep = [d for d in range(x.ndim) if d not in axes]
    kept = [x.shape[d] for d in keep]
    if reshapes and math.prod(kept) == 0:
        raise ValueError("cannot reshape an empty array into (*kept, -1)")
    return x.permute(keep + list(axes)).reshape(kept + [math.prod(x.shape[d] for d in axes)])


def median(x: Tensor, axes: Sequence[int], reshapes: bool, keepdims: bool, dtype: torch.dtype) -> Tensor:
    """``np.median``: the mean of the middle one or two sorted values in ``dtype`` (float64 for
    integers), NaN where a slice holds NaN (sorted last), NaN for an empty slice."""
    lined = reduced_to_last(x, axes, reshapes)
    n = lined.shape[-1]
    ordered = torch.sort(lined, dim=-1).values
    result = ordered[..., (n - 1) // 2: n // 2 + 1].mean(-1, dtype=dtype)
    if x.is_floating_point():
        result = torch.where(torch.isnan(ordered[..., -1:]).any(-1), math.nan, result)
    return result.reshape(kept_shape(x, axes)) if keepdims else result


#: method -> NumPy's virtual index of quantile ``q`` among ``n`` sorted values (integer dtype:
#: take that value; float: interpolate), from ``_QuantileMethods``.
VIRTUAL_INDEX: dict[str, Callable[[int, np.ndarray], np.ndarray]] = {
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


def _lerp(a: Tensor, b: Tensor, t: Any, dtype: torch.dtype) -> Tensor:
    """NumPy's ``_lerp``: ``a + (b-a)*t``, or ``b - (b-a)*(1-t)`` where t >= 0.5; the difference
    in the data's dtype, the rest in the result's (``t``: a Python float, or a float64 array)."""
    diff = (b - a).to(dtype)
    weight = t if isinstance(t, float) else torch.as_tensor(t, device=a.device)
    lower = a.to(dtype) + diff * weight
    upper = b.to(dtype) - diff * (1 - weight)
    if isinstance(t, float):
        return upper if t >= 0.5 else lower
    return torch.where(torch.as_tensor(np.asarray(t) >= 0.5, device=a.device), upper, lower)


def quantile(x: Tensor, q: Any, weak: bool, axes: Sequence[int], reshapes: bool, method: str,
             keepdims: bool, dtype: torch.dtype) -> Tensor:
    """``np.quantile`` of a known ``q`` (a number, or a 1-d sequence in [0, 1]; ``weak``: a
    Python number) over the flattened reduced axes: sort, then NumPy's index arithmetic on ``q``
    and the slice length (host values, no tensor data) and its take or lerp, then NaN where a
    slice holds one (sorted last).  An empty slice raises, as in NumPy."""
    q = np.asanyarray(q)
    lined = reduced_to_last(x, axes, reshapes)
    ordered = torch.sort(lined, dim=-1).values.movedim(-1, 0)
    n = ordered.shape[0]
    if n == 0:
        raise IndexError("quantile of an empty slice")
    virtual = np.asanyarray(VIRTUAL_INDEX[method](n, q))
    if virtual.dtype.kind in "iu":
        result = ordered[torch.as_tensor(virtual, device=x.device)].to(dtype)
    else:
        previous, following = _neighbours(virtual, n)
        gamma = np.asanyarray(np.asanyarray(virtual - previous), dtype=virtual.dtype)
        gamma = float(gamma) if weak else gamma.reshape(virtual.shape + (1,) * (ordered.ndim - 1))
        result = _lerp(ordered[torch.as_tensor(previous, device=x.device)],
                       ordered[torch.as_tensor(following, device=x.device)], gamma, dtype)
    if x.is_floating_point():
        result = torch.where(torch.isnan(ordered[-1]), math.nan, result)
    if keepdims:
        return result.reshape(tuple(q.shape) + tuple(kept_shape(x, axes)))
    return result
