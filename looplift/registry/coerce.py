"""Argument normalization shared by the tensor paths of registry entries.

NumPy semantics as data: the result dtype of a ufunc call is what NumPy's own
``ufunc.resolve_dtypes`` says for the operands' dtypes (Python scalars stay "weak", NEP 50),
cached per dtype combination so the hot path is one dict lookup.
"""
from __future__ import annotations

import operator
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..dtypes import LIFTABLE_NP_DTYPES, NP_TO_TORCH, TORCH_TO_NP
from .entry import Unsupported

Tensor = torch.Tensor
_PY_SCALARS = (int, float, complex)


def np_dtype_of(value: Any) -> Any:
    """The operand descriptor NumPy's dtype resolution takes: a dtype, or a weak Python type."""
    if isinstance(value, Tensor):
        return TORCH_TO_NP[value.dtype]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    if isinstance(value, bool):
        return np.dtype(bool)
    if isinstance(value, _PY_SCALARS):
        return type(value)
    raise Unsupported(f"operand of type {type(value).__name__}")


def torch_dtype(dtype: np.dtype) -> torch.dtype:
    """The torch dtype for a liftable NumPy dtype (anything else hands the call to NumPy)."""
    if dtype not in LIFTABLE_NP_DTYPES:
        raise Unsupported(f"dtype {dtype}")
    return NP_TO_TORCH[dtype]


_UFUNC_LOOPS: dict[tuple[Any, ...], tuple[tuple[torch.dtype, ...], tuple[torch.dtype, ...]] | None] = {}


def _descriptor(value: Any) -> Any:
    """A cheap cache key for an operand: the torch dtype of a tensor, else NumPy's descriptor."""
    return value.dtype if type(value) is Tensor else np_dtype_of(value)


def ufunc_loop(ufunc: np.ufunc, operands: Sequence[Any]) -> tuple[tuple[torch.dtype, ...], tuple[torch.dtype, ...]]:
    """(input dtypes, output dtypes) of the NumPy loop ``ufunc`` picks for these operands."""
    descriptors = tuple(map(_descriptor, operands))
    loop = _resolved_loop(ufunc, descriptors)
    if loop is None:
        raise Unsupported(f"{ufunc.__name__} for {descriptors}")
    return loop


def loop_for(ufunc: np.ufunc,
             descriptors: tuple[Any, ...]) -> tuple[tuple[torch.dtype, ...], tuple[torch.dtype, ...]] | None:
    """``ufunc_loop`` for operand descriptors already at hand (torch dtypes of tensors, Python
    scalar types): the tensor paths' fast path.  None where NumPy has no loop."""
    return _resolved_loop(ufunc, descriptors)


