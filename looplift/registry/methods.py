"""ndarray conversions and attributes, ``len``, ``np.asarray``/``array``/``copy``, and the
NumPy scalar types called as constructors.

Copies: NumPy's ``astype``, ``copy``, ``np.array`` and ``np.copy`` return new arrays, and torch's
``Tensor.to`` returns the tensor itself when the dtype already matches, so those paths copy where
torch would not; ``np.asarray`` and ``np.float32(a)`` of a float32 array return the array itself
in both.  Conversions follow NumPy's casting (``np.can_cast`` for ``casting=``); the values of
float-to-int casts of NaN, infinities and out-of-range values are what the test finds equal
(both truncate through the same C conversions).  Python objects (``item``, ``tolist``, ``shape``,
``dtype``) come back as NumPy gives them: Python numbers, tuples of ints, ``np.dtype``.
"""
from __future__ import annotations

import builtins
import operator
from typing import Any, Callable

import numpy as np
import torch

from ..dtypes import NP_TO_TORCH, TORCH_TO_NP
from ..lattice import ArrayV, ListV
from .cases import OMIT, Arr, Lit, Seq, case, custom
from .coerce import copy_if_aliased, dtype_arg, tensor_of, to_numpy, torch_dtype
from .declare import attribute_reference, method_reference, not_given
from . import arguments, lowering
from .entry import OpEntry, Unsupported, any_rank
from .lowering import Call, Emit, Refuse
from .table import register

Tensor = torch.Tensor


def _cast(x: Tensor, dtype: np.dtype, casting: Any = "unsafe") -> Tensor:
    if not np.can_cast(TORCH_TO_NP[x.dtype], dtype, casting):
        raise Unsupported("cast not allowed by casting= (NumPy raises)")
    return x.to(torch_dtype(dtype))


def _astype(a: Any, dtype: Any, order: Any = "K", casting: Any = "unsafe", subok: Any = True,
            copy: Any = True) -> Tensor:
    if order not in ("K", "A", "C"):
        raise Unsupported("order='F'")
    x = tensor_of(a)
    result = _cast(x, np.dtype(dtype), casting)
    return copy_if_aliased(result, x) if copy or x.ndim == 0 else result


def _copy_method(a: Any, order: Any = "C") -> Tensor:
    if order not in ("K", "A", "C"):
        raise Unsupported("order='F'")
    return tensor_of(a).clone(memory_format=torch.contiguous_format)


def _item(a: Any, *args: Any) -> Any:
    """No argument: the only element; one int: a flat index; several ints or a tuple: an index."""
    x = tensor_of(a)
    if not args:
        if x.numel() != 1:
            raise Unsupported("item() of an array of size other than 1 (NumPy raises)")
        return x.item()
    index = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    positions = tuple(operator.index(to_numpy(i)) for i in index)
    if len(positions) == 1:
        flat = x.reshape(-1)
        if not -flat.numel() <= positions[0] < flat.numel():
            raise Unsupported("index out of range (NumPy raises)")
        return flat[positions[0]].item()
    if len(positions) != x.ndim or not all(-n <= i < n for i, n in zip(positions, x.shape)):
        raise Unsupported("index out of range or of the wrong length (NumPy raises)")
    return x[positions].item()


def _tolist(a: Any) -> Any:
    return tensor_of(a).tolist()


def _len(obj: Any) -> int:
    x = tensor_of(obj)
    if x.ndim == 0:
        raise Unsupported("len() of a scalar (NumPy raises)")
    return x.shape[0]


#: ndarray attribute -> how to read it off a tensor (what NumPy returns: Python ints, a tuple
#: of ints, an np.dtype).
_ATTRIBUTES: dict[str, Callable[[Tensor], Any]] = {
    "shape": lambda x: tuple(x.shape),
    "ndim": lambda x: x.ndim,
    "size": lambda x: x.numel(),
    "dtype": lambda x: TORCH_TO_NP[x.dtype],
    "itemsize": lambda x: x.element_size(),
    "nbytes": lambda x: x.numel() * x.element_size(),
}


def _attribute(name: str) -> Callable[[Any], Any]:
    read = _ATTRIBUTES[name]

    def impl(a: Any) -> Any:
        return read(tensor_of(a))

    return impl


# ---------------------------------------------------------------------------------------------
# np.asarray / np.array / np.copy / np.ascontiguousarray


