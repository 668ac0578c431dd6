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

import math

from ..dtypes import LIFTABLE_NP_DTYPES, NP_TO_TORCH
from ..lattice import AV, ArrayV, PyScalarV
from . import lib, lowering
from .lowering import Call, Emit, Refuse
from .cases import ALL, Arr, Case, Lit, Py, case, custom
from .coerce import as_operand, check_int_fits, device_of, loop_for, ufunc_loop, ufunc_operands
from .entry import IEEE_NOTE, OpEntry, Unsupported, any_rank
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

# ---------------------------------------------------------------------------------------------
# Lowering: the torch expression for a call, decided from its operands' types


#: ufunc -> the torch expression on operands already cast to NumPy's loop dtypes (``{0}``,
#: ``{1}``).  The result is cast to NumPy's output dtype where torch gives another.
TEMPLATES: dict[np.ufunc, str] = {
    np.add: "{0} + {1}", np.subtract: "{0} - {1}", np.multiply: "{0} * {1}", np.true_divide: "{0} / {1}",
    np.left_shift: "{0} << {1}", np.right_shift: "{0} >> {1}",
    np.bitwise_and: "{0} & {1}", np.bitwise_or: "{0} | {1}", np.bitwise_xor: "{0} ^ {1}",
    np.equal: "{0} == {1}", np.not_equal: "{0} != {1}", np.less: "{0} < {1}", np.less_equal: "{0} <= {1}",
    np.greater: "{0} > {1}", np.greater_equal: "{0} >= {1}",
    np.logical_and: "torch.logical_and({0}, {1})", np.logical_or: "torch.logical_or({0}, {1})",
    np.logical_xor: "torch.logical_xor({0}, {1})", np.maximum: "torch.maximum({0}, {1})",
    np.minimum: "torch.minimum({0}, {1})", np.fmax: "torch.fmax({0}, {1})", np.fmin: "torch.fmin({0}, {1})",
    np.arctan2: "torch.atan2({0}, {1})", np.hypot: "torch.hypot({0}, {1})",
    np.copysign: "torch.copysign({0}, {1})", np.logaddexp: "torch.logaddexp({0}, {1})",
    np.logaddexp2: "torch.logaddexp2({0}, {1})",
    np.negative: "-{0}", np.positive: "{0}.clone()", np.invert: "~{0}", np.logical_not: "torch.logical_not({0})",
    np.square: "torch.square({0})", np.cbrt: "lib.cbrt({0})", np.reciprocal: "torch.reciprocal({0})",
    np.deg2rad: "torch.deg2rad({0})", np.rad2deg: "torch.rad2deg({0})",
    np.isnan: "torch.isnan({0})", np.isinf: "torch.isinf({0})", np.isfinite: "torch.isfinite({0})",
    np.signbit: "torch.signbit({0})",
    **{u: f"torch.{name}({{0}})" for u, name in (
        (np.exp, "exp"), (np.exp2, "exp2"), (np.expm1, "expm1"), (np.log, "log"), (np.log2, "log2"),
        (np.log10, "log10"), (np.log1p, "log1p"), (np.sqrt, "sqrt"), (np.sin, "sin"), (np.cos, "cos"),
        (np.tan, "tan"), (np.arcsin, "asin"), (np.arccos, "acos"), (np.arctan, "atan"), (np.sinh, "sinh"),
        (np.cosh, "cosh"), (np.tanh, "tanh"), (np.arcsinh, "asinh"), (np.arccosh, "acosh"),
        (np.arctanh, "atanh"))},
}

#: ufuncs whose torch function takes tensors only: Python numbers become 0-d tensors.
TENSOR_ONLY = frozenset({np.logical_and, np.logical_or, np.logical_xor, np.maximum, np.minimum, np.fmax,
                         np.fmin, np.arctan2, np.hypot, np.copysign, np.logaddexp, np.logaddexp2})

#: NumPy's float loops of these ufuncs on integer or bool input return the values unchanged.
_ROUNDING = {np.floor: "torch.floor({0})", np.ceil: "torch.ceil({0})", np.trunc: "torch.trunc({0})",
             np.rint: "torch.round({0})"}

