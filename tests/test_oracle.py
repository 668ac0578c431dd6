"""Tests of the oracle itself (``looplift.testing``): the comparison every other test trusts.

Each "wrong" test hands ``compare_calls`` a decorated function that makes one of the mistakes a
transformation can make (a ``ddof`` off by one, float64 work done in float32, a dropped cast, an
axis off by one, a copy where the original wrote through a view, a 0-d array for a NumPy
scalar, ...) and demands a ``Mismatch``.  Each "right" test hands it a decorated function that
computes the same thing as the original in torch, in another order of operations, as lifted code
does, and demands that it passes: at sizes where the orders really differ (K = 256 matrix
products, 10^6-element dot products, reductions along both axes).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from looplift.testing import (Mismatch, Uncomparable, assert_close, assert_same, compare_calls, length_of,
                              observed_paths)

SEEDS = range(4)


def floats(shape: tuple[int, ...], dtype: str = "float32", seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """Standard normal values, off any grid, so that summation order matters."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a))


def wrong(original, decorated, *args) -> str:
    """``compare_calls`` must reject the decorated function; returns the message."""
    with pytest.raises(Mismatch) as caught:
        compare_calls(original, decorated, args)
    return str(caught.value)


def right(original, decorated, *args) -> None:
    compare_calls(original, decorated, args)


# ============================================================================================ wrong


@pytest.mark.parametrize("dtype, n", [("float64", 4096), ("float64", 131072), ("float32", 1000)])
def test_a_ddof_off_by_one_is_caught(dtype: str, n: int) -> None:
    def original(t):
        return np.std(t.numpy())

    def decorated(t):
        return np.std(t.numpy(), ddof=1)

    message = wrong(original, decorated, tensor(floats((n,), dtype)))
    assert "values differ" in message


def test_a_ddof_off_by_one_along_an_axis_is_caught() -> None:
    def original(t):
        return [np.var(t.numpy(), axis=0)]

    def decorated(t):
        return [torch.var(t, dim=0, correction=1).numpy()]

    wrong(original, decorated, tensor(floats((256, 64), "float32")))


@pytest.mark.parametrize("inputs", ["float64", "float32 upcast by the original"])
def test_float64_computed_in_float32_is_caught(inputs: str) -> None:
    """The original sums in float64; the mistake sums in float32 and casts the result back."""
    if inputs == "float64":
        def original(t):
            return np.sum(t.numpy() * 1.5)

        def decorated(t):
            return np.float64(np.sum(t.numpy().astype(np.float32) * np.float32(1.5)))

        arg = tensor(floats((16384,), "float64"))
    else:  # the reference upcasts the input: it must not loosen a float64 result
        def original(t):
            return np.sum(t.numpy().astype(np.float64) * 1.5)

        def decorated(t):
            return np.float64(np.sum(t.numpy() * np.float32(1.5)))

        arg = tensor(floats((16384,), "float32"))
    wrong(original, decorated, arg)


def test_a_python_float_computed_in_float32_is_caught() -> None:
    def original(ts):
        total = 0.0
        for t in ts:
            total += float(np.sum(t.numpy().astype(np.float64)))
        return total

    def decorated(ts):
        total = 0.0
        for t in ts:
            total += float(torch.sum(t))  # float32 accumulation
        return total

    wrong(original, decorated, [tensor(floats((4096,), "float32", seed)) for seed in SEEDS])


def test_a_float64_accumulation_done_in_float32_is_caught() -> None:
    """``np.sum(a32, dtype=np.float64)`` accumulates in float64 (the wrong accumulation dtype)."""
    def original(t):
        return np.sum(t.numpy(), dtype=np.float64)

    def decorated(t):
        return np.float64(torch.sum(t).item())

    wrong(original, decorated, tensor(floats((65536,), "float32")))


def test_complex128_has_float64_tolerance() -> None:
    def original(t):
        return np.sum(t.numpy() * (1 + 2j))

    def decorated(t):
        return np.complex128(np.sum(t.numpy().astype(np.complex64) * np.complex64(1 + 2j)))

    wrong(original, decorated, tensor(floats((4096,), "float64")))