def _converted(a: Any, dtype: Any, copy: Any, ndmin: int = 0) -> Tensor:
    """NumPy's array construction from a lifted value (or a list holding lifted values): the
    dtype cast, ``copy`` True/None/False, ``ndmin`` leading axes; a 0-d result is a 0-d ndarray."""
    x = tensor_of(a)
    target = dtype_arg(dtype)
    result = x if target is None else x.to(torch_dtype(target))
    # a list was stacked, the cast copied, or a NumPy scalar (no buffer to share) is made an array
    fresh = not isinstance(a, Tensor) or result is not x or x.ndim == 0
    if copy is False and fresh:
        raise Unsupported("copy=False where a copy is needed (NumPy raises)")
    if (copy is True or x.ndim == 0) and result is x:
        result = result.clone()
    if result.ndim < ndmin:
        result = result.reshape((1,) * (ndmin - result.ndim) + tuple(result.shape))
    if result.ndim == 0:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    return result


def _check_layout(order: Any, device: Any, like: Any) -> None:
    not_given(like=like)
    if order not in (None, "K", "A", "C") or device not in (None, "cpu"):
        raise Unsupported("order='F' or device= other than 'cpu'")


def _asarray(a: Any, dtype: Any = None, order: Any = None, *, device: Any = None, copy: Any = None,
             like: Any = None) -> Tensor:
    _check_layout(order, device, like)
    return _converted(a, dtype, copy)


def _array(object: Any, dtype: Any = None, *, copy: Any = True, order: Any = "K", subok: Any = False,
           ndmin: Any = 0, ndmax: Any = 0, like: Any = None) -> Tensor:
    _check_layout(order, None, like)
    if ndmax:
        raise Unsupported("ndmax=")
    return _converted(object, dtype, copy, operator.index(ndmin))


def _ascontiguousarray(a: Any, dtype: Any = None, *, like: Any = None) -> Tensor:
    """``array(a, dtype, copy=None, order='C', ndmin=1)``: a scalar becomes shape (1,)."""
    not_given(like=like)
    return _converted(a, dtype, None, 1).contiguous()


def _np_copy(a: Any, order: Any = "K", subok: Any = False) -> Tensor:
    _check_layout(order, None, None)
    return _converted(a, None, True)


def _scalar_type(np_type: type) -> Callable[..., Tensor]:
    """``np.float32(x)`` of a lifted value: a cast like ``astype`` (the array itself when the
    dtype already matches, as NumPy returns it); a scalar stays a scalar."""
    dtype = np.dtype(np_type)

    def impl(value: Any) -> Tensor:
        x = tensor_of(value)
        result = x.to(torch_dtype(dtype))
        return result.clone() if x.ndim == 0 and result is x else result

    return impl


# ---------------------------------------------------------------------------------------------
# Lowering: casts and copies decided from the dtypes; attributes read from tensor metadata (no
# tensor data, so no host read); item() and tolist() stay in NumPy


def _cast_or_copy(x: lowering.Operand, dtype: torch.dtype, copy: bool | None) -> str:
    """``x`` in ``dtype``: a cast copies; ``copy`` True copies anyway, None and False return
    ``x`` itself (a lifted 0-d value stands for a NumPy scalar, which is never shared)."""
    if x.dtype is not dtype:
        if copy is False:
            raise Refuse("copy=False where a cast is needed (NumPy raises)")
        return lowering.cast(x.name, dtype)
    return f"{x.name}.clone()" if copy or x.ndim == 0 else x.name


def _layout(order: Any) -> str:
    """``clone()`` arguments for NumPy's ``order`` of a copy."""
    if order in ("K", "A", None):
        return ""
    if order == "C":
        return "memory_format=torch.contiguous_format"
    raise Refuse(f"order={order!r}")


def _lower_astype(args: arguments.Args) -> Emit:
    args.only("a", "dtype", "order", "casting", "copy")
    x, result = args.array("a"), args.call.result_dtype
    _layout(args.literal("order"))
    casting = args.literal("casting")
    if not np.can_cast(TORCH_TO_NP[x.dtype], TORCH_TO_NP[result], casting):
        raise Refuse(f"casting={casting!r} forbids this cast (NumPy raises)")
    return Emit(_cast_or_copy(x, result, bool(args.literal("copy"))))


