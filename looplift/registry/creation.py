"""Array creation: ``*_like`` of lifted arrays, and ``zeros``/``ones``/``full``/``empty``/
``arange``/``linspace``/``eye``/``identity`` whose sizes, bounds or fill value are lifted scalars.

The analysis never rewrites a creation call without a lifted argument, so the tensor paths run
only with one.  Defaults are NumPy's (float64, not torch's float32); fill values are converted
by NumPy's own ``copyto(casting='unsafe')``; ``arange`` and ``linspace`` replay NumPy's
arithmetic (the length from the operands' own division, ``start + i*delta`` with ``delta``
taken from the first two stored values; linspace's ``arange * step + start`` with the last value
set to ``stop``).  A 0-d result is a 0-d ndarray in NumPy, which is never lifted.

Lowered code needs every size on the host: it lowers ``*_like``, ``full`` with a lifted fill value
and ``linspace`` with lifted bounds and a literal ``num``; a lifted size or bound (``zeros``,
``ones``, ``empty``, ``eye``, ``identity``, ``arange``) sizes the result from tensor data, a host
read, and those entries stay in NumPy.
"""
from __future__ import annotations

import math
import operator
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..lattice import AV, ConstV, PyScalarV, TupleV
from ..dtypes import NP_TO_TORCH, TORCH_TO_NP
from .cases import ALL, OMIT, Arr, Lifted, Lit, OneOf, Py, Weak, case, custom
from .coerce import dtype_arg, probe_dtype, shape_arg, tensor_of, to_numpy, torch_dtype
from .declare import argument, not_given, register_numpy
from .entry import Unsupported
from .arguments import Args, array_value, bound, call_source, dtype_literal, int_tuple, source
from .lowering import Call, Emit, Operand, Refuse, dtype_source, operand_source, python_number
from .ufuncs import apply

Tensor = torch.Tensor


def _device(*values: Any) -> torch.device | None:
    for v in values:
        if isinstance(v, Tensor):
            return v.device
        if isinstance(v, (list, tuple)):
            found = _device(*v)
            if found is not None:
                return found
    return None


def _check_device(device: Any) -> None:
    if device not in (None, "cpu"):
        raise Unsupported("device= other than 'cpu'")


def _filled(shape: tuple[int, ...], dtype: torch.dtype, fill: Any, device: torch.device | None) -> Tensor:
    """``empty(shape, dtype)`` then ``copyto(result, fill, casting='unsafe')``: NumPy converts a
    scalar fill, torch casts a tensor fill (broadcast) as ``astype`` does."""
    if isinstance(fill, (Tensor, np.ndarray)):
        result = torch.empty(shape, dtype=dtype, device=device)
        return result.copy_(torch.broadcast_to(tensor_of(fill, device), shape))
    holder = np.empty((), TORCH_TO_NP[dtype])
    with np.errstate(all="ignore"):  # NumPy warns only when it fills a non-empty array
        np.copyto(holder, fill, casting="unsafe")
    return torch.full(shape, holder.item(), dtype=dtype, device=device)


# ---------------------------------------------------------------------------------------------
# *_like


def _like(a: Any, dtype: Any, shape: Any, device: Any) -> tuple[tuple[int, ...], torch.dtype, torch.device]:
    _check_device(device)
    x = tensor_of(a)
    sizes = tuple(x.shape) if shape is None else shape_arg(shape)
    if not sizes:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    given = dtype_arg(dtype)
    return sizes, x.dtype if given is None else torch_dtype(given), x.device


def _constant_like(value: int | None) -> Callable[..., Tensor]:
    def impl(a: Any, dtype: Any = None, order: Any = "K", subok: Any = True, shape: Any = None, *,
             device: Any = None) -> Tensor:
        sizes, dt, dev = _like(a, dtype, shape, device)
        if value is None:
            return torch.empty(sizes, dtype=dt, device=dev)
        return torch.full(sizes, value, dtype=dt, device=dev)

    return impl


