"""Stage 6, ``looplift.codegen``: the rewritten function behaves like the user's own: closures
(late binding, nonlocal writes), globals written, defaults and keyword-only arguments, metadata,
and tracebacks that point at the user's file, line and source text."""
from __future__ import annotations

import inspect
import traceback
import types
import warnings

import numpy as np
import pytest
import torch

from conftest import BIG, lift, line_of
from looplift import LoopliftWarning, explain
from looplift.codegen import build_function
from looplift.errors import Refusal
from looplift.source import load
from looplift.testing import assert_same

pytestmark = pytest.mark.lift("always")  # lifting forced: these tests check lifted code on small CPU inputs

HERE = __file__


def _line_of(text: str) -> int:
    return line_of(HERE, text)


def small_w():
    return torch.arange(6.0).reshape(2, 3)


def _changed(fn, *args, **kwargs) -> bool:
    return explain(fn, *args, **kwargs).changed


# --------------------------------------------------------------------------- closures
def make_late_binding():
    factor = 1

    def scaled(W, xs):
        out = []
        for x in xs:
            out.append(np.sum(W.numpy() * x) * factor)
        return out

    def set_factor(value):
        nonlocal factor
        factor = value

    return scaled, set_factor


def test_closures_bind_late():
    scaled, set_factor = make_late_binding()
    fn = lift(scaled)
    W = small_w()
    assert _changed(fn, W, [1.0])
    assert fn(W, [1.0]) == scaled(W, [1.0])
    set_factor(10)  # after the specialization exists
    assert fn(W, [1.0]) == scaled(W, [1.0]) == [np.float32(150.0)]
    assert fn.cache_info().misses == 1


def make_counter():
    count = 0

    def counted(W, xs):
        nonlocal count
        out = []
        for x in xs:
            count += 1
            out.append(np.sum(W.numpy() * x))
        return out

    return counted, lambda: count


def test_nonlocal_writes_land_in_the_original_cell():
    counted, read = make_counter()
    fn = lift(counted)
    fn(small_w(), [1.0, 2.0])
    assert read() == 2
    fn(small_w(), [1.0])
    assert read() == 3


# --------------------------------------------------------------------------- globals
TOTAL = 0
LOG: list = []


def writes_globals(batches):
    global TOTAL, LATE
    out = []
    for t in batches:
        TOTAL += 1
        LATE = np.exp(t.numpy())
        LOG.append(TOTAL)
        out.append(np.exp(t.numpy()) * 2)
    return out


def test_global_writes_land_in_the_module():
    global TOTAL
    fn = lift(writes_globals)
    batches = [torch.zeros(BIG), torch.ones(BIG)]
    assert _changed(fn, batches)
    TOTAL = 0
    LOG.clear()
    fn(batches)
    assert TOTAL == 2 and LOG == [1, 2]
    assert type(globals()["LATE"]) is np.ndarray and globals()["LATE"][0, 0] == np.float32(np.e)
    assert "__ll" not in globals()  # the runtime reaches the code as a free variable


def reads_global_later(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x) + OFFSET)
    return out


OFFSET = 1.0


def test_global_variables_are_read_at_call_time(monkeypatch):
    fn = lift(reads_global_later)
    W = small_w()
    assert fn(W, [1.0]) == reads_global_later(W, [1.0])
    monkeypatch.setitem(globals(), "OFFSET", 100.0)
    assert fn(W, [1.0]) == reads_global_later(W, [1.0])


# --------------------------------------------------------------------------- signature details
def defaults(W, xs=(1.0, 2.0), scale=2, *rest, shift=0.5, clip=None, **extra):
    """Docstring kept."""
    out = []
    for x in xs:
        v = np.sum(W.numpy() * x) * scale + shift + sum(rest) + len(extra)
        out.append(v if clip is None else min(v, clip))
    return out


def test_defaults_and_keyword_only_arguments():
    fn = lift(defaults)
    W = small_w()
    assert _changed(fn, W)
    for args, kwargs in [((W,), {}), ((W, [3.0]), {}), ((W, [1.0], 3, 4.0), {"shift": 1.0}),
                         ((W,), {"clip": 5.0, "other": 1}), ((W,), {"xs": [2.0], "scale": 1})]:
        assert_same(defaults(*args, **kwargs), fn(*args, **kwargs))
    with pytest.raises(TypeError):
        fn()
    with pytest.raises(TypeError):
        fn(W, bogus=1, **{"xs": [1.0]}, scale=1, **{"scale": 2})


def test_metadata_is_preserved():
    fn = lift(defaults)
    assert fn.__name__ == "defaults" and fn.__qualname__ == "defaults"
    assert fn.__doc__ == "Docstring kept."
    assert fn.__module__ == __name__
    assert inspect.signature(fn) == inspect.signature(defaults)
    fn(small_w())
    spec = next(iter(fn.__looplift__.cache.values()))
    rewritten = spec.call
    assert rewritten is not defaults
    assert rewritten.__defaults__ == defaults.__defaults__
    assert rewritten.__kwdefaults__ == defaults.__kwdefaults__
    assert rewritten.__name__ == "defaults" and rewritten.__doc__ == "Docstring kept."
    assert rewritten.__globals__ is defaults.__globals__
    assert rewritten.__code__.co_filename == HERE


