"""Differential checking: does a decorated function behave exactly like the original?

``compare_calls(original, decorated, args)`` runs both on fresh copies of the same arguments and
compares what a user can observe: the return value (types, NumPy dtypes, shapes, values), the
arguments afterwards (mutation), printed output and the exception raised.  The test suite, the
fuzzer, the examples and users' own tests share it.

Float values are judged against a *reference*: the original function run once more on copies of
the arguments whose float32/float16/bfloat16 (and complex64) arrays and tensors are upcast to
float64 (complex128).  For an element with original value O, decorated value D and reference R,

    |D - R| <= K * |O - R|  +  ULPS * u * L * max(|R|, |O|, S)

where ``u`` is the unit roundoff of the precision the value was computed in, ``L`` the square
root of the length of the longest input (a reordered sum of n terms differs by about sqrt(n)
roundings), and ``S`` the root-mean-square magnitude of the reference over the same value (an
element near zero inherits the rounding of the magnitudes around it).  The first term lets the
decorated run be as far from the truth as the original itself is (whatever the original's
precision); the second is the rounding a different order of operations may add.  Integers,
booleans, strings and metadata compare exactly; unknown types fail loudly.  docs/guarantees.md
states the rule for users; ``assert_close`` applies it to three values one has already computed.

``count_host_reads()`` counts reads of tensor data by the host during a call, attributed to the
program, to looplift's exits or to looplift's internals; ``observed_paths()`` counts which
run-time path looplift took (``looplift.runtime.paths``).
"""
from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import sys
import types
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

#: How many times the original's own distance from the reference the decorated value may be.
K = 4.0
#: Units of roundoff (times the length factor) a reordered computation may add.
ULPS = 4.0
#: A float64 value whose original differs from the reference by more than this many units of
#: float64 roundoff (relative) was computed from lower-precision inputs: it is judged at their
#: precision.  Same-precision work gives O == R exactly (the same code on the same values).
LOWER_PRECISION_AT = 2.0 ** 9

#: Unit roundoff (half the machine epsilon) per floating dtype, NumPy and torch.
UNIT_ROUNDOFF: dict[Any, float] = {
    np.dtype("float16"): 2.0 ** -11, np.dtype("float32"): 2.0 ** -24, np.dtype("float64"): 2.0 ** -53,
    np.dtype("complex64"): 2.0 ** -24, np.dtype("complex128"): 2.0 ** -53,
    np.dtype("longdouble"): float(np.finfo(np.longdouble).eps) / 2,
    np.dtype("clongdouble"): float(np.finfo(np.longdouble).eps) / 2,
    torch.float16: 2.0 ** -11, torch.bfloat16: 2.0 ** -8, torch.float32: 2.0 ** -24, torch.float64: 2.0 ** -53,
    torch.complex64: 2.0 ** -24, torch.complex128: 2.0 ** -53,
}
_U32 = 2.0 ** -24
_U64 = 2.0 ** -53

#: Values compared with ``==`` (after the exact type check): metadata, not data.
_BY_EQUALITY = (str, bytes, type(None), type(Ellipsis), type(NotImplemented), range, slice, torch.dtype,
                torch.device, torch.layout, torch.memory_format, set, frozenset)
#: Values compared by identity: the same function, class or module object.
_BY_IDENTITY = (types.FunctionType, types.ModuleType, type)
#: Bound methods (``w.size`` without the call): the same name, bound to equal objects.
_METHODS = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)


class Mismatch(AssertionError):
    """The two runs differ; the message says where."""


class Uncomparable(TypeError):
    """A value of a type this module has no rule for: a gap in the oracle, never a pass."""


# ============================================================================================
# The float rule


@dataclass(frozen=True)
class Judge:
    """What the float rule needs beyond the values: the length factor ``L`` and the unit
    roundoffs of the input precisions the reference upcast (empty: no reference, or the
    reference is the original itself)."""

    length: float = 1.0
    upcast: frozenset[float] = frozenset()

    @property
    def lowest(self) -> float:
        """The unit roundoff of the least precise upcast input (0 when nothing was upcast)."""
        return max(self.upcast, default=0.0)


def length_of(*values: Any) -> float:
    """``L``: the square root of the largest number of elements among the arrays and tensors in
    ``values`` (nested in lists, tuples and dicts), or of the longest list or tuple of them."""
    return math.sqrt(max(1, _largest(values)))


