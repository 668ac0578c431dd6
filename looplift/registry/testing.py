"""The differential test of registry entries: NumPy's reference against the runtime wrapper.

For an entry and one of its declared ``cases`` (see ``cases.py``) hypothesis draws concrete
arguments; ``check_example`` then runs (a) the NumPy reference on the NumPy form of the arguments
and (b) ``calling.runtime_callable(entry)`` on the rewritten program's form (lifted operands as
tensors whose dtype is the NumPy dtype, 0-d tensors for NumPy scalars) and demands the same
result: the same kind (NumPy scalar, ndarray, tuple type, list, Python object), dtype, shape and
values, or the same exception type.  Values compare within the float tolerances of the semantics
file; entries that sum many terms declare a wider, documented tolerance (``tolerance``).

Beyond agreement it checks what the contract promises and a fallback would hide:

* the tensor path itself handled the common case (``PathStats``: an entry whose tensor path never
  succeeds on float input is a lie, the wrapper would only ever run NumPy);
* operands end up as NumPy leaves its own (unchanged, except where NumPy writes into them);
* the tensor path neither warns where NumPy is silent, nor returns a tensor sharing memory with an
  operand where NumPy returns a fresh value (a later in-place write would reach the operand);
* where NumPy returns a view and the tensor path a copy, the entry's notes say so;
* static inference (``probe.infer``) agrees with the dtype/ndim/kind of NumPy's actual result, or
  refuses.

Requires hypothesis (a test dependency); nothing at runtime imports this module.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..lattice import AV, BOTTOM, ArrayV, ConstV, ListV, PyScalarV, TopV, TupleV, UnionV, join
from ..dtypes import LIFTABLE_NP_DTYPES, TORCH_TO_NP
from ..errors import Refusal
from . import probe
from .calling import runtime_callable
from .cases import (ALL, OMIT, Arr, Axis, Case, Lifted, Lit, OneOf, Py, Seq, Weak)
from .coerce import to_numpy
from .entry import OpEntry

MAX_SIDE = 4
#: Where NumPy succeeds on float input, at least this share of calls must take the tensor path.
MIN_TENSOR_SHARE = 0.3
#: The phrase an entry's notes must contain when it returns a copy where NumPy returns a view.
VIEW_NOTE = "copy where NumPy returns a view"

# ---------------------------------------------------------------------------------------------
# Drawing examples


def _float_elements(dtype: np.dtype, values: str) -> st.SearchStrategy[float]:
    width = 32 if dtype == np.float32 else 64
    integral = st.integers(-3, 3).map(float)
    if values == "small":
        return integral
    if values == "positive":
        return st.floats(0.125, 10, width=width)
    finite = st.one_of(integral, st.floats(-10, 10, width=width), st.sampled_from([0.5, -1.5, 2.5, -0.0]))
    if values == "finite":
        return finite
    return st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf]))


def _int_elements(dtype: np.dtype, values: str) -> st.SearchStrategy[int]:
    info = np.iinfo(dtype)
    if values == "positive":
        return st.integers(1, 5)
    span = 3 if values == "small" else 5
    small = st.integers(max(info.min, -span), min(info.max, span))
    if values == "any":
        return st.one_of(small, small, small, st.sampled_from([int(info.min), int(info.max)]))
    return small


def elements(dtype: np.dtype, values: str) -> st.SearchStrategy[Any]:
    if dtype == np.bool_:
        return st.just(True) if values == "positive" else st.booleans()
    if dtype.kind == "f":
        return _float_elements(dtype, values)
    return _int_elements(dtype, values)


class HypothesisDrawer:
    """The ``cases.Drawer`` interface on top of hypothesis' ``data.draw``."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def shape(self, ndim: tuple[int, int] = (0, 3), min_side: int = 0, max_side: int = MAX_SIDE) -> tuple[int, ...]:
        return self.data.draw(hnp.array_shapes(min_dims=ndim[0], max_dims=ndim[1], min_side=min_side,
                                               max_side=max_side))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def choice(self, options: Any) -> Any:
        return self.data.draw(st.sampled_from(list(options)))

    def array(self, shape: tuple[int, ...], dtypes: tuple[str, ...] = ALL, values: str = "any",
              lifted: bool | None = True) -> Any:
        dtype = np.dtype(self.choice(dtypes))
        if values == "any":  # half the arrays without NaN, infinities and extreme integers
            values = self.choice(["any", "finite"])
        value = self.data.draw(hnp.arrays(dtype, shape, elements=elements(dtype, values)))
        if lifted is None:
            lifted = self.data.draw(st.booleans())
        if not shape and (lifted or self.data.draw(st.booleans())):
            value = value[()]  # a NumPy scalar (a lifted 0-d value always stands for one)
        return Lifted(value) if lifted else value


