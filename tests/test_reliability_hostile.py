"""Hostile and odd things to decorate or call, each with its documented outcome.

| What                                         | Outcome                                                   |
|----------------------------------------------|-----------------------------------------------------------|
| a builtin, a ``functools.partial``           | returned unchanged, ``LoopliftWarning`` when decorated     |
|                                              | (``LoopliftError`` under ``strict=True``)                  |
| a class                                      | ``TypeError`` when decorated                              |
| a lambda, a generator, an async function,    | decorated; at the first call of a signature the original  |
| a function from ``exec`` (no source), a      | runs, with one ``LoopliftWarning`` naming the reason      |
| function already wrapped (``functools.wraps``)| (``LoopliftError`` under ``strict=True``)                 |
| methods (bound and unbound), staticmethod,   | rewritten like functions; either decorator order works    |
| classmethod                                  |                                                           |
| a recursive function                         | rewritten; the recursive call reads the module global     |
|                                              | (the decorated function when decorated with ``@``)        |
| globals changed after the first call         | the decorated function sees the new ``np`` / helper       |
| source file changed on disk after import     | the imported code runs, never the new text                |
| ``LOOPLIFT_DISABLE=1``                        | the original runs, no warning; read when a signature is   |
|                                              | specialized (a specialization made while it was set stays) |
| ``LOOPLIFT_DEBUG=1``                          | each new specialization's report goes to stderr           |
"""
from __future__ import annotations

import asyncio
import functools
import importlib
import os
import sys
import time
import warnings

import numpy as np
import pytest
import torch

from looplift import LoopliftError, LoopliftWarning, looplift
from looplift.fuzz.runner import loaded
from looplift.testing import assert_same, clone, compare_calls

BIG = 20000


@pytest.fixture(autouse=True)
def lift_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift whatever the size: on the CPU the cost model lifts only list items of
    ``LARGE_NUMEL``+ elements, and these tests are about the rewritten code."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")

SOURCE = '''
import functools

import numpy as np

from looplift import looplift


def helper(x):
    return x + 1


def uses_globals(xs):
    out = []
    for t in xs:
        a = t.numpy()
        out.append(helper(np.sum(np.exp(a))))
    return out


def gen(xs):
    for t in xs:
        yield np.sum(np.exp(t.numpy()))


async def coro(xs):
    out = []
    for t in xs:
        out.append(np.sum(np.exp(t.numpy())))
    return out


def other_decorator(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(*args, **kwargs)
    return inner


@looplift(compile=False)
@other_decorator
def wrapped_inside(xs):
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()))
    return acc


@other_decorator
@looplift(compile=False)
def wrapped_outside(xs):
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()))
    return acc


def recursive(xs, n):
    if n == 0:
        return 0.0
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()))
    return acc + recursive(xs, n - 1)


class Model:
    def __init__(self, scale):
        self.scale = scale

    @looplift(compile=False)
    def method(self, xs):
        acc = 0.0
        for t in xs:
            acc = acc + np.sum(np.exp(t.numpy())) * self.scale
        return acc

    @looplift(compile=False)
    @staticmethod
    def static_outer(xs):
        return [np.sum(np.exp(t.numpy())) for t in xs]

    @staticmethod
    @looplift(compile=False)
    def static_inner(xs):
        acc = 0.0
        for t in xs:
            acc = acc + np.sum(np.exp(t.numpy()))
        return acc

    @looplift(compile=False)
    @classmethod
    def class_outer(cls, xs):
        acc = 0.0
        for t in xs:
            acc = acc + np.sum(np.exp(t.numpy())) * cls.factor
        return acc

    @classmethod
    @looplift(compile=False)
    def class_inner(cls, xs):
        acc = 0.0
        for t in xs:
            acc = acc + np.sum(np.exp(t.numpy())) * cls.factor
        return acc

    factor = 3.0


def plain(xs):
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()) * 2)
    return acc
'''

EXEC_SOURCE = '''
def from_exec(xs):
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()))
    return acc
'''


@pytest.fixture
def module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoopliftWarning)
        with loaded(SOURCE, "hostile") as mod:
            yield mod


def big(n: int = 2) -> list[torch.Tensor]:
    return [torch.rand(BIG) for _ in range(n)]


def small(n: int = 2) -> list[torch.Tensor]:
    return [torch.rand(4) for _ in range(n)]