def _largest(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, (list, tuple)):
        return max([len(value), *(_largest(v) for v in value)])
    if isinstance(value, dict):
        return max([len(value), *(_largest(v) for v in value.values())])
    return 1


def _float32_exact(values: np.ndarray) -> np.ndarray:
    """Which float64 (complex128) elements are float32 (complex64) numbers.  Where both runs hold
    one, the value came out of float32 work (stored in a float64 container, or a Python float
    made by ``float(x32)``); where only one does, one run rounded to float32 and the other did
    not, which is a difference to report."""
    with np.errstate(over="ignore", invalid="ignore"):
        narrowed = values.astype(np.complex64 if values.dtype.kind == "c" else np.float32)
        return narrowed.astype(values.dtype) == values


def _float_values(o: np.ndarray, d: np.ndarray, r: np.ndarray | None, u: float, judge: Judge, path: str,
                  what: str) -> None:
    """Judge the elements of one float value (see the module docstring); ``o``/``d``/``r`` are
    float64 or complex128 arrays of one shape, ``u`` the unit roundoff of the value's dtype."""
    o_nan, d_nan = np.isnan(o), np.isnan(d)
    if (o_nan != d_nan).any():
        i = _first(o_nan != d_nan)
        raise Mismatch(f"{path}: values differ: NaN in one only, at {i} ({what}): {o[i]!r} vs {d[i]!r}")
    special = ~o_nan & (np.isinf(o) | np.isinf(d))
    if (o[special] != d[special]).any():
        i = _first(special & (o != d))
        raise Mismatch(f"{path}: values differ: infinite at {i} ({what}): {o[i]!r} vs {d[i]!r}")
    finite = ~(o_nan | special)
    if not finite.any():
        return
    of = np.abs(o[finite])
    rf = r[finite] if r is not None else None
    usable = np.isfinite(rf) if rf is not None else np.zeros(of.shape, bool)
    unit = np.full(of.shape, u)
    if u < _U32:  # float32 work in a float64 container: both runs hold float32 numbers there
        unit[_float32_exact(o[finite]) & _float32_exact(d[finite])] = _U32
    tolerance = np.empty(of.shape)
    distance = np.empty(of.shape)
    if usable.any():
        ro, ru, du = o[finite][usable], rf[usable], d[finite][usable]
        off = np.abs(ro - ru)
        magnitude = np.maximum(np.abs(ru), np.abs(ro))
        scale = math.sqrt(float(np.mean(np.abs(ru) ** 2)))
        if judge.lowest > u:
            deviation = np.max(off / np.maximum(magnitude, np.finfo(np.float64).tiny))
            if deviation > LOWER_PRECISION_AT * u:  # computed from the upcast inputs' precision
                unit[usable] = np.maximum(unit[usable], judge.lowest)
        tolerance[usable] = K * off + ULPS * unit[usable] * judge.length * np.maximum(magnitude, scale)
        distance[usable] = np.abs(du - ru)
    if not usable.all():  # no reference for these: against the original, at the lowest precision, with the
        # worst-case growth of a reordered sum (n roundings, not sqrt(n)): nothing shows how far the original is
        fo, fd = o[finite][~usable], d[finite][~usable]
        scale = math.sqrt(float(np.mean(of ** 2)))
        low = np.maximum(unit[~usable], judge.lowest)
        tolerance[~usable] = 2 * ULPS * low * judge.length ** 2 * np.maximum(np.maximum(np.abs(fo), np.abs(fd)), scale)
        distance[~usable] = np.abs(fd - fo)
    bad = distance > tolerance
    if bad.any():
        worst = int(np.argmax(np.where(bad, distance - tolerance, -np.inf)))
        index = tuple(int(i) for i in np.argwhere(finite)[worst]) if o.ndim else ()
        reference = f", reference {rf[worst]!r}" if rf is not None and usable[worst] else ", no reference"
        raise Mismatch(f"{path}: values differ: {int(bad.sum())} of {o.size} elements ({what}); the worst at "
                       f"{index}: original {o[index]!r}, decorated {d[index]!r}{reference}; distance "
                       f"{distance[worst]:.3g} > tolerance {tolerance[worst]:.3g}")


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()


