"""The differential tests of registry entries: NumPy's reference against the tensor paths.

For an entry and one of its declared ``cases`` (see ``cases.py``) hypothesis draws concrete
arguments (now and then large ones: 10^4+ elements, matmul K up to 256).  Two checks use them:

``check_lowered`` tests the code generation path.  It lowers the call from the example's abstract
operands (``abstract_form``: what the analysis would know), evaluates the lowered expression on
the tensor form of the operands (``requires`` first: where one fails NumPy runs the call, which
is allowed only where NumPy raises or where the entry declares it in ``numpy_when``), and demands
NumPy's result on the NumPy form: the same kind (NumPy scalar, ndarray, tuple type, list, Python
object), dtype, shape and values, or an exception from both.  The expression must not raise where
NumPy succeeds, must not read tensor data on the host (``lowering.HostReads`` counts such reads),
must leave its operands unchanged, must not warn where NumPy is silent, and must not return a
tensor sharing memory with an operand where NumPy returns a fresh value.  Every declared argument
form must reach the lowered expression (``LoweringStats``), unless the entry is declared NumPy-only
with a reason (``OpEntry.numpy_only``).

``check_example`` tests the runtime interpreter (``calling.runtime_callable``), the fallback for a
failed guard: the same comparison, plus that its tensor path did the work in every declared form
and raised nothing but ``Unsupported`` where NumPy succeeds (``PathStats``).

Values compare within the float tolerances of the semantics file; entries that sum many terms
declare a wider, documented tolerance (``tolerance``).  Where an entry's notes carry ``IEEE_NOTE``
(BLAS products), operands holding NaN or infinity may give NaN where NumPy's BLAS dropped a NaN·0
term, and nothing else differs.  Both checks also test static inference (``probe.infer``).

Requires hypothesis (a test dependency); nothing at runtime imports this module.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..lattice import AV, ArrayV, ListV, TopV, TupleV, UnionV
from ..dtypes import LIFTABLE_NP_DTYPES, TORCH_TO_NP
from ..errors import Refusal
from . import lowering, probe
from .probe import abstract_form
from .calling import runtime_callable
from .cases import (ALL, OMIT, Arr, Axis, Case, Lifted, Lit, OneOf, Py, Seq, Weak)
from .coerce import to_numpy
from .entry import IEEE_NOTE, OpEntry, Unsupported

MAX_SIDE = 4
#: Arrays above this many elements get their values from NumPy's generator, not element by element.
LARGE = 256
#: The element count of a large array (``Arr(large=True)``).
LARGE_SIZE = (10_000, 20_000)
#: The phrase an entry's notes must contain when it returns a copy where NumPy returns a view.
VIEW_NOTE = "copy where NumPy returns a view"
#: The dtypes the coverage measure pins (``Coverage``); the fewest examples drawn of each case.
COVERAGE_DTYPES = ("float32", "float64", "int32", "int64", "bool")
MIN_PER_CASE = 12

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


def _random_values(rng: np.random.Generator, dtype: np.dtype, shape: tuple[int, ...], values: str) -> np.ndarray:
    """A large array of ``values`` (see ``cases.VALUES``) from NumPy's generator: floats are
    3·N(0,1) with a tenth of them integral (ties), integers small; "any" adds a few NaN and
    infinities, or the integer extremes."""
    if dtype == np.bool_:
        return np.ones(shape, bool) if values == "positive" else rng.random(shape) < 0.5
    if values == "positive":
        array = rng.uniform(0.125, 10, shape) if dtype.kind == "f" else rng.integers(1, 6, shape)
    elif values == "small" or dtype.kind != "f":
        span = 3 if values == "small" else 5
        array = rng.integers(0 if dtype.kind == "u" else -span, span + 1, shape)
    else:
        array = rng.standard_normal(shape) * 3
        ties = rng.random(shape) < 0.1
        array[ties] = rng.integers(-3, 4, int(ties.sum()))
    array = array.astype(dtype)
    if values == "any" and array.size:
        specials = [math.nan, math.inf, -math.inf] if dtype.kind == "f" else [np.iinfo(dtype).min, np.iinfo(dtype).max]
        array.reshape(-1)[rng.integers(0, array.size, 3)] = rng.choice(np.array(specials, dtype=dtype), 3)
    return array


class HypothesisDrawer:
    """The ``cases.Drawer`` interface on top of hypothesis' ``data.draw``.  ``pin`` draws that
    dtype wherever an array may have it (the coverage measure)."""

    def __init__(self, data: st.DataObject, pin: str | None = None) -> None:
        self.data = data
        self.pin = pin

    def shape(self, ndim: tuple[int, int] = (0, 3), min_side: int = 0, max_side: int = MAX_SIDE) -> tuple[int, ...]:
        return self.data.draw(hnp.array_shapes(min_dims=ndim[0], max_dims=ndim[1], min_side=min_side,
                                               max_side=max_side))

    def large_shape(self, ndim: tuple[int, int] = (1, 3)) -> tuple[int, ...]:
        """A shape of ``LARGE_SIZE`` elements: small leading sides, the last one long."""
        rank = self.integer(max(ndim[0], 1), max(ndim[1], 1))
        leading = tuple(self.integer(2, 6) for _ in range(rank - 1))
        size = self.integer(*LARGE_SIZE)
        return leading + (-(-size // math.prod(leading)),)

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def choice(self, options: Any) -> Any:
        return self.data.draw(st.sampled_from(list(options)))

    def array(self, shape: tuple[int, ...], dtypes: tuple[str, ...] = ALL, values: str = "any",
              lifted: bool | None = True) -> Any:
        dtype = np.dtype(self.pin if self.pin in dtypes else self.choice(dtypes))
        if values == "any":  # half the arrays without NaN, infinities and extreme integers
            values = self.choice(["any", "finite"])
        if math.prod(shape) > LARGE:
            rng = np.random.default_rng(self.integer(0, 2 ** 32 - 1))
            value = _random_values(rng, dtype, shape, values)
        else:
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
        if spec.large:
            return self.d.large_shape(spec.ndim)
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
            value = self.draw(spec)
            if value is OMIT:  # a positional argument left out leaves out those after it
                break
            self.args.append(value)
        kwargs = {name: self.draw(spec) for name, spec in self.case.kwargs.items()}
        return tuple(self.args), {k: v for k, v in kwargs.items() if v is not OMIT}


def draw_example(data: st.DataObject, case: Case, pin: str | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    drawer = HypothesisDrawer(data, pin)
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

    * "sum": sums; different summation orders differ by at most n·eps·Σ|x|, far below
      rtol·Σ|x| (Σ over every input element).
    * "mean": means, 4·rtol·mean|x| (the sum's bound divided by the count).
    * "dot": sums of products (dot, matmul, einsum, tensordot): rtol·Π_k Σ|x_k|.
    * "var": 2·rtol·mean(x²), the magnitude of a variance of these values: tight enough that a
      ``ddof`` off by one fails for slices of up to 10^4 float32 values.  "std": the change of a
      square root, |√a - √b| <= |a - b| / (2·min √b) (or √|a - b| where a result is 0).
    * "linalg": backward-stable factorizations of matrices that the entries accept (condition
      number <= 1e4, see linalg.py) agree to rtol relative to the result's largest entry.
    * "det": rtol·Π_j ||column_j|| (Hadamard's bound on |det|), largest over the batch.
    """
    scale = _scale(mode, inputs, expected)
    if not math.isfinite(scale):
        scale = 0.0
    if mode == "std":
        smallest = _smallest_magnitude(expected)
        return lambda rtol: min(math.sqrt(rtol * scale), rtol * scale / (2 * smallest)) if smallest else \
            math.sqrt(rtol * scale)
    return lambda rtol: rtol * scale