@pytest.mark.parametrize("mistake", ["float32 for float64", "float64 for float32", "int32 for int64"])
def test_another_dtype_is_caught(mistake: str) -> None:
    first, second = {"float32 for float64": ("float64", "float32"), "float64 for float32": ("float32", "float64"),
                     "int32 for int64": ("int64", "int32")}[mistake]

    def original(t):
        return t.numpy().astype(first) * 2

    def decorated(t):
        return t.numpy().astype(second) * 2

    assert "vs" in wrong(original, decorated, tensor(floats((8,), "float64")))


def test_a_dropped_float32_round_trip_is_caught() -> None:
    """The original rounds to float32 and back; a transformation that drops both casts returns
    the same dtype with more precise values: the float64 values of the two differ at float32
    precision, and only the original's are float32 numbers."""
    def original(t):
        return t.numpy().astype(np.float32).astype(np.float64) * 3

    def decorated(t):
        return t.numpy() * 3

    wrong(original, decorated, tensor(floats((4096,), "float64")))


def test_an_axis_off_by_one_is_caught() -> None:
    def original(t):
        return np.mean(t.numpy(), axis=-1)

    def decorated(t):
        return np.mean(t.numpy(), axis=0)

    wrong(original, decorated, tensor(floats((64, 64), "float32")))


def test_a_copy_where_the_original_wrote_through_a_view_is_caught() -> None:
    def original(t):
        a = t.numpy()
        a[0] = 100
        return float(a.sum())

    def decorated(t):
        a = t.numpy().copy()
        a[0] = 100
        return float(a.sum())

    assert "args after the call" in wrong(original, decorated, tensor(floats((16,), "float64")))


def test_a_view_where_the_original_copied_is_caught() -> None:
    def original(t):
        a = np.array(t)
        a += 1
        return a

    def decorated(t):
        a = t.numpy()
        a += 1
        return a

    assert "args after the call" in wrong(original, decorated, tensor(floats((16,), "float32")))


def test_a_0d_array_for_a_numpy_scalar_is_caught() -> None:
    def original(t):
        return np.sum(t.numpy())

    def decorated(t):
        return np.asarray(np.sum(t.numpy()))

    assert "type float32 vs ndarray" in wrong(original, decorated, tensor(floats((16,), "float32")))


def test_a_numpy_float64_for_a_python_float_is_caught() -> None:
    def original(t):
        return float(np.sum(t.numpy()))

    def decorated(t):
        return np.sum(t.numpy())

    assert "type float vs float64" in wrong(original, decorated, tensor(floats((16,), "float64")))


def test_a_tensor_for_an_array_and_tensor_metadata_are_caught() -> None:
    def original(t):
        return t.numpy() * 2, t.dtype, t * 2

    def tensor_back(t):
        return t * 2, t.dtype, t * 2

    def other_dtype_object(t):
        return t.numpy() * 2, torch.float64, t * 2

    def grad_flag(t):
        return t.numpy() * 2, t.dtype, (t * 2).requires_grad_()

    arg = tensor(floats((4,), "float32"))
    assert "type ndarray vs Tensor" in wrong(original, tensor_back, arg)
    assert "torch.float32 vs torch.float64" in wrong(original, other_dtype_object, arg)
    assert "grad" in wrong(original, grad_flag, arg)


def test_integers_booleans_and_nan_positions_are_exact() -> None:
    def original(t):
        a = t.numpy()
        return np.argmax(a), a > 0, np.where(a > 0, a, np.nan)

    def argmax_off_by_one(t):
        a = t.numpy()
        return np.argmax(a) + 1, a > 0, np.where(a > 0, a, np.nan)

    def one_flag_flipped(t):
        a = t.numpy()
        flags = a > 0
        flags[0] = not flags[0]
        return np.argmax(a), flags, np.where(a > 0, a, np.nan)

    def nan_moved(t):
        a = t.numpy()
        return np.argmax(a), a > 0, np.where(a >= 0, a, np.nan)

    arg = tensor(np.array([1.5, -2.0, 0.0, 3.0]))
    for mistake in (argmax_off_by_one, one_flag_flipped, nan_moved):
        wrong(original, mistake, arg)