def _lower_copy(args: arguments.Args) -> Emit:
    """``a.copy()`` (C order) and ``np.copy(a)`` (K order)."""
    args.only("a", "order")
    return Emit(f"{args.array('a').name}.clone({_layout(args.literal('order'))})")


#: attribute -> how generated code reads it off the tensor's metadata.
_ATTRIBUTE_SOURCES = {"shape": "lib.shape({0})", "ndim": "{0}.ndim", "size": "{0}.numel()",
                      "itemsize": "{0}.element_size()", "nbytes": "{0}.nbytes", "dtype": "lib.numpy_dtype({0})"}


def _lower_attribute(name: str) -> lowering.LowerFn:
    def lower(call: Call) -> Emit:
        return Emit(_ATTRIBUTE_SOURCES[name].format(arguments.lifted(call.args[0]).name))

    return lower


def _lower_len(call: Call) -> Emit:
    return Emit(f"{arguments.lifted(call.args[0]).name}.shape[0]")


def _stacked(items: lowering.Operand, dtype: torch.dtype) -> str:
    """A list of lifted values stacked into one tensor of NumPy's ``dtype`` (each item cast
    first: torch would promote mixed items otherwise than NumPy)."""
    options = list(items.value.options())
    if len(options) != 1 or not isinstance(options[0], ListV):
        raise Refuse("not a list")
    kinds = list(options[0].elem.options())
    if not all(isinstance(k, ArrayV) and k.lifted and k.dtype in NP_TO_TORCH for k in kinds):
        raise Refuse("a list holding other than lifted arrays")
    if len(kinds) == 1:
        return lowering.cast(f"torch.stack({items.name})", dtype, NP_TO_TORCH[kinds[0].dtype])
    return f"torch.stack([item.to({lowering.dtype_source(dtype)}) for item in {items.name}])"


def _lower_conversion(source_name: str, *, contiguous: bool = False) -> Callable[[arguments.Args], Emit]:
    """np.asarray/np.array/np.ascontiguousarray: the tensor itself, cast or copied as NumPy
    would (``contiguous``: a copy only where the layout is not C's), leading axes added up to
    NumPy's rank (``ndmin``); a list of lifted values stacked."""

    def lower(args: arguments.Args) -> Emit:
        args.only(source_name, "dtype", "order", "copy", "ndmin")
        source, call = args[source_name], args.call
        _layout(_parameter(args, "order", "C"))
        copy = _parameter(args, "copy", None)
        if source.array is None:
            if copy is False:
                raise Refuse("copy=False of a list (NumPy raises)")
            text = _stacked(source, call.result_dtype)
        else:
            text = _cast_or_copy(source, call.result_dtype, copy)
            text = f"{lowering.atom(text)}.contiguous()" if contiguous and source.ndim else text
        leading = call.result_array.ndim - lowering.probe_result(call, text).ndim
        return Emit(f"{lowering.atom(text)}[{', '.join(['None'] * leading)}]" if leading else text)

    return lower


def _parameter(args: arguments.Args, name: str, absent: Any) -> Any:
    """The literal passed for ``name`` or its default, ``absent`` where the signature lacks it."""
    return args.literal(name) if name in args.defaults else absent


def _lower_scalar_type(call: Call) -> Emit:
    """``np.float32(x)``: a cast; the array itself where the dtype matches, as NumPy returns it."""
    return Emit(_cast_or_copy(arguments.lifted(call.args[0]), call.result_dtype, None))


# ---------------------------------------------------------------------------------------------
# Registration

_ASTYPE_DTYPES = Lit(np.float32, np.float64, np.int64, np.int32, np.int8, np.uint8, np.int16, bool, float, int,
                     "float32", "int64", np.dtype("float64"), "bool", complex, np.float16)


def _method(name: str, impl: Callable[..., Any], torch_name: str, cases: tuple[Any, ...], *, forms: str = "",
            notes: str = "", attribute: bool = False, **fields: Any) -> None:
    reference = attribute_reference(name) if attribute else method_reference(name)
    register(OpEntry(key=f"ndarray.{name}", reference=reference, torch_impl=impl, torch_name=torch_name,
                     forms=forms, notes=notes, cases=cases, attribute=attribute, **fields))