class Scaler:
    def __init__(self, k):
        self.k = k

    @lift
    def apply(self, W, xs):
        out = []
        for x in xs:
            out.append(np.sum(W.numpy() * x) * self.k)
        return out

    @lift
    @staticmethod
    def static(W, xs):
        return [np.sum(W.numpy() * x) for x in xs]

    @lift
    @classmethod
    def klass(cls, W, xs):
        return [np.sum(W.numpy() * x) * cls.__name__.count("S") for x in xs]


def test_methods_bind_like_the_original():
    W = small_w()
    s = Scaler(3)
    assert s.apply(W, [1.0]) == [np.float32(45.0)]
    assert Scaler.static(W, [1.0]) == s.static(W, [1.0]) == [np.float32(15.0)]
    assert Scaler.klass(W, [1.0]) == [np.float32(15.0)]
    assert explain(Scaler.apply, s, W, [1.0]).changed


class Base:
    def total(self, W, xs):
        return 0


class UsesSuper(Base):
    def total(self, W, xs):
        out = super().total(W, xs)
        for x in xs:
            out += np.sum(W.numpy() * x)
        return out


def test_zero_argument_super():
    """Either rewritten with a working ``__class__`` cell, or run as the original with a warning."""
    UsesSuper.total_lifted = lift(UsesSuper.total)
    obj = UsesSuper()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", LoopliftWarning)
        assert obj.total_lifted(small_w(), [1.0, 2.0]) == obj.total(small_w(), [1.0, 2.0])
    report = next(iter(UsesSuper.total_lifted.__looplift__.cache.values())).report
    if report.fallback:
        assert "super" in report.fallback and record


# --------------------------------------------------------------------------- tracebacks
def raises_in_loop(batches):
    out = []
    for x, t in enumerate(batches):
        out.append(np.exp(t.numpy()))
        if x > 0:
            raise ValueError(f"x too large: {x}")  # MARK-raise-line
    return out


def raises_in_lifted_code(batches, other):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(a @ other)  # MARK-matmul-line
    return out


def _last_user_frame(exc: BaseException) -> traceback.FrameSummary:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == HERE]
    return frames[-1]


def test_traceback_points_at_the_users_line():
    fn = lift(raises_in_loop)
    batches = [torch.zeros(BIG), torch.ones(BIG)]
    assert _changed(fn, batches)
    with pytest.raises(ValueError, match="too large") as info:
        fn(batches)
    frame = _last_user_frame(info.value)
    assert frame.name == "raises_in_loop"
    assert frame.lineno == _line_of("MARK-raise-line")
    assert frame.line is not None and 'raise ValueError(f"x too large: {x}")' in frame.line


def test_traceback_from_lifted_operation_points_at_the_users_line():
    fn = lift(raises_in_lifted_code)
    batches = [torch.ones(BIG)]
    other = np.ones((3, 3), dtype=np.float32)  # shapes do not match: NumPy raises
    assert explain(fn, batches, other).rewritten
    with pytest.raises(ValueError) as expected:
        raises_in_lifted_code(batches, other)
    with pytest.raises(type(expected.value)) as info:
        fn(batches, other)
    frame = _last_user_frame(info.value)
    assert frame.name == "raises_in_lifted_code"
    assert frame.lineno == _line_of("MARK-matmul-line")
    assert "out.append(a @ other)" in frame.line


# --------------------------------------------------------------------------- build_function directly
def _plain(a, b=2, *, c=3):
    return a + b + c + d_free


d_free = 0


def test_build_function_from_a_tree():
    loaded = load(_plain)
    tree = loaded.node
    rebuilt = build_function(tree, loaded.filename, _plain, {"__ll": types.SimpleNamespace()})
    assert rebuilt(1) == _plain(1) == 6
    assert rebuilt(1, c=0) == 3
    assert rebuilt.__code__.co_firstlineno == tree.lineno


def test_build_function_refuses_reserved_names():
    def outer():
        __ll = 1

        def inner(x):
            return x + __ll
        return inner

    inner = outer()
    loaded = load(inner)
    with pytest.raises(Refusal, match="reserved"):
        build_function(loaded.node, loaded.filename, inner, {"__ll": object()})


def test_unbound_free_variables_keep_raising_nameerror():
    def outer():
        def inner(W, xs):
            out = []
            for x in xs:
                out.append(np.sum(W.numpy() * x) + later)
            return out
        fn = lift(inner)
        return fn
        later = 1  # noqa: F841 - never assigned: the cell stays empty

    fn = outer()
    with pytest.raises(NameError):
        fn(small_w(), [1.0])