def _as_values(x: Any) -> np.ndarray:
    """The values of a float or complex array, scalar or tensor, as float64/complex128 NumPy."""
    if isinstance(x, torch.Tensor):
        x = x.detach().resolve_conj().resolve_neg().cpu()
        x = x.to(torch.complex128 if x.is_complex() else torch.float64).numpy()
    x = np.asarray(x)
    return x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)


def _reference_values(r: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """The reference's counterpart of a float leaf, if it is a float leaf of the same shape."""
    if isinstance(r, torch.Tensor) and (r.is_floating_point() or r.is_complex()) and tuple(r.shape) == shape:
        return _as_values(r)
    if isinstance(r, (np.ndarray, np.generic)) and r.dtype.kind in "fc" and r.shape == shape:
        return _as_values(r)
    if type(r) in (float, complex) and shape == ():
        return _as_values(r)
    return None


# ============================================================================================
# Comparing values


def assert_close(original: Any, decorated: Any, reference: Any = None, *, inputs: Any = None,
                 path: str = "result", upcast: frozenset[float] | None = None) -> None:
    """Raise ``Mismatch`` unless ``decorated`` is what a user would take for ``original``.

    ``reference`` is the same computation in higher precision (the original run on float64
    copies of its float32 inputs), or None: then floats are judged against ``original`` alone
    (a wider, dtype-based bound; see docs/guarantees.md).  ``inputs`` are the arguments the
    values were computed from: the length factor comes from their largest array (without them,
    from the values themselves; pass them for reductions).  ``upcast``: the unit roundoffs of the
    input precisions the reference upcast (default: found in ``inputs``)."""
    if upcast is None:
        upcast = _upcast_units(inputs) if reference is not None else frozenset()
    length = length_of(inputs) if inputs is not None else length_of(original, decorated)
    _compare(original, decorated, reference, path, Judge(length, upcast))


def assert_same(a: Any, b: Any, path: str = "result", scale: float | None = None) -> None:
    """``assert_close(a, b)`` without a reference (kept for existing callers).

    ``scale`` is deprecated: it used to widen a fixed absolute tolerance; now it is read as the
    number of terms summed into the values (the length factor), when given."""
    if scale is not None:
        warnings.warn("assert_same(scale=...) is deprecated: tolerances come from the data "
                      "(looplift.testing.assert_close)", DeprecationWarning, stacklevel=2)
    length = max(length_of(a, b), math.sqrt(scale) if scale else 1.0)
    _compare(a, b, None, path, Judge(length))



def _compare(o: Any, d: Any, r: Any, path: str, judge: Judge) -> None:
    if type(o) is not type(d):
        raise Mismatch(f"{path}: type {type(o).__name__} vs {type(d).__name__} ({_short(o)} vs {_short(d)})")
    if isinstance(o, np.ndarray):
        if type(o) is not np.ndarray:
            raise Uncomparable(f"{path}: an ndarray subclass ({type(o).__name__}): no rule for its extra state")
        if o.dtype != d.dtype or o.shape != d.shape:
            raise Mismatch(f"{path}: {o.dtype}{o.shape} vs {d.dtype}{d.shape}")
        _array(o, d, r, path, judge)
    elif isinstance(o, np.generic):
        if o.dtype != d.dtype:
            raise Mismatch(f"{path}: dtype {o.dtype} vs {d.dtype}")
        _array(np.asarray(o), np.asarray(d), r, path, judge)
    elif isinstance(o, torch.Tensor):
        meta = lambda t: (t.dtype, tuple(t.shape), t.device, t.requires_grad, t.layout)  # noqa: E731
        if meta(o) != meta(d):
            raise Mismatch(f"{path}: tensor {o.dtype}{tuple(o.shape)} on {o.device} (grad {o.requires_grad}) vs "
                           f"{d.dtype}{tuple(d.shape)} on {d.device} (grad {d.requires_grad})")
        if o.is_floating_point() or o.is_complex():
            r_values = _reference_values(r, tuple(o.shape))
            _float_values(_as_values(o), _as_values(d), r_values, UNIT_ROUNDOFF[o.dtype], judge, path, str(o.dtype))
        elif not torch.equal(o.detach().cpu(), d.detach().cpu()):
            raise Mismatch(f"{path}: values differ: {_short(o)} vs {_short(d)}")
    elif isinstance(o, (list, tuple)):
        if len(o) != len(d):
            raise Mismatch(f"{path}: length {len(o)} vs {len(d)}")
        aligned = type(r) is type(o) and len(r) == len(o)
        for i, (x, y) in enumerate(zip(o, d)):
            _compare(x, y, r[i] if aligned else None, f"{path}[{i}]", judge)
    elif isinstance(o, dict):
        if list(o) != list(d):
            raise Mismatch(f"{path}: keys {list(o)} vs {list(d)}")
        aligned = type(r) is type(o) and list(r) == list(o)
        for k in o:
            _compare(o[k], d[k], r[k] if aligned else None, f"{path}[{k!r}]", judge)
    elif type(o) in (float, complex):
        _float_values(_as_values(o), _as_values(d), _reference_values(r, ()), _U64, judge, path, type(o).__name__)
    elif type(o) in (bool, int) or isinstance(o, _BY_EQUALITY) or isinstance(o, np.dtype):
        if o != d:
            raise Mismatch(f"{path}: {o!r} vs {d!r}")
    elif isinstance(o, _METHODS) and not isinstance(getattr(o, "__self__", None), types.ModuleType):
        if o.__name__ != d.__name__:
            raise Mismatch(f"{path}: method {o.__name__} vs {d.__name__}")
        _compare(o.__self__, d.__self__, getattr(r, "__self__", None), f"{path}.__self__", judge)
    elif isinstance(o, _BY_IDENTITY + (types.BuiltinFunctionType,)):
        if o is not d:
            raise Mismatch(f"{path}: {o!r} vs {d!r} (not the same object)")
    elif isinstance(o, np.random.Generator):  # the same draws to come
        _compare(o.bit_generator.state, d.bit_generator.state, None, f"{path}.bit_generator.state", judge)
    elif isinstance(o, np.random.RandomState):
        _compare(o.get_state(legacy=False), d.get_state(legacy=False), None, f"{path}.get_state()", judge)
    elif isinstance(o, torch.Generator):
        _compare(o.get_state(), d.get_state(), None, f"{path}.get_state()", judge)
    elif isinstance(o, BaseException):
        _compare(o.args, d.args, None, f"{path}.args", judge)
    elif isinstance(o, torch.nn.Module):
        _compare(_module_state(o), _module_state(d), _module_state(r) if type(r) is type(o) else None, path, judge)
    elif _plain_object(o):
        _compare(vars(o), vars(d), vars(r) if type(r) is type(o) else None, f"{path}.__dict__", judge)
    else:
        raise Uncomparable(f"{path}: no comparison rule for {type(o).__module__}.{type(o).__qualname__}: "
                           "add one to looplift/testing.py rather than letting it pass")


def _module_state(module: torch.nn.Module) -> dict[str, Any]:
    """What a call can change in a module: train/eval mode, parameters and buffers, gradients."""
    return {"training": [m.training for m in module.modules()],
            "state_dict": dict(module.state_dict(keep_vars=True)),
            "grads": {name: p.grad for name, p in module.named_parameters()}}


def _plain_object(o: Any) -> bool:
    """An instance of a Python class whose whole state is its ``__dict__`` (a loader, a config)."""
    cls = type(o)
    return hasattr(o, "__dict__") and cls.__module__ != "builtins" and \
        not any(getattr(c, "__slots__", ()) for c in cls.__mro__) and \
        not any(c.__module__ in ("builtins",) and c is not object for c in cls.__mro__[1:])


def _array(o: np.ndarray, d: np.ndarray, r: Any, path: str, judge: Judge) -> None:
    kind = o.dtype.kind
    if kind in "fc":
        _float_values(_as_values(o), _as_values(d), _reference_values(r, o.shape), UNIT_ROUNDOFF[o.dtype],
                      judge, path, str(o.dtype))
    elif kind in "biuSUmMV":
        if not np.array_equal(o, d, equal_nan=kind in "mM"):
            raise Mismatch(f"{path}: values differ: {_short(o)} vs {_short(d)}")
    elif kind == "O":
        aligned = isinstance(r, np.ndarray) and r.shape == o.shape and r.dtype.kind == "O"
        for index in np.ndindex(o.shape):
            _compare(o[index], d[index], r[index] if aligned else None, f"{path}[{index}]", judge)
    else:
        raise Uncomparable(f"{path}: no comparison rule for arrays of dtype {o.dtype}")


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 300 else text[:300] + "..."


# ============================================================================================
# The reference run


def _upcast(value: Any, units: set[float]) -> Any:
    """A copy of ``value`` whose low-precision float arrays and tensors are float64 (complex128),
    recording the unit roundoffs that were raised."""
    if isinstance(value, torch.Tensor):
        copied = clone(value)
        if copied.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.complex64):
            units.add(UNIT_ROUNDOFF[copied.dtype])
            target = torch.complex128 if copied.is_complex() else torch.float64
            grad = copied.requires_grad and copied.is_leaf
            copied = copied.detach().to(target).requires_grad_(grad)
        return copied
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype in (np.float16, np.float32, np.complex64):
        units.add(UNIT_ROUNDOFF[value.dtype])
        return value.astype(np.complex128 if value.dtype.kind == "c" else np.float64)
    if type(value) is list:
        return [_upcast(v, units) for v in value]
    if type(value) is tuple:
        return tuple(_upcast(v, units) for v in value)
    if type(value) is dict:
        return {k: _upcast(v, units) for k, v in value.items()}
    return clone(value)


