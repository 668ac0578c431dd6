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


def variance(fn: Callable[..., Tensor], x: Tensor, dims: tuple[int, ...], kept: tuple[int, ...],
             correction: float, keepdim: bool) -> Tensor:
    """``torch.var``/``torch.std`` over ``dims``; where a ``kept`` axis is empty, so is the
    result, made without them (torch warns "degrees of freedom <= 0" there, where NumPy is
    silent)."""
    shape = x.shape
    for d in kept:
        if not shape[d]:
            return x.new_empty(kept_shape(x, dims) if keepdim else [shape[k] for k in kept])
    return fn(x, dim=dims, correction=correction, keepdim=keepdim)


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


# ---------------------------------------------------------------------------------------------
# Shapes, indexing, linear algebra, sorting, creation (the lowerings of shape.py, indexing.py,
# linalg.py, sorting.py and creation.py).  Checks here read shapes, which the host knows, never
# tensor data.


def squeeze(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """``np.squeeze(x, axis=dims)``: NumPy raises where an axis to squeeze is not of size one,
    where ``torch.squeeze`` would silently keep it."""
    if any(x.shape[d] != 1 for d in dims):
        raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return x.squeeze(dims) if dims else x.view(x.shape)


def take(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[index]`` for one int64 index tensor: torch's indexing, which is NumPy's there, but
    for the bounds, which torch checks only as it gathers (an empty result is checked here)."""
    result = x[index]
    if not result.numel():
        x.new_empty((x.shape[0],))[index]
    return result


class advanced_index:  # noqa: N801 - named as the function it reads like: lib.advanced_index(x)[...]
    """``advanced_index(x)[index]`` is ``x[index]`` by NumPy's rules, for an index holding index
    arrays, lists or masks (the Ellipsis expanded, slices with positive steps).  NumPy treats
    integers there as 0-d index arrays broadcast with the others; torch would select them first,
    which moves the indexed dimensions, so each becomes a one-element index array of the arrays'
    rank."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __getitem__(self, index: Any) -> torch.Tensor:
        index = index if isinstance(index, tuple) else (index,)
        rank = max(1, *(_index_rank(part) for part in index))
        parts, arrays = _torch_index(self.x, index, rank)
        result = self.x[parts]
        if not result.numel():  # torch checks bounds as it gathers: with nothing to gather, check here
            for array, size in arrays:
                self.x.new_empty((size,))[array]
        return result


class scalar_index:  # noqa: N801
    """``scalar_index(x)[index]`` is ``x[index]`` where lifted integer scalars are among basic
    items.  torch reads a 0-d index tensor on the host (``x[t]`` calls ``.item()``), so the
    integers become one-element index arrays; the one dimension of size 1 that they make
    together is then dropped: in place of the first when they are adjacent, else in front
    (NumPy's rule, which torch follows)."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __getitem__(self, index: Any) -> torch.Tensor:
        index = index if isinstance(index, tuple) else (index,)
        at = [k for k, part in enumerate(index) if _is_integer(part)]
        adjacent = at == list(range(at[0], at[0] + len(at)))
        position = sum(1 for part in index[:at[0]] if not _is_integer(part)) if adjacent else 0
        return self.x[_torch_index(self.x, index, 1)[0]].squeeze(position)


def _is_integer(part: object) -> bool:
    return (isinstance(part, int) and not isinstance(part, bool)) or \
        (isinstance(part, torch.Tensor) and part.ndim == 0 and part.dtype is not torch.bool)


def _index_rank(part: object) -> int:
    """The rank an index item adds to the broadcast of NumPy's index arrays (a mask, like its
    ``nonzero()``, adds one-dimensional arrays)."""
    if isinstance(part, torch.Tensor):
        return 1 if part.dtype is torch.bool else part.ndim
    return 1 if isinstance(part, (list, tuple)) or hasattr(part, "__array__") else 0


def _torch_index(x: torch.Tensor, index: tuple, rank: int) -> tuple[tuple, list[tuple[torch.Tensor, int]]]:
    """The items as torch should see them: integers as index arrays of ``rank`` (checked against
    the axis size, as NumPy checks them: the host knows shapes), integer arrays and lists as int64
    tensors on ``x``'s device (torch reads uint8 as a mask), masks as bool tensors; and each
    integer index array with the size of the axis it indexes."""
    out: list[object] = []
    arrays: list[tuple[torch.Tensor, int]] = []
    axis = 0
    for part in index:
        if isinstance(part, int) and not isinstance(part, bool):
            size = x.shape[axis]
            if not -size <= part < size:
                raise IndexError(f"index {part} is out of bounds for axis {axis} with size {size}")
            part = torch.full((1,) * rank, part, dtype=torch.int64, device=x.device)
        elif part is not None and not isinstance(part, slice):
            part = torch.as_tensor(part, device=x.device)
            if part.dtype is not torch.bool:
                part = part.reshape((1,) * rank) if part.ndim == 0 else part
                part = part.to(torch.int64)
                arrays.append((part, x.shape[axis]))
        out.append(part)
        axis += part.ndim if isinstance(part, torch.Tensor) and part.dtype is torch.bool else part is not None
    return tuple(out), arrays


def sort_key(x: torch.Tensor) -> torch.Tensor:
    """Integers ordered as NumPy sorts floats: -0.0 equal to 0.0, every NaN equal and last
    (torch's comparisons put a NaN nowhere).  Negative floats' bits are flipped (but for the sign)
    so that their order as signed integers is the floats' order."""
    bits = (x + 0.0).view(torch.int32 if x.dtype is torch.float32 else torch.int64)  # -0.0 + 0.0 is 0.0
    key = torch.where(bits < 0, bits ^ torch.iinfo(bits.dtype).max, bits)
    return torch.where(torch.isnan(x), torch.iinfo(bits.dtype).max, key)


def unique(x: torch.Tensor, return_index: bool, return_inverse: bool, return_counts: bool,
           equal_nan: bool) -> object:
    """NumPy's ``_unique1d`` on a stable sort: the first of each run of equal values (NaNs one
    run when ``equal_nan``), indices of first occurrences, the inverse in ``x``'s shape, run
    lengths.  The result's length is data: selecting by a mask synchronizes on CUDA."""
    flat = x.reshape(-1)
    ordered, permutation = torch.sort(flat, stable=True)
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[1:] = ordered[1:] != ordered[:-1]
    if equal_nan and ordered.is_floating_point():
        nan = torch.isnan(ordered)
        first[1:] &= ~(nan[1:] & nan[:-1])
    result = [ordered[first]]
    if return_index:
        result.append(permutation[first])
    if return_inverse:
        inverse = torch.empty_like(permutation)
        inverse[permutation] = torch.cumsum(first, 0) - 1
        result.append(inverse.reshape(x.shape))
    if return_counts:
        starts = torch.nonzero(first).reshape(-1)
        result.append(torch.diff(starts, append=starts.new_full((1,), flat.numel())))
    return result[0] if len(result) == 1 else tuple(result)


def isclose(x: object, y: object, rtol: float, atol: float, equal_nan: bool, inexact: torch.dtype,
            common: torch.dtype) -> torch.Tensor:
    """NumPy's ``isclose`` step by step, in the dtypes NumPy computes each step in (decided at
    lowering time): ``y`` made ``inexact``; the distance and the equality in ``common`` (the
    dtype of ``x - y``); the bound ``atol + rtol * |y|`` in ``y``'s.  Python numbers stay weak."""
    y = y.to(inexact) if isinstance(y, torch.Tensor) else float(y)
    x_common = x.to(common) if isinstance(x, torch.Tensor) else x
    y_common = y.to(common) if isinstance(y, torch.Tensor) else y
    bound = atol + rtol * abs(y)
    finite = torch.isfinite(y) if isinstance(y, torch.Tensor) else math.isfinite(y)
    result = (torch.abs(x_common - y_common) <= bound) & finite | (x_common == y_common)
    if equal_nan:
        result = result | (_isnan(x) & _isnan(y))
    return result


def _isnan(value: object) -> object:
    return torch.isnan(value) if isinstance(value, torch.Tensor) else math.isnan(value)


def tensordot(x: torch.Tensor, y: torch.Tensor, dims: tuple[list[int], list[int]]) -> torch.Tensor:
    """``np.tensordot``: contracted axes must have equal sizes (NumPy raises; torch.tensordot
    would broadcast an axis of size one)."""
    if any(x.shape[i] != y.shape[j] for i, j in zip(*dims)):
        raise ValueError("shape-mismatch for sum")
    return torch.tensordot(x, y, dims=dims)


def det(x: torch.Tensor) -> torch.Tensor:
    """NumPy's determinant of (a batch of) float64 matrices: ``sign * exp(logdet)`` from LAPACK's
    LU factorization, and 0 where it meets a zero pivot (NumPy stops there: a NaN further on
    does not reach the result).  The ``_ex`` factorization reports the pivot without a host read."""
    lu, pivots, info = torch.linalg.lu_factor_ex(x)
    diagonal = lu.diagonal(dim1=-2, dim2=-1)
    steps = torch.arange(1, diagonal.shape[-1] + 1, dtype=pivots.dtype, device=x.device)
    swaps = (pivots != steps).sum(-1)
    negatives = (diagonal < 0).sum(-1)
    sign = 1.0 - 2.0 * ((swaps + negatives) % 2)
    logdet = torch.log(torch.abs(diagonal)).sum(-1)
    return torch.where(info == 0, sign * torch.exp(logdet), 0.0)


def max_or_zero(x: torch.Tensor, dim: int, keepdim: bool = False) -> torch.Tensor:
    """``x.max(axis=dim, initial=0)`` (``np.linalg.norm``'s maxima): 0 along an empty axis, where
    ``torch.amax`` raises."""
    if x.shape[dim] == 0:
        shape = list(x.shape)
        if keepdim:
            shape[dim] = 1
        else:
            del shape[dim]
        return x.new_zeros(shape)
    return torch.amax(x, dim=dim, keepdim=keepdim)


def linspace(start: torch.Tensor, stop: torch.Tensor, num: int, endpoint: bool, retstep: bool,
             dtype: torch.dtype) -> object:
    """``np.linspace`` for 0-d bounds in NumPy's working dtype, step by step as NumPy computes:
    ``arange(num) * step + start`` (``arange(num) / div * delta`` where the step underflows to
    0, chosen on the device), the last value set to ``stop``, floored for an integer ``dtype``.
    With ``retstep``, the step: a 0-d tensor, or NaN (a Python float) for fewer than two
    intervals, as NumPy returns it."""
    div = num - 1 if endpoint else num
    y = torch.arange(num, dtype=start.dtype, device=start.device)
    delta = stop - start
    step: object = math.nan
    if div > 0:
        step = delta / div
        y = torch.where(step == 0, y / div * delta, y * step)
    else:
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        y = torch.cat([y[:-1], stop.reshape(1)])
    if not dtype.is_floating_point and dtype is not torch.bool:
        y = torch.floor(y)
    y = y.to(dtype)
    return (y, step) if retstep else y
