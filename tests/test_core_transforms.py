"""Stage 5, the transforms one by one: hoist (invariant vs reassigned vs mutated vs opaque call
vs result mutated), lift (what the rewritten code calls), outline (compiled regions), and the
run-time conversions the rewritten code relies on."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import BIG, lift
from looplift import Report
from looplift import explain as _explain
from looplift.runtime import convert
from looplift.runtime.compiled import compile_available
from looplift.testing import compare_calls

pytestmark = pytest.mark.lift("always")  # lifting forced: these tests check lifted code on small CPU inputs


def explain(fn, *args, **kwargs) -> Report:
    return _explain(fn if hasattr(fn, "__looplift__") else lift(fn), *args, **kwargs)


def _at(fn, offset: int) -> int:
    return fn.__code__.co_firstlineno + offset


def small_w():
    return torch.arange(6.0).reshape(2, 3)


def opaque(x):
    return x


# =========================================================================== hoist
def invariant(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
    return out


def test_hoist_invariant_conversion_is_cached_before_the_loop(production_cost_model):
    report = explain(invariant, small_w(), [1.0, 2.0])
    assert [d.line for d in report.hoisted] == [_at(invariant, 3)]
    assert f"hoisted out of the loop at line {_at(invariant, 2)}" in report.hoisted[0].what
    src = report.source
    assert src.index("__ll_h0 = None") < src.index("for x in xs:")
    assert "(__ll_h0 if __ll_h0 is not None else (__ll_h0 := W.numpy()))" in src or \
        "__ll_h0 if __ll_h0 is not None else (__ll_h0 := W.numpy())" in src
    compare_calls(invariant, lift(invariant), (small_w(), [1.0, 2.0, 3.0]))


def reassigned(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
        W = W * 2
    return out


def mutated_inplace(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
        W += 1
    return out


def mutated_item(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
        W[0] = x
    return out


def mutated_method(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
        W.add_(1)
    return out


def opaque_call(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
        opaque(x)
    return out


def result_mutated(W, xs):
    out = []
    for x in xs:
        a = W.numpy()
        a[0] = x
        out.append(np.sum(a))
    return out


def result_returned(W, xs):
    out = []
    for x in xs:
        out.append(W.numpy())
    return out


def result_stored(W, xs):
    out = {}
    for x in xs:
        out[x] = np.array(W)
    return out


def appended_copy(W, xs):
    """Each iteration appends a new copy; one shared copy would make the write below show in
    every element."""
    out = []
    for x in xs:
        out.append(np.array(W))
    out[0][0] = 99
    return out


@pytest.mark.parametrize("fn, line", [
    (reassigned, 3),        # W = W * 2
    (mutated_inplace, 3),   # W += 1
    (mutated_item, 3),      # W[0] = x
    (mutated_method, 3),    # W.add_(1)
    (opaque_call, 3),       # opaque(x) could modify W
    (result_mutated, 3),    # a = W.numpy(); a[0] = x
    (result_stored, 3),     # out[x] = np.array(W)
], ids=lambda v: getattr(v, "__name__", ""))
def test_hoist_refusals(fn, line):
    """Not hoisted, and the report says why at the conversion's line."""
    report = explain(fn, small_w(), [1.0, 2.0])
    assert not report.hoisted
    reasons = [d.reason for d in report.skipped if d.line == _at(fn, line)]
    assert reasons and all(reasons), report
    compare_calls(fn, lift(fn), (small_w(), [1.0, 2.0]))


def test_no_hoist_of_a_copy_that_is_kept():
    """A copy appended to a list is kept, not only read: each iteration's copy is distinct."""
    report = explain(appended_copy, small_w(), [1.0, 2.0])
    assert not report.hoisted, report
    compare_calls(appended_copy, lift(appended_copy), (small_w(), [1.0, 2.0]))


def test_view_that_is_kept_gives_the_same_values():
    compare_calls(result_returned, lift(result_returned), (small_w(), [1.0, 2.0]))


def alias_item_in_loop(W, n):
    out = []
    for _ in range(n):
        v = W[0]
        v += 1
        out.append(float(np.sum(np.array(W))))
    return out