def _group_ranges(case: Case) -> dict[str, int]:
    """The largest ndim any member of each broadcast group asks for."""
    specs = [*case.args, *case.kwargs.values()]
    ranges: dict[str, int] = {}
    for spec in specs:
        for arr in _arrays_in(spec):
            if arr.group is not None:
                ranges[arr.group] = max(ranges.get(arr.group, 0), arr.ndim[1])
    return ranges


def _arrays_in(spec: Any) -> Iterator[Arr]:
    if isinstance(spec, Arr):
        yield spec
    elif isinstance(spec, Seq):
        yield spec.item
    elif isinstance(spec, OneOf):
        for option in spec.options:
            yield from _arrays_in(option)


def _shape_of(value: Any) -> tuple[int, ...]:
    return np.shape(value.value if isinstance(value, (Lifted, Weak)) else value)


class _CaseDrawer:
    """Draws one example of a declarative ``Case``."""

    def __init__(self, drawer: HypothesisDrawer, case: Case) -> None:
        self.d = drawer
        self.case = case
        self.groups: dict[str, tuple[int, ...]] = {}
        self.group_ndim = _group_ranges(case)
        self.args: list[Any] = []

    def _arr_shape(self, spec: Arr) -> tuple[int, ...]:
        if spec.like is not None:
            return _shape_of(self.args[spec.like])
        if spec.group is None:
            return self.d.shape(spec.ndim, spec.min_side)
        if spec.group not in self.groups:
            self.groups[spec.group] = self.d.shape((self.group_ndim[spec.group],) * 2, spec.min_side)
        base = self.groups[spec.group]
        ndim = self.d.integer(spec.ndim[0], min(spec.ndim[1], len(base)))
        shape = base[len(base) - ndim:]
        return tuple(1 if side and self.d.data.draw(st.integers(0, 3)) == 0 else side for side in shape)

    def draw(self, spec: Any) -> Any:
        if isinstance(spec, Arr):
            return self.d.array(self._arr_shape(spec), spec.dtypes, spec.values, spec.lifted)
        if isinstance(spec, Py):
            kind = self.d.choice(spec.types)
            value = self.d.data.draw(st.booleans() if kind is bool else
                                     st.integers(-3, 3) if kind is int else
                                     st.sampled_from([0.5, -1.5, 2.0, 0.1, -0.0, math.nan]))
            return Weak(kind(value))
        if isinstance(spec, Lit):
            return self.d.choice(spec.options)
        if isinstance(spec, OneOf):
            return self.draw(self.d.choice(spec.options))
        if isinstance(spec, Axis):
            return self._axis(spec)
        if isinstance(spec, Seq):
            count = self.d.integer(*spec.count)
            shape = self._arr_shape(spec.item)
            dtypes = (self.d.choice(spec.item.dtypes),) if spec.same_dtype else spec.item.dtypes
            items = [self.d.array(shape, dtypes, spec.item.values, spec.item.lifted) for _ in range(count)]
            return spec.kind(items)
        return spec

    def _axis(self, spec: Axis) -> Any:
        ndim = len(_shape_of(self.args[spec.of]))
        kinds = ["none"] * spec.none + ["int"] * 3 + ["tuple"] * spec.multi + ["bad"]
        kind = self.d.choice(kinds)
        if kind == "none":
            return None
        if kind == "bad":
            return self.d.choice([ndim, -ndim - 1])
        if kind == "int":
            return self.d.integer(-ndim, ndim - 1) if ndim else 0
        axes = self.d.data.draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
        return tuple(a - ndim if self.d.data.draw(st.booleans()) else a for a in axes)

    def example(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        for spec in self.case.args:
            self.args.append(self.draw(spec))
        kwargs = {name: self.draw(spec) for name, spec in self.case.kwargs.items()}
        return tuple(self.args), {k: v for k, v in kwargs.items() if v is not OMIT}


def draw_example(data: st.DataObject, case: Case) -> tuple[tuple[Any, ...], dict[str, Any]]:
    drawer = HypothesisDrawer(data)
    if case.custom is not None:
        args, kwargs = case.custom.build(drawer)
        return tuple(args), dict(kwargs)
    return _CaseDrawer(drawer, case).example()


# ---------------------------------------------------------------------------------------------
# The forms of one example


def numpy_form(value: Any) -> Any:
    """The original program's argument: markers unwrapped, fresh copies of arrays."""
    if isinstance(value, (Lifted, Weak)):
        return numpy_form(value.value)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(numpy_form(v) for v in value)
    if isinstance(value, dict):
        return {k: numpy_form(v) for k, v in value.items()}
    return value


def torch_form(value: Any) -> Any:
    """The rewritten program's argument: lifted operands as tensors of their NumPy dtype."""
    if isinstance(value, Lifted):
        inner = value.value
        return torch.tensor(inner) if isinstance(inner, np.generic) else torch.from_numpy(np.array(inner))
    if isinstance(value, Weak):
        return value.value
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(torch_form(v) for v in value)
    if isinstance(value, dict):
        return {k: torch_form(v) for k, v in value.items()}
    return value


def abstract_form(value: Any) -> AV:
    """What static analysis would know about the argument."""
    if isinstance(value, Lifted):
        inner = value.value
        return ArrayV(inner.dtype, np.ndim(inner), scalar=isinstance(inner, np.generic), lifted=True)
    if isinstance(value, Weak):
        return PyScalarV(type(value.value))
    if isinstance(value, np.ndarray):
        return ArrayV(value.dtype, value.ndim, scalar=False)
    if isinstance(value, np.generic):
        return ArrayV(value.dtype, 0, scalar=True)
    if isinstance(value, list):
        elem: AV = BOTTOM
        for item in value:
            elem = join(elem, abstract_form(item))
        return ListV(elem)
    if isinstance(value, tuple) and any(isinstance(v, (Lifted, Weak, np.ndarray, np.generic)) for v in value):
        return TupleV(tuple(map(abstract_form, value)))
    return ConstV(value)


def _lifted_values(value: Any) -> Iterator[Any]:
    if isinstance(value, Lifted):
        yield value.value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _lifted_values(item)


def _arrays(value: Any) -> Iterator[np.ndarray]:
    """Every array-valued input (for tolerance scales), markers unwrapped."""
    if isinstance(value, (Lifted, Weak)):
        value = value.value
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype in LIFTABLE_NP_DTYPES:
        yield np.asarray(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item)


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple, dict)):
        for item in (value.values() if isinstance(value, dict) else value):
            yield from _tensors(item)