#: Division-like ufuncs: (float template, integer template with a tensor divisor (0 where it is
#: 0, as NumPy gives), integer template with a Python divisor).
_DIVIDING = {
    np.floor_divide: ("{0} // {1}", "lib.int_floor_divide({0}, {1})", "{0} // {1}"),
    np.remainder: ("lib.float_remainder({0}, {1})", "lib.int_remainder({0}, {1})", "{0} % {1}"),
    np.fmod: ("torch.fmod({0}, {1})", "lib.int_fmod({0}, {1})", "torch.fmod({0}, {1})"),
}


def _descriptor(op: lowering.Operand) -> Any:
    """What NumPy's loop resolution takes for an operand: a dtype, or a weak Python type (NEP 50;
    a Python bool is not weak)."""
    number = lowering.python_number(op)
    if number is bool:
        return np.dtype(bool)
    if number is not None:
        return number
    options = list(op.value.options())
    if len(options) == 1 and isinstance(options[0], ArrayV) and options[0].dtype is not None:
        return options[0].dtype
    raise Refuse(f"{op.name} is not an array or a number")


def loop_dtypes(ufunc: np.ufunc, operands: Sequence[lowering.Operand]) -> tuple[torch.dtype, ...]:
    """The input dtypes of the loop NumPy picks for these operands (``ufunc.resolve_dtypes``)."""
    try:
        resolved = ufunc.resolve_dtypes((*map(_descriptor, operands), *[None] * ufunc.nout))
    except Exception:  # noqa: BLE001 - NumPy has no loop: it raises for these operands
        raise Refuse(f"NumPy has no {ufunc.__name__} loop for these operands") from None
    if any(d not in LIFTABLE_NP_DTYPES for d in resolved[:ufunc.nin]):
        raise Refuse(f"{ufunc.__name__} computes in {resolved[:ufunc.nin]}, which torch cannot hold exactly")
    return tuple(NP_TO_TORCH[d] for d in resolved[:ufunc.nin])


def _emit(call: Call, template: str, loop: Sequence[torch.dtype], *, tensors: bool | tuple[bool, ...] = False,
          requires: tuple[str, ...] = ()) -> Emit:
    """``template`` on the operands cast to the loop dtypes (as tensors where ``tensors`` says,
    for all operands or per operand), Python ints checked against them."""
    as_tensor = tensors if isinstance(tensors, tuple) else (tensors,) * len(loop)
    sources = [lowering.atom(lowering.operand_source(call, op, dtype, tensor=tensor))
               for op, dtype, tensor in zip(call.args, loop, as_tensor)]
    checks = tuple(check for op, dtype in zip(call.args, loop) for check in lowering.int_fits(op, dtype))
    return lowering.finish(call, template.format(*sources), checks + requires)


def _integral(dtype: torch.dtype) -> bool:
    return not dtype.is_floating_point