def _upcast_units(inputs: Any) -> frozenset[float]:
    units: set[float] = set()
    _upcast(inputs, units)
    return frozenset(units)


# ============================================================================================
# Running and comparing calls


def clone(value: Any) -> Any:
    """A deep copy that also copies tensors (keeping ``requires_grad``)."""
    if isinstance(value, torch.Tensor):
        copied = value.detach().clone()
        return copied.requires_grad_(value.requires_grad) if value.is_leaf else copied
    if isinstance(value, list):
        return [clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clone(v) for v in value)
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    return copy.deepcopy(value)


@dataclass
class Outcome:
    """One call: what it returned or raised, printed, and left in its arguments."""

    result: Any
    error: BaseException | None
    output: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    reads: HostReads | None = None
    """Host reads of tensor data during the call (``compare_calls(..., host_reads=...)``)."""
    paths: Counter[str] | None = None
    """Run-time paths looplift took (``compare_calls(..., observe=True)``, decorated run only)."""
    decorated: Outcome | None = None
    """On the outcome ``compare_calls`` returns (the original's): the decorated run's."""


def run(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None, *,
        host_reads: bool = False, observe: bool = False, copy_args: bool = True) -> Outcome:
    """Call ``fn`` on copies of the arguments, capturing output and any exception; optionally
    count host reads and looplift's run-time paths while it runs."""
    if copy_args:
        args, kwargs = clone(args), clone(kwargs or {})
    kwargs = kwargs or {}
    buffer = io.StringIO()
    result, error = None, None
    with contextlib.ExitStack() as stack:
        reads = stack.enter_context(count_host_reads()) if host_reads else None
        counts = stack.enter_context(observed_paths()) if observe else None
        stack.enter_context(contextlib.redirect_stdout(buffer))
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # compared, not swallowed
            error = exc
    return Outcome(result, error, buffer.getvalue(), args, kwargs, reads,
                   Counter(counts) if counts is not None else None)


