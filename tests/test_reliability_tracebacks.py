"""Tracebacks from rewritten code point at the user's file, line and source text."""
from __future__ import annotations

import traceback
import warnings

import numpy as np
import pytest
import torch

from looplift import looplift
from looplift.fuzz.runner import loaded

SOURCE = '''
import numpy as np


def helper(v):
    raise KeyError("from the helper")


def raises_mid_loop(xs, k):
    out = []
    for i, t in enumerate(xs):
        a = t.numpy()
        b = np.exp(a) * 2 + 1
        if i == k:
            raise ValueError("stop at " + str(i))
        out.append(np.sum(b))
    return out


def raises_in_numpy(xs):
    total = 0
    for t in xs:
        a = t.numpy()
        total = total + np.power(a, -1)
    return total


def raises_in_helper(xs):
    out = []
    for t in xs:
        a = t.numpy()
        out.append(helper(np.sqrt(a)))
    return out


def raises_after_hoist(xs, w):
    out = []
    for t in xs:
        v = w.numpy()
        out.append(v + t.numpy())
        if len(out) == 2:
            raise IndexError  # no call: calls could modify w, which keeps the conversion in the loop
    return out
'''

BIG = 20000


@pytest.fixture(autouse=True)
def lift_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift whatever the size: on the CPU the cost model lifts only list items of
    ``LARGE_NUMEL``+ elements, and these tests are about the rewritten code."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")


def _line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def _frame(exc: BaseException, name: str) -> traceback.FrameSummary:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.name == name]
    assert frames, f"no frame of {name} in\n{''.join(traceback.format_exception(exc))}"
    return frames[-1]


@pytest.fixture
def module():
    with loaded(SOURCE, "tracebacks") as mod:
        yield mod


def _call(decorated, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:
            decorated(*args)
    return info.value


def _assert_points_at(exc: BaseException, module, function: str, text: str) -> None:
    line = _line_of(SOURCE, text)
    frame = _frame(exc, function)
    assert frame.filename == module.__file__
    assert frame.lineno == line
    assert frame.line is not None and text in frame.line
    rendered = "".join(traceback.format_exception(exc))
    assert f'File "{module.__file__}", line {line}, in {function}' in rendered
    assert text in rendered


def _rewritten(decorated, original) -> bool:
    return any(spec.call is not original for spec in decorated.__looplift__.cache.values())


@pytest.mark.parametrize("n", [BIG, 5], ids=["lifted", "small"])
def test_raise_statement_in_a_rewritten_loop(module, n: int) -> None:
    decorated = looplift(compile=False)(module.raises_mid_loop)
    xs = [torch.rand(n) for _ in range(3)]
    exc = _call(decorated, xs, 1)
    assert type(exc) is ValueError and str(exc) == "stop at 1"
    if n == BIG:
        assert _rewritten(decorated, module.raises_mid_loop)
    _assert_points_at(exc, module, "raises_mid_loop", 'raise ValueError("stop at " + str(i))')


def test_numpy_error_inside_a_lifted_operation(module) -> None:
    """A registry op that NumPy must run (integer power, negative exponent) raises NumPy's error
    at the user's line."""
    decorated = looplift(compile=False)(module.raises_in_numpy)
    xs = [torch.arange(BIG, dtype=torch.int64) + 1 for _ in range(2)]
    expected = _call(module.raises_in_numpy, xs)
    exc = _call(decorated, xs)
    assert type(exc) is type(expected) and str(exc) == str(expected)
    _assert_points_at(exc, module, "raises_in_numpy", "total = total + np.power(a, -1)")


def test_error_raised_by_an_opaque_helper(module) -> None:
    decorated = looplift(compile=False)(module.raises_in_helper)
    exc = _call(decorated, [torch.rand(BIG) for _ in range(2)])
    assert type(exc) is KeyError
    _assert_points_at(exc, module, "raises_in_helper", "out.append(helper(np.sqrt(a)))")
    _assert_points_at(exc, module, "helper", 'raise KeyError("from the helper")')


def test_error_after_a_hoisted_conversion(module) -> None:
    decorated = looplift(compile=False)(module.raises_after_hoist)
    for n in (BIG, 5):
        exc = _call(decorated, [torch.rand(n) for _ in range(3)], torch.rand(n))
        assert type(exc) is IndexError
        _assert_points_at(exc, module, "raises_after_hoist", "raise IndexError  # no call")
    reports = [spec.report for spec in decorated.__looplift__.cache.values()]
    assert any(r.hoisted for r in reports), [str(r) for r in reports]


def test_traceback_has_no_duplicate_user_frame(module) -> None:
    """The rewritten function replaces the original; it is not called in addition to it."""
    decorated = looplift(compile=False)(module.raises_mid_loop)
    exc = _call(decorated, [torch.rand(BIG) for _ in range(3)], 0)
    names = [f.name for f in traceback.extract_tb(exc.__traceback__)]
    assert names.count("raises_mid_loop") == 1, names
    assert np  # NumPy stays importable alongside (keeps the import used)
