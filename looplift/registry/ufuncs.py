"""Elementwise NumPy ufuncs and the Python operators that call them.

Each entry casts its operands to the loop dtypes NumPy itself resolves for them
(``coerce.ufunc_operands``), runs the torch function, and returns NumPy's output dtype.  That
one rule covers NEP 50 promotion with Python scalars, int/bool true division giving float64,
``exp`` of int giving float64, comparisons of int with float in float64, and so on.  What the rule
cannot cover is written next to the entry as a guard that raises ``Unsupported``.
"""
from __future__ import annotations

import dataclasses
import operator
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..lattice import AV, ArrayV, PyScalarV
from . import lib
from .cases import Arr, Case, Py, case, custom
from .coerce import (as_operand, check_int_fits, device_of, loop_for, require_finite, ufunc_loop,
                     ufunc_operands)
from .entry import OpEntry, Unsupported
from .table import by_key, register

Tensor = torch.Tensor


def _no_kwargs(args: Sequence[AV], kwargs: Mapping[str, AV]) -> str | None:
    return "keyword arguments (dtype=, casting=, ...) are left to NumPy" if kwargs else None


#: The descriptor ``coerce.np_dtype_of`` gives a Python scalar operand (bool is not weak).
_PY_DESCRIPTORS: dict[type, Any] = {float: float, int: int, bool: np.dtype(bool)}


def ufunc_path(ufunc: np.ufunc, fn: Callable[..., Any], *, tensors_only: bool = False,
               guard: Callable[..., None] | None = None) -> Callable[..., Any]:
    """The tensor path of a ufunc: cast to NumPy's loop dtypes, call ``fn``, fix the output dtype.

    ``tensors_only`` turns Python scalars into 0-d tensors for torch functions that take tensors
    only; ``guard`` sees the cast operands and raises ``Unsupported`` where ``fn`` would differ.
    Calls on tensors, or a tensor and a Python scalar (nearly all), take a fast path that looks
    the loop up by their dtypes and types directly; others (NumPy operands, three operands) go
    through ``coerce.ufunc_operands``.  Both consult the same per-dtype cache of NumPy's loops.
    """

    def general(*operands: Any) -> Tensor:
        if len(operands) != ufunc.nin:
            raise Unsupported("argument count")
        xs, out_dtypes = ufunc_operands(ufunc, operands)
        if tensors_only:
            device = device_of(xs)
            xs = [x if isinstance(x, Tensor) else torch.tensor(x, dtype=d, device=device)
                  for x, d in zip(xs, ufunc_loop(ufunc, operands)[0])]
        return finish(xs, out_dtypes[0])

    def finish(xs: list[Any], out: torch.dtype) -> Tensor:
        if guard is not None:
            guard(*xs)
        result = fn(*xs)
        return result if result.dtype is out else result.to(out)

    def operand(x: Any, dtype: torch.dtype, like: Tensor) -> Any:
        """A fast-path operand cast to its loop dtype (Python scalars stay weak scalars)."""
        if type(x) is Tensor:
            return x if x.dtype is dtype else x.to(dtype)
        if type(x) is int:
            check_int_fits(x, dtype)
        elif type(x) is bool:  # a NumPy bool operand, not weak: torch would promote it differently
            return torch.tensor(x, dtype=dtype, device=like.device)
        return torch.tensor(x, dtype=dtype, device=like.device) if tensors_only else x

    def unary(*operands: Any) -> Tensor:
        if len(operands) == 1 and type(operands[0]) is Tensor:
            x = operands[0]
            loop = loop_for(ufunc, (x.dtype,))
            if loop is not None:
                dtype = loop[0][0]
                return finish([x if x.dtype is dtype else x.to(dtype)], loop[1][0])
        return general(*operands)

    def binary(*operands: Any) -> Tensor:
        if len(operands) == 2:
            x, y = operands
            kx, ky = type(x), type(y)
            if kx is Tensor and (ky is Tensor or ky in _PY_DESCRIPTORS) or ky is Tensor and kx in _PY_DESCRIPTORS:
                loop = loop_for(ufunc, (x.dtype if kx is Tensor else _PY_DESCRIPTORS[kx],
                                        y.dtype if ky is Tensor else _PY_DESCRIPTORS[ky]))
                if loop is not None:
                    like = x if kx is Tensor else y
                    (dx, dy), (out,) = loop
                    return finish([operand(x, dx, like), operand(y, dy, like)], out)
        return general(*operands)

    return unary if ufunc.nin == 1 else binary