def reference_run(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
                  ) -> tuple[Outcome, frozenset[float]]:
    """The original on float64 copies of its low-precision float inputs, quietly (its output and
    warnings are dropped); with the unit roundoffs that were raised (empty: nothing to upcast,
    and the outcome is not computed: the original run is its own reference)."""
    units: set[float] = set()
    high_args, high_kwargs = _upcast(tuple(args), units), _upcast(dict(kwargs or {}), units)
    if not units:
        return Outcome(None, None, "", (), {}), frozenset()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return run(original, high_args, high_kwargs, copy_args=False), frozenset(units)


def compare_calls(original: Callable[..., Any], decorated: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any] | None = None, *, reference: bool | Callable[..., Any] = True,
                  compare_messages: bool = False,
                  host_reads: str | None = None, observe: bool = False, scale: float | None = None) -> Outcome:
    """Run both and raise ``Mismatch`` on any observable difference; returns the original's
    outcome, with the decorated run's as its ``decorated``.

    ``reference``: judge floats against the original run on float64 copies of the inputs (one
    more call of ``original``, made after the other two; skipped when no input is low precision);
    a function: run that one instead of ``original`` for the reference (the same computation
    without instrumentation that counts calls).
    ``host_reads``: None, or count host reads in both runs (``"count"``), also fail on any read
    inside looplift other than an exit (``"strict"``), also fail when the decorated run reads
    more often than the original (``"no-more"``).  ``observe``: count looplift's run-time paths
    during the decorated call (``Outcome.paths``).  ``scale`` is deprecated and ignored: the
    tolerances come from the data (docs/guarantees.md)."""
    if scale is not None:
        warnings.warn("compare_calls(scale=...) is deprecated and ignored: tolerances come from the data",
                      DeprecationWarning, stacklevel=2)
    if host_reads not in (None, "count", "strict", "no-more"):
        raise ValueError(f"host_reads must be None, 'count', 'strict' or 'no-more', not {host_reads!r}")
    counting = host_reads is not None
    expected = run(original, args, kwargs, host_reads=counting)
    actual = run(decorated, args, kwargs, host_reads=counting, observe=observe)
    expected.decorated = actual
    if (expected.error is None) != (actual.error is None) or \
            (expected.error is not None and type(expected.error) is not type(actual.error)):
        raise Mismatch(f"exception: {expected.error!r} vs {actual.error!r}") from actual.error
    if compare_messages and expected.error is not None and str(expected.error) != str(actual.error):
        raise Mismatch(f"exception message: {expected.error} vs {actual.error}")
    if expected.output != actual.output:
        raise Mismatch(f"printed output differs:\n{expected.output!r}\nvs\n{actual.output!r}")
    high, units = reference_run(original if reference is True else reference, args, kwargs) if reference \
        else (None, frozenset())
    if units and high is not None and (high.error is None) == (expected.error is None) and \
            type(high.error) is type(expected.error):
        judge, refs = Judge(length_of(args, kwargs), units), high
    else:
        judge, refs = Judge(length_of(args, kwargs)), None
    if expected.error is None:
        _compare(expected.result, actual.result, refs.result if refs else None, "result", judge)
    _compare(expected.args, actual.args, refs.args if refs else None, "args after the call", judge)
    _compare(expected.kwargs, actual.kwargs, refs.kwargs if refs else None, "kwargs after the call", judge)
    if host_reads in ("strict", "no-more") and actual.reads is not None and actual.reads.internal:
        raise Mismatch(f"host reads inside looplift (not at an exit): {actual.reads.describe('internal')}")
    if host_reads == "no-more" and expected.reads is not None and actual.reads is not None and \
            actual.reads.total > expected.reads.total:
        raise Mismatch(f"host reads: the decorated run read {actual.reads.total} times, the original "
                       f"{expected.reads.total}:\n{actual.reads.describe()}")
    return expected