def test_containers_keep_their_types_lengths_and_keys() -> None:
    def original(t):
        return [t.numpy() * 1], {"a": 1, "b": 2}, (1, 2)

    def tuple_for_list(t):
        return (t.numpy() * 1,), {"a": 1, "b": 2}, (1, 2)

    def keys_reordered(t):
        return [t.numpy() * 1], {"b": 2, "a": 1}, (1, 2)

    def longer(t):
        return [t.numpy() * 1], {"a": 1, "b": 2}, (1, 2, 3)

    arg = tensor(floats((4,), "float32"))
    for mistake in (tuple_for_list, keys_reordered, longer):
        wrong(original, mistake, arg)


def test_printed_output_and_exceptions_are_compared() -> None:
    def original(t):
        print("sum", round(float(t.sum()), 3))
        if t.numel() > 2:
            raise ValueError("too long")

    def prints_more(t):
        original(t)
        print()

    def raises_other(t):
        raise TypeError("too long")

    assert "printed output" in wrong(original, prints_more, tensor(floats((2,), "float32")))
    assert "exception" in wrong(original, raises_other, tensor(floats((4,), "float32")))


def test_random_generator_state_is_compared() -> None:
    def original(rng):
        return rng.random()

    def draws_twice(rng):
        rng.random()
        return original(rng)

    wrong(original, draws_twice, np.random.default_rng(0))


def test_unknown_types_fail_loudly() -> None:
    class Opaque:
        __slots__ = ("state",)

    with pytest.raises(Uncomparable):
        assert_same(Opaque(), Opaque())
    with pytest.raises(Uncomparable):
        assert_same(np.ma.masked_array([1.0]), np.ma.masked_array([1.0]))


def test_plain_objects_compare_their_attributes_and_modules_their_state() -> None:
    class Loader:
        def __init__(self, seen: int) -> None:
            self.batches, self.seen = [torch.ones(2)], seen

    assert_same(Loader(1), Loader(1))
    with pytest.raises(Mismatch, match="seen"):
        assert_same(Loader(1), Loader(2))
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    same, trained, evaluated = (copy.deepcopy(net) for _ in range(3))
    assert_same(net, same)
    with torch.no_grad():
        trained.weight.add_(1.0)
    with pytest.raises(Mismatch, match="weight"):
        assert_same(net, trained)
    evaluated.eval()
    with pytest.raises(Mismatch, match="training"):
        assert_same(net, evaluated)


def test_metadata_compares_by_equality_and_methods_by_binding() -> None:
    assert_same([torch.float32, np.dtype("float32"), torch.device("cpu"), slice(1, 2), len],
                [torch.float32, np.dtype("float32"), torch.device("cpu"), slice(1, 2), len])
    for a, b in ((torch.float32, torch.float64), (np.dtype("float32"), np.dtype("float64")), (len, abs)):
        with pytest.raises(Mismatch):
            assert_same(a, b)
    assert_same(torch.ones(2).size, torch.ones(2).size)
    with pytest.raises(Mismatch):
        assert_same(torch.ones(2).size, torch.ones(3).size)


# ============================================================================================ right


def numpy_scalar(t: torch.Tensor) -> np.generic:
    return t.numpy()[()]


