"""Stage 7, the dispatcher: its cache (``cache_info``, ``cache_clear``, hits and misses, the
bound), respecialization when a global the rewrite relies on is rebound, warnings once per
specialization, debug output, ``LOOPLIFT_DISABLE``, ``strict``, and internal errors."""
from __future__ import annotations

import gc
import threading
import warnings
import weakref

import numpy as np
import pytest
import torch

from conftest import BIG, lift
from looplift import LoopliftError, LoopliftWarning, Options, looplift, pipeline
from looplift.dispatch import CacheInfo
from looplift.fuzz.runner import loaded
from looplift.testing import assert_same

pytestmark = pytest.mark.lift("always")  # lifting forced: these tests check lifted code on small CPU inputs


def seed(batches):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a) * 2 + 1)
    return out


def hoistable(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
    return out


def test_cache_info_hits_misses_and_clear():
    fn = lift(hoistable, cache_size=8)
    assert fn.cache_info() == CacheInfo(0, 0, 8, 0)
    W = torch.ones(3)
    fn(W, [1.0])
    assert fn.cache_info() == CacheInfo(0, 1, 8, 1)
    fn(torch.zeros(5), [2.0, 3.0])  # same key: dtype, ndim, size class
    fn(W, [5.0])
    assert fn.cache_info() == CacheInfo(2, 1, 8, 1)
    fn(W.double(), [1.0])  # new dtype
    fn(W.reshape(1, 3), [1.0])  # new ndim
    fn(W, [1])  # new list element type
    fn(W, xs=[1.0])  # keyword instead of positional
    assert fn.cache_info() == CacheInfo(2, 5, 8, 5)
    fn.cache_clear()
    assert fn.cache_info() == CacheInfo(0, 0, 8, 0)
    fn(W, [1.0])
    assert fn.cache_info().misses == 1


def test_cache_is_bounded_and_evicts_the_oldest():
    fn = lift(hoistable, cache_size=2)
    a, b, c = torch.ones(3), torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.int64)
    for t in (a, b, c):
        fn(t, [1.0])
    assert fn.cache_info() == CacheInfo(0, 3, 2, 2)
    fn(c, [1.0])
    fn(b, [1.0])
    assert fn.cache_info().hits == 2
    fn(a, [1.0])  # evicted first: specialized again
    assert fn.cache_info() == CacheInfo(2, 4, 2, 2)


def test_decorated_function_results_do_not_depend_on_cache_state():
    fn = lift(seed, cache_size=1)
    big = [torch.ones(BIG)]
    small = [torch.ones(3, 4)]
    for batches in (big, small, big, small):
        assert_same(seed(batches), fn(batches))
    assert fn.cache_info().currsize == 1


def test_keys_keep_no_tensors_alive():
    fn = lift(seed)
    t = torch.ones(BIG)
    ref = weakref.ref(t)
    fn([t])
    fn(batches=[t])
    del t
    gc.collect()
    assert ref() is None


# --------------------------------------------------------------------------- global guards
MODULE = """import numpy as np


def energy(batches):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a) * 2 + len(out))
    return out
"""


@pytest.fixture
def user_module():
    with loaded(MODULE, "guard") as module:
        yield module


class FakeNumpy:
    """Stands in for ``np`` after the user rebinds it: ``exp`` doubles instead."""

    @staticmethod
    def exp(a):
        return np.asarray(a) * 2


def test_respecializes_when_np_is_rebound(user_module):
    fn = lift(user_module.energy)
    batches = [torch.ones(BIG)]
    first = fn(batches)
    assert fn.cache_info().misses == 1
    assert fn.__looplift__.cache[next(iter(fn.__looplift__.cache))].report.rewritten
    user_module.np = FakeNumpy
    second = fn(batches)
    assert fn.cache_info().misses == 2
    assert_same(user_module.energy(batches), second)
    assert second[0][0, 0] == 4.0 and first[0][0, 0] == np.float32(np.e) * 2
    fn(batches)
    assert fn.cache_info().hits == 1