def _full_like(a: Any, fill_value: Any, dtype: Any = None, order: Any = "K", subok: Any = True, shape: Any = None, *,
               device: Any = None) -> Tensor:
    sizes, dt, dev = _like(a, dtype, shape, device)
    return _filled(sizes, dt, fill_value, dev)


# ---------------------------------------------------------------------------------------------
# Creation from sizes


def _sized(shape: Any, dtype: Any) -> tuple[tuple[int, ...], torch.dtype]:
    sizes = shape_arg(shape)
    if not sizes:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    given = dtype_arg(dtype)
    return sizes, torch.float64 if given is None else torch_dtype(given)


def _constant(value: int | None) -> Callable[..., Tensor]:
    def impl(shape: Any, dtype: Any = None, order: Any = "C", *, device: Any = None, like: Any = None) -> Tensor:
        not_given(like=like)
        _check_device(device)
        sizes, dt = _sized(shape, dtype)
        if value is None:
            return torch.empty(sizes, dtype=dt, device=_device(shape))
        return torch.full(sizes, value, dtype=dt, device=_device(shape))

    return impl


def _full(shape: Any, fill_value: Any, dtype: Any = None, order: Any = "C", *, device: Any = None,
          like: Any = None) -> Tensor:
    """dtype=None: ``np.array(fill_value).dtype``."""
    not_given(like=like)
    _check_device(device)
    if dtype is None:
        dtype = TORCH_TO_NP[fill_value.dtype] if isinstance(fill_value, Tensor) else np.asarray(fill_value).dtype
    sizes, dt = _sized(shape, dtype)
    return _filled(sizes, dt, fill_value, _device(shape, fill_value))


def _arange(start_or_stop: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
            like: Any = None) -> Tensor:
    """NumPy's ``PyArray_ArangeObj``: the length is ``ceil((stop - start) / step)`` in the
    operands' own arithmetic, the first two values are stored from ``start`` and ``start + step``,
    the rest is ``start + i*delta`` with ``delta`` the difference of the stored two."""
    not_given(like=like)
    _check_device(device)
    where = _device(start_or_stop, stop, step)
    given = (0, start_or_stop, step) if stop is None else (start_or_stop, stop, step)
    start, stop, step = (to_numpy(v) for v in given)
    operands = [v for v in (start_or_stop, stop, step) if v is not None]
    dt = probe_dtype(np.arange, operands, dtype=dtype)
    if dt.is_floating_point and dt is not torch.float64:
        raise Unsupported("float32 arange: NumPy fills in float32 arithmetic")
    with np.errstate(all="raise"):
        try:
            length = max(math.ceil(float((stop - start) / step)), 0)
            first = np.empty(min(length, 2), TORCH_TO_NP[dt])
            first[:1] = start
            first[1:] = start + step
        except FloatingPointError:
            raise Unsupported("NumPy's arithmetic on these bounds overflows (it warns)") from None
    stored = torch.as_tensor(first, device=where)
    if length <= 2:
        return stored
    delta = stored[1] - stored[0]
    steps = torch.arange(length, dtype=torch.float64 if dt.is_floating_point else torch.int64, device=where)
    # C computes start + i*delta with i an npy_intp: in double for float64, in intp for integers
    result = (stored[0].to(steps.dtype) + steps * delta.to(steps.dtype)).to(dt)
    result[1] = stored[1]
    return result