@pytest.mark.parametrize("n", [1000, 16384, 131072, 1_000_000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reordered_reductions_pass(n: int, dtype: str) -> None:
    def original(t):
        a = t.numpy()
        return [np.sum(a), np.mean(a), np.var(a), np.std(a), np.linalg.norm(a), np.dot(a, a[::-1]),
                np.sum(np.abs(a)), np.sum(np.exp(a))]

    def decorated(t):
        return [numpy_scalar(t.sum()), numpy_scalar(t.mean()), numpy_scalar(t.var(correction=0)),
                numpy_scalar(t.std(correction=0)), numpy_scalar(torch.linalg.norm(t)),
                numpy_scalar(torch.dot(t, t.flip(0))), numpy_scalar(t.abs().sum()), numpy_scalar(t.exp().sum())]

    for seed in SEEDS:
        right(original, decorated, tensor(floats((n,), dtype, seed)))


def test_float64_data_reordered_passes_with_cancellation_and_integer_inputs() -> None:
    """No reference exists for float64 and integer data: a reordered sum that cancels (the
    result far below its terms) and torch's float64 ``std`` of many integers still pass."""
    def original(t):
        return [np.sum(t.numpy()), np.std(t.numpy())]

    def decorated(t):
        return [numpy_scalar(t.flip(0).cumsum(0)[-1]), numpy_scalar(t.double().std(correction=0))]

    for seed in SEEDS:
        gen = torch.Generator().manual_seed(seed)
        right(original, decorated, torch.randint(-5, 6, (131072,), generator=gen, dtype=torch.int32).double())
        terms = torch.tensor([3.0, -2.9, 1.7, -1.8, 0.05, 0.023], dtype=torch.float64)
        right(original, decorated, terms[torch.randperm(6, generator=gen)])


@pytest.mark.parametrize("shape", [(128, 128), (1024, 128), (16, 8192), (2, 65536)])
def test_reordered_reductions_along_axes_pass(shape: tuple[int, int]) -> None:
    def original(t):
        a = t.numpy()
        return [a.sum(axis=0), a.sum(axis=1), a.mean(axis=0), a.std(axis=1), np.cumsum(a, axis=1)]

    def decorated(t):
        return [t.sum(0).numpy(), t.sum(1).numpy(), t.mean(0).numpy(), t.std(1, correction=0).numpy(),
                torch.cumsum(t, 1).numpy()]

    for seed in SEEDS:
        right(original, decorated, tensor(floats(shape, "float32", seed)))


@pytest.mark.parametrize("k", [3, 64, 256, 1024])
def test_reordered_matrix_products_pass(k: int) -> None:
    """docs/getting-started.md's loop: another BLAS order changes the K = 256 products by about
    1e-5, and ``s / (1 + s)`` after ``relu`` carries that to outputs near zero."""
    def original(w, xs):
        out = []
        for x in xs:
            s = np.maximum(x.numpy() @ w.numpy(), 0.0)
            out.append(s / (1.0 + s))
        return out

    def decorated(w, xs):
        out = []
        for x in xs:
            s = torch.clamp(x @ w, min=0.0)
            out.append((s / (1.0 + s)).numpy())
        return out

    for seed in SEEDS:
        right(original, decorated, tensor(floats((k, 256), "float32", seed)),
              [tensor(floats((512, k), "float32", seed + 10 + i)) for i in range(2)])


def test_float32_work_in_float64_containers_and_python_floats_passes() -> None:
    """float32 ``exp`` stored into a float64 buffer, float32 sums accumulated in a Python float:
    the float64 values carry float32 rounding, in the original as in the decorated run."""
    def original(ts):
        buf = np.zeros((len(ts), 4096))
        total = 0.0
        for i, t in enumerate(ts):
            buf[i] = np.exp(t.numpy())
            total += float(np.sum(t.numpy()))
        return buf, total

    def decorated(ts):
        buf = np.zeros((len(ts), 4096))
        total = 0.0
        for i, t in enumerate(ts):
            buf[i] = torch.exp(t).numpy()
            total += float(torch.sum(t))
        return buf, total

    for seed in SEEDS:
        right(original, decorated, [tensor(floats((4096,), "float32", seed * 8 + i)) for i in range(4)])


@pytest.mark.parametrize("function", ["exp", "log", "tanh", "sin", "sqrt", "arctan", "log1p"])
def test_elementwise_functions_from_other_libraries_pass(function: str) -> None:
    def original(t):
        return getattr(np, function)(np.abs(t.numpy()) + 0.5)

    def decorated(t):
        return getattr(torch, {"arctan": "atan"}.get(function, function))(t.abs() + 0.5).numpy()

    right(original, decorated, tensor(floats((1_000_000,), "float32", scale=3)))


def test_without_a_usable_reference_the_dtype_rule_applies() -> None:
    """The reference run raises (this function refuses float64): floats are judged against the
    original alone; a reordered sum passes, a ddof error still does not."""
    def original(t):
        assert t.dtype == torch.float32
        return np.std(t.numpy())

    def reordered(t):
        assert t.dtype == torch.float32
        return numpy_scalar(t.std(correction=0))

    def wrong_ddof(t):
        assert t.dtype == torch.float32
        return np.std(t.numpy(), ddof=1)

    arg = tensor(floats((1000,), "float32"))
    right(original, reordered, arg)
    assert "no reference" in wrong(original, wrong_ddof, arg)


# ============================================================================================ the rule


def test_the_rule_is_per_element() -> None:
    """One element far off in a large array of tiny rounding differences is caught (a single
    loose tolerance for the whole result would let it through)."""
    o = floats((4096,), "float32")
    d = o.copy()
    d[7] = np.float32(d[7] * (1 + 1e-3))
    with pytest.raises(Mismatch, match=r"1 of 4096 elements"):
        assert_close(o, d, o.astype(np.float64))


def test_the_original_error_widens_the_tolerance() -> None:
    """k * |O - R|: a decorated value as far from the reference as the original is passes; one
    much further does not."""
    reference = np.float64(1.0)
    original = np.float32(1.0 + 2**-10)  # the original is off by 2**-10 itself
    assert_close(original, np.float32(1.0 - 2**-10), reference, inputs=(np.zeros(1, np.float32),))
    with pytest.raises(Mismatch):
        assert_close(original, np.float32(1.0 + 2**-6), reference, inputs=(np.zeros(1, np.float32),))


def test_the_length_factor_comes_from_the_largest_input() -> None:
    assert length_of((np.zeros(100), [torch.zeros(16), torch.zeros(400)])) == 20.0
    assert length_of((3, [1.0] * 49)) == 7.0
    assert length_of(()) == 1.0


def test_infinities_must_match_exactly() -> None:
    with pytest.raises(Mismatch, match="infinite"):
        assert_same(np.array([np.inf, 1.0]), np.array([1e308, 1.0]))
    assert_same(np.array([np.inf, -np.inf, np.nan]), np.array([np.inf, -np.inf, np.nan]))


def test_deprecated_scale_still_accepted() -> None:
    with pytest.warns(DeprecationWarning):
        assert_same(np.float32(1.0), np.float32(1.0), scale=100.0)


# ============================================================================================ paths


def test_observed_paths_counts_only_inside_the_block() -> None:
    from looplift.runtime import paths

    assert not paths.ENABLED
    with observed_paths() as counts:
        assert paths.ENABLED
        paths.note("lift.hit")
    paths.note("lift.hit")  # outside: the runtime only calls note() while ENABLED; counts are closed
    assert counts == {"lift.hit": 1} and not paths.ENABLED


def test_the_runtime_reports_its_paths() -> None:
    from looplift import runtime
    from looplift.runtime.regions import Region

    exp = Region(torch.exp, np.exp, lambda x: type(x) is torch.Tensor, "exp")
    t = torch.ones(3)
    with observed_paths() as counts:
        kept = runtime.lift_method(t, "float32", 1, ())
        runtime.lift_method(t, "float64", 1, ())  # the guard fails: the original conversion
        lowered = exp(kept)
        exp(np.ones(3))  # the region's guard fails: its NumPy twin runs
    assert counts == {"lift.hit": 1, "lift.miss": 1, "op.tensor": 1, "op.numpy": 1}
    assert math.isclose(float(lowered[0]), math.e, rel_tol=1e-6)