def alias_out_keyword(W, n):
    v = W.view(-1)
    out = []
    for _ in range(n):
        torch.add(v, 1, out=v)
        out.append(float(np.sum(np.array(W))))
    return out


def alias_in_dict(W, n):
    d = {"w": W}
    out = []
    for _ in range(n):
        d["w"][0] += 1
        out.append(float(np.sum(np.array(W))))
    return out


def alias_copyto(W, n):
    a = W.numpy()
    out = []
    for _ in range(n):
        np.copyto(a, a + 1)
        out.append(float(np.sum(np.array(W))))
    return out


def alias_numpy_outside(W, n):
    a = W.numpy()
    out = []
    for i in range(n):
        a[0] = i + 5
        out.append(float(np.sum(np.array(W))))
    return out


def alias_in_tuple(W, n):
    pair = (W, 1)
    out = []
    for i in range(n):
        pair[0][0] = i + 5
        out.append(float(np.sum(np.array(W))))
    return out


def alias_data_attribute(W, n):
    out = []
    for _ in range(n):
        W.data[0] += 1
        out.append(float(np.sum(np.array(W))))
    return out


def alias_inner_loop_variable(W, n):
    out = []
    for i in range(n):
        for w in [W]:
            w[0] = i + 7
        out.append(float(np.sum(np.array(W))))
    return out


@pytest.mark.parametrize("fn", [alias_item_in_loop, alias_out_keyword, alias_in_dict, alias_copyto,
                                alias_numpy_outside, alias_in_tuple, alias_data_attribute,
                                alias_inner_loop_variable], ids=lambda f: f.__name__)
def test_copy_is_not_hoisted_past_a_write_through_an_alias(fn):
    """``np.array(W)`` copies: a write to W's memory through any other name in the loop makes
    each iteration's copy different."""
    for W in (torch.zeros(4), torch.zeros(2, 2, dtype=torch.int64)):
        compare_calls(fn, lift(fn), (W, 3))


def nested(W, groups):
    out = []
    for group in groups:
        for x in group:
            out.append(np.sum(W.numpy() * x))
    return out


def nested_inner_only(W, groups):
    out = []
    for group in groups:
        for x in group:
            out.append(np.sum(W.numpy() * x))
        W = W + 1
    return out


def test_hoist_goes_out_through_enclosing_loops_while_invariant():
    report = explain(nested, small_w(), [[1.0], [2.0]])
    assert f"loop at line {_at(nested, 2)}" in report.hoisted[0].what
    report = explain(nested_inner_only, small_w(), [[1.0], [2.0]])
    assert f"loop at line {_at(nested_inner_only, 3)}" in report.hoisted[0].what
    src = report.source
    assert src.index("for group in groups") < src.index("__ll_h0 = None") < src.index("for x in group")
    compare_calls(nested_inner_only, lift(nested_inner_only), (small_w(), [[1.0, 2.0], [3.0]]))


def in_comprehension(W, xs):
    return [float(np.sum(np.asarray(W) * x)) for x in xs]


def in_comprehension_method(W, xs):
    return [float(np.sum(W.numpy() * x)) for x in xs]


def in_while(W, n):
    total = 0.0
    while float(np.sum(W.numpy())) * n > 1:
        n -= 1
        total += n
    return total


def test_hoist_out_of_comprehensions_and_while_tests():
    assert explain(in_comprehension, small_w(), [1.0, 2.0]).hoisted
    compare_calls(in_comprehension, lift(in_comprehension), (small_w(), [1.0, 2.0]))
    assert explain(in_while, small_w(), 5).hoisted
    compare_calls(in_while, lift(in_while), (small_w(), 5))


def test_hoist_method_conversion_in_comprehension():
    """``W.numpy()`` inside a comprehension is as invariant as ``np.asarray(W)``."""
    assert explain(in_comprehension_method, small_w(), [1.0, 2.0]).hoisted


def tensor_from_array(A, xs):
    out = []
    for x in xs:
        out.append(torch.tensor(A) * x)
    return out


