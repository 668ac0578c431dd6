"""Differential tests: each realistic loop function runs as the original and decorated, on the
same hypothesis-generated inputs, and ``looplift.testing.compare_calls`` checks that a user sees
no difference (return value types, dtypes, shapes and values against a float64 reference run;
arguments afterwards; printed output; exceptions).

Every case runs in each mode users meet, decorated afresh per mode (specializations are cached
per decorated function):

* ``always``: ``LOOPLIFT_LIFT=always``, lifting forced whatever the size (what an accelerator
  gets), ``compile=False``;
* ``auto``: the default options (the cost model, ``compile="auto"``) as a user's first calls
  get them: list items of ``LARGE`` shape are big enough for the cost model to lift on the CPU,
  where a lifted region runs its NumPy twin until a compile pays (no compile starts within a
  test: ``COMPILE_AFTER_S`` is infinite), so these cases ``"keep"``; smaller items and a lone
  tensor argument are only hoisted;
* ``compiled`` (cases marked ``compiled=True``): the default cost model with ``compile="auto"``,
  its delays set to zero and its timing choice forced, so the compiled regions really run and
  are compared (``test_differential_compiled``).

Each case declares, per mode, the path looplift must take, and the harness *observes* it at run
time (``looplift.testing.observed_paths``, host reads), never from the report:

* ``"lift"``: a conversion kept a tensor (``lift.hit``) and a NumPy operation ran on the tensor
  path (``op.tensor``);
* ``"keep"``: a conversion kept a tensor; no operation on it is required;
* ``"defer"``: reads of tensor data (``float(t.sum())``, ``.item()``) left for the exit
  (``read.deferred``), and the decorated function read fewer times than the original;
* ``"hoist"``: nothing lifted, and the decorated function read tensor data (``.numpy()``, ...)
  fewer times than the original over the run;
* ``"original"``: nothing lifted and the same reads as the original: the case says looplift must
  leave it alone (hoisting would be unsafe, or there is nothing to gain).

So no case can pass by silently running the original code unless it says it must.
"""
from __future__ import annotations

import copy
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DTYPES, FLOATS, INTS, SMALL_SHAPES, lift, tensor_list_strategy, tensor_strategy
from looplift import looplift
from looplift.runtime import compiled as compiled_regions
from looplift.signature import LARGE_NUMEL
from looplift.testing import assert_same, compare_calls