def _warnings_of(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [str(w.message) for w in caught if issubclass(w.category, LoopliftWarning)]


def _rewritten(decorated, original) -> bool:
    return any(spec.call is not original for spec in decorated.__looplift__.cache.values())


# ------------------------------------------------------------------ not Python functions
@pytest.mark.parametrize("target", [len, np.sum, functools.partial(max, 0), torch.Tensor.numpy],
                         ids=["builtin", "numpy-function", "partial", "method-descriptor"])
def test_non_functions_are_returned_unchanged_with_a_warning(target) -> None:
    with pytest.warns(LoopliftWarning, match="not a Python function"):
        decorated = looplift(target)
    assert decorated is target
    with pytest.raises(LoopliftError, match="not a Python function"):
        looplift(strict=True)(target)


def test_partial_of_a_python_function_runs_unchanged(module) -> None:
    part = functools.partial(module.plain)
    with pytest.warns(LoopliftWarning):
        decorated = looplift(compile=False)(part)
    xs = big()
    assert decorated(xs) == module.plain(xs)


def test_a_class_is_a_type_error(module) -> None:
    with pytest.raises(TypeError, match="not classes"):
        looplift(module.Model)
    with pytest.raises(TypeError, match="not classes"):
        looplift(strict=True)(module.Model)


def test_a_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs a function"):
        looplift(42)


# ------------------------------------------------------------------ functions without a rewrite
def test_lambda_runs_as_the_original_with_a_warning() -> None:
    fn = lambda xs: [np.sum(np.exp(t.numpy())) for t in xs]  # noqa: E731
    decorated = looplift(compile=False)(fn)
    xs = big()
    result, notes = _warnings_of(decorated, xs)
    assert_same(fn(clone(xs)), result)
    assert any("lambda" in n for n in notes), notes
    _, again = _warnings_of(decorated, xs)
    assert again == [], "the warning is once per specialization"
    with pytest.raises(LoopliftError, match="lambda"):
        looplift(compile=False, strict=True)(fn)(xs)


def test_generator_function(module) -> None:
    decorated = looplift(compile=False)(module.gen)
    xs = big()
    result, notes = _warnings_of(lambda v: list(decorated(v)), xs)
    assert_same(list(module.gen(xs)), result)
    assert any("generator" in n for n in notes), notes
    with pytest.raises(LoopliftError):
        list(looplift(compile=False, strict=True)(module.gen)(xs))


def test_async_function(module) -> None:
    decorated = looplift(compile=False)(module.coro)
    xs = big()
    result, notes = _warnings_of(lambda v: asyncio.run(decorated(v)), xs)
    assert_same(asyncio.run(module.coro(xs)), result)
    assert any("async" in n for n in notes), notes


def test_function_from_exec_has_no_source() -> None:
    namespace = {"np": np, "__name__": "made_by_exec"}
    exec(compile(EXEC_SOURCE, "<generated>", "exec"), namespace)
    fn = namespace["from_exec"]
    decorated = looplift(compile=False)(fn)
    xs = big()
    result, notes = _warnings_of(decorated, xs)
    assert_same(fn(xs), result)
    assert any("no source" in n for n in notes), notes
    assert not _rewritten(decorated, fn)
    with pytest.raises(LoopliftError, match="no source"):
        looplift(compile=False, strict=True)(fn)(xs)


def test_already_wrapped_function_runs_as_the_original(module) -> None:
    xs = big()
    result, notes = _warnings_of(module.wrapped_inside, xs)
    assert_same(module.wrapped_inside.__wrapped__(clone(xs)), result)
    assert any("wrapped" in n for n in notes), notes


def test_looplift_under_another_decorator_is_rewritten(module) -> None:
    xs = big()
    inner = module.wrapped_outside.__wrapped__
    assert_same(inner.__wrapped__(clone(xs)), module.wrapped_outside(xs), scale=BIG)
    assert _rewritten(inner, inner.__wrapped__)


# ------------------------------------------------------------------ methods
@pytest.mark.parametrize("xs", [big(), small()], ids=["large", "small"])
def test_methods_bound_and_unbound(module, xs) -> None:
    model = module.Model(2.0)
    original = module.Model.method.__wrapped__
    expected = original(model, clone(xs))
    assert_same(expected, model.method(clone(xs)), scale=BIG)
    assert_same(expected, module.Model.method(model, clone(xs)), scale=BIG)


@pytest.mark.parametrize("name", ["static_outer", "static_inner", "class_outer", "class_inner"])
@pytest.mark.parametrize("xs", [big(), small()], ids=["large", "small"])
def test_staticmethod_and_classmethod_in_either_order(module, name: str, xs) -> None:
    raw = module.Model.__dict__[name]
    assert isinstance(raw, (staticmethod, classmethod))
    inner = raw.__func__
    original = getattr(inner, "__wrapped__", inner)
    expected = original(module.Model, clone(xs)) if isinstance(raw, classmethod) else original(clone(xs))
    via_class = getattr(module.Model, name)(clone(xs))
    via_instance = getattr(module.Model(1.0), name)(clone(xs))
    assert_same(expected, via_class, scale=BIG)
    assert_same(expected, via_instance, scale=BIG)


# ------------------------------------------------------------------ recursion, globals, source
def test_recursive_function(module) -> None:
    original = module.recursive
    decorated = looplift(compile=False)(original)
    module.recursive = decorated  # the recursive call goes through the decorated function
    try:
        for xs in (big(), small()):
            assert_same(original.__call__(clone(xs), 0), decorated(clone(xs), 0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LoopliftWarning)
                got = decorated(clone(xs), 3)
            module.recursive = original
            expected = original(clone(xs), 3)
            module.recursive = decorated
            assert_same(expected, got, scale=BIG)
    finally:
        module.recursive = original


def test_global_helper_replaced_after_the_first_call(module) -> None:
    decorated = looplift(compile=False)(module.uses_globals)
    xs = big()
    compare_calls(module.uses_globals, decorated, (xs,))
    saved = module.helper
    module.helper = lambda x: ("replaced", type(x).__name__)
    try:
        compare_calls(module.uses_globals, decorated, (xs,))
        assert decorated(xs)[0][0] == "replaced"
    finally:
        module.helper = saved


def test_numpy_rebound_in_the_module_after_the_first_call(module) -> None:
    decorated = looplift(compile=False)(module.uses_globals)
    xs = big()
    compare_calls(module.uses_globals, decorated, (xs,))

    class FakeNumPy:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def exp(a):
            return np.full(np.shape(a), 2.0)

    module.np = FakeNumPy()
    try:
        compare_calls(module.uses_globals, decorated, (xs,))
        assert decorated(xs)[0] == 2.0 * BIG + 1
        assert decorated.cache_info().misses >= 2, "a rebound global must not reuse the old rewrite"
    finally:
        module.np = np


@pytest.mark.parametrize("change", ["same-lines", "longer-body", "lines-shifted", "renamed"])
def test_source_changed_on_disk_after_import(tmp_path, change: str) -> None:
    old = "import numpy as np\n\n\ndef f(xs):\n    acc = 0.0\n    for t in xs:\n" \
          "        acc = acc + np.sum(t.numpy() * 1)\n    return acc\n"
    new = {
        "same-lines": old.replace("* 1)", "* 7)"),
        "longer-body": old.replace("    return acc", "    acc = acc * 100\n    return acc"),
        "lines-shifted": old.replace("import numpy as np", "import numpy as np\n# a new comment"),
        "renamed": old.replace("def f(", "def g(xs):\n    return 5\n\n\ndef f("),
    }[change]
    name = f"changed_on_disk_{change.replace('-', '_')}_{os.getpid()}"
    path = tmp_path / f"{name}.py"
    path.write_text(old)
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
    decorated = looplift(compile=False)(mod.f)
    path.write_text(new)
    stamp = time.time() + 10
    os.utime(path, (stamp, stamp))
    for xs in (big(), small()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LoopliftWarning)
            compare_calls(mod.f, decorated, (xs,))
    sys.modules.pop(name, None)


# ------------------------------------------------------------------ strict, environment
def test_strict_raises_where_the_default_warns(module) -> None:
    """A line left as NumPy (an opaque operand) warns by default, raises under strict."""
    xs = big()
    default = looplift(compile=False)(module.Model.method.__wrapped__)
    _, notes = _warnings_of(default, module.Model(2.0), xs)
    strict = looplift(compile=False, strict=True)(module.Model.method.__wrapped__)
    if notes:
        with pytest.raises(LoopliftError):
            strict(module.Model(2.0), xs)
    else:  # looplift learned to lift it: strict must then be silent too
        strict(module.Model(2.0), xs)
    # something that always falls back
    with pytest.raises(LoopliftError):
        looplift(compile=False, strict=True)(module.gen)(xs)


def test_looplift_disable(module, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPLIFT_DISABLE", "1")
    decorated = looplift(compile=False)(module.plain)
    xs = big()
    result, notes = _warnings_of(decorated, xs)
    assert_same(module.plain(xs), result)
    assert notes == []
    spec = next(iter(decorated.__looplift__.cache.values()))
    assert spec.call is module.plain and spec.report.fallback == "LOOPLIFT_DISABLE is set"
    # read when a signature is specialized: the cached specialization stays the original
    monkeypatch.delenv("LOOPLIFT_DISABLE")
    decorated(xs)
    assert not _rewritten(decorated, module.plain)
    decorated.cache_clear()
    decorated(xs)
    assert _rewritten(decorated, module.plain)


def test_looplift_debug(module, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("LOOPLIFT_DEBUG", "1")
    decorated = looplift(compile=False)(module.plain)
    xs = big()
    assert_same(module.plain(xs), decorated(xs), scale=BIG)
    err = capsys.readouterr().err
    assert "looplift: plain specialized for" in err
    assert "rewritten source:" in err and "__ll." in err
    decorated(xs)  # a cache hit prints nothing
    assert capsys.readouterr().err == ""
    decorated(small())  # a new signature prints its own report
    assert "specialized for" in capsys.readouterr().err