# ---------------------------------------------------------------------------------------------
# Comparing results

#: float16 results never come from the tensor path (not liftable), only from NumPy itself.
RTOL = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
ATOL = {np.dtype(np.float16): 1e-4, np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def _finite_abs(array: np.ndarray) -> np.ndarray:
    values = np.abs(array.astype(np.float64))
    return values[np.isfinite(values)]


def tolerance(mode: str, inputs: list[np.ndarray], expected: Any) -> Callable[[float], float]:
    """The absolute slack a comparison mode adds to the per-dtype ``atol``, as a function of the
    compared dtype's ``rtol``.

    * "sum": sums and means; different summation orders differ by at most n·eps·Σ|x|, far below
      rtol·Σ|x| (Σ over every input element).
    * "dot": sums of products (dot, matmul, einsum, tensordot): rtol·Π_k Σ|x_k|.
    * "var": rtol·Σx²; "std": the square root of that (|√a - √b| <= √|a - b|).
    * "linalg": backward-stable factorizations of matrices that the entries accept (condition
      number <= 1e4, see linalg.py) agree to rtol relative to the result's largest entry.
    * "det": rtol·Π_j ||column_j|| (Hadamard's bound on |det|), largest over the batch.
    """
    scale = _scale(mode, inputs, expected)
    if not math.isfinite(scale):
        scale = 0.0
    if mode == "std":
        return lambda rtol: math.sqrt(rtol * scale)
    return lambda rtol: rtol * scale


def _scale(mode: str, inputs: list[np.ndarray], expected: Any) -> float:
    if mode in ("exact", "meta"):
        return 0.0
    if mode == "sum":
        return float(sum(_finite_abs(a).sum() for a in inputs))
    if mode == "dot":
        return float(np.prod([_finite_abs(a).sum() for a in inputs]))
    if mode in ("var", "std"):
        return float(sum((_finite_abs(a) ** 2).sum() for a in inputs))
    if mode == "linalg":
        parts = [_finite_abs(np.asarray(e)) for e in _flatten(expected)]
        return 4 * float(max((p.max() for p in parts if p.size), default=0.0))
    if mode == "det":
        matrix = inputs[0].astype(np.float64) if inputs else np.zeros((0, 0))
        if matrix.ndim < 2 or not np.isfinite(matrix).all():
            return 0.0
        return float(np.prod(np.linalg.norm(matrix, axis=-2), axis=-1).max(initial=0.0))
    raise ValueError(mode)


def _kind(value: Any) -> str:
    if isinstance(value, np.generic):
        return f"NumPy scalar {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} {value.shape}"
    return type(value).__name__


def compare(expected: Any, actual: Any, mode: str, slack: Callable[[float], float],
            where: str = "result") -> None:
    """Raise AssertionError unless ``actual`` (converted back from the tensor path) is NumPy's
    ``expected``: same kind, dtype, shape, and values within tolerance."""
    if isinstance(expected, (np.ndarray, np.generic)):
        if type(actual) is not type(expected) or (
                isinstance(expected, np.ndarray) and not isinstance(actual, np.ndarray)):
            raise AssertionError(f"{where}: expected {_kind(expected)}, got {_kind(actual)}")
        if actual.dtype != expected.dtype or np.shape(actual) != np.shape(expected):
            raise AssertionError(f"{where}: expected {_kind(expected)}, got {_kind(actual)}")
        if mode != "meta":
            _compare_values(np.asarray(expected), np.asarray(actual), slack, where)
        return
    if type(actual) is not type(expected):
        raise AssertionError(f"{where}: expected {_kind(expected)} {expected!r}, got {_kind(actual)} {actual!r}")
    if isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise AssertionError(f"{where}: expected length {len(expected)}, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, mode, slack, f"{where}[{i}]")
        return
    if isinstance(expected, float) and math.isnan(expected) and math.isnan(actual):
        return
    if expected != actual:
        raise AssertionError(f"{where}: expected {expected!r}, got {actual!r}")


def _compare_values(expected: np.ndarray, actual: np.ndarray, slack: Callable[[float], float],
                    where: str) -> None:
    if expected.dtype.kind != "f":
        if not np.array_equal(expected, actual, equal_nan=expected.dtype.kind == "c"):
            raise AssertionError(f"{where}: values differ\nexpected {expected!r}\ngot      {actual!r}")
        return
    rtol, atol = RTOL[expected.dtype], ATOL[expected.dtype]
    atol += slack(rtol)
    same_nan = np.isnan(expected) == np.isnan(actual)
    with np.errstate(all="ignore"):
        close = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not (same_nan.all() and close.all()):
        raise AssertionError(f"{where}: values differ beyond rtol={rtol} atol={atol:g}\n"
                             f"expected {expected!r}\ngot      {actual!r}")


# ---------------------------------------------------------------------------------------------
# Running one example


@dataclass
class PathStats:
    """How often the tensor path did the work where NumPy succeeded (on float input, and on any
    input for entries that take no floats, such as the bitwise ones)."""

    calls: dict[str, int] = field(default_factory=lambda: {"float": 0, "any": 0})
    tensor_path: dict[str, int] = field(default_factory=lambda: {"float": 0, "any": 0})
    inferred: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    view_copies: int = 0

    def record(self, lifted_dtypes: list[np.dtype], path: "_RecordingPath") -> None:
        kinds = ["any", "float"] if all(d.kind == "f" for d in lifted_dtypes) else ["any"]
        for kind in kinds:
            self.calls[kind] += 1
            self.tensor_path[kind] += path.ran
        if not path.ran:
            reason = f"{type(path.error).__name__}: {path.error}"[:120]
            self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1

    def verdict(self, entry: OpEntry) -> str | None:
        """A failure message, or None when the tensor path demonstrably did the work."""
        kind = "float" if self.calls["float"] else "any"
        if self.calls[kind] == 0:
            return f"{entry.key}: no example where NumPy succeeds on a lifted operand (add cases)"
        if self.tensor_path[kind] < MIN_TENSOR_SHARE * self.calls[kind]:
            return (f"{entry.key}: the tensor path handled {self.tensor_path[kind]} of {self.calls[kind]} "
                    f"{kind} calls; it fell back with {self.fallbacks}")
        if self.inferred == 0:
            return f"{entry.key}: static inference never succeeded: {self.refusals}"
        if self.view_copies and VIEW_NOTE not in entry.notes:
            return f"{entry.key}: returns a copy where NumPy returns a view; its notes must say '{VIEW_NOTE}'"
        return None


class _RecordingPath:
    """Wraps ``torch_impl`` to see whether it ran and what it warned."""

    def __init__(self, impl: Any) -> None:
        self.impl = impl
        self.error: BaseException | None = None
        self.ran = False
        self.warned: list[str] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = self.impl(*args, **kwargs)
            except Exception as exc:
                self.error = exc
                raise
        self.ran = True
        self.warned = [f"{w.category.__name__}: {w.message}" for w in caught]
        return result


def _call(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, BaseException | None, list[str]]:
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        try:
            return fn(*args, **kwargs), None, [str(w.message) for w in caught]
        except Exception as exc:
            return None, exc, [str(w.message) for w in caught]


def _shares_memory(result: Any, inputs: list[np.ndarray]) -> bool:
    return any(isinstance(r, np.ndarray) and any(np.shares_memory(r, i) for i in inputs)
               for r in _flatten(result))


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _storages(tensors: Iterator[torch.Tensor]) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in tensors if t.numel()}


def check_example(entry: OpEntry, args: tuple[Any, ...], kwargs: dict[str, Any], case: Case,
                  stats: PathStats) -> None:
    np_args, np_kwargs = numpy_form(args), numpy_form(kwargs)
    np_inputs = [a for a in _flatten((np_args, tuple(np_kwargs.values()))) if isinstance(a, np.ndarray)]
    expected, np_error, np_warnings = _call(entry.reference, np_args, np_kwargs)

    path = _RecordingPath(entry.torch_impl)
    wrapper = runtime_callable(dataclasses.replace(entry, torch_impl=path))
    t_args, t_kwargs = torch_form(args), torch_form(kwargs)
    inputs = list(_tensors((t_args, t_kwargs)))
    result, error, _ = _call(wrapper, t_args, t_kwargs)

    # operands change exactly as NumPy changed its own (``nan_to_num(copy=False)`` writes)
    for mine, theirs in zip(_flatten((t_args, tuple(t_kwargs.values()))),
                            _flatten((np_args, tuple(np_kwargs.values())))):
        if isinstance(mine, (torch.Tensor, np.ndarray)):
            assert _same(to_numpy(mine), theirs), f"{entry.key} changed an operand differently from NumPy"
    if np_error is not None:
        assert error is not None and type(error) is type(np_error), (
            f"{entry.key}: NumPy raises {type(np_error).__name__}: {np_error}; the wrapper "
            f"{'raises ' + type(error).__name__ if error else 'returns ' + repr(result)}")
        return
    if error is not None:
        raise AssertionError(f"{entry.key}: NumPy returns {expected!r}; the wrapper raises "
                             f"{type(error).__name__}: {error}") from error

    lifted = [np.asarray(v).dtype for v in _lifted_values((args, tuple(kwargs.values())))]
    if lifted:
        stats.record(lifted, path)

    if path.ran:
        assert not path.warned or np_warnings, f"{entry.key}: the tensor path warns {path.warned}"
        for t in _tensors(result):
            assert t.dtype in TORCH_TO_NP and TORCH_TO_NP[t.dtype] in LIFTABLE_NP_DTYPES, t.dtype
        aliased = _storages(_tensors(result)) & _storages(iter(inputs))
        np_view = _shares_memory(expected, np_inputs)
        assert not aliased or np_view, f"{entry.key}: the result shares memory with an operand; NumPy's does not"
        if np_view and not aliased and any(r.numel() for r in _tensors(result)):
            stats.view_copies += 1

    slack = tolerance(case.tolerance, [a for a in _arrays((args, tuple(kwargs.values())))], expected)
    compare(expected, to_numpy(result), case.tolerance, slack)
    check_inference(entry, args, kwargs, expected, stats)


# ---------------------------------------------------------------------------------------------
# Static inference


def _agrees(inferred: AV, actual: AV) -> bool:
    if isinstance(inferred, TopV):
        return True
    if isinstance(inferred, UnionV):
        return any(_agrees(option, actual) for option in inferred.options())
    if isinstance(actual, ArrayV):
        return (isinstance(inferred, ArrayV) and (inferred.dtype, inferred.ndim, inferred.scalar)
                == (actual.dtype, actual.ndim, actual.scalar))
    if isinstance(actual, TupleV):
        return (isinstance(inferred, TupleV) and inferred.items is not None and actual.items is not None
                and len(inferred.items) == len(actual.items)
                and all(map(_agrees, inferred.items, actual.items)))
    if isinstance(actual, ListV):
        return isinstance(inferred, ListV)
    return inferred == actual


def _lifted_zero_d_array(value: AV) -> bool:
    for option in value.options():
        if isinstance(option, ArrayV) and option.lifted and option.ndim == 0 and not option.scalar:
            return True
        if isinstance(option, TupleV) and any(map(_lifted_zero_d_array, option.item_types())):
            return True
        if isinstance(option, ListV) and _lifted_zero_d_array(option.elem):
            return True
    return False


def check_inference(entry: OpEntry, args: tuple[Any, ...], kwargs: dict[str, Any], expected: Any,
                    stats: PathStats) -> None:
    abstract_args = [abstract_form(a) for a in args]
    abstract_kwargs = {k: abstract_form(v) for k, v in kwargs.items()}
    try:
        inferred = probe.infer(entry, abstract_args, abstract_kwargs)
    except Refusal as refusal:
        reason = refusal.reason[:100]
        stats.refusals[reason] = stats.refusals.get(reason, 0) + 1
        return
    stats.inferred += 1
    actual = probe.result_value(expected)
    assert not _lifted_zero_d_array(inferred), f"{entry.key}: inference lifts a 0-d ndarray: {inferred!r}"
    assert _agrees(inferred, actual), (f"{entry.key}: static inference says {inferred!r} for "
                                       f"{abstract_args} {abstract_kwargs}; NumPy gives {actual!r}")