# ============================================================================================
# Host reads of tensor data


#: Tensor methods that hand tensor data to the host.  Every one reaches ``__torch_function__`` on
#: torch 2.13 (checked by tests/test_oracle.py): ``.item()``, ``float()``, ``int()``, ``bool()``,
#: ``complex()``, ``operator.index()`` (``range(t)``, ``xs[t]``), ``.tolist()``, ``.numpy()``,
#: ``np.asarray(t)``/``np.array(t)`` (``__array__``), formatting, ``repr``/``str`` (printing a
#: tensor) and ``x in t``.  Not reads: ``len(t)``, iterating (``unbind``), ``hash(t)``.
HOST_READS = {getattr(torch.Tensor, name): name for name in (
    "item", "__float__", "__int__", "__bool__", "__complex__", "__index__", "tolist", "numpy", "__array__",
    "__format__", "__repr__", "__contains__")}
_DEVICE_COPIES = {torch.Tensor.cpu: "cpu", torch.Tensor.to: "to", torch.Tensor.copy_: "copy_"}


@dataclass
class HostReads:
    """Reads of tensor data by the host, by where they were made: ``program`` (the user's code,
    rewritten code included: it runs under the user's file name), ``exit`` (one of the runtime's
    ``EXIT_FUNCTIONS``: where values leave lifted code) or ``internal`` (anywhere else inside
    looplift).  ``sites`` counts (where, function, file:line, read)."""

    program: int = 0
    exit: int = 0
    internal: int = 0
    sites: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.program + self.exit + self.internal

    def add(self, where: str, function: str, line: str, read: str) -> None:
        setattr(self, where, getattr(self, where) + 1)
        self.sites[(where, function, line, read)] += 1

    def describe(self, where: str | None = None) -> str:
        rows = [f"  {count} x {read} in {function} ({line}) [{kind}]"
                for (kind, function, line, read), count in self.sites.most_common() if where in (None, kind)]
        return "\n".join(rows) or "  none"