def _item_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 3), max_side=3)
    x = d.array(shape)
    form = d.choice(["none", "flat", "tuple", "ints"])
    if form == "none":
        return (x,), {}
    if form == "flat":
        return (x, d.integer(-4, 4)), {}
    index = tuple(d.integer(-2, 2) for _ in shape)
    return ((x, index) if form == "tuple" else (x, *index)), {}


_method("astype", _astype, "Tensor.to (a copy, as NumPy's)",
        (case(Arr(), _ASTYPE_DTYPES), case(Arr(), dtype=_ASTYPE_DTYPES, copy=Lit(OMIT, True, False),
                                           casting=Lit(OMIT, "unsafe", "same_kind", "safe"))),
        forms="NumPy dtypes, Python types, strings; copy=, casting=", lower=arguments.bound(_astype, _lower_astype),
        rank_free=any_rank,
        notes="dtypes without an exact torch counterpart (float16, complex, strings) and order='F' go to NumPy")
_method("copy", _copy_method, "Tensor.clone", (case(Arr()), case(Arr(), Lit("C", "K", "F"))),
        lower=arguments.bound(_copy_method, _lower_copy), notes="order='F' goes to NumPy", rank_free=any_rank)
_HOST_VALUE = "returns Python numbers: a read of tensor data by the host (a sync on an accelerator)"
_method("item", _item, "Tensor.item", (custom(_item_operands),), forms="no index, a flat index, or a full index",
        notes="returns a Python number, as NumPy does", numpy_only=_HOST_VALUE)
_method("tolist", _tolist, "Tensor.tolist", (case(Arr()),), notes="returns Python numbers in nested lists",
        numpy_only=_HOST_VALUE)
for _name in _ATTRIBUTES:
    _method(_name, _attribute(_name), f"Tensor attribute ({_name})", (case(Arr()),), attribute=True,
            lower=_lower_attribute(_name), rank_free=any_rank,
            notes="returns " + ("an np.dtype" if _name == "dtype" else "a tuple of ints" if _name == "shape"
                                else "a Python int") + ", from the tensor's metadata (no read of its data)")
register(OpEntry(key="builtins.len", reference=builtins.len, torch_impl=_len, torch_name="Tensor.shape[0]",
                 notes="a scalar raises TypeError in both", cases=(case(Arr()),), lower=_lower_len), obj=builtins.len)

_SCALARS = Seq(Arr(ndim=(0, 0)), count=(1, 3))
_CONVERT_NOTE = "a 0-d result is a 0-d ndarray in NumPy and goes to NumPy; order='F' and device= too"
for _name, _impl, _forms, _cases, _lower in (
        ("asarray", _asarray, "dtype=, copy=",
         (case(Arr(), dtype=Lit(OMIT, None, "float64", np.int32), copy=Lit(OMIT, None, True, False)), case(_SCALARS)),
         arguments.bound(_asarray, _lower_conversion("a"))),
        ("array", _array, "dtype=, copy=, ndmin=",
         (case(Arr(), dtype=Lit(OMIT, None, "float32", bool), copy=Lit(OMIT, True, None, False), ndmin=Lit(OMIT, 0, 2)),
          case(_SCALARS)), arguments.bound(_array, _lower_conversion("object"))),
        ("ascontiguousarray", _ascontiguousarray, "dtype=", (case(Arr(), dtype=Lit(OMIT, None, "float64")),),
         arguments.bound(_ascontiguousarray, _lower_conversion("a", contiguous=True))),
        ("copy", _np_copy, "", (case(Arr()),), arguments.bound(_np_copy, _lower_copy))):
    register(OpEntry(key=f"numpy.{_name}", reference=getattr(np, _name), torch_impl=_impl,
                     torch_name="the tensor itself, cast or copied as NumPy would", forms=_forms or "a lifted array",
                     notes=_CONVERT_NOTE, cases=_cases, lower=_lower), obj=getattr(np, _name))
for _type in (np.float64, np.float32, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_):
    register(OpEntry(key=f"numpy.{_type.__name__}", reference=_type, torch_impl=_scalar_type(_type),
                     torch_name=f"Tensor.to({torch_dtype(np.dtype(_type))})",
                     forms="a lifted scalar or array", lower=_lower_scalar_type,
                     notes="a cast like astype; the array itself if the dtype matches",
                     cases=(case(Arr()),)), obj=_type)