ALL = tuple(DTYPES)
NUMERIC = FLOATS + INTS
#: A 2-d shape whose list items the default cost model lifts on the CPU (``LARGE_NUMEL``).
LARGE = (LARGE_NUMEL // 128, 128)
LARGE_SHAPES = [LARGE]
EXPECTATIONS = ("lift", "keep", "defer", "hoist", "original")
MODES = ("always", "auto")


@dataclass
class Case:
    fn: Callable[..., Any]
    calls: st.SearchStrategy[tuple[tuple[Any, ...], dict[str, Any]]]
    expect: dict[str, str]
    """The path per mode (``always``, ``auto``): one of ``EXPECTATIONS``."""
    compiled: bool = False
    """Also run with ``compile="auto"`` until its regions run compiled code."""
    globals_: tuple[str, ...] = ()
    id: str = ""
    marks: tuple[Any, ...] = field(default_factory=tuple)


CASES: list[Case] = []


def case(*arg_strategies: st.SearchStrategy[Any], kwargs: dict[str, st.SearchStrategy[Any]] | None = None,
         always: str, auto: str, compiled: bool = False, globals_: tuple[str, ...] = (),
         marks: tuple[Any, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a differential case: the strategies draw the positional and keyword arguments;
    ``always``/``auto`` are the paths it must take in those modes."""
    assert always in EXPECTATIONS and auto in EXPECTATIONS, (always, auto)
    calls = st.tuples(st.tuples(*arg_strategies), st.fixed_dictionaries(kwargs or {}))

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        CASES.append(Case(fn, calls, {"always": always, "auto": auto}, compiled, globals_, fn.__name__, marks))
        return fn

    return register


def big_list(dtypes: tuple[str, ...] = ALL, **kw: Any) -> st.SearchStrategy[list[torch.Tensor]]:
    return tensor_list_strategy(dtypes, LARGE, **kw)


def small_list(dtypes: tuple[str, ...] = ALL, shape: tuple[int, ...] = (3, 4), **kw: Any
               ) -> st.SearchStrategy[list[torch.Tensor]]:
    return tensor_list_strategy(dtypes, shape, **kw)


def big(dtypes: tuple[str, ...] = ALL, **kw: Any) -> st.SearchStrategy[torch.Tensor]:
    return tensor_strategy(dtypes, LARGE_SHAPES, **kw)


def small(dtypes: tuple[str, ...] = ALL, shapes: list[tuple[int, ...]] | None = None, **kw: Any
          ) -> st.SearchStrategy[torch.Tensor]:
    return tensor_strategy(dtypes, shapes if shapes is not None else SMALL_SHAPES, **kw)


def opaque_helper(a: Any) -> Any:
    """Code looplift cannot see into: it keeps and reads its argument."""
    SEEN.append(type(a).__name__)
    return a


SEEN: list[str] = []
COUNTER = 0
HISTORY: list[float] = []


# ============================================================================ the seed's strategies
@case(big_list(ALL), always="lift", auto="lift", compiled=True)
def seed_per_iteration_numpy(batches):
    """The seed note's Example 1 (and design.md's example): a conversion every iteration."""
    out = []
    for t in batches:
        a = t.detach().cpu().numpy()
        out.append(np.sum(np.exp(a) * 2 + 1))
    return out


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def seed_convert_outside_loop(tensor_list):
    """Example 2: convert every tensor once, before the loop; NumPy inside."""
    numpy_array_list = [tensor.numpy() for tensor in tensor_list]
    results = []
    for i in range(len(numpy_array_list)):
        results.append(numpy_array_list[i] * 2 + 1)
    return results


@case(big_list(NUMERIC, max_size=3), always="keep", auto="keep")
def seed_torch_ops_one_conversion(tensor_list):
    """Example 3: torch ops on the list in place, one conversion at the end."""
    for i in range(len(tensor_list)):
        tensor_list[i] = tensor_list[i] * 2 + 1
    numpy_array_list = [tensor.numpy() for tensor in tensor_list]
    return numpy_array_list


@case(big_list(ALL), always="lift", auto="lift", compiled=True)
def elementwise_list_out(batches):
    """Lifted arrays appended and returned: one materialization at the exit."""
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a) * 2 + 1)
    return out


# ============================================================================ hoisting
@case(small(FLOATS, [(3, 3)]), st.lists(st.floats(-2, 2, width=32), max_size=4), always="lift", auto="hoist")
def hoist_invariant_weight(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
    return out


@case(small(NUMERIC, [(4,), (2, 3)]), st.integers(0, 4), always="lift", auto="original")
def source_mutated_add_(t, n):
    """``t.add_`` in the loop: the conversion must see every new value."""
    out = []
    for _ in range(n):
        t.add_(1)
        out.append(t.numpy().copy())
    return out


@case(big(NUMERIC), st.integers(0, 3), always="lift", auto="original")
def source_mutated_add_big(t, n):
    out = []
    for _ in range(n):
        t.add_(1)
        a = t.numpy()
        out.append(a * 2)
    return out


@case(small(NUMERIC, [(5,), (5, 2)]), always="lift", auto="original")
def source_item_assignment(t):
    """``t[i] = ...`` in the loop."""
    sums = []
    for i in range(t.shape[0]):
        t[i] = i
        sums.append(np.sum(t.numpy()))
    return sums


@case(big(NUMERIC), st.integers(0, 3), always="original", auto="original")
def numpy_view_aliasing(t, n):
    """``a = t.numpy(); a += 1`` writes through to ``t`` (they share memory)."""
    out = []
    for _ in range(n):
        a = t.numpy()
        a += 1
        out.append(np.sum(a * 2))
    return out, t


@case(small(NUMERIC, [(4,), (2, 3)]), st.integers(0, 3), always="original", auto="original")
def numpy_view_aliasing_small(t, n):
    for _ in range(n):
        a = t.numpy()
        a += 1
    return t


@case(small(FLOATS, [(3,), (2, 2)]), st.lists(small(FLOATS, [(3,), (2, 2)]), max_size=3), always="lift", auto="original")
def converted_name_reassigned(W, xs):
    a = W.numpy()
    for x in xs:
        a = a * 0.5 + x.numpy().sum()
    return a


@case(big(FLOATS), st.integers(0, 3), always="keep", auto="original")
def scalar_from_array_then_mutate(t, n):
    """A NumPy scalar read out of an array is a copy: later writes to the array must not change it."""
    a = t.numpy()
    firsts = []
    for i in range(n):
        first = a[0, 0] * 1
        a[0, 0] = 100.0 + i
        firsts.append(first)
    return firsts


# ============================================================================ control flow
@case(big_list(FLOATS, max_size=5), st.floats(-1, 1), always="lift", auto="lift")
def break_continue_else(batches, threshold):
    kept = []
    for t in batches:
        a = t.numpy()
        m = np.exp(a) - 1
        if float(m[0, 0]) < threshold:
            continue
        kept.append(m)
        if len(kept) >= 2:
            break
    else:
        kept.append(np.zeros(3))
    return kept


@case(big_list(FLOATS, max_size=5), always="original", auto="original")
def return_inside_loop(batches):
    for i, t in enumerate(batches):
        a = t.numpy()
        b = np.sqrt(np.abs(a)) + i
        if b[0, 0] > 1.5:
            return b
    return None


@case(small(FLOATS, [(3,)]), st.lists(small_list(FLOATS, shape=(3,), max_size=3), max_size=3),
      always="lift", auto="hoist")
def nested_loops_small(W, groups):
    """``W.numpy()`` is invariant in both loops: hoisted out of the outer one."""
    totals = []
    for group in groups:
        row = []
        for t in group:
            row.append(float(np.sum(t.numpy() * W.numpy())))
        totals.append(row)
    return totals


@case(big(FLOATS), big_list(FLOATS, max_size=3), always="lift", auto="lift")
def nested_loops_hoist_and_lift(W, batches):
    out = []
    for t in batches:
        for k in range(2):
            a = t.numpy()
            out.append(np.tanh(a * W.numpy()) + k)
    return out


@case(big(FLOATS), st.integers(0, 4), always="lift", auto="original")
def while_loop(t, steps):
    a = t.numpy()
    i = 0
    while i < steps:
        a = a * 0.5 + np.sin(a)
        i += 1
    return a


@case(small(FLOATS, [(3,), (2, 2)]), st.integers(0, 4), always="lift", auto="hoist")
def while_loop_small(W, steps):
    total = 0.0
    while steps > 0:
        total += float(np.sum(np.square(W.numpy())))
        steps -= 1
    return total


@case(big_list(ALL, max_size=4), always="lift", auto="lift", compiled=True)
def try_except_in_loop(batches):
    out = []
    for t in batches:
        a = t.numpy()
        try:
            b = np.log(a + 10)
            if t.dtype == torch.bool:
                raise TypeError("bools are not welcome")
            out.append(b)
        except TypeError as exc:
            out.append(str(exc))
    return out


@case(big_list(FLOATS, max_size=5), always="lift", auto="lift")
def exception_mid_loop(batches):
    seen = []
    for i, t in enumerate(batches):
        a = t.numpy()
        b = np.exp(a)
        seen.append(b)
        if i == 2:
            raise ValueError(f"batch {i} rejected")
    return seen


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift", compiled=True)
def prints_in_loop(batches):
    for i, t in enumerate(batches):
        a = t.numpy()
        b = np.abs(a) * 2
        print(i, b.shape, b.dtype, round(float(b[0, 0]), 3))
    print("done")


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift")
def fstrings(batches):
    lines = []
    for i, t in enumerate(batches):
        a = t.numpy()
        b = np.maximum(a, 0)
        lines.append(f"{i}: {b.shape} {b.dtype} {float(b[0, 0]):.3f} {b.ndim}")
    return lines


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift")
def opaque_call_in_loop(batches):
    out = []
    for t in batches:
        a = t.numpy()
        b = np.negative(a)
        kept = opaque_helper(b)
        out.append(kept is b)
        out.append(kept)
    return out


@case(big_list(FLOATS, max_size=4), st.floats(-1, 1), always="lift", auto="lift")
def item_and_float_branches(batches, threshold):
    out = []
    for t in batches:
        a = t.numpy()
        b = np.tanh(a)
        if t[0, 0].item() > threshold:
            out.append(b * 2)
        elif float(b[0, 1]) < -threshold:
            out.append(-b)
        else:
            out.append(t.sum().item())
    return out


# ============================================================================ accumulators and containers
@case(big_list(FLOATS, max_size=4), always="lift", auto="lift", compiled=True)
def accumulator_total(batches):
    total = 0
    for t in batches:
        a = t.numpy()
        total += np.sum(np.square(a))
    return total


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def accumulator_array(batches):
    acc = None
    for t in batches:
        a = t.numpy()
        term = a * 2
        acc = term if acc is None else acc + term
    return acc


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift", compiled=True)
def dict_of_results(batches):
    stats = {}
    for i, t in enumerate(batches):
        a = t.numpy()
        stats[f"b{i}"] = np.abs(a) + 1
        stats[i] = a.dtype
    return stats


@case(big_list(FLOATS, min_size=1, max_size=3), always="lift", auto="lift", compiled=True)
def preallocated_out(batches):
    out = np.empty((len(batches),) + tuple(batches[0].shape), dtype=np.float32)
    for i, t in enumerate(batches):
        a = t.numpy()
        out[i] = np.exp(a) - 1
    return out


@case(big_list(ALL, max_size=3), always="lift", auto="lift")
def tuple_results(batches):
    pairs = []
    for t in batches:
        a = t.numpy()
        pairs.append((a > 0, a))
    return pairs


@case(big_list(INTS + ("bool",), max_size=3), always="lift", auto="lift")
def int_and_bool_ops(batches):
    out = []
    for t in batches:
        a = t.numpy()
        out.append((a & 3, a | 1, ~a, a ^ a, a == 0))
    return out


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def division_promotes(batches):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(a / 2)
        out.append(a * 2.5)
    return out


@case(big_list(ALL, max_size=3), always="lift", auto="lift")
def from_numpy_roundtrip(batches):
    out = []
    for t in batches:
        a = t.numpy()
        b = torch.from_numpy(a * 1)
        out.append(b)
    return out


# ============================================================================ dtypes, shapes, grad
@case(small(ALL, grad=None), always="keep", auto="original")
def plain_numpy_any_tensor(t):
    """0-d, empty, 1-d, 2-d; with requires_grad ``.numpy()`` raises in both."""
    out = []
    for _ in range(2):
        out.append(t.numpy())
    return out


@case(small(ALL, grad=None), always="lift", auto="hoist")
def detach_numpy_hoisted(t):
    out = []
    for k in range(3):
        out.append(np.sum(t.detach().numpy()) + k)
    return out


@case(big_list(FLOATS, min_size=1, max_size=3, grad=True), always="original", auto="original")
def big_with_grad(batches):
    """``.numpy()`` of a tensor that requires grad raises: so must the decorated function."""
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a))
    return out


@case(big_list(FLOATS, max_size=3, grad=None), always="lift", auto="lift")
def big_with_grad_detached(batches):
    out = []
    for t in batches:
        a = t.detach().numpy()
        out.append(np.exp(a))
    return out


@case(st.lists(small(ALL), max_size=4), always="lift", auto="lift")
def list_of_mixed_tensors(ts):
    """Elements differ in dtype and ndim: the key is the first element's; guards catch the rest."""
    out = []
    for t in ts:
        a = t.numpy()
        out.append(a * 2)
    return out


@case(st.lists(st.one_of(big(ALL), small(ALL)), max_size=3), always="lift", auto="lift")
def list_of_mixed_big_tensors(ts):
    out = []
    for t in ts:
        a = t.numpy()
        out.append(a + 1)
    return out


@case(big_list(ALL, max_size=2), always="lift", auto="lift")
def asarray_and_array(batches):
    """``np.array`` copies: writing into the copy must not reach the tensor."""
    out = []
    for t in batches:
        a = np.asarray(t)
        b = np.array(t)
        b[0] = 0
        out.append(a == b)
    return out, batches


# ============================================================================ functions and scopes
def make_closure(scale):
    def scaled(batches):
        out = []
        for t in batches:
            a = t.numpy()
            out.append(a * scale + offset)
        return out

    offset = 1
    return scaled


closure_scaled = make_closure(3)
CASES.append(Case(closure_scaled, st.tuples(st.tuples(big_list(NUMERIC, max_size=2)), st.just({})),
                  {"always": "keep", "auto": "keep"}, id="closure_scaled"))


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift")
def closure_over_lifted(batches):
    """A nested function captures an array: the captured name stays NumPy."""
    out = []
    for t in batches:
        a = t.numpy()
        b = np.exp(a)

        def peek():
            return b[0, 0]

        out.append(peek())
        out.append(b)
    return out


class Model:
    def __init__(self, W: torch.Tensor):
        self.W = W
        self.history: list[Any] = []

    def forward(self, batches):
        out = []
        for t in batches:
            a = t.numpy()
            y = np.tanh(a) * 2
            self.history.append(y.shape)
            out.append(y)
        return out, self.history


@case(big_list(FLOATS, max_size=3), st.floats(0.5, 2), kwargs={"bias": st.floats(-1, 1)}, always="lift", auto="lift")
def defaults_and_kwonly(batches, gain=1.0, *, bias=0.0, clip=None):
    out = []
    for t in batches:
        a = t.numpy()
        y = np.exp(a) * gain + bias
        if clip is not None:
            y = np.minimum(y, clip)
        out.append(y)
    return out


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift", globals_=("COUNTER", "HISTORY"))
def globals_written(batches):
    global COUNTER
    out = []
    for t in batches:
        a = t.numpy()
        b = np.sin(a)
        COUNTER += 1
        HISTORY.append(round(float(b[0, 0]), 4))
        out.append(b)
    return out


@case(big_list(FLOATS, max_size=3), st.integers(0, 1000), always="keep", auto="keep")
def seeded_rng(batches, seed):
    rng = np.random.default_rng(seed)
    out = []
    for t in batches:
        a = t.numpy()
        noise = rng.standard_normal(a.shape).astype(a.dtype)  # float32 stays float32: compared
        out.append(np.exp(a) + noise)                         # at float32 tolerance
    return out


@case(big_list(FLOATS, max_size=3), st.integers(0, 1000), always="lift", auto="lift")
def rng_argument_state(batches, seed):
    """The generator's state advances the same way (its draws are returned)."""
    rng = np.random.default_rng(seed)
    draws = []
    for t in batches:
        a = t.numpy()
        draws.append(rng.integers(0, 10, size=3))
        draws.append(np.abs(a) + 1)
    return draws, rng.random()


# ============================================================================ more shapes of lifted code
def big_1d(dtypes: tuple[str, ...] = ALL, **kw: Any) -> st.SearchStrategy[list[torch.Tensor]]:
    return tensor_list_strategy(dtypes, (LARGE_NUMEL,), **kw)


@case(big_1d(NUMERIC, max_size=3), always="lift", auto="lift")
def matmul_scalar_accumulator(batches):
    """``a @ a`` of 1-d arrays is a NumPy scalar: accumulated, compared and listed.  (Each region
    is one operation: nothing to fuse, so none is compiled.)"""
    total = 0
    dots = []
    for t in batches:
        a = t.numpy()
        s = a @ a
        total += s
        dots.append(s > 0)
        dots.append(s)
    return total, dots


@case(big_1d(FLOATS, max_size=3), always="original", auto="original")
def scalar_survives_array_write(batches):
    """A NumPy scalar computed from ``a`` keeps its value when ``a`` (and ``t``) are modified."""
    out = []
    for t in batches:
        a = t.numpy()
        s = a @ a
        a += 1
        out.append(s)
    return out, batches


@case(big_list(FLOATS, max_size=3), always="original", auto="original")
def walrus_in_condition(batches):
    out = []
    for t in batches:
        if (b := np.exp(t.numpy()))[0, 0] > 1:
            out.append(b)
    return out


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def multiple_targets_then_inplace(batches):
    """``x = y = ...; y += 1``: both names are one array, modified once."""
    out = []
    for t in batches:
        x = y = t.numpy() * 2
        y += 1
        out.append(x)
    return out


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift")
def comprehension_reads_lifted(batches):
    out = []
    for t in batches:
        b = np.abs(t.numpy()) + 1
        out.append([round(float(v), 4) for v in b[0][:3]])
        out.append(b)
    return out


@case(big_list(FLOATS, max_size=3), always="lift", auto="lift")
def del_in_loop(batches):
    out = []
    for t in batches:
        b = np.abs(t.numpy()) + 1
        c = b * 2
        del b
        out.append(c)
    return out


@case(big_list(FLOATS, max_size=3), always="original", auto="original")
def ndarray_accumulator_inplace(batches):
    acc = np.zeros(LARGE)
    for t in batches:
        a = t.numpy()
        acc[0] += a[0]
        acc += a * 2
    return acc


@case(big_1d(FLOATS, max_size=1, min_size=1), always="keep", auto="keep")
def while_condition_on_lifted(batches):
    a = batches[0].numpy()
    n = 0
    while (a * 0.5 + n)[0] < 3:
        n += 1
        a = a + 1
    return a, n


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def starred_unpacking(batches):
    out = []
    for t in batches:
        a = t.numpy() * 1
        first, *rest = a
        out.append(first)
        out.append(len(rest))
    return out


@case(big_list(NUMERIC, max_size=2), always="lift", auto="lift")
def iterate_rows(batches):
    out = []
    for t in batches:
        a = t.numpy() * 2
        for row in a[:3]:
            out.append(row)
    return out


@case(big_list(NUMERIC, max_size=3), always="keep", auto="keep")
def zip_and_enumerate(batches):
    out = []
    for i, (t, u) in enumerate(zip(batches, batches[::-1])):
        a = t.numpy() + u.numpy()
        out.append((i, a))
    return out


@case(big_list(ALL, max_size=3), always="lift", auto="lift")
def return_containers_from_loop(batches):
    for t in batches:
        a = t.numpy() * 3
        return a, [a], {"a": a}
    return None


@case(tensor_list_strategy(NUMERIC, (2, LARGE_NUMEL // 2), max_size=3), always="lift", auto="lift")
def tuple_unpack_rows(batches):
    """Unpacking a lifted 2-row array into two names (its rows)."""
    out = []
    for t in batches:
        a = t.numpy() * 2
        x, y = a
        out.append(x)
        out.append(y)
    return out


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def aliased_result_list(batches):
    """The list is appended to through another name, then returned by its first name."""
    out = []
    acc = out
    for t in batches:
        acc.append(t.numpy() * 2)
    return out


@case(big_list(FLOATS, max_size=3), st.booleans(), always="lift", auto="lift")
def branch_rebinds_to_opaque(batches, describe):
    """On one path the name holds a lifted array, on the other something opaque (a str)."""
    out = []
    for t in batches:
        b = np.exp(t.numpy())
        if describe:
            b = str(b.shape)
        out.append(b)
    return out


@case(big_list(ALL, max_size=3), always="lift", auto="lift")
def real_tensors_beside_lifted(batches):
    """The list holds lifted arrays and tensors the original made: the tensors stay tensors."""
    out = []
    for t in batches:
        a = t.numpy()
        out.append(a == 0)
        out.append(t * 2)
    return out


@case(big_list(NUMERIC, max_size=2), always="original", auto="original")
def views_write_through(batches):
    """``ravel``, ``.T`` and ``np.split`` give views: writes reach the array (and the tensor)."""
    out = []
    for t in batches:
        a = t.numpy()
        np.ravel(a)[1] = 9
        a.T[0, 2] = 7
        parts = np.split(a * 2, 2)
        parts[0][0] = 5
        out.append(a.sum())
        out.append(parts)
    return out, batches


@case(big_list(NUMERIC, max_size=2), always="original", auto="original")
def copies_stay_apart(batches):
    """``flatten``, ``np.tile``, ``np.concatenate``, ``np.roll`` and ``repeat`` copy."""
    out = []
    for t in batches:
        a = t.numpy() * 1
        for c in (a.flatten(), np.tile(a, 1), np.concatenate([a]), np.roll(a, 0), a.repeat(1)):
            c[0] = 3
        out.append(a)
    return out


@case(big_list(NUMERIC, max_size=3), always="lift", auto="lift")
def reductions_in_loop(batches):
    out = []
    for t in batches:
        a = t.numpy()
        s = a.sum()
        out.append((s, np.mean(a), a.mean(axis=0), np.std(a), a.var(), np.max(a), np.median(a),
                    np.percentile(a, 30)))
    return out


@case(big_list(INTS, max_size=2), always="original", auto="original")
def argsort_with_ties(batches):
    """Ints in [-5, 5]: every value ties thousands of times.  NumPy's default sort is not stable,
    so a tensor path may only answer where the order among ties cannot differ."""
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.argsort(a.ravel()))
        out.append(np.argsort(a.ravel(), kind="stable"))
    return out


@case(big_list(FLOATS, max_size=2), always="lift", auto="lift")
def nan_through_sign(batches):
    """``log`` of negative values is NaN; ``np.sign`` keeps it (``torch.sign`` gives 0)."""
    out = []
    for t in batches:
        a = np.log(t.numpy())
        out.append(np.sign(a))
    return out


@case(big_list(FLOATS, max_size=2), always="keep", auto="keep")
def from_numpy_then_inplace_metadata(batches):
    """``torch.from_numpy(t.numpy())`` is a new tensor object: changing its shape in place
    leaves the caller's tensor alone."""
    out = []
    for t in batches:
        a = t.numpy()
        b = torch.from_numpy(a)
        b.unsqueeze_(0)
        out.append(tuple(b.shape))
    return out, [tuple(t.shape) for t in batches]


@case(big_list(FLOATS, max_size=2), always="keep", auto="keep")
def as_tensor_then_requires_grad(batches):
    out = []
    for t in batches:
        a = t.numpy()
        b = torch.as_tensor(a)
        b.requires_grad_(True)
        out.append(b.requires_grad)
    return out, [t.requires_grad for t in batches]


# ============================================================================ hoisting copies past aliases
# The conversions below copy (np.array, torch.tensor) and the copy's source is modified through
# another name, or the copy is kept or modified: hoisting them would be wrong, so these cases
# only check that whatever looplift does gives the original's results.
@case(small(ALL, [(3,), (2, 2)]), st.integers(1, 3), always="keep", auto="original")
def hoisted_copy_appended(W, n):
    """Every iteration appends its own copy; a write into one must not show in the others."""
    out = []
    for _ in range(n):
        out.append(np.array(W))
    out[0][0] = 1
    return out



@case(small(NUMERIC, [(4,), (2, 3)]), st.integers(0, 4), always="lift", auto="original")
def hoisted_copy_vs_numpy_alias(W, n):
    """``np.array(W)`` copies; ``a`` shares W's memory, so ``a[0] += 1`` changes what it copies."""
    out = []
    for _ in range(n):
        a = W.numpy()
        a[0] += 1
        out.append(float(np.sum(np.array(W))))
    return out


@case(small(NUMERIC, [(4,), (2, 3)]), st.integers(0, 4), always="lift", auto="original")
def hoisted_copy_vs_tensor_view(W, n):
    v = W.view(-1)
    out = []
    for _ in range(n):
        v[0] += 1
        out.append(float(np.sum(np.array(W))))
    return out


@case(small(NUMERIC, [(4,), (2, 3)]), st.integers(0, 4), always="lift", auto="original")
def hoisted_copy_vs_list_alias(W, n):
    ts = [W]
    out = []
    for i in range(n):
        ts[0][0] = i + 1
        out.append(float(np.sum(np.array(W))))
    return out


@case(st.sampled_from(FLOATS).map(lambda d: np.zeros((2, 3), dtype=d)), st.integers(0, 4), always="defer", auto="original")
def hoisted_tensor_copy_vs_array_alias(A, n):
    B = A
    out = []
    for _ in range(n):
        B[0] += 1
        out.append(float(torch.tensor(A).sum()))
    return out


@case(small(FLOATS, [(2, 2), (3, 3)]), st.integers(0, 4), always="original", auto="original")
def hoisted_copy_viewed_and_modified(W, n):
    """``np.rot90`` returns a view of the fresh copy, which the loop then modifies."""
    out = []
    for _ in range(n):
        x = np.rot90(np.array(W))
        x += 1
        out.append(float(np.sum(x)))
    return out


# --------------------------------------------------------------------------- accumulators
# A NumPy accumulator made before the loop (``np.zeros(..., dtype=...)``) and rebound with a
# lifted value inside it: lifted at its first update, NumPy again where it leaves.

@case(big_list(ALL, max_size=4), always="lift", auto="lift", compiled=True)
def accumulate_into_zeros(batches):
    acc = np.zeros((1024, 128), dtype=np.float32)
    for t in batches:
        a = t.detach().cpu().numpy()
        acc = acc + a * a
    return acc


@case(big_list(NUMERIC, max_size=4), always="lift", auto="lift", compiled=True)
def accumulate_into_typed_ones(batches):
    """float32 sums accumulated in float64: judged at the precision they were computed in."""
    acc = np.ones(128, dtype=np.float64)
    count = np.zeros((), dtype=np.int64)
    for t in batches:
        a = t.numpy()
        acc = acc - np.sum(a, axis=0) / 2
        count = count + 1
    return acc, count


@case(big_list(NUMERIC, max_size=4), always="lift", auto="lift")
def accumulate_in_place_stays_numpy(batches):
    acc = np.zeros((1024, 128), dtype=np.int32)
    for t in batches:
        acc += t.numpy().astype(np.int32) * 2
    return acc



# ============================================================================ the differential test
def _globals_state(names: tuple[str, ...]) -> dict[str, Any]:
    return {n: copy.deepcopy(globals()[n]) for n in names}


def _reset_globals(state: dict[str, Any]) -> None:
    for n, v in state.items():
        globals()[n] = copy.deepcopy(v)


@dataclass
class Tally:
    """What a case did over all its examples: run-time paths, host reads, compiled calls."""

    paths: Counter = field(default_factory=Counter)
    original_reads: int = 0
    decorated_reads: int = 0
    compiled_runs: int = 0
    examples: int = 0

    def add(self, outcome: Any) -> None:
        self.examples += 1
        self.paths.update(outcome.decorated.paths)
        if outcome.reads is not None:
            self.original_reads += outcome.reads.total
            self.decorated_reads += outcome.decorated.reads.total

    def check(self, expect: str, where: str) -> None:
        lifted, tensor_ops = self.paths["lift.hit"], self.paths["op.tensor"]
        seen = (f"{where}: expected {expect!r}; observed over {self.examples} examples: paths {dict(self.paths)}, "
                f"host reads {self.original_reads} (original) vs {self.decorated_reads} (decorated)")
        if expect == "lift":
            assert lifted and tensor_ops, seen
        elif expect == "keep":
            assert lifted, seen
        elif expect == "defer":
            assert self.paths["read.deferred"] and self.decorated_reads < self.original_reads, seen
        elif expect == "hoist":
            assert not lifted and not tensor_ops and self.decorated_reads < self.original_reads, seen
        else:
            assert not lifted and not tensor_ops and self.decorated_reads == self.original_reads, seen


def _differential(c: Case, decorated: Callable[..., Any], expect: str,
                  prepare: Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], None] | None = None,
                  compiled_runs: Callable[[], int] | None = None,
                  calls: st.SearchStrategy[Any] | None = None, examples: int | None = None) -> Tally:
    """Compare ``c.fn`` with ``decorated`` on the case's examples (``calls``, ``examples``:
    other draws, fewer of them); ``prepare`` runs before each comparison (drives compiled
    regions to their compiled state), ``compiled_runs`` counts calls of compiled code so far."""
    tally = Tally()
    after: list[dict[str, Any]] = []
    if c.globals_:
        initial = _globals_state(c.globals_)

        def with_globals(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                _reset_globals(initial)
                try:
                    return fn(*args, **kwargs)
                finally:
                    after.append(_globals_state(c.globals_))
            return call
        original, candidate = with_globals(c.fn), with_globals(decorated)
    else:
        original, candidate = c.fn, decorated

    @given(calls if calls is not None else c.calls)
    def run(call: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        args, kwargs = call
        if prepare is not None:
            prepare(candidate, args, kwargs)
        after.clear()
        before = compiled_runs() if compiled_runs else 0
        outcome = compare_calls(original, candidate, args, kwargs, observe=True,
                                host_reads="count" if expect in ("defer", "hoist", "original") else None)
        if c.globals_:
            assert_same(after[0], after[1], "globals after the call")  # (after[2]: the reference run)
        tally.add(outcome)
        tally.compiled_runs += (compiled_runs() - before) if compiled_runs else 0

    try:
        (settings(max_examples=examples)(run) if examples else run)()
    finally:
        if c.globals_:
            _reset_globals(initial)
    return tally


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("c", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_differential(c: Case, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "always":
        monkeypatch.setenv("LOOPLIFT_LIFT", "always")
        decorated = lift(c.fn)
    else:  # the default options; no compile starts within a test (see the module's docstring)
        monkeypatch.setattr(compiled_regions, "COMPILE_AFTER_S", float("inf"))
        decorated = looplift(c.fn)
    _differential(c, decorated, c.expect[mode]).check(c.expect[mode], f"{c.id} [{mode}]")


# --------------------------------------------------------------------------- compiled regions
@dataclass
class Regions:
    """The compiled regions made while a test runs, how often they were called and how often
    that call ran compiled code."""

    made: list[Any] = field(default_factory=list)
    calls: int = 0
    runs: int = 0

    def settle(self, decorated: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Call ``decorated`` (on copies) until a call runs compiled code in every region it
        enters, waiting for the background compiles in between (with the delays patched away a
        region needs a compile and a few calls; a new shape needs a dynamic compile)."""
        from looplift.testing import run as run_once

        for _ in range(12):
            calls, runs = self.calls, self.runs
            run_once(decorated, args, kwargs)
            pending = [f for r in self.made for f in (r.pending, r.pending_dynamic) if f is not None and not f.done()]
            for future in pending:
                future.exception(timeout=600)
            if not pending and self.calls - calls == self.runs - runs:
                return


@pytest.fixture
def compile_at_once(monkeypatch: pytest.MonkeyPatch) -> Regions:
    """``compile="auto"`` as users get it, without its waits: a region compiles after its first
    eager call (``COMPILE_AFTER_S``), is timed at once (``QUIET_S``) over one kept call per side,
    and is kept compiled whatever the timing says (``MARGIN``), so compiled code is what runs."""
    regions = Regions()
    for name, value in (("COMPILE_AFTER_S", 0.0), ("QUIET_S", 0.0), ("BLOCK", 2), ("SAMPLES", 1),
                        ("MARGIN", float("inf"))):
        monkeypatch.setattr(compiled_regions, name, value)
    region = compiled_regions.CompiledRegion
    init, call, run = region.__init__, region.__call__, region._run

    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        regions.made.append(self)

    def counting_call(self: Any, *args: Any) -> Any:
        regions.calls += 1
        return call(self, *args)

    def counting_run(self: Any, *args: Any) -> Any:
        regions.runs += 1
        return run(self, *args)

    monkeypatch.setattr(region, "__init__", recording_init)
    monkeypatch.setattr(region, "__call__", counting_call)
    monkeypatch.setattr(region, "_run", counting_run)
    return regions


COMPILED = [c for c in CASES if c.compiled]


def _busy_float(call: tuple[tuple[Any, ...], dict[str, Any]]) -> bool:
    """Every list argument holds items, and every tensor is float32 or float64: the calls whose
    regions compile (another dtype may have no lowering, and every new dtype is another compile)."""
    lists = [a for a in call[0] if isinstance(a, list)]
    tensors = [t for a in (*call[0], *(x for lst in lists for x in lst)) if isinstance(t := a, torch.Tensor)]
    return all(lists) and all(t.dtype in (torch.float32, torch.float64) for t in tensors)


@pytest.mark.slow
@pytest.mark.parametrize("c", [pytest.param(c, id=c.id, marks=c.marks) for c in COMPILED])
def test_differential_compiled(c: Case, compile_at_once: Regions) -> None:
    """The case with ``compile="auto"`` and the default cost model, compared once its regions run
    compiled code (two examples with items: every new dtype costs a compile, seconds on two cores)."""
    decorated = looplift(c.fn, compile="auto")
    started = time.perf_counter()
    busy = c.calls.filter(_busy_float)
    tally = _differential(c, decorated, c.expect["auto"], prepare=compile_at_once.settle,
                          compiled_runs=lambda: compile_at_once.runs, calls=busy, examples=2)
    tally.check(c.expect["auto"], f"{c.id} [compiled]")
    assert compile_at_once.made, f"{c.id}: no compiled region was made"
    assert tally.compiled_runs, f"{c.id}: compiled code never ran in a compared call " \
                                f"({[r.state for r in compile_at_once.made]}, {time.perf_counter() - started:.0f} s)"


def test_every_case_declares_both_modes_and_some_compile() -> None:
    assert len(CASES) >= 60
    assert all(set(c.expect) == set(MODES) for c in CASES)
    assert len(COMPILED) >= 5


# --------------------------------------------------------------------------- methods
@pytest.mark.parametrize("mode", MODES)
@given(W=big(FLOATS), batches=big_list(FLOATS, max_size=3))
def test_method_using_self(mode: str, W: torch.Tensor, batches: list[torch.Tensor]) -> None:
    """A decorated method binds like the original and mutates ``self`` the same way; lifted in
    both modes (list items of ``LARGE`` shape)."""
    from looplift.testing import observed_paths

    class Lifted(Model):  # the options of the differential test's mode
        forward = looplift(Model.forward, compile=False) if mode == "always" else looplift(Model.forward)

    with pytest.MonkeyPatch.context() as patch:
        if mode == "always":
            patch.setenv("LOOPLIFT_LIFT", "always")
        else:
            patch.setattr(compiled_regions, "COMPILE_AFTER_S", float("inf"))
        expected = Model(W.clone())
        actual = Lifted(W.clone())
        r1 = expected.forward([b.clone() for b in batches])
        with observed_paths() as paths:
            r2 = actual.forward([b.clone() for b in batches])
    assert_same(r1, r2)
    assert_same(expected.history, actual.history)
    assert paths["lift.hit"] == len(batches) and (paths["op.tensor"] or not batches), paths