def _constant_for_compile(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a pure function of constants, so ``torch.compile`` calls it while tracing instead
    of tracing into it (NumPy's dtype resolution cannot be traced)."""
    compiler = getattr(torch, "compiler", None)
    mark = getattr(compiler, "assume_constant_result", None)
    return mark(fn) if mark is not None else fn


@_constant_for_compile
def _resolved_loop(ufunc: np.ufunc, descriptors: tuple[Any, ...]) -> tuple[tuple[torch.dtype, ...], tuple[torch.dtype, ...]] | None:
    key = (ufunc, *descriptors)
    try:
        return _UFUNC_LOOPS[key]
    except KeyError:
        pass
    try:
        np_descriptors = [TORCH_TO_NP[d] if isinstance(d, torch.dtype) else d for d in descriptors]
        resolved = ufunc.resolve_dtypes((*np_descriptors, *([None] * ufunc.nout)))
        loop = (tuple(torch_dtype(d) for d in resolved[:ufunc.nin]),
                tuple(torch_dtype(d) for d in resolved[ufunc.nin:]))
    except Exception:  # NumPy has no loop (it will raise), or a dtype torch cannot hold
        loop = None
    _UFUNC_LOOPS[key] = loop
    return loop


def device_of(values: Sequence[Any]) -> torch.device:
    for v in values:
        if isinstance(v, Tensor):
            return v.device
        if isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, Tensor):
                    return item.device
    return torch.device("cpu")


def check_int_fits(value: int, dtype: torch.dtype) -> None:
    """NumPy raises OverflowError for a Python int that its integer operand cannot hold."""
    if dtype.is_floating_point or dtype is torch.bool:
        return
    info = torch.iinfo(dtype)
    if not info.min <= value <= info.max:
        raise Unsupported("Python int out of range")


def as_operand(value: Any, dtype: torch.dtype, device: torch.device) -> Any:
    """``value`` cast to the loop dtype: tensors and arrays become tensors, Python scalars stay
    Python scalars (torch treats them as weak, like NumPy 2)."""
    if isinstance(value, Tensor):
        return value if value.dtype is dtype else value.to(dtype)
    if isinstance(value, bool) or not isinstance(value, _PY_SCALARS):
        return torch.as_tensor(np.asarray(value), device=device).to(dtype)
    if isinstance(value, int):
        check_int_fits(value, dtype)
    return value


def ufunc_operands(ufunc: np.ufunc, operands: Sequence[Any]) -> tuple[list[Any], tuple[torch.dtype, ...]]:
    """Operands cast to NumPy's loop dtypes, plus the output dtypes."""
    in_dtypes, out_dtypes = ufunc_loop(ufunc, operands)
    device = None
    cast = []
    for x, dtype in zip(operands, in_dtypes):
        if type(x) is Tensor:
            cast.append(x if x.dtype is dtype else x.to(dtype))
        else:
            device = device or device_of(operands)
            cast.append(as_operand(x, dtype, device))
    return cast, out_dtypes


def to_numpy(value: Any) -> Any:
    """A lifted tensor back as the NumPy value it stands for (recursing into lists and tuples,
    keeping named tuples such as ``QRResult`` of their own type)."""
    if isinstance(value, Tensor):
        array = value.detach().cpu().numpy()
        return array[()] if array.ndim == 0 else array
    if isinstance(value, list):
        return [to_numpy(v) for v in value]
    if isinstance(value, tuple):
        items = [to_numpy(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


def has_tensor(args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    for value in args:
        if type(value) is Tensor or isinstance(value, Tensor):
            return True
        if isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Tensor):
                    return True
    for value in kwargs.values():
        if isinstance(value, Tensor):
            return True
    return False


def tensor_of(value: Any, device: torch.device | None = None) -> Tensor:
    """An array-like argument as a tensor of the dtype ``np.asarray`` would give it.

    Lists holding tensors (``np.array([x, y])`` of lifted scalars) are stacked in the dtype NumPy's
    array coercion picks (``np.result_type`` of the items, Python numbers as default-typed arrays);
    ragged lists and dtypes without an exact torch counterpart go to NumPy.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)) and has_tensor(value, {}):
        items = [tensor_of(v, device) for v in value]
        if len({item.shape for item in items}) != 1:
            raise Unsupported("ragged sequence")
        dtype = torch_dtype(np.result_type(*(TORCH_TO_NP[item.dtype] for item in items)))
        return torch.stack([item.to(dtype) for item in items])
    array = np.asarray(value)
    torch_dtype(array.dtype)
    return torch.as_tensor(array, device=device)


def normalize_axis(axis: Any, ndim: int) -> int:
    """``axis`` as a non-negative int; NumPy raises for bools and out-of-range axes (torch accepts
    axis 0 and -1 even on 0-d tensors), so those go to NumPy."""
    if isinstance(axis, (bool, np.bool_)):
        raise Unsupported("bool axis")
    index = operator.index(axis)
    if not -ndim <= index < ndim:
        raise Unsupported("axis out of range")
    return index % ndim


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """An ``axis`` argument (None, int or tuple) as a tuple of distinct non-negative axes.

    ``axis=()`` stays empty: NumPy then reduces nothing, while torch reads ``dim=()`` as "all
    dimensions", so callers must not pass an empty tuple on to torch.
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple):
        axes = tuple(normalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise Unsupported("repeated axis")
        return axes
    return (normalize_axis(axis, ndim),)


def dtype_arg(dtype: Any) -> np.dtype | None:
    """A ``dtype=`` argument (dtype, type, string) as NumPy parses it, liftable or Unsupported."""
    if dtype is None:
        return None
    parsed = np.dtype(dtype)
    torch_dtype(parsed)
    return parsed


def copy_if_aliased(result: Tensor, source: Tensor) -> Tensor:
    """``result``, copied where it shares memory with ``source`` (``x.to(dtype)`` returns ``x``
    itself): where NumPy returns a fresh array, a later in-place write must not reach the operand."""
    if result.numel() and result.untyped_storage().data_ptr() == source.untyped_storage().data_ptr():
        return result.clone()
    return result


def copy_if_same(result: Tensor, source: Tensor) -> Tensor:
    """``result``, copied where it *is* ``source``: for tensor paths whose result is either the
    operand itself (``x.to(dtype)`` with ``x``'s dtype) or a fresh tensor, never a view.  Unlike
    ``copy_if_aliased`` it reads no storage pointer, so ``torch.compile`` traces it."""
    return result.clone() if result is source else result


def array_result(result: Tensor) -> Tensor:
    """Where NumPy returns an ndarray even for 0-d results: a 0-d ndarray is never lifted."""
    if result.ndim == 0:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    return result


_PROBES: dict[tuple[Any, ...], Any] = {}


def _signature(value: Any) -> Any:
    """What NumPy's result dtype can depend on: dtypes, ndims, scalar-ness, Python types."""
    if isinstance(value, Tensor):
        return ("t", TORCH_TO_NP[value.dtype], value.ndim)
    if isinstance(value, np.ndarray):
        return ("a", value.dtype, value.ndim)
    if isinstance(value, np.generic):
        return ("s", value.dtype, 0)
    if isinstance(value, (bool, int, float, complex)):
        return type(value)
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(map(_signature, value)))
    if isinstance(value, str):
        return ("literal", value)
    raise Unsupported(f"operand of type {type(value).__name__}")


def _stand_in(signature: Any) -> Any:
    if isinstance(signature, type):
        return signature(1)
    kind, detail = signature[0], signature[1]
    if kind == "literal":
        return detail
    if kind in (list, tuple):
        return kind(map(_stand_in, detail))
    if kind == "a" or signature[2] > 0:
        return np.ones((1,) * signature[2], dtype=detail)
    return detail.type(1)


def probe_dtype(fn: Callable[..., Any], operands: Sequence[Any], **params: Any) -> torch.dtype:
    """The torch dtype of NumPy's own result for stand-ins of ``operands`` (size-1 axes,
    value 1) with ``params`` as given: result dtypes without restating NumPy's promotion rules.

    Cached per dtype/ndim/type signature, so a call costs a dict lookup after the first.
    """
    try:
        dtype = _probed_dtype(fn, tuple(map(_signature, operands)), tuple(params.items()))
    except TypeError:  # an unhashable parameter
        raise Unsupported("unhashable argument") from None
    if dtype is None:
        raise Unsupported(f"NumPy raises, or has no torch dtype, for these operands of {getattr(fn, '__name__', fn)}")
    return dtype


@_constant_for_compile
def _probed_dtype(fn: Callable[..., Any], signatures: tuple[Any, ...],
                  params: tuple[tuple[str, Any], ...]) -> torch.dtype | None:
    key = (fn, signatures, params)
    try:
        return _PROBES[key]
    except KeyError:
        pass
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            found = torch_dtype(np.asarray(fn(*(_stand_in(s) for s in signatures), **dict(params))).dtype)
        except Exception:
            found = None
    _PROBES[key] = found
    return found

def shape_arg(shape: Any) -> tuple[int, ...]:
    """A shape argument (an int, a sequence of ints, lifted integer scalars or a 1-d integer
    tensor) as Python ints; NumPy rejects bools and floats, and negative sizes go to NumPy."""
    items = to_numpy(shape)
    items = list(items) if isinstance(items, (list, tuple, np.ndarray)) else [items]
    if any(isinstance(s, (bool, np.bool_)) for s in items):
        raise Unsupported("bool in a shape")
    sizes = tuple(operator.index(s) for s in items)
    if any(s < 0 for s in sizes):
        raise Unsupported("negative dimensions (NumPy raises)")
    return sizes


def require_finite(*operands: Any) -> None:
    """Float operands of BLAS-backed NumPy products (dot, inner, matmul, einsum) must be finite:
    NumPy's BLAS may skip the products with a zero factor, so a NaN·0 or inf·0 term vanishes
    there (``np.inner([0.], [[nan]])`` is 0) while torch gives NaN; such calls go to NumPy."""
    for x in operands:
        if isinstance(x, Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise Unsupported("NaN or infinity in a BLAS product")
