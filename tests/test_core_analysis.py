"""Stage 4, ``looplift.analysis.infer``, through ``explain`` reports: which conversions are lifted,
which operations are rewritten, where values are materialized and why things are left alone.

Reports are read by line offset from the ``def`` line of each function (``_at``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import BIG, lift
from looplift import Report
from looplift import explain as _explain
from looplift.lattice import ArrayV, ListV, PyScalarV, TensorV, UNBOUND, contains_lifted, demoted, join
from looplift.runtime.compiled import compile_available as torch_compile_available
from looplift.testing import assert_same

pytestmark = pytest.mark.lift("always")  # lifting forced: these tests check lifted code on small CPU inputs

F32 = torch.float32


def big(dtype=torch.float32, requires_grad=False):
    return torch.zeros(BIG, dtype=dtype, requires_grad=requires_grad)


def explain(fn, *args, **kwargs) -> Report:
    """``looplift.explain`` with ``compile=False`` (plain functions get default options)."""
    return _explain(fn if hasattr(fn, "__looplift__") else lift(fn), *args, **kwargs)


def _at(fn, offset: int) -> int:
    """The absolute line ``offset`` lines below ``fn``'s ``def`` line."""
    return fn.__code__.co_firstlineno + offset


def _lines(decisions) -> set[int]:
    return {d.line for d in decisions}


def _whats(decisions, line: int) -> list[str]:
    return [d.what + " " + d.reason for d in decisions if d.line == line]


# --------------------------------------------------------------------------- lifting decisions
def seed(batches):
    out = []
    for t in batches:
        a = t.detach().cpu().numpy()
        out.append(np.exp(a) * 2 + 1)
    return out


def test_seed_lifts_conversion_ops_and_materializes_once_at_return():
    report = explain(seed, [big()])
    assert isinstance(report, Report) and report.fallback is None, report
    conv = _whats(report.rewritten, _at(seed, 3))
    assert any(".detach().cpu().numpy() kept as a tensor" in w for w in conv)
    ops = " ".join(_whats(report.rewritten, _at(seed, 4)))
    for name in ("numpy.exp", "operator.mul", "operator.add"):
        assert name in ops
    assert _lines(report.materialized) == {_at(seed, 5)}  # only the return
    assert "__ll.lift_method(t, 'float32', 2, ('detach', 'cpu'))" in report.source
    assert "out = __ll.m(out)\n    return out" in report.source