def test_hoist_array_to_tensor_conversions():
    report = explain(tensor_from_array, np.arange(3.0), [1.0, 2.0])
    assert report.hoisted and "torch.tensor()" in report.hoisted[0].what
    compare_calls(tensor_from_array, lift(tensor_from_array), (np.arange(3.0), [1.0, 2.0]))


def chained(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.detach().cpu().numpy() * x))
    return out


def test_hoist_conversion_with_a_method_chain():
    """``W.detach().cpu().numpy()`` (the seed's spelling) is as invariant as ``W.numpy()``."""
    report = explain(chained, small_w(), [1.0, 2.0])
    assert report.hoisted, report


def test_hoisted_conversion_runs_where_it_first_ran(numpy_calls, production_cost_model):
    """A zero-trip loop converts nothing; the conversion runs once, at its first use."""
    fn = lift(invariant)
    W = small_w()
    numpy_calls.reset()
    assert fn(W, []) == []
    assert numpy_calls() == 0
    fn(W, [1.0, 2.0, 3.0])
    assert numpy_calls() == 1
    numpy_calls.reset()
    invariant(W, [1.0, 2.0, 3.0])
    assert numpy_calls() == 3


def prints_then_converts(W, xs):
    out = []
    for x in xs:
        print("before", x)
        out.append(np.sum(W.numpy() * x))
    return out


def test_hoisted_conversion_raises_at_the_same_point():
    """``.numpy()`` of a tensor that requires grad raises: after the first print, as before."""
    W = torch.ones(2, requires_grad=True)
    compare_calls(prints_then_converts, lift(prints_then_converts), (W, [1.0, 2.0]), compare_messages=True)


def marked_off(W, xs):
    out = []
    for x in xs:  # looplift: off
        out.append(np.sum(W.numpy() * x))
    return out


def test_no_hoist_in_loops_marked_off():
    assert not explain(marked_off, small_w(), [1.0]).hoisted


# =========================================================================== lift
def to_lift(batches, A):
    out = []
    for t in batches:
        a = t.numpy()
        b = np.asarray(t)
        c = np.array(t)
        d = torch.from_numpy(a * 2)
        total = 0
        total += np.sum(a * b)
        out.append((a + b + c, d, total))
    return out


def test_lift_rewrites():
    report = explain(to_lift, [torch.ones(BIG)], np.zeros(3))
    src = report.source
    assert "a = __ll.lift_method(t, 'float32', 2, ())" in src
    assert "b = __ll.lift_call(np.asarray, t, 'float32', 2, (), False)" in src
    assert "c = __ll.lift_call(np.array, t, 'float32', 2, (), True)" in src
    assert "__ll.to_tensor(torch.from_numpy, __ll_r" in src  # the lifted a * 2 goes in directly
    assert "__ll.m(" in src and "__ll.op" not in src


def test_lifted_code_with_real_tensors_beside_lifted_values():
    """``d`` is a torch tensor in the original too: materializing ``out`` must leave it one."""
    batches = [torch.ones(BIG), torch.full(BIG, 2.0)]
    compare_calls(to_lift, lift(to_lift), (batches, np.zeros(3)))


# --------------------------------------------------------------------------- run-time conversions
def test_lift_method_guard():
    t = torch.arange(4.0)
    assert convert.lift_method(t, "float32", 1, ()) is t
    # a guard miss performs the original conversion
    assert type(convert.lift_method(t, "float64", 1, ())) is np.ndarray
    assert type(convert.lift_method(t, "float32", 2, ())) is np.ndarray
    g = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        convert.lift_method(g, "float32", 1, ())
    lifted = convert.lift_method(g, "float32", 1, ("detach",))
    assert type(lifted) is torch.Tensor and not lifted.requires_grad
    cloned = convert.lift_method(t, "float32", 1, ("clone",))
    assert cloned is not t and torch.equal(cloned, t)


