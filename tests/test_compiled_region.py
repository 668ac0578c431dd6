"""``CompiledRegion``: warm eagerly, compile in the background, measure, choose; never wrong.

The lifecycle tests replace ``torch.compile`` with a recording stand-in (a real compile takes
seconds here); one slow test runs the real thing.
"""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
import torch

from looplift.errors import LoopliftWarning
from looplift.runtime import compiled as compiled_module
from looplift.runtime.compiled import CompiledRegion

FINAL = ("compiled", "eager")


def busy(seconds: float) -> None:
    """CPU work (the region's clock may be the thread's CPU time, which a sleep would not move)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class FakeCompile:
    """A stand-in for ``torch.compile``: records each compile, returns the fast ``kernel``."""

    def __init__(self, kernel, fail: bool = False):
        self.kernel = kernel
        self.fail = fail
        self.calls: list[tuple[bool, str]] = []

    def __call__(self, fn, dynamic):
        self.calls.append((dynamic, threading.current_thread().name))

        def compiled(*args):
            if self.fail:
                raise RuntimeError("no compiler here")
            return self.kernel(*args)

        return compiled


def slow_region(x):
    busy(0.002)
    return x * 2 + 1


def drive(region, make_input, limit: float = 10.0):
    """Call ``region`` until it settles; every result must be right on the way."""
    deadline = time.monotonic() + limit
    while region.state not in FINAL:
        x = make_input()
        assert torch.equal(region(x), x * 2 + 1)
        assert time.monotonic() < deadline, f"still {region.state}"
        time.sleep(0.001)  # let the compile thread run


@pytest.fixture(autouse=True)
def no_quiet_period(monkeypatch):
    monkeypatch.setattr(compiled_module, "QUIET_S", 0.0)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 0.005)
    stand_in = FakeCompile(lambda x: x * 2 + 1)
    monkeypatch.setattr(torch, "compile", stand_in)
    return stand_in


def test_numpy_inputs_keep_the_region_eager():
    calls = []

    def region(x):
        calls.append(type(x))
        return x + 1

    compiled = CompiledRegion(region, "test", measure=True)
    assert compiled(np.ones(2)).tolist() == [2.0, 2.0]
    assert compiled.state == "eager" and calls == [np.ndarray]


def test_the_first_calls_run_eagerly_and_nothing_compiles(fake, monkeypatch):
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 60.0)
    region = CompiledRegion(slow_region, "test", measure=True)
    for _ in range(3):
        assert torch.equal(region(torch.ones(3)), torch.full((3,), 3.0))
    assert region.state == "warming" and fake.calls == []


def test_compiles_in_the_background_for_static_shapes_then_keeps_the_faster(fake):
    region = CompiledRegion(slow_region, "test", measure=True)
    drive(region, lambda: torch.arange(6.0))
    assert fake.calls == [(False, "looplift-compile")]
    assert region.state == "compiled"  # the stand-in skips the 2 ms of busy work
    assert len(region.eager_times) == len(region.compiled_times) == compiled_module.SAMPLES


def test_a_slower_compiled_version_is_dropped(monkeypatch):
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 0.0)
    monkeypatch.setattr(torch, "compile", FakeCompile(lambda x: (busy(0.004), x * 2 + 1)[1]))
    region = CompiledRegion(lambda x: x * 2 + 1, "test", measure=True)
    drive(region, lambda: torch.arange(6.0))
    assert region.state == "eager"


def test_another_shape_runs_eagerly_until_a_dynamic_compile_is_ready(fake):
    region = CompiledRegion(slow_region, "test", measure=True)
    drive(region, lambda: torch.arange(6.0))
    assert region.state == "compiled"
    deadline = time.monotonic() + 10
    while region.dynamic is None:
        x = torch.arange(7.0)  # another shape: never the static graph
        assert torch.equal(region(x), x * 2 + 1)
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert fake.calls == [(False, "looplift-compile"), (True, "looplift-compile")]
    assert torch.equal(region(torch.arange(5.0)), torch.arange(5.0) * 2 + 1)


def test_a_failing_compile_warns_once_and_stays_eager(monkeypatch):
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 0.0)
    monkeypatch.setattr(torch, "compile", FakeCompile(lambda x: x, fail=True))
    region = CompiledRegion(slow_region, "line 7", measure=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(region, lambda: torch.arange(6.0))
        region(torch.arange(6.0))
    assert region.state == "eager"
    messages = [str(w.message) for w in caught if issubclass(w.category, LoopliftWarning)]
    assert len(messages) == 1 and "line 7" in messages[0] and "RuntimeError" in messages[0]


def test_compile_true_compiles_at_the_first_call_in_the_calling_thread(fake):
    region = CompiledRegion(slow_region, "test", measure=False)
    assert torch.equal(region(torch.ones(2)), torch.full((2,), 3.0))
    assert region.state == "compiled"
    assert fake.calls == [(True, threading.current_thread().name)]


def test_a_compiled_call_that_fails_runs_eagerly(monkeypatch):
    stand_in = FakeCompile(lambda x: x, fail=True)
    monkeypatch.setattr(torch, "compile", stand_in)
    region = CompiledRegion(slow_region, "test", measure=False)
    with pytest.warns(LoopliftWarning, match="runs eagerly"):
        assert torch.equal(region(torch.ones(2)), torch.full((2,), 3.0))
    assert region.state == "eager"


def test_the_compile_sees_copies_with_the_callers_strides_and_grad_mode(monkeypatch):
    seen = []

    def recording_compile(fn, dynamic):
        def compiled(x):
            seen.append((x.stride(), x.requires_grad, torch.is_grad_enabled(), x.data_ptr()))
            return x * 2 + 1
        return compiled

    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 0.0)
    monkeypatch.setattr(torch, "compile", recording_compile)
    region = CompiledRegion(slow_region, "test", measure=True)
    x = torch.arange(12.0).reshape(3, 4).t()
    with torch.no_grad():
        region(x)
        region.pending.result(timeout=10)
    stride, grad_flag, grad_mode, pointer = seen[0]
    assert stride == x.stride() and not grad_flag and not grad_mode and pointer != x.data_ptr()


@pytest.mark.slow
def test_real_torch_compile_in_the_background(monkeypatch):
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 0.0)
    region = CompiledRegion(lambda x: (torch.exp(x) * 2 + 1).sum(), "test", measure=True)
    x = torch.ones(64, 64)
    expected = (torch.exp(x) * 2 + 1).sum()
    deadline = time.monotonic() + 300
    while region.state not in FINAL:
        assert torch.allclose(region(x), expected)
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert torch.allclose(region(x), expected)


def test_a_numpy_twin_is_the_baseline_on_numpy_values(fake, monkeypatch):
    """On the CPU the side to beat is the original NumPy code, run on the arrays the tensors
    share; what it returns (NumPy values) may come back in, and compiles as tensors."""
    monkeypatch.setattr(compiled_module, "COMPILE_AFTER_S", 60.0)
    seen = []

    def twin(x):
        seen.append(type(x))
        return x * 2 + 1

    region = CompiledRegion(slow_region, "test", measure=True, numpy_twin=twin)
    out = region(torch.arange(3.0))
    assert isinstance(out, np.ndarray) and out.tolist() == [1.0, 3.0, 5.0]
    again = region(out)  # a NumPy value flowing back in (``acc = f(acc)``)
    assert again.tolist() == [3.0, 7.0, 11.0] and seen == [np.ndarray, np.ndarray]
    assert region.state == "warming"


def test_numpy_values_reach_the_compiled_side_as_tensors(fake):
    region = CompiledRegion(slow_region, "test", measure=True, numpy_twin=lambda x: (busy(0.002), x * 2 + 1)[1])
    deadline = time.monotonic() + 10
    while region.state not in FINAL:
        out = region(np.arange(6.0))
        assert np.array_equal(np.asarray(out), np.arange(6.0) * 2 + 1)
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert region.state == "compiled"
    assert isinstance(region(np.arange(6.0)), torch.Tensor)


def test_settling_is_announced_once_the_choice_is_made(fake):
    settled = []
    region = CompiledRegion(slow_region, "test", measure=True)
    region.on_settle = lambda: settled.append(region.state)
    drive(region, lambda: torch.arange(6.0))
    assert settled == ["compiled"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_compiles_with_a_thread_of_its_own(fake):
    import os

    region = CompiledRegion(slow_region, "test", measure=True)
    region(torch.ones(2))  # starts the compile thread in the parent
    pid = os.fork()
    if pid == 0:  # the child: a new region must still reach its choice
        try:
            child = CompiledRegion(slow_region, "child", measure=True)
            drive(child, lambda: torch.arange(6.0))
            os._exit(0 if child.state == "compiled" else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