def test_respecializes_when_a_builtin_is_shadowed(user_module):
    fn = lift(user_module.energy)
    batches = [torch.ones(BIG), torch.ones(BIG)]
    fn(batches)
    user_module.len = lambda x: 100
    result = fn(batches)
    assert fn.cache_info().misses == 2
    assert_same(user_module.energy(batches), result)
    del user_module.len
    assert_same(user_module.energy(batches), fn(batches))


# --------------------------------------------------------------------------- warnings, errors, options
def generator(xs):
    for x in xs:
        yield x


def test_warning_once_per_function_and_message():
    fn = lift(generator)
    with pytest.warns(LoopliftWarning) as record:
        list(fn([1]))
        list(fn([2]))
        list(fn((3,)))  # a new key: a new specialization, but the same warning is not repeated
    assert len(record) == 1
    assert "test_core_dispatch.py" in str(record[0].message)


def test_strict_raises_loopliftError():
    fn = lift(generator, strict=True)
    with pytest.raises(LoopliftError, match="generators"):
        fn([1])


def test_disable_environment_variable(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_DISABLE", "1")
    fn = lift(seed)
    batches = [torch.ones(BIG)]
    assert_same(seed(batches), fn(batches))
    spec = next(iter(fn.__looplift__.cache.values()))
    assert spec.call is seed
    assert "LOOPLIFT_DISABLE" in spec.report.fallback


@pytest.mark.parametrize("how", ["option", "env"])
def test_debug_prints_the_report(how, monkeypatch, capsys):
    if how == "env":
        monkeypatch.setenv("LOOPLIFT_DEBUG", "1")
        fn = lift(seed)
    else:
        fn = lift(seed, debug=True)
    fn([torch.ones(BIG)])
    err = capsys.readouterr().err
    assert "looplift: seed specialized for" in err and "rewritten source:" in err
    fn([torch.ones(BIG)])
    assert capsys.readouterr().err == ""  # only at a new specialization


def test_internal_error_falls_back_with_a_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in looplift")

    monkeypatch.setattr(pipeline, "specialize", broken)
    fn = lift(seed)
    batches = [torch.ones(BIG)]
    with pytest.warns(LoopliftWarning, match="internal error"):
        assert_same(seed(batches), fn(batches))
    with pytest.raises(LoopliftError, match="bug in looplift"):
        lift(seed, strict=True)(batches)


def test_user_exceptions_are_not_rerun():
    """An exception from the rewritten code propagates as it is: the original does not run again."""
    calls = []

    def effectful(batches):
        out = []
        for t in batches:
            calls.append(1)
            out.append(np.exp(t.numpy()))
            raise KeyError("stop")
        return out

    fn = lift(effectful)
    with pytest.raises(KeyError):
        fn([torch.ones(BIG)])
    assert calls == [1]
    assert next(iter(fn.__looplift__.cache.values())).report.changed


def test_options_are_validated():
    with pytest.raises(ValueError):
        looplift(compile="yes")
    with pytest.raises(ValueError):
        looplift(cache_size=0)
    with pytest.raises(TypeError):
        looplift(strict="no")
    assert Options().compile == "auto"


def test_concurrent_first_calls_specialize_once():
    fn = lift(seed)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(fn([torch.ones(BIG)]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert fn.cache_info().misses == 1 and fn.cache_info().currsize == 1
    for r in results:
        assert_same(seed([torch.ones(BIG)]), r)


def test_unchanged_functions_run_the_original_object():
    def nothing_to_do(xs):
        total = 0
        for x in xs:
            total += x
        return total

    fn = lift(nothing_to_do)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LoopliftWarning)
        assert fn([1, 2]) == 3
    spec = next(iter(fn.__looplift__.cache.values()))
    assert spec.call is nothing_to_do and not spec.report.changed