def test_lift_call_copies_where_numpy_copies():
    t = torch.arange(4.0)
    assert convert.lift_call(np.asarray, t, "float32", 1, (), False) is t
    copied = convert.lift_call(np.array, t, "float32", 1, (), True)
    assert copied is not t
    copied[0] = 100
    assert t[0] == 0


def test_materialize():
    assert type(convert.materialize(torch.tensor(2.0))) is np.float32
    assert type(convert.materialize(torch.tensor(2, dtype=torch.int64))) is np.int64
    assert type(convert.materialize(torch.tensor(True))) is np.bool_
    arr = convert.materialize(torch.ones(2, 3, dtype=torch.int32))
    assert type(arr) is np.ndarray and arr.dtype == np.int32 and arr.shape == (2, 3)
    assert type(convert.materialize(torch.ones(2, requires_grad=True))) is np.ndarray
    items = [torch.ones(2), 3, "s", [torch.tensor(1.0)], (torch.zeros(1), 2)]
    result = convert.materialize(items)
    assert result is items  # lists are converted in place
    assert type(items[0]) is np.ndarray and type(items[3][0]) is np.float32
    assert type(items[4]) is tuple and type(items[4][0]) is np.ndarray
    empty = convert.materialize(torch.zeros(0, 3))
    assert empty.shape == (0, 3)
    same = np.zeros(2)
    assert convert.materialize(same) is same


# =========================================================================== outline
def two_ops(batches):
    out = []
    for t in batches:
        a = t.numpy()
        b = np.exp(a) * 2
        c = np.tanh(b) + 1
        out.append(c)
    return out


def one_op(batches):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a))
    return out


needs_compile = pytest.mark.skipif(not compile_available(), reason="torch.compile missing")


@needs_compile
def test_outline_regions_with_compile_auto():
    report = _explain(lift(two_ops, compile="auto"), [torch.ones(BIG)])
    assert report.compiled and report.regions, report
    assert "__ll_r0(" in report.source
    line = report.compiled[0].line
    assert _at(two_ops, 4) <= line <= _at(two_ops, 5)


def test_outline_compiles_two_ops_or_more_only_with_compile(production_cost_model):
    assert not _explain(lift(one_op, compile="auto"), [torch.ones(BIG)]).compiled
    assert not _explain(lift(two_ops, compile=False), [torch.ones(BIG)]).compiled
    assert not _explain(lift(two_ops, compile="auto"), [torch.ones(3, 4)]).compiled  # small: no lift


@pytest.mark.slow
@needs_compile
def test_compiled_regions_give_numpys_results():
    fn = lift(two_ops, compile="auto")
    batches = [torch.randn(BIG) for _ in range(3)]
    compare_calls(two_ops, fn, (batches,))
    compare_calls(two_ops, fn, ([torch.randn(64, 300)],))  # new sizes, same specialization
    assert fn.cache_info().currsize == 1
    assert _explain(fn, batches).compiled


def parts_written_after(W, xs):
    out = []
    for x in xs:
        out.append(np.array(W) * x)
    out[0].fill(7)
    np.add.at(out[1], [0], 5)
    out[1][1] += 3
    return out


def test_writes_into_part_of_a_kept_value_land_in_it():
    """``out[0].fill(7)``: the list is made NumPy first (in place), so the write reaches the
    array the function returns, not a copy made for the statement."""
    W = torch.arange(6.0).reshape(2, 3)
    compare_calls(parts_written_after, lift(parts_written_after), (W, [1.0, 2.0]))
    assert "out = __ll.m(out)\n    out[0].fill(7)" in explain(parts_written_after, W, [1.0, 2.0]).source


def numpy_scalar_total(xs):
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()) * 2)
    return acc


def test_an_accumulator_that_starts_as_a_python_number_is_lowered():
    """``acc`` is 0.0, then a float32 scalar: one lowering serves both forms (a union guard)."""
    xs = [torch.rand(50) for _ in range(4)]
    report = explain(numpy_scalar_total, xs)
    assert report.regions and "type(acc) is float" in report.regions[0].reason, report
    compare_calls(numpy_scalar_total, lift(numpy_scalar_total), (xs,))
    assert type(lift(numpy_scalar_total)([])) is float