def _linspace(start: Any, stop: Any, num: Any = 50, endpoint: Any = True, retstep: Any = False, dtype: Any = None,
              axis: Any = 0, *, device: Any = None) -> Any:
    """NumPy's linspace for scalar bounds, step by step in its dtype."""
    _check_device(device)
    if axis != 0 or any(isinstance(v, Tensor) and v.ndim for v in (start, stop)):
        raise Unsupported("array bounds or axis=")
    num = operator.index(to_numpy(num))
    if num < 0:
        raise Unsupported("negative num (NumPy raises)")
    where = _device(start, stop, num)
    div = num - 1 if endpoint else num
    dt = probe_dtype(np.linspace, (start, stop), num=2)
    bounds = [v.to(dt) if isinstance(v, Tensor) else torch.tensor(v, dtype=dt, device=where) for v in (start, stop)]
    delta = bounds[1] - bounds[0]
    y = torch.arange(num, dtype=dt, device=where)
    if div > 0:
        step = delta / div
        y = y / div * delta if bool(step == 0) else y * step
    else:
        step = math.nan
        y = y * delta
    y = apply(np.add, y, start).to(dt)  # a Python-number start stays weak, as in NumPy
    if endpoint and num > 1:
        y[-1] = bounds[1]
    target = dtype_arg(dtype)
    if target is not None:
        if target.kind in "iu":
            y = torch.floor(y)
        y = y.to(torch_dtype(target))
    return (y, step) if retstep else y


def _eye(N: Any, M: Any = None, k: Any = 0, dtype: Any = float, order: Any = "C", *, device: Any = None,
         like: Any = None) -> Tensor:
    not_given(like=like)
    _check_device(device)
    rows = operator.index(to_numpy(N))
    cols = rows if M is None else operator.index(to_numpy(M))
    if rows < 0 or cols < 0:
        raise Unsupported("negative dimensions (NumPy raises)")
    result = torch.zeros((rows, cols), dtype=torch_dtype(np.dtype(dtype)), device=_device(N, M, k))
    result.diagonal(operator.index(to_numpy(k))).fill_(1)
    return result


def _identity(n: Any, dtype: Any = None, *, like: Any = None) -> Tensor:
    return _eye(n, dtype=float if dtype is None else dtype, like=like)


# ---------------------------------------------------------------------------------------------
# Lowerings: results shaped like a lifted array, or filled from one.  Sizes, bounds and counts
# that are tensor data (np.zeros(n) of a lifted n) would need a host read: those stay in NumPy.


def _shape_source(op: Operand) -> str:
    """A shape operand as source: a literal, a Python int, or a tuple of Python ints (values
    unknown: NumPy and torch both raise for a negative one)."""
    if op.is_literal:
        sizes = int_tuple(op.literal)
        if any(s < 0 for s in sizes):
            raise Refuse("negative dimensions (NumPy raises)")
        return source(sizes)
    items = list(op.value.item_types()) if isinstance(op.value, TupleV) and op.value.items is not None else [op.value]
    if all(isinstance(i, PyScalarV) and i.type is int or isinstance(i, ConstV) and type(i.value) is int
           for i in items):
        return op.name
    raise Refuse("shape must be ints known on the host (a size that is tensor data needs a host read)")


def _layout(order: Any) -> str:
    """NumPy's ``order`` as torch's memory format for a ``*_like`` result ('K' keeps the
    operand's layout, as torch does by default); 'F' stays in NumPy."""
    formats = {"K": "torch.preserve_format", "A": "torch.preserve_format", "C": "torch.contiguous_format"}
    if order not in formats:
        raise Refuse("order='F'")
    return formats[order]


def _python_fill(call: Call, fill: Operand, dtype: torch.dtype) -> tuple[str, tuple[str, ...]]:
    """A Python-number fill as NumPy's ``copyto(casting='unsafe')`` stores it: a literal is
    converted by NumPy now; a number of unknown value passes through torch's conversion, exact
    where ``requires`` holds (a float truncated into an integer's range, or within float32's)."""
    target = TORCH_TO_NP[dtype]
    if fill.is_literal:
        holder = np.empty((), target)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                np.copyto(holder, fill.literal, casting="unsafe")
            except (OverflowError, ValueError, TypeError):
                raise Refuse(f"NumPy raises storing {fill.literal!r} into {target}") from None
        return source(holder.item()), ()
    number = python_number(fill)
    if number is bool or dtype is torch.bool or dtype is torch.float64:
        return fill.name, ()
    if not dtype.is_floating_point:
        info = torch.iinfo(dtype)
        return fill.name, (f"{info.min - 1} < {fill.name} < {info.max + 1}",)
    if number is int:
        return fill.name, ()
    limit = float(np.finfo(target).max)
    v = fill.name
    return v, (f"not ({limit!r} < {v} < math.inf or -math.inf < {v} < -{limit!r})",)