def _is_int(x: Any) -> bool:
    return isinstance(x, int) or (isinstance(x, Tensor) and not x.dtype.is_floating_point
                                  and x.dtype is not torch.bool)


def _nonnegative_int_exponent(base: Any, exponent: Any) -> None:
    """NumPy raises for a negative integer power; torch silently truncates."""
    if _is_int(base) and _is_int(exponent):
        negative = exponent < 0
        if bool(negative.any()) if isinstance(negative, Tensor) else negative:
            raise Unsupported("negative integer exponent")


def _shift_in_range(value: Any, amount: Any) -> None:
    """Shifts by a negative amount or by the bit width or more are left to NumPy."""
    bits = (value.element_size() * 8) if isinstance(value, Tensor) else 64
    out_of_range = (amount < 0) | (amount >= bits) if isinstance(amount, Tensor) else not 0 <= amount < bits
    if bool(out_of_range.any()) if isinstance(out_of_range, Tensor) else out_of_range:
        raise Unsupported("shift amount out of range")


def _sign(x: Tensor) -> Tensor:
    return lib.sign(x) if x.dtype.is_floating_point else torch.sign(x)


def _reciprocal(x: Tensor) -> Tensor:
    if not x.dtype.is_floating_point:
        raise Unsupported("integer reciprocal truncates in NumPy")
    return torch.reciprocal(x)