def _smallest_magnitude(expected: Any) -> float:
    values = np.concatenate([_finite_abs(np.asarray(e)).reshape(-1) for e in _flatten(expected)] or [np.zeros(0)])
    return float(values.min()) if values.size else 0.0


def _mean_of(parts: list[np.ndarray]) -> float:
    count = sum(p.size for p in parts)
    return float(sum(p.sum() for p in parts)) / count if count else 0.0


def _scale(mode: str, inputs: list[np.ndarray], expected: Any) -> float:
    if mode in ("exact", "meta"):
        return 0.0
    if mode == "sum":
        return float(sum(_finite_abs(a).sum() for a in inputs))
    if mode == "mean":
        return 4 * _mean_of([_finite_abs(a) for a in inputs])
    if mode == "dot":
        return float(np.prod([_finite_abs(a).sum() for a in inputs]))
    if mode in ("var", "std"):
        return 2 * _mean_of([_finite_abs(a) ** 2 for a in inputs])
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
            where: str = "result", ieee: bool = False) -> None:
    """Raise AssertionError unless ``actual`` (converted back from the tensor path) is NumPy's
    ``expected``: same kind, dtype, shape, and values within tolerance (``ieee``: where
    ``actual`` is NaN or infinite, it only needs NumPy's to be so where NumPy's is; see
    ``IEEE_NOTE``)."""
    if isinstance(expected, (np.ndarray, np.generic)):
        if type(actual) is not type(expected) or (
                isinstance(expected, np.ndarray) and not isinstance(actual, np.ndarray)):
            raise AssertionError(f"{where}: expected {_kind(expected)}, got {_kind(actual)}")
        if actual.dtype != expected.dtype or np.shape(actual) != np.shape(expected):
            raise AssertionError(f"{where}: expected {_kind(expected)}, got {_kind(actual)}")
        if mode != "meta":
            _compare_values(np.asarray(expected), np.asarray(actual), slack, where, ieee)
        return
    if type(actual) is not type(expected):
        raise AssertionError(f"{where}: expected {_kind(expected)} {expected!r}, got {_kind(actual)} {actual!r}")
    if isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise AssertionError(f"{where}: expected length {len(expected)}, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, mode, slack, f"{where}[{i}]", ieee)
        return
    if isinstance(expected, float) and math.isnan(expected) and math.isnan(actual):
        return
    if expected != actual:
        raise AssertionError(f"{where}: expected {expected!r}, got {actual!r}")


def _compare_values(expected: np.ndarray, actual: np.ndarray, slack: Callable[[float], float],
                    where: str, ieee: bool = False) -> None:
    if expected.dtype.kind != "f":
        if not np.array_equal(expected, actual, equal_nan=expected.dtype.kind == "c"):
            raise AssertionError(f"{where}: values differ\nexpected {expected!r}\ngot      {actual!r}")
        return
    rtol, atol = RTOL[expected.dtype], ATOL[expected.dtype]
    atol += slack(rtol)
    same_nan = np.isnan(expected) == np.isnan(actual)
    with np.errstate(all="ignore"):
        close = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if ieee:  # IEEE may add NaN/inf where NumPy's BLAS skipped a NaN·0 term, never remove one
        same_nan = np.isfinite(expected) | ~np.isfinite(actual)
        close = close | ~np.isfinite(actual)
    if not (same_nan.all() and close.all()):
        raise AssertionError(f"{where}: values differ beyond rtol={rtol} atol={atol:g}\n"
                             f"expected {expected!r}\ngot      {actual!r}")


# ---------------------------------------------------------------------------------------------
# Running one example


@dataclass
class _Forms:
    """Per declared case: examples where NumPy succeeded on a lifted operand, and how many of them
    the tensor path (interpreter or lowered expression) computed."""

    examples: Counter[int] = field(default_factory=Counter)
    handled: Counter[int] = field(default_factory=Counter)

    def unreached(self, entry: OpEntry, lowered: bool = False) -> list[int]:
        """Cases whose examples never reached the tensor path (or never let NumPy succeed); for
        the lowering, leaving out the cases declared NumPy-only."""
        return [i for i, c in enumerate(entry.cases) if not self.handled[i] and not (lowered and c.numpy_only)]

    def declared_but_lowered(self, entry: OpEntry) -> list[int]:
        return [i for i, c in enumerate(entry.cases) if c.numpy_only and self.handled[i]]


@dataclass
class PathStats:
    """What the interpreter's tensor path did, per declared case (see ``check_example``)."""

    forms: _Forms = field(default_factory=_Forms)
    inferred: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    view_copies: int = 0

    def verdict(self, entry: OpEntry) -> str | None:
        """A failure message, or None when the tensor path demonstrably did the work in every form."""
        unreached = self.forms.unreached(entry)
        if unreached:
            return (f"{entry.key}: the tensor path never computed case(s) {unreached} "
                    f"(NumPy-succeeding examples per case: {dict(self.forms.examples)}); "
                    f"it handed calls to NumPy with {dict(self.fallbacks.most_common(4))}")
        if self.inferred == 0:
            return f"{entry.key}: static inference never succeeded: {dict(self.refusals)}"
        return _view_verdict(entry, self.view_copies)


def _view_verdict(entry: OpEntry, view_copies: int) -> str | None:
    if view_copies and VIEW_NOTE not in entry.notes:
        return f"{entry.key}: returns a copy where NumPy returns a view; its notes must say '{VIEW_NOTE}'"
    return None


class _RecordingPath:
    """Wraps ``torch_impl`` to see whether it ran and what it raised or warned."""

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


def _call(fn: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[Any, BaseException | None, list[str]]:
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


@dataclass
class _Reference:
    """NumPy's run of one example, and the example's operands in both forms."""

    entry: OpEntry
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    case: Case
    np_args: tuple[Any, ...] = ()
    np_kwargs: dict[str, Any] = field(default_factory=dict)
    expected: Any = None
    error: BaseException | None = None
    warned: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.np_args, self.np_kwargs = numpy_form(self.args), numpy_form(self.kwargs)
        self.expected, self.error, self.warned = _call(self.entry.reference, self.np_args, self.np_kwargs)

    @property
    def counted(self) -> bool:
        """NumPy succeeded on an example with a lifted operand: one the tensor path must compute."""
        return self.error is None and any(True for _ in _lifted_values((self.args, tuple(self.kwargs.values()))))

    def check_operands(self, t_args: Sequence[Any], t_kwargs: dict[str, Any], what: str) -> None:
        """Operands change exactly as NumPy changed its own (``nan_to_num(copy=False)`` writes)."""
        for mine, theirs in zip(_flatten((tuple(t_args), tuple(t_kwargs.values()))),
                                _flatten((self.np_args, tuple(self.np_kwargs.values())))):
            if isinstance(mine, (torch.Tensor, np.ndarray)):
                assert _same(to_numpy(mine), theirs), f"{self.entry.key}: {what} changed an operand differently from NumPy"

    def check_outcome(self, result: Any, error: BaseException | None, what: str) -> None:
        """Both raise, or neither."""
        key = self.entry.key
        if self.error is not None:
            assert error is not None, (f"{key}: NumPy raises {type(self.error).__name__}: {self.error}; "
                                       f"{what} returns {result!r}")
        elif error is not None:
            raise AssertionError(f"{key}: NumPy returns {self.expected!r}; {what} raises "
                                 f"{type(error).__name__}: {error}") from error

    def check_result(self, result: Any, inputs: list[torch.Tensor], warned: list[str], what: str) -> bool:
        """``result`` is NumPy's (see ``compare``), warns only where NumPy warns, holds liftable
        dtypes, and shares memory with an operand only where NumPy's does; True when NumPy's
        result is a view that the tensor path copied."""
        key = self.entry.key
        assert not warned or self.warned, f"{key}: {what} warns {warned}"
        for t in _tensors(result):
            assert t.dtype in TORCH_TO_NP and TORCH_TO_NP[t.dtype] in LIFTABLE_NP_DTYPES, t.dtype
        np_inputs = [a for a in _flatten((self.np_args, tuple(self.np_kwargs.values()))) if isinstance(a, np.ndarray)]
        aliased = _storages(_tensors(result)) & _storages(iter(inputs))
        np_view = _shares_memory(self.expected, np_inputs)
        assert not aliased or np_view, f"{key}: {what}'s result shares memory with an operand; NumPy's does not"
        mode = self.case.tolerance
        inputs_np = list(_arrays((self.args, tuple(self.kwargs.values()))))
        compare(self.expected, to_numpy(result), mode, tolerance(mode, inputs_np, self.expected),
                ieee=IEEE_NOTE in self.entry.notes and not all(np.isfinite(a).all() for a in inputs_np
                                                                 if a.dtype.kind == "f"))
        return np_view and not aliased and any(r.numel() for r in _tensors(result))


def check_example(entry: OpEntry, args: tuple[Any, ...], kwargs: dict[str, Any], case: Case,
                  stats: PathStats, case_index: int = 0) -> None:
    """The interpreter (``runtime_callable``) on one example: NumPy's result, with the tensor path
    raising nothing but ``Unsupported`` where NumPy succeeds."""
    reference = _Reference(entry, args, kwargs, case)
    path = _RecordingPath(entry.torch_impl)
    wrapper = runtime_callable(dataclasses.replace(entry, torch_impl=path))
    t_args, t_kwargs = torch_form(args), torch_form(kwargs)
    inputs = list(_tensors((t_args, t_kwargs)))
    result, error, _ = _call(wrapper, t_args, t_kwargs)

    reference.check_operands(t_args, t_kwargs, "the interpreter")
    reference.check_outcome(result, error, "the interpreter")
    if reference.error is not None:
        return
    if path.error is not None:
        assert isinstance(path.error, Unsupported), (
            f"{entry.key}: the tensor path raises {type(path.error).__name__}: {path.error} where NumPy "
            f"returns {reference.expected!r} (a tensor path hands calls to NumPy by raising Unsupported)")
        stats.fallbacks[f"{path.error}"[:100]] += 1
    if reference.counted:
        stats.forms.examples[case_index] += 1
        stats.forms.handled[case_index] += path.ran
    if path.ran:
        stats.view_copies += reference.check_result(result, inputs, path.warned, "the tensor path")
    else:
        reference.check_result(result, inputs, [], "NumPy")
    check_inference(entry, args, kwargs, reference.expected, stats)


# ---------------------------------------------------------------------------------------------
# Lowered code


@dataclass
class LoweringStats:
    """What the lowering did with an entry's examples (see ``check_lowered``)."""

    forms: _Forms = field(default_factory=_Forms)
    refusals: Counter[str] = field(default_factory=Counter)
    numpy_ran: int = 0
    """Examples whose ``requires`` failed, so that NumPy ran them."""
    view_copies: int = 0
    by_dtype: dict[str, Counter[str]] = field(default_factory=dict)
    """Per pinned dtype: "examples" where NumPy succeeded, "lowered" where the expression ran."""

    def verdict(self, entry: OpEntry) -> str | None:
        """A failure message, or None when every declared form reached the lowered expression."""
        if entry.numpy_only:
            if entry.lower is not None:
                return f"{entry.key} has a lowering and declares numpy_only ({entry.numpy_only!r})"
            return None
        if entry.lower is None:
            return f"{entry.key} has no lowering; declare numpy_only='<reason>' if it must stay in NumPy"
        declared = self.forms.declared_but_lowered(entry)
        if declared:
            return f"{entry.key}: case(s) {declared} are declared NumPy-only but lowered; drop the declaration"
        unreached = self.forms.unreached(entry, lowered=True)
        if unreached:
            return (f"{entry.key}: case(s) {unreached} never ran lowered (NumPy-succeeding examples per case: "
                    f"{dict(self.forms.examples)}); refusals: {dict(self.refusals.most_common(4))}")
        return _view_verdict(entry, self.view_copies)


def lower_example(entry: OpEntry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> lowering.Lowered:
    """The lowering for an example's abstract operands (``Refusal`` when it stays in NumPy)."""
    return lowering.lower(entry, [abstract_form(a) for a in args],
                          {name: abstract_form(v) for name, v in kwargs.items()})


def run_lowered(lowered: lowering.Lowered, operands: Sequence[Any]
                ) -> tuple[bool, Any, BaseException | None, list[str], list[str]]:
    """Evaluate a lowering as generated code would: ``requires`` first, then the expression.
    Returns (admitted, result, error, warnings, host reads)."""
    if not lowering.admits(lowered)(*operands):
        return False, None, None, [], []
    function = lowering.as_function(lowered)
    with lowering.HostReads() as host:
        result, error, warned = _call(function, operands, {})
    return True, result, error, warned, host.reads


def check_lowered(entry: OpEntry, args: tuple[Any, ...], kwargs: dict[str, Any], case: Case,
                  stats: LoweringStats, case_index: int = 0, pin: str | None = None) -> None:
    """The lowered expression for one example against NumPy (see the module docstring)."""
    reference = _Reference(entry, args, kwargs, case)
    counted = reference.counted
    pinned = _pinned(args, kwargs, pin)
    if counted:
        stats.forms.examples[case_index] += 1
        if pinned:
            stats.by_dtype.setdefault(pin, Counter())["examples"] += 1
    try:
        lowered = lower_example(entry, args, kwargs)
    except Refusal as refusal:
        stats.refusals[refusal.reason[:120]] += 1
        return
    t_args, t_kwargs = torch_form(args), torch_form(kwargs)
    operands = [*t_args, *t_kwargs.values()]
    admitted, result, error, warned, reads = run_lowered(lowered, operands)
    if not admitted:
        assert reference.error is not None or entry.numpy_when, (
            f"{entry.key}: `requires` of {lowered.source!r} fails where NumPy returns {reference.expected!r}; "
            "declare the calls NumPy runs in numpy_when")
        stats.numpy_ran += 1
        return
    what = f"the lowered {lowered.source!r}"
    assert not reads, f"{entry.key}: {what} reads tensor data on the host: {reads}"
    reference.check_operands(t_args, t_kwargs, what)
    reference.check_outcome(result, error, what)
    if reference.error is not None:
        return
    if counted:
        stats.forms.handled[case_index] += 1
        if pinned:
            stats.by_dtype[pin]["lowered"] += 1
    stats.view_copies += reference.check_result(result, list(_tensors(operands)), warned, what)


def _pinned(args: tuple[Any, ...], kwargs: dict[str, Any], pin: str | None) -> bool:
    """The example's first lifted operand has the pinned dtype."""
    first = next(iter(_lifted_values((args, tuple(kwargs.values())))), None)
    return pin is not None and first is not None and np.asarray(first).dtype == np.dtype(pin)


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
        stats.refusals[refusal.reason[:100]] += 1
        return
    stats.inferred += 1
    actual = probe.result_value(expected)
    assert not _lifted_zero_d_array(inferred), f"{entry.key}: inference lifts a 0-d ndarray: {inferred!r}"
    assert _agrees(inferred, actual), (f"{entry.key}: static inference says {inferred!r} for "
                                       f"{abstract_args} {abstract_kwargs}; NumPy gives {actual!r}")



# ---------------------------------------------------------------------------------------------
# Exploring an entry, and the coverage of the lowering

#: Hypothesis settings of the registry tests (derandomized: runs are reproducible).
SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])

Check = Callable[[tuple[Any, ...], dict[str, Any], int, "str | None"], None]


def explore(entry: OpEntry, check: Check, examples: int, *, pins: Sequence[str | None] = (None,),
            derandomize: bool = True) -> None:
    """Draw examples of each of the entry's cases in turn (``examples`` shared among them, at
    least ``MIN_PER_CASE`` each), a pinned dtype drawn first, and pass each to
    ``check(args, kwargs, case_index, pin)``."""
    for index, case in enumerate(entry.cases):
        _explore_case(case, lambda args, kwargs, pin, index=index: check(args, kwargs, index, pin),
                      max(examples // len(entry.cases), MIN_PER_CASE), pins, derandomize)


def _explore_case(case: Case, check: Callable[[tuple[Any, ...], dict[str, Any], "str | None"], None],
                  examples: int, pins: Sequence[str | None], derandomize: bool) -> None:
    @settings(max_examples=examples, derandomize=derandomize, **SETTINGS)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        pin = data.draw(st.sampled_from(list(pins)), label="dtype")
        args, kwargs = draw_example(data, case, pin)
        check(args, kwargs, pin)

    run()


def lowering_stats(entry: OpEntry, examples: int, *, pins: Sequence[str | None] = (None, *COVERAGE_DTYPES),
                   derandomize: bool = True) -> LoweringStats:
    """Every check of ``check_lowered`` on ``examples`` examples of the entry (AssertionError on
    the first failure), with the statistics the verdict and the coverage read."""
    stats = LoweringStats()

    def check(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, pin: str | None) -> None:
        check_lowered(entry, args, kwargs, entry.cases[index], stats, index, pin)

    explore(entry, check, examples, pins=pins, derandomize=derandomize)
    return stats


@dataclass(frozen=True)
class Coverage:
    """(entry, dtype) pairs where NumPy succeeded on some example with a lifted operand of that
    dtype (``applicable``), and those where the lowered expression computed one (``lowered``)."""

    applicable: frozenset[tuple[str, str]]
    lowered: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, stats: dict[str, LoweringStats]) -> "Coverage":
        applicable, lowered = set(), set()
        for key, entry_stats in stats.items():
            for dtype, counts in entry_stats.by_dtype.items():
                if counts["examples"]:
                    applicable.add((key, dtype))
                if counts["lowered"]:
                    lowered.add((key, dtype))
        return cls(frozenset(applicable), frozenset(lowered))

    @property
    def share(self) -> float:
        return len(self.lowered) / len(self.applicable) if self.applicable else 1.0

    def missing(self) -> list[tuple[str, str]]:
        return sorted(self.applicable - self.lowered)

    def report(self) -> str:
        lines = [f"lowered: {len(self.lowered)} of {len(self.applicable)} (operation, dtype) pairs "
                 f"({self.share:.1%}; dtypes {', '.join(COVERAGE_DTYPES)})"]
        missing: dict[str, list[str]] = {}
        for key, dtype in self.missing():
            missing.setdefault(key, []).append(dtype)
        lines += [f"  stays in NumPy: {key} ({', '.join(dtypes)})" for key, dtypes in missing.items()]
        return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m looplift.registry.testing [EXAMPLES]``: the lowering's coverage of the registry."""
    import sys

    from . import entries

    args = list(sys.argv[1:] if argv is None else argv)
    examples = int(args[0]) if args else 40
    stats: dict[str, LoweringStats] = {}
    for entry in entries():
        try:
            stats[entry.key] = lowering_stats(entry, examples)
        except AssertionError as failure:
            print(f"FAILED {entry.key}: {str(failure).splitlines()[0]}")
    print(Coverage.of(stats).report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