def _fill_emit(call: Call, empty: str, like: str, fill: Operand, dtype: torch.dtype) -> Emit:
    """``empty`` (a template making the result) filled with ``fill``: an array is copied in
    (broadcast, cast as NumPy's unsafe ``copyto`` casts), a number through ``like``
    (a ``torch.full``-style template taking the value)."""
    if array_value(fill) is not None:
        return Emit(f"{empty}.copy_({operand_source(call, fill, NP_TO_TORCH[array_value(fill).dtype])})")
    if python_number(fill) is None:
        raise Refuse("fill_value must be an array or a Python number")
    value, requires = _python_fill(call, fill, dtype)
    return Emit(like.format(value), requires)


def _lower_constant_like(function: str) -> Callable[[Args], Emit]:
    """``np.zeros_like``/``ones_like``/``empty_like``: torch's function of the same name, or of
    the sized one for ``shape=``."""

    def lower(args: Args) -> Emit:
        args.only("a", "dtype", "order", "subok", "shape")
        a, dtype = args.array("a"), dtype_source(args.call.result_dtype)
        layout = _layout(args.literal("order"))
        if args.given("shape") and not (args["shape"].is_literal and args["shape"].literal is None):
            return Emit(f"torch.{function}({_shape_source(args['shape'])}, dtype={dtype}, device={a.name}.device)")
        return Emit(f"torch.{function}_like({a.name}, dtype={dtype}, memory_format={layout})")

    lower.__name__ = f"_lower_{function}_like"
    return lower


def _lower_full_like(args: Args) -> Emit:
    args.only("a", "fill_value", "dtype", "order", "subok", "shape")
    a, dtype = args.array("a"), args.call.result_dtype
    layout = _layout(args.literal("order"))
    if args.given("shape") and not (args["shape"].is_literal and args["shape"].literal is None):
        shape = _shape_source(args["shape"])
        return _fill_emit(args.call, f"torch.empty({shape}, dtype={dtype_source(dtype)}, device={a.name}.device)",
                       f"torch.full({shape}, {{}}, dtype={dtype_source(dtype)}, device={a.name}.device)",
                       args["fill_value"], dtype)
    return _fill_emit(args.call, f"torch.empty_like({a.name}, dtype={dtype_source(dtype)}, memory_format={layout})",
                   f"torch.full_like({a.name}, {{}}, dtype={dtype_source(dtype)}, memory_format={layout})",
                   args["fill_value"], dtype)


def _lower_full(args: Args) -> Emit:
    """A lifted fill value (the only way a tensor reaches ``np.full`` that needs no host read)."""
    args.only("shape", "fill_value", "dtype", "order")
    fill, dtype = args["fill_value"], args.call.result_dtype
    if fill.array is None:
        raise Refuse("fill_value is not lifted (sizes that are tensor data need a host read)")
    shape = _shape_source(args["shape"])
    return Emit(f"torch.empty({shape}, dtype={dtype_source(dtype)}, device={fill.name}.device).copy_({fill.name})")


