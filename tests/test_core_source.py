"""Stage 1, ``looplift.source.load``: the function's tree with absolute line numbers, and the
refusals (lambdas, builtins, generators, async, wrapped functions, missing or changed source)."""
from __future__ import annotations

import ast
import functools
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import line_of
from looplift import LoopliftError, LoopliftWarning, looplift
from looplift.errors import Refusal
from looplift.fuzz.runner import loaded
from looplift.source import FunctionSource, load
from looplift.testing import assert_same

HERE = __file__


def _line_of(text: str) -> int:
    return line_of(HERE, text)


def module_level(xs):
    total = 0
    for x in xs:  # MARK-module-level-loop
        total += x
    return total


def test_load_module_level_function():
    loaded = load(module_level)
    assert isinstance(loaded, FunctionSource)
    assert isinstance(loaded.node, ast.FunctionDef) and loaded.node.name == "module_level"
    assert loaded.filename == HERE
    assert loaded.first_line == module_level.__code__.co_firstlineno
    assert loaded.node.lineno == _line_of("def module_level(xs):")
    loop = loaded.node.body[1]
    assert isinstance(loop, ast.For)
    assert loop.lineno == _line_of("MARK-module-level-loop")
    assert loaded.text.startswith("def module_level(xs):")


def test_load_nested_function_is_dedented_with_absolute_lines():
    def inner(a):
        b = a + 1  # MARK-inner-body
        return b

    loaded = load(inner)
    assert loaded.text.startswith("def inner(a):")  # dedented
    assert loaded.node.lineno == _line_of("def inner(a):")
    assert loaded.node.body[0].lineno == _line_of("MARK-inner-body")
    # every node carries an absolute line, end lines included
    for node in ast.walk(loaded.node):
        if hasattr(node, "lineno"):
            assert node.lineno >= loaded.node.lineno
            assert node.end_lineno <= _line_of("MARK-inner-body") + 1


@looplift(compile=False)
def decorated_fn(xs):
    return [x for x in xs]  # MARK-decorated-body


def test_load_decorated_function_points_at_the_def_line():
    loaded = load(decorated_fn.__looplift__.fn)
    assert loaded.first_line == _line_of("@looplift(compile=False)")
    assert loaded.node.lineno == _line_of("def decorated_fn(xs):")
    assert loaded.node.body[0].lineno == _line_of("MARK-decorated-body")
    assert len(loaded.node.decorator_list) == 1


class Holder:
    def method(self, xs):
        return len(xs)  # MARK-method

    @staticmethod
    def static(xs):
        return xs

    @classmethod
    def klass(cls, xs):
        return xs


def test_load_methods_static_and_class_methods():
    assert load(Holder.method).node.body[0].lineno == _line_of("MARK-method")
    assert load(Holder.__dict__["static"]).node.name == "static"
    assert load(Holder.__dict__["klass"]).node.name == "klass"


def test_load_does_not_mutate_between_calls():
    first = load(module_level)
    second = load(module_level)
    assert ast.dump(first.node) == ast.dump(second.node)
    assert first.node is not second.node


# --------------------------------------------------------------------------- refusals
def _refusal(fn) -> str:
    with pytest.raises(Refusal) as info:
        load(fn)
    return info.value.reason


def test_refuses_lambda():
    assert "lambda" in _refusal(lambda x: x)


@pytest.mark.parametrize("fn", [len, np.exp, torch.exp, np.sum, functools.partial(module_level)],
                         ids=["len", "np.exp", "torch.exp", "np.sum", "partial"])
def test_refuses_objects_without_python_source(fn):
    assert "no Python source" in _refusal(fn)


def test_refuses_generators_and_async():
    def gen(xs):
        for x in xs:
            yield x

    async def coro(xs):
        return xs

    async def agen(xs):
        for x in xs:
            yield x

    for fn in (gen, coro, agen):
        assert "generators and async" in _refusal(fn)


def test_refuses_functions_wrapped_by_another_decorator():
    def deco(f):
        @functools.wraps(f)
        def wrapper(*a, **k):
            return f(*a, **k)
        return wrapper

    @deco
    def inner(xs):
        return xs

    assert "already wrapped" in _refusal(inner)


def test_refuses_functions_without_source():
    namespace: dict = {}
    exec("def made(xs):\n    return xs\n", namespace)
    assert "no source available" in _refusal(namespace["made"])


MODULE_TEXT = """import numpy as np


def f(ts):
    out = []
    for t in ts:
        out.append(np.exp(t.numpy()) + 1)
    return out
"""


@pytest.fixture
def edited_module():
    """A module imported from a file of its own; the test edits the file afterwards."""
    with loaded(MODULE_TEXT, "edited") as module:
        yield Path(module.__file__), module


def test_refuses_source_moved_after_definition(edited_module):
    path, module = edited_module
    assert load(module.f).node.lineno == 4
    path.write_text("# two new lines\n\n" + MODULE_TEXT)
    assert "changed" in _refusal(module.f)


def test_refuses_source_edited_after_definition(edited_module):
    """Same line layout, different code: rewriting the new text would run code the user never
    imported (the module docstring of looplift.source promises a refusal)."""
    path, module = edited_module
    path.write_text(MODULE_TEXT.replace("+ 1)", "+ 1000)"))
    assert "changed" in _refusal(module.f)


def test_edited_source_never_changes_results(edited_module):
    path, module = edited_module
    decorated = looplift(module.f, compile=False)
    path.write_text(MODULE_TEXT.replace("+ 1)", "+ 1000)"))
    batches = [torch.zeros(128, 128)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoopliftWarning)
        result = decorated(batches)
    assert_same(module.f(batches), result)


def test_decorator_falls_back_for_refused_sources():
    """The decorated function still works and warns once, naming the reason."""
    def gen(xs):
        for x in xs:
            yield x * 2

    wrapped = looplift(gen, compile=False)
    with pytest.warns(LoopliftWarning, match="generators and async"):
        assert list(wrapped([1, 2])) == [2, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error", LoopliftWarning)
        assert list(wrapped([3])) == [6]  # same specialization: no second warning


def test_decorator_strict_raises_for_refused_sources():
    async def coro(xs):
        return xs

    with pytest.raises(LoopliftError, match="generators and async"):
        looplift(coro, strict=True)([1])


def test_decorating_non_functions():
    with pytest.warns(LoopliftWarning, match="not a Python function"):
        assert looplift(len) is len
    with pytest.raises(LoopliftError):
        looplift(len, strict=True)
    with pytest.raises(TypeError, match="classes"):
        looplift(Holder)
    with pytest.raises(TypeError, match="needs a function"):
        looplift(3)
    lam = looplift(lambda x: x + 1, compile=False)
    with pytest.warns(LoopliftWarning, match="lambdas"):
        assert lam(1) == 2