def test_cost_model_on_the_cpu_batches_small_items_and_lifts_large_ones(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_LIFT", "auto")
    report = explain(seed, [torch.zeros(3, 4)])  # independent iterations: one batched computation
    assert report.batched and "batched" in report.cost
    report = explain(seed, [torch.zeros(200, 200)])  # stacking would copy what NumPy does as fast
    assert not report.batched and "hoisted" in report.cost and all(".numpy()" in d.what for d in report.rewritten)
    report = _explain(lift(seed, compile="auto"), [torch.zeros(512, 512)])
    assert report.rewritten and ("131072+" in report.cost or not torch_compile_available())


def test_no_tensor_arguments_lift_nothing():
    report = explain(seed, [np.zeros(BIG)])
    assert not report.rewritten and not report.batched


@pytest.mark.parametrize("tensor, reason", [
    (torch.zeros((), dtype=F32), None),  # 0-d
    (big(requires_grad=True), "may require grad"),
    (big(dtype=torch.float16), "is not lifted"),
    (big(dtype=torch.complex64), "is not lifted"),
])
def test_unliftable_conversions_are_reported(tensor, reason):
    def f(t):
        out = []
        for _ in range(2):
            out.append(np.exp(t.numpy()))
        return out

    batches_big = tensor.numel() >= BIG[0] * BIG[1]
    report = explain(f, tensor) if batches_big else explain(f, tensor, )
    assert not any("kept as a tensor" in d.what for d in report.rewritten)
    if reason:
        assert any(reason in d.reason for d in report.skipped), report


def test_zero_d_tensor_among_big_arguments_is_not_lifted():
    def f(t, s):
        return np.exp(t.numpy()), np.exp(s.numpy())

    report = explain(f, big(), torch.tensor(1.0))
    assert any("0-d tensor" in d.reason for d in report.skipped)
    result = lift(f)(big(), torch.tensor(1.0))
    assert_same(f(big(), torch.tensor(1.0)), result)


def test_detach_makes_grad_tensors_liftable():
    def f(t):
        return np.exp(t.detach().numpy())

    report = explain(f, big(requires_grad=True))
    assert any("kept as a tensor" in d.what for d in report.rewritten)


def opaque(x):
    return x


def reads_then_opaque(t):
    a = t.numpy()
    b = np.exp(a)
    c = opaque(b)
    return c


def test_value_reaching_an_opaque_call_is_materialized_there():
    report = explain(reads_then_opaque, big())
    assert _at(reads_then_opaque, 3) in _lines(report.materialized)
    assert "opaque(__ll.m(b))" in report.source or "b = __ll.m(b)" in report.source


def inplace(t):
    a = t.numpy()
    b = np.exp(a)
    b += 1
    return b


def test_inplace_update_demotes_the_name_before_the_statement():
    report = explain(inplace, big())
    assert any("before this line" in d.what for d in report.materialized if d.line == _at(inplace, 3))
    assert "b = __ll.m(b)" in report.source
    assert type(lift(inplace)(big())) is np.ndarray


def captured(t):
    a = np.exp(t.numpy())

    def peek():
        return a

    return peek()


def test_names_captured_by_nested_functions_never_hold_tensors():
    report = explain(captured, big())
    result = lift(captured)(big())
    assert type(result) is np.ndarray
    assert report.fallback is None


def not_in_registry(t):
    a = t.numpy()
    return np.array2string(np.exp(a), threshold=4)


def test_unregistered_function_gets_numpy_operands():
    report = explain(not_in_registry, big())
    assert _at(not_in_registry, 2) in _lines(report.materialized)
    assert "np.array2string(__ll.m(" in report.source
    assert lift(not_in_registry)(big()) == not_in_registry(big())


def test_int_division_keeps_numpy_dtype():
    def f(t):
        a = t.numpy()
        return a / 2, a * 2.5, a // 2, a > 0

    for dtype in (torch.int32, torch.int64, torch.bool):
        t = torch.ones(BIG, dtype=dtype)
        report = explain(f, t)
        assert report.rewritten
        assert_same(f(t), lift(f)(t))


def test_explain_does_not_run_or_cache(capsys):
    calls = []

    @lift
    def f(batches):
        calls.append(1)
        for t in batches:
            print("ran", np.exp(t.numpy()))

    report = explain(f, [big()])
    assert report.rewritten
    assert calls == [] and capsys.readouterr().out == ""
    assert f.cache_info().currsize == 0


def test_explain_uses_the_decorators_options():
    fn = lift(seed, opt_in=True)
    assert not _explain(fn, [big()]).changed
    assert _explain(seed, [big()]).changed  # a plain function: default options
    assert _explain(seed, [big()]).compiled or not torch_compile_available()


def test_explain_rejects_non_functions():
    with pytest.raises(TypeError):
        explain(len, [1])


def test_report_str_lists_decisions_and_source():
    text = str(explain(seed, [big()]))
    assert "rewritten:" in text and "materialized:" in text and "rewritten source:" in text
    assert text.startswith("looplift: seed specialized for (List[Tensor[torch.float32,2d,cpu,grad=False]])")


# --------------------------------------------------------------------------- the lattice
def test_join_keeps_the_lifted_bit():
    lifted = ArrayV(np.dtype("float32"), 2, lifted=True)
    plain = ArrayV(np.dtype("float32"), 2)
    assert join(lifted, plain).lifted
    assert contains_lifted(join(lifted, PyScalarV(int)))
    assert contains_lifted(ListV(join(lifted, PyScalarV(float)), local=True))
    assert not contains_lifted(demoted(join(lifted, PyScalarV(int))))
    assert join(UNBOUND, TensorV()).may_be_unbound


# --------------------------------------------------------------------------- missing materializations
def rebinds_to_opaque(t, flag):
    b = t.numpy() * 2
    if flag:
        b = str(b.shape)
    return b


def test_value_joined_with_opaque_value_is_materialized_at_return():
    assert type(rebinds_to_opaque(big(), False)) is np.ndarray
    assert type(lift(rebinds_to_opaque)(big(), False)) is np.ndarray


def unpack_rows(t):
    a = t.numpy() * 2
    x, y = a
    return x, y


def test_tuple_unpacking_a_lifted_array_materializes():
    t = torch.zeros(2, BIG[0] * BIG[1] // 2)
    assert_same(unpack_rows(t), lift(unpack_rows)(t))


def list_alias(t):
    out = []
    acc = out
    acc.append(t.numpy() * 2)
    return out


def test_list_appended_through_an_alias_is_materialized():
    assert_same(list_alias(big()), lift(list_alias)(big()))