def _lower_linspace(args: Args) -> Emit:
    """Scalar bounds (lifted, or numbers) and a literal ``num``: NumPy's arithmetic in
    ``lib.linspace``, the bounds as 0-d tensors of NumPy's working dtype."""
    args.only("start", "stop", "num", "endpoint", "retstep", "dtype")
    start, stop = args["start"], args["stop"]
    num, endpoint, retstep = (args.literal(n) for n in ("num", "endpoint", "retstep"))
    if type(num) is not int or num < 0 or not all(type(f) is bool for f in (endpoint, retstep)):
        raise Refuse("num must be a literal non-negative int (a lifted one sizes the result: a host read), "
                     "endpoint and retstep literal bools")
    if any((array_value(op) is not None and array_value(op).ndim) for op in (start, stop)):
        raise Refuse("array bounds")
    working = np.result_type(*(_probe(op) for op in (start, stop)), 1.0)
    out = dtype_literal(args.literal("dtype")) or NP_TO_TORCH[working]
    bounds = (operand_source(args.call, op, NP_TO_TORCH[working], tensor=True) for op in (start, stop))
    return Emit(call_source("lib.linspace", *bounds, str(num), repr(endpoint), repr(retstep), dtype_source(out)))


def _probe(op: Operand) -> Any:
    """A stand-in for a linspace bound in NumPy's dtype rule (Python numbers weak)."""
    array = array_value(op)
    if array is not None:
        return np.ones((), array.dtype)
    if python_number(op) is None:
        raise Refuse(f"{op.name} must be an array or a Python number")
    return python_number(op)(1)


# ---------------------------------------------------------------------------------------------
# Registration

_DTYPES = Lit(OMIT, None, "float32", np.int64, bool, "int8")


def _size_operands(d: Any) -> Any:
    """A shape holding a lifted integer (the only way a tensor reaches these)."""
    size = Lifted(np.int64(d.integer(0, 3)))
    return d.choice([size, (size,), (2, size), [size, 1], ()])


def _fill_operands(d: Any) -> Any:
    return d.choice([2.5, -1, True, 1e10, np.float32(0.1), 300]) if d.integer(0, 1) else d.array((), ALL, "any")


def _python_shape(d: Any) -> Any:
    """A shape of Python ints whose values static analysis does not know (``len(x)``)."""
    size = Weak(d.integer(0, 3))
    return d.choice([size, (size,), (2, size), (size, 1)])


def _arange_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    lifted = d.array((), ("int64", "int32", "float64", "float32", "uint8"), "small")
    other = d.choice([0, 5, 2.5, -3, np.int64(7)])
    args = d.choice([(lifted,), (other, lifted), (lifted, other), (0, other, lifted), (lifted, 10, 3),
                     (lifted, 1, 0.25)])
    kwargs = {"dtype": d.choice([None, "float64", "int32", "float32"])} if d.integer(0, 3) == 0 else {}
    return args, kwargs


def _linspace_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    bound = d.array((), ALL, "finite")
    other = d.choice([0, 1.5, -2, np.float32(3)])
    num = d.choice([0, 1, 2, 5, 50, Lifted(np.int64(d.integer(0, 6)))])
    kwargs = {k: v for k, v in (("endpoint", d.choice([True, False])), ("retstep", d.choice([False, True])),
                                 ("dtype", d.choice([None, "float32", "int64"]))) if d.integer(0, 1)}
    return ((bound, other, num) if d.integer(0, 1) else (other, bound, num)), kwargs


def _eye_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    n = Lifted(np.int64(d.integer(0, 4)))
    kwargs = {k: v for k, v in (("M", d.choice([None, 2, Lifted(np.int32(3))])), ("k", d.choice([0, 1, -2, 5])),
                                 ("dtype", d.choice([float, "int32", bool]))) if d.integer(0, 1)}
    return (n,), kwargs


_LIKE_NOTE = "a scalar's *_like is a 0-d ndarray in NumPy and goes to NumPy; device= other than 'cpu' too"
for _name, _value in (("zeros_like", 0), ("ones_like", 1), ("empty_like", None)):
    register_numpy(_name, _constant_like(_value), torch_name=f"torch.{_name.replace('_like', '')}",
                   forms="dtype=, shape=", notes=_LIKE_NOTE,
                   lower=bound(_constant_like(_value), _lower_constant_like(_name.replace("_like", ""))),
                   cases=(case(Arr(), dtype=_DTYPES, shape=Lit(OMIT, None, (2, 3), 4, ()),
                               tolerance="meta" if _value is None else "exact"),))