def _device_copy(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``.cpu()``, ``.to(...)`` or ``dst.copy_(src)`` moves data from a device to the host."""
    source = args[1] if name == "copy_" and len(args) > 1 else args[0] if args else None
    if not isinstance(source, torch.Tensor) or source.device.type == "cpu":
        return False
    if name == "cpu":
        return True
    if name == "copy_":
        return isinstance(args[0], torch.Tensor) and args[0].device.type == "cpu"
    device = torch._C._nn._parse_to(*args[1:], **kwargs)[0]
    return device is not None and device.type == "cpu"


_PACKAGE = os.path.dirname(os.path.abspath(__file__))
#: Parts of the package that are user code, not looplift's machinery: this module, the demo's
#: example programs, the fuzzer's programs and helpers.
_NOT_LOOPLIFT = (os.path.join(_PACKAGE, "testing.py"), os.path.join(_PACKAGE, "demo") + os.sep,
                 os.path.join(_PACKAGE, "fuzz") + os.sep)
_LIBRARIES = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (torch, np))
_STDLIB = os.path.dirname(os.path.abspath(os.__file__)) + os.sep


def _skipped(filename: str) -> bool:
    """Frames between a read and the code that made it: torch, NumPy, the standard library, this
    module (the counting mode itself)."""
    if filename.startswith(_LIBRARIES) or filename == _NOT_LOOPLIFT[0]:
        return True
    return filename.startswith(_STDLIB) and "site-packages" not in filename


def _attribute(frame: types.FrameType | None) -> tuple[str, str, str]:
    """(program/exit/internal, function, file:line) of the nearest frame that made a read."""
    from .runtime import EXIT_FUNCTIONS

    while frame is not None and _skipped(os.path.abspath(frame.f_code.co_filename)):
        frame = frame.f_back
    if frame is None:
        return "program", "?", "?"
    filename = os.path.abspath(frame.f_code.co_filename)
    function = f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"
    line = f"{filename}:{frame.f_lineno}"
    if not filename.startswith(_PACKAGE + os.sep) or filename.startswith(_NOT_LOOPLIFT):
        return "program", function, line
    return ("exit" if function in EXIT_FUNCTIONS else "internal"), function, line


class _ReadCounter(TorchFunctionMode):
    def __init__(self, reads: HostReads):
        super().__init__()
        self.reads = reads

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        read = HOST_READS.get(func)
        if read is None and func in _DEVICE_COPIES and _device_copy(_DEVICE_COPIES[func], args, kwargs):
            read = _DEVICE_COPIES[func]
        if read is not None:
            self.reads.add(*_attribute(sys._getframe(1)), read)
        return func(*args, **kwargs)


class InternalHostRead(AssertionError):
    """``count_host_reads(strict=True)``: looplift read tensor data other than at an exit."""


@contextlib.contextmanager
def count_host_reads(strict: bool = False) -> Iterator[HostReads]:
    """Count reads of tensor data by the host in this thread while the block runs.

    A ``TorchFunctionMode`` sees every host read (``HOST_READS``) and every device-to-host copy
    (``.cpu()``, ``.to("cpu")``, ``cpu_tensor.copy_(device_tensor)`` of a tensor on another
    device); each is attributed to the nearest frame outside torch, NumPy and the standard
    library.  ``strict``: raise ``InternalHostRead`` at the end of the block if looplift read
    anywhere but at an exit (raising at the read itself would be caught by looplift's own
    fallbacks)."""
    reads = HostReads()
    with _ReadCounter(reads):
        yield reads
    if strict and reads.internal:
        raise InternalHostRead(f"{reads.internal} host reads inside looplift:\n{reads.describe('internal')}")


# ============================================================================================
# Run-time paths


@contextlib.contextmanager
def observed_paths() -> Iterator[Counter[str]]:
    """Count the run-time paths looplift takes while the block runs (``looplift.runtime.paths``:
    ``lift.hit``, ``lift.miss``, ``op.tensor``, ``op.numpy``); yields the live counts."""
    from .runtime import paths

    saved = paths.ENABLED, paths.COUNTS
    counts: Counter[str] = Counter()
    paths.ENABLED, paths.COUNTS = True, counts
    try:
        yield counts
    finally:
        paths.ENABLED, paths.COUNTS = saved