def _lower_dividing(ufunc: np.ufunc) -> Callable[[Call, tuple[torch.dtype, ...]], Emit]:
    floating, integral, by_python = _DIVIDING[ufunc]
    dividend_tensor = (ufunc is not np.floor_divide, False)  # torch.fmod takes a tensor first

    def lower(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
        if not _integral(loop[0]):
            return _emit(call, floating, loop, tensors=dividend_tensor)
        divisor = call.args[1]
        if lowering.python_number(divisor) is None:
            return _emit(call, integral, loop, tensors=dividend_tensor)
        if divisor.is_literal:
            if divisor.literal == 0:
                raise Refuse("integer division by a literal 0 (NumPy gives 0 and warns)")
            return _emit(call, by_python, loop)
        return _emit(call, by_python, loop, requires=(f"{divisor.name} != 0",))

    return lower


def _lower_rounding(ufunc: np.ufunc) -> Callable[[Call, tuple[torch.dtype, ...]], Emit]:
    def lower(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
        return _emit(call, "{0}.clone()" if _integral(loop[0]) else _ROUNDING[ufunc], loop)

    return lower


def _lower_sign(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
    return _emit(call, "torch.sign({0})" if _integral(loop[0]) else "lib.sign({0})", loop)


def _lower_absolute(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
    return _emit(call, "{0}.clone()" if loop[0] is torch.bool else "torch.abs({0})", loop)


def _lower_bound(bound: str) -> Callable[[Call, tuple[torch.dtype, ...]], Emit]:
    """``np.maximum``/``np.minimum`` with a Python number: ``torch.clamp``, which propagates NaN
    from either side as NumPy does (bool has no clamp)."""
    template = f"torch.{'maximum' if bound == 'min' else 'minimum'}({{0}}, {{1}})"

    def lower(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
        numbers = [lowering.python_number(op) is not None for op in call.args]
        if loop[0] is torch.bool or numbers.count(True) != 1:
            return _emit(call, template, loop, tensors=True)
        clamped = "{1}" if numbers[0] else "{0}"
        bounding = "{0}" if numbers[0] else "{1}"
        return _emit(call, f"torch.clamp({clamped}, {bound}={bounding})", loop)

    return lower


def _lower_reciprocal(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
    if _integral(loop[0]):
        raise Refuse("integer reciprocal (NumPy truncates, and divides by zero)")
    return _emit(call, TEMPLATES[np.reciprocal], loop)


def _scalar_like(op: lowering.Operand) -> bool:
    """A Python number or a NumPy scalar (a lifted 0-d value)."""
    return lowering.python_number(op) is not None or (op.array is not None and op.ndim == 0)


def _lower_power(scalar_math: bool, fast_paths: bool) -> Callable[[Call, tuple[torch.dtype, ...]], Emit]:
    """Powers.  Integer loops: NumPy raises for a negative exponent, so exponents must be known
    non-negative (a literal, a Python int checked in ``requires``, bool data).  Float loops: C's
    ``pow`` differs from ``sqrt`` at ``-inf ** 0.5`` (+inf, not NaN) and from ``rsqrt`` at
    ``-0.5``.  NumPy's ufunc loop takes ``sqrt`` at 0.5 for an exponent repeating along the loop
    (a Python number, a NumPy scalar) and ``pow`` otherwise (``fast_paths``; ``float_power`` has
    none); NumPy scalar arithmetic (``scalar_math``: ``operator.pow`` of scalars) is ``pow``.
    torch's scalar exponents take ``sqrt`` at 0.5 and ``rsqrt`` at -0.5; tensor exponents ``pow``."""

    def lower(call: Call, loop: tuple[torch.dtype, ...]) -> Emit:
        base, exponent = call.args
        if _integral(loop[0]):
            return _integer_power(call, loop, exponent)
        pure_pow = scalar_math and _scalar_like(base) and _scalar_like(exponent) or not fast_paths
        if lowering.python_number(exponent) is not None:
            halves = (0.5, -0.5) if pure_pow else (-0.5,)  # where torch's sqrt/rsqrt differ from pow
            if exponent.is_literal and exponent.literal not in halves or lowering.python_number(exponent) is not float:
                return _emit(call, "{0} ** {1}", loop)
            if exponent.is_literal or pure_pow:
                return _emit(call, "torch.pow({0}, {1})", loop, tensors=True)
            return _emit(call, "{0} ** {1}", loop, requires=(f"{exponent.name} != -0.5",))
        if exponent.array is None:
            raise Refuse(f"{exponent.name} is neither a number nor a lifted array")
        if pure_pow:
            return _emit(call, "torch.pow({0}, {1})", loop)
        if exponent.ndim == 0:
            return _emit(call, "lib.sqrt_at_half({0}, {1})", loop, tensors=True)
        if base.is_literal and math.isfinite(base.literal):
            return _emit(call, "{0} ** {1}", loop)  # sqrt and pow agree on finite bases
        raise Refuse("a float power with an array exponent: NumPy takes sqrt at 0.5 where the exponent repeats "
                     "along its loop, a run-time layout decision")

    return lower


def _integer_power(call: Call, loop: tuple[torch.dtype, ...], exponent: lowering.Operand) -> Emit:
    if lowering.python_number(exponent) is int:
        if exponent.is_literal:
            if exponent.literal < 0:
                raise Refuse("a negative integer exponent (NumPy raises)")
            return _emit(call, "{0} ** {1}", loop)
        return _emit(call, "{0} ** {1}", loop, requires=(f"{exponent.name} >= 0",))
    if lowering.python_number(exponent) is bool or (exponent.array is not None and exponent.dtype is torch.bool):
        return _emit(call, "{0} ** {1}", loop)
    raise Refuse("an integer power with exponents from array data: NumPy raises for negative ones, "
                 "which only a host read could tell")


#: ufunc -> its lowering where the template table cannot say it.
_SPECIAL: dict[np.ufunc, Callable[[Call, tuple[torch.dtype, ...]], Emit]] = {
    **{u: _lower_dividing(u) for u in _DIVIDING},
    **{u: _lower_rounding(u) for u in _ROUNDING},
    np.sign: _lower_sign, np.absolute: _lower_absolute, np.reciprocal: _lower_reciprocal,
    np.maximum: _lower_bound("min"), np.minimum: _lower_bound("max"),
    np.power: _lower_power(scalar_math=False, fast_paths=True),
    np.float_power: _lower_power(scalar_math=False, fast_paths=False),
}


def lower_ufunc(ufunc: np.ufunc, special: Callable[[Call, tuple[torch.dtype, ...]], Emit] | None = None
                ) -> lowering.LowerFn:
    """The lowering of ``ufunc`` (or of the operator that calls it): NumPy's loop dtypes, then
    the template or the special rule."""
    rule = special or _SPECIAL.get(ufunc)

    def lower(call: Call) -> Emit:
        if call.kwargs:
            raise Refuse("keyword arguments (dtype=, casting=, ...)")
        loop = loop_dtypes(ufunc, call.args)
        if rule is not None:
            return rule(call, loop)
        return _emit(call, TEMPLATES[ufunc], loop, tensors=ufunc in TENSOR_ONLY)

    return lower


_NOTES = {
    np.power: "integer powers: exponents from array data stay in NumPy (it raises for negative ones); float "
              "powers by an exponent array stay in NumPy (its sqrt fast path at 0.5 depends on the layout)",
    np.float_power: "C's pow throughout (tensor exponents: torch's scalar ones take sqrt at 0.5)",
    np.floor_divide: "integer division by zero gives 0, as in NumPy (masked on the device)",
    np.remainder: "integer division by zero gives 0, as in NumPy (masked on the device)",
    np.fmod: "integer division by zero gives 0, as in NumPy (masked on the device)",
    np.reciprocal: "integer input stays in NumPy (truncating integer reciprocal)",
    np.absolute: "bool input is returned as a copy",
    np.sign: "NaN stays NaN (torch.sign gives 0)",
}
_COMMON_NOTE = "dtype: NumPy's own loop resolution (NEP 50); a Python int out of the loop dtype's range runs in NumPy"
_COMPARISON_WHEN = "a Python int outside the array's dtype (NumPy compares it exactly)"
#: ufunc -> the calls whose ``requires`` sends them to NumPy although NumPy succeeds.
_NUMPY_WHEN = {
    **{u: _COMPARISON_WHEN for u in (np.equal, np.not_equal, np.less, np.less_equal, np.greater,
                                     np.greater_equal)},
    **{u: "integer division by a Python int that is 0 (NumPy gives 0 and warns)" for u in _DIVIDING},
    np.power: "a negative Python int exponent of an empty integer array (NumPy returns it, and raises for "
              "others); a Python float exponent of exactly -0.5 (torch takes rsqrt)",
}


def ufunc_cases(ufunc: np.ufunc) -> tuple[Case, ...]:
    """Arrays of the dtypes NumPy has a loop for (with broadcasting, and NumPy operands), Python
    scalars and the literals NumPy takes with them, on either side."""
    dtypes = _accepted_dtypes(ufunc)
    if ufunc.nin == 1:
        return (case(Arr(dtypes)),)
    scalars = Py((bool, int, float))
    literals = Lit(*(v for v in _LITERALS if _resolves(ufunc, (np.dtype(dtypes[0]), _PY_DESCRIPTORS[type(v)]))))
    return (case(Arr(dtypes, group="b"), Arr(dtypes, group="b", lifted=None)), case(Arr(dtypes), scalars),
            case(scalars, Arr(dtypes)), case(Arr(dtypes), literals), case(literals, Arr(dtypes)))


#: Literal Python operands: the lowering inlines them and decides on their values.
_LITERALS = (2, 0, -1, 3, 0.5, -0.5, 2.0, -math.inf, True)


def _resolves(ufunc: np.ufunc, descriptors: tuple[Any, ...]) -> bool:
    """NumPy has a loop of ``ufunc`` for these operand descriptors."""
    try:
        ufunc.resolve_dtypes((*descriptors, *(None,) * ufunc.nout))
    except Exception:  # noqa: BLE001 - no loop: NumPy raises for these operands
        return False
    return True


def _accepted_dtypes(ufunc: np.ufunc) -> tuple[str, ...]:
    """The dtypes of ``cases.ALL`` for which NumPy resolves a loop of ``ufunc``."""
    return tuple(name for name in ALL if _resolves(ufunc, (np.dtype(name),) * ufunc.nin))


def _ufunc_entry(key: str, ufunc: np.ufunc, reference: Callable[..., Any],
                 lower: lowering.LowerFn | None = None) -> OpEntry:
    fn, torch_name, tensors_only = UFUNC_TARGETS[ufunc]
    note = "; ".join(filter(None, [_NOTES.get(ufunc), _COMMON_NOTE]))
    return OpEntry(
        key=key, reference=reference,
        torch_impl=ufunc_path(ufunc, fn, tensors_only=tensors_only, guard=_GUARDS.get(ufunc)),
        torch_name=torch_name,
        forms="operands: arrays, NumPy scalars, Python scalars (broadcasting)",
        notes=note, check=_no_kwargs, elementwise=True, rank_free=any_rank,
        cases=ufunc_cases(ufunc), lower=lower or lower_ufunc(ufunc), numpy_when=_NUMPY_WHEN.get(ufunc, ""),
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
    # NumPy scalar arithmetic computes a power of scalars with C's pow (no sqrt fast path)
    _lower = lower_ufunc(_ufunc, _lower_power(scalar_math=True, fast_paths=True)) if _name == "pow" else None
    _entry = _ufunc_entry(f"operator.{_name}", _ufunc, _op, _lower)
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
    result = torch.matmul(as_operand(x, in_dtypes[0], device), as_operand(y, in_dtypes[1], device))
    return result.to(out_dtypes[0])


def _lower_matmul(call: Call) -> Emit:
    """``torch.matmul`` in NumPy's loop dtype; bool as a float product compared with 0 (a sum of
    0/1 products is 0 exactly when every term is); integers through ``lib.int_matmul`` (CUDA has
    no integer matmul)."""
    if call.kwargs:
        raise Refuse("keyword arguments (dtype=, out=, ...)")
    loop = loop_dtypes(np.matmul, call.args)
    if loop[0] is torch.bool:
        return _emit(call, "torch.matmul({0}, {1}) != 0", (torch.float32,) * 2)
    if _integral(loop[0]):
        return _emit(call, "lib.int_matmul({0}, {1})", loop)
    return _emit(call, "{0} @ {1}", loop)


def _matmul_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """1-d or (batched) matrix operands; now and then mismatched, where NumPy raises; now and then
    a long inner dimension (K up to 256), where BLAS kernels block the sums."""
    n, m = d.integer(0, 3), d.integer(0, 3)
    k = d.integer(0, 3) if d.integer(0, 3) else d.choice([64, 256])
    batch = d.shape((0, 2), max_side=2)
    k2 = k if d.integer(0, 5) else k + 1
    left = d.choice([(k,), (n, k), batch + (n, k)])
    right = d.choice([(k2,), (k2, m), batch[1:] + (k2, m)])
    return (d.array(left, lifted=True), d.array(right, lifted=None)), {}


for _key, _ref in (("operator.matmul", operator.matmul), ("numpy.matmul", np.matmul)):
    register(OpEntry(
        key=_key, reference=_ref, torch_impl=_matmul, torch_name="torch.matmul",
        forms="1-d and n-d operands (batched)",
        notes=f"{IEEE_NOTE}; bool operands as a float product compared with 0",
        check=_no_kwargs, cases=(custom(_matmul_operands, tolerance="dot"),), lower=_lower_matmul,
    ), obj=np.matmul if _key == "numpy.matmul" else None)