register_numpy("full_like", _full_like, torch_name="torch.full_like, or copy_ of an array fill (as NumPy's copyto)",
               forms="scalar or array fill_value, dtype=, shape=", notes=_LIKE_NOTE,
               lower=bound(_full_like, _lower_full_like),
               numpy_when="a Python float of unknown value beyond the integer dtype's range (or float32's) as fill",
               cases=(case(Arr(), OneOf(Lit(2.5, -1, True, 1e10, 300, np.float32(0.1)), Arr(ndim=(0, 1), lifted=None),
                                   Py((int, float, bool))),
                           dtype=_DTYPES),))
_SIZE_NOTE = "a shape of () gives a 0-d ndarray in NumPy and goes to NumPy"
_DATA_SIZES = ("a lifted operand here is a size or bound, which is tensor data: the result's shape would need a "
               "host read (the runtime path reads it)")
for _name, _value in (("zeros", 0), ("ones", 1), ("empty", None)):
    register_numpy(_name, _constant(_value), torch_name=f"torch.{_name} (float64 default)",
                   forms="shape with lifted sizes, dtype=", notes=_SIZE_NOTE, numpy_only=_DATA_SIZES,
                   cases=(custom(lambda d: ((_size_operands(d),), {"dtype": d.choice([None, "float32", int, bool])}),
                                 tolerance="meta" if _value is None else "exact"),))
register_numpy("full", _full, torch_name="torch.empty(...).copy_(fill) (dtype of np.array(fill_value))",
               forms="shape with lifted sizes or a lifted fill value, dtype=",
               notes=_SIZE_NOTE + "; lowered for a lifted fill value (lifted sizes need a host read)",
               lower=bound(_full, _lower_full),
               cases=(custom(lambda d: ((_python_shape(d), d.array((), ALL, "any")), {})),
                      custom(lambda d: ((_size_operands(d), _fill_operands(d)), {}), numpy_only=_DATA_SIZES),
                      custom(lambda d: (((2, 3), d.array((), ALL, "any")),
                                        {"dtype": d.choice([None, "float32", "int64"])}))))
register_numpy("arange", _arange, torch_name="start + torch.arange(n) * delta (NumPy's fill)",
               forms="lifted start/stop/step, dtype=",
               notes="float32 results (NumPy fills in float32 arithmetic) go to NumPy",
               cases=(custom(_arange_operands),), numpy_only=_DATA_SIZES)
def _literal_num_with_retstep(args: Sequence[AV], kwargs: Mapping[str, AV]) -> str | None:
    """The step NumPy returns is a NumPy scalar, or the Python float NaN for num <= 1."""
    retstep = argument(args, kwargs, 4, "retstep")
    num = argument(args, kwargs, 2, "num")
    if retstep is not None and not isinstance(retstep, ConstV):
        return "retstep= must be a literal"
    if retstep is not None and retstep.value and not isinstance(num, ConstV):
        return "with retstep=True, num must be a literal (the step's type depends on it)"
    return None


register_numpy("linspace", _linspace, torch_name="NumPy's linspace arithmetic on tensors",
               check=_literal_num_with_retstep,
               forms="scalar bounds and num (lifted too), endpoint, retstep, dtype=",
               notes="array bounds and axis= go to NumPy; a lifted num is a size (a host read): lowered for a "
                     "literal num", cases=(custom(_linspace_operands),), lower=bound(_linspace, _lower_linspace))
register_numpy("eye", _eye, torch_name="torch.zeros with diagonal k set", forms="lifted N/M/k, dtype=",
               cases=(custom(_eye_operands),), numpy_only=_DATA_SIZES)
register_numpy("identity", _identity, torch_name="torch.zeros with the diagonal set", forms="lifted n, dtype=",
               cases=(custom(lambda d: ((Lifted(np.int64(d.integer(0, 4))),),
                                        {"dtype": d.choice([None, "int8", bool])})),), numpy_only=_DATA_SIZES)