def _dividing(floating: Callable[..., Tensor], integral: Callable[..., Tensor],
              plain: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """A division-like ufunc: ``floating`` for float loops; for integer loops ``integral`` (0
    where the divisor is 0, as NumPy gives) with a tensor divisor, ``plain`` with a nonzero Python
    one (a Python 0 goes to NumPy)."""

    def run(x: Any, y: Any) -> Tensor:
        if (x if isinstance(x, Tensor) else y).is_floating_point():
            return floating(x, y)
        if isinstance(y, Tensor):
            return integral(x, y)
        if y == 0:
            raise Unsupported("integer division by a Python 0")
        return plain(x, y)

    return run


def _rounding(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """floor/ceil/trunc/rint: NumPy's integer and bool loops return the values unchanged."""
    return lambda x: fn(x) if x.is_floating_point() else x.clone()


def _absolute(x: Tensor) -> Tensor:
    return x.clone() if x.dtype is torch.bool else torch.abs(x)


def _positive(x: Tensor) -> Tensor:
    """A new array, like NumPy's (``+t`` in torch returns ``t`` itself)."""
    return x.clone()


#: Python operator name -> (NumPy ufunc it calls, Python operator function).
OPERATOR_UFUNCS: dict[str, tuple[np.ufunc, Callable[..., Any]]] = {
    "add": (np.add, operator.add),
    "sub": (np.subtract, operator.sub),
    "mul": (np.multiply, operator.mul),
    "truediv": (np.true_divide, operator.truediv),
    "floordiv": (np.floor_divide, operator.floordiv),
    "mod": (np.remainder, operator.mod),
    "pow": (np.power, operator.pow),
    "lshift": (np.left_shift, operator.lshift),
    "rshift": (np.right_shift, operator.rshift),
    "and_": (np.bitwise_and, operator.and_),
    "or_": (np.bitwise_or, operator.or_),
    "xor": (np.bitwise_xor, operator.xor),
    "eq": (np.equal, operator.eq),
    "ne": (np.not_equal, operator.ne),
    "lt": (np.less, operator.lt),
    "le": (np.less_equal, operator.le),
    "gt": (np.greater, operator.gt),
    "ge": (np.greater_equal, operator.ge),
    "neg": (np.negative, operator.neg),
    "pos": (np.positive, operator.pos),
    "invert": (np.invert, operator.invert),
    "abs": (np.absolute, abs),
}

_GUARDS: dict[np.ufunc, Callable[..., None]] = {
    np.power: _nonnegative_int_exponent,
    np.left_shift: _shift_in_range,
    np.right_shift: _shift_in_range,
}

#: ufunc -> (torch function, torch name for docs, needs tensor operands).
UFUNC_TARGETS: dict[np.ufunc, tuple[Callable[..., Any], str, bool]] = {
    np.add: (operator.add, "torch.add", False),
    np.subtract: (operator.sub, "torch.sub", False),
    np.multiply: (operator.mul, "torch.mul", False),
    np.true_divide: (operator.truediv, "torch.true_divide", False),
    np.floor_divide: (_dividing(operator.floordiv, lib.int_floor_divide, operator.floordiv),
                      "torch.floor_divide", False),
    np.remainder: (_dividing(lib.float_remainder, lib.int_remainder, operator.mod),
                   "torch.fmod moved into the divisor's sign", True),
    np.fmod: (_dividing(torch.fmod, lib.int_fmod, torch.fmod), "torch.fmod", True),
    np.power: (operator.pow, "torch.pow", False),
    np.float_power: (operator.pow, "torch.pow (float64)", False),
    np.left_shift: (operator.lshift, "torch.bitwise_left_shift", False),
    np.right_shift: (operator.rshift, "torch.bitwise_right_shift", False),
    np.bitwise_and: (operator.and_, "torch.bitwise_and", False),
    np.bitwise_or: (operator.or_, "torch.bitwise_or", False),
    np.bitwise_xor: (operator.xor, "torch.bitwise_xor", False),
    np.equal: (operator.eq, "torch.eq", False),
    np.not_equal: (operator.ne, "torch.ne", False),
    np.less: (operator.lt, "torch.lt", False),
    np.less_equal: (operator.le, "torch.le", False),
    np.greater: (operator.gt, "torch.gt", False),
    np.greater_equal: (operator.ge, "torch.ge", False),
    np.logical_and: (torch.logical_and, "torch.logical_and", True),
    np.logical_or: (torch.logical_or, "torch.logical_or", True),
    np.logical_xor: (torch.logical_xor, "torch.logical_xor", True),
    np.maximum: (torch.maximum, "torch.maximum", True),
    np.minimum: (torch.minimum, "torch.minimum", True),
    np.fmax: (torch.fmax, "torch.fmax", True),
    np.fmin: (torch.fmin, "torch.fmin", True),
    np.arctan2: (torch.atan2, "torch.atan2", True),
    np.hypot: (torch.hypot, "torch.hypot", True),
    np.copysign: (torch.copysign, "torch.copysign", True),
    np.logaddexp: (torch.logaddexp, "torch.logaddexp", True),
    np.logaddexp2: (torch.logaddexp2, "torch.logaddexp2", True),
    np.negative: (operator.neg, "torch.neg", False),
    np.positive: (_positive, "Tensor.clone", False),
    np.invert: (operator.invert, "torch.bitwise_not", False),
    np.absolute: (_absolute, "torch.abs", False),
    np.logical_not: (torch.logical_not, "torch.logical_not", False),
    np.exp: (torch.exp, "torch.exp", False),
    np.exp2: (torch.exp2, "torch.exp2", False),
    np.expm1: (torch.expm1, "torch.expm1", False),
    np.log: (torch.log, "torch.log", False),
    np.log2: (torch.log2, "torch.log2", False),
    np.log10: (torch.log10, "torch.log10", False),
    np.log1p: (torch.log1p, "torch.log1p", False),
    np.sqrt: (torch.sqrt, "torch.sqrt", False),
    np.cbrt: (lib.cbrt, "sign(x) * abs(x) ** (1/3)", False),
    np.square: (torch.square, "torch.square", False),
    np.reciprocal: (_reciprocal, "torch.reciprocal", False),
    np.sign: (_sign, "torch.sign (NaN kept)", False),
    np.floor: (_rounding(torch.floor), "torch.floor", False),
    np.ceil: (_rounding(torch.ceil), "torch.ceil", False),
    np.trunc: (_rounding(torch.trunc), "torch.trunc", False),
    np.rint: (_rounding(torch.round), "torch.round (half to even)", False),
    np.sin: (torch.sin, "torch.sin", False),
    np.cos: (torch.cos, "torch.cos", False),
    np.tan: (torch.tan, "torch.tan", False),
    np.arcsin: (torch.asin, "torch.asin", False),
    np.arccos: (torch.acos, "torch.acos", False),
    np.arctan: (torch.atan, "torch.atan", False),
    np.sinh: (torch.sinh, "torch.sinh", False),
    np.cosh: (torch.cosh, "torch.cosh", False),
    np.tanh: (torch.tanh, "torch.tanh", False),
    np.arcsinh: (torch.asinh, "torch.asinh", False),
    np.arccosh: (torch.acosh, "torch.acosh", False),
    np.arctanh: (torch.atanh, "torch.atanh", False),
    np.deg2rad: (torch.deg2rad, "torch.deg2rad", False),
    np.rad2deg: (torch.rad2deg, "torch.rad2deg", False),
    np.isnan: (torch.isnan, "torch.isnan", False),
    np.isinf: (torch.isinf, "torch.isinf", False),
    np.isfinite: (torch.isfinite, "torch.isfinite", False),
    np.signbit: (torch.signbit, "torch.signbit", False),
}

_NOTES = {
    np.power: "integer powers with a negative exponent go to NumPy (it raises)",
    np.left_shift: "shift amounts outside [0, bit width) go to NumPy",
    np.right_shift: "shift amounts outside [0, bit width) go to NumPy",
    np.floor_divide: "integer division by zero goes to NumPy (0 and a warning)",
    np.remainder: "integer division by zero goes to NumPy (0 and a warning)",
    np.fmod: "integer division by zero goes to NumPy (0 and a warning)",
    np.reciprocal: "integer input goes to NumPy (truncating integer reciprocal)",
    np.absolute: "bool input is returned as a copy",
}
_COMMON_NOTE = "dtype: NumPy's own loop resolution (NEP 50); Python ints out of range go to NumPy"


def ufunc_cases(nin: int) -> tuple[Case, ...]:
    """Arrays of every dtype with broadcasting, NumPy operands, and Python scalars on either side."""
    if nin == 1:
        return (case(Arr()),)
    scalars = Py((bool, int, float))
    return (case(Arr(group="b"), Arr(group="b", lifted=None)), case(Arr(), scalars), case(scalars, Arr()))


def _ufunc_entry(key: str, ufunc: np.ufunc, reference: Callable[..., Any]) -> OpEntry:
    fn, torch_name, tensors_only = UFUNC_TARGETS[ufunc]
    note = "; ".join(filter(None, [_NOTES.get(ufunc), _COMMON_NOTE]))
    return OpEntry(
        key=key, reference=reference,
        torch_impl=ufunc_path(ufunc, fn, tensors_only=tensors_only, guard=_GUARDS.get(ufunc)),
        torch_name=torch_name,
        forms="operands: arrays, NumPy scalars, Python scalars (broadcasting)",
        notes=note, check=_no_kwargs, elementwise=True,
        cases=ufunc_cases(ufunc.nin),
    )


for _ufunc in UFUNC_TARGETS:
    register(_ufunc_entry(f"numpy.{_ufunc.__name__}", _ufunc, _ufunc), obj=_ufunc)


def apply(ufunc: np.ufunc, *operands: Any) -> Tensor:
    """``ufunc(*operands)`` with NumPy's dtype rules, on tensors: how entries mirror NumPy functions
    written in Python on top of ufuncs (``isclose``, the lerp of ``quantile``) step by step."""
    entry = by_key(f"numpy.{ufunc.__name__}")
    if entry is None:
        raise Unsupported(f"no tensor path for {ufunc.__name__}")
    return entry.torch_impl(*operands)

def _array_power(power: Callable[..., Tensor], square: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``a ** 2`` on an array is ``np.square(a)`` in NumPy (its scalar-power fast path): for bool
    that is int8, where ``np.power`` gives int64.  NumPy scalars take ``np.power``."""

    def run(*operands: Any) -> Tensor:
        if len(operands) == 2 and type(operands[1]) is int and operands[1] == 2 and \
                isinstance(operands[0], Tensor) and operands[0].ndim:
            return square(operands[0])
        return power(*operands)

    return run


def _power_check(args: Sequence[AV], kwargs: Mapping[str, AV]) -> str | None:
    """``bool_array ** 2`` is int8 and ``bool_array ** 3`` int64: with an exponent of unknown
    value a probe cannot tell which (a literal exponent is probed as it is)."""
    if len(args) == 2 and any(isinstance(o, PyScalarV) and o.type is int for o in args[1].options()) and any(
            isinstance(o, ArrayV) and o.dtype == np.bool_ and not o.scalar for o in args[0].options()):
        return "bool array ** an int of unknown value: NumPy's dtype depends on whether it is 2"
    return _no_kwargs(args, kwargs)


for _name, (_ufunc, _op) in OPERATOR_UFUNCS.items():
    _entry = _ufunc_entry(f"operator.{_name}", _ufunc, _op)
    if _name == "pow":
        _entry = dataclasses.replace(_entry, torch_impl=_array_power(_entry.torch_impl,
                                                                     ufunc_path(np.square, torch.square)),
                                     check=_power_check,
                                     notes="an array ** 2 is np.square (int8 for bool), as in NumPy; " + _entry.notes)
    register(_entry, obj=abs if _name == "abs" else None)


def _matmul(x: Any, y: Any) -> Tensor:
    in_dtypes, out_dtypes = ufunc_loop(np.matmul, (x, y))
    if in_dtypes[0] is torch.bool:
        raise Unsupported("bool matmul")
    device = device_of((x, y))
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        x, y = (torch.as_tensor(np.asarray(v), device=device) if not isinstance(v, Tensor) else v for v in (x, y))
    if x.ndim == 0 or y.ndim == 0:
        raise Unsupported("matmul with a scalar operand (NumPy raises)")
    require_finite(x, y)
    result = torch.matmul(as_operand(x, in_dtypes[0], device), as_operand(y, in_dtypes[1], device))
    return result.to(out_dtypes[0])


def _matmul_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """1-d or (batched) matrix operands; now and then mismatched, where NumPy raises."""
    n, k, m = d.integer(0, 3), d.integer(0, 3), d.integer(0, 3)
    batch = d.shape((0, 2), max_side=2)
    k2 = k if d.integer(0, 5) else k + 1
    left = d.choice([(k,), (n, k), batch + (n, k)])
    right = d.choice([(k2,), (k2, m), batch[1:] + (k2, m)])
    return (d.array(left, lifted=True), d.array(right, lifted=None)), {}


for _key, _ref in (("operator.matmul", operator.matmul), ("numpy.matmul", np.matmul)):
    register(OpEntry(
        key=_key, reference=_ref, torch_impl=_matmul, torch_name="torch.matmul",
        forms="1-d and n-d operands (batched)",
        notes="bool operands go to NumPy; so do float operands holding NaN or infinity (NumPy's BLAS "
              "may drop NaN·0 terms)",
        check=_no_kwargs, cases=(custom(_matmul_operands, tolerance="dot"),),
    ), obj=np.matmul if _key == "numpy.matmul" else None)
