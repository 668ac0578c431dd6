"""Memory: the cache is bounded, keeps no tensors alive, and dies with the decorated function."""
from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

from looplift import looplift
from looplift.fuzz.runner import loaded

SOURCE = '''
import numpy as np


def total(xs, extra=None):
    acc = 0.0
    for t in xs:
        a = t.detach().cpu().numpy()
        acc = acc + float(np.sum(np.abs(a) + 1))
    return acc
'''

BIG = 20000


@pytest.fixture(autouse=True)
def lift_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift whatever the size: on the CPU the cost model lifts only list items of
    ``LARGE_NUMEL``+ elements, and these tests are about the rewritten code."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")


@pytest.fixture
def module():
    with loaded(SOURCE, "memory") as mod:
        yield mod


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _collect() -> None:
    for _ in range(3):
        gc.collect()


def test_cache_is_bounded_by_cache_size(module) -> None:
    decorated = looplift(compile=False, cache_size=3)(module.total)
    dtypes = [torch.float32, torch.float64, torch.int32, torch.int64, torch.int16, torch.uint8]
    for dtype in dtypes:
        xs = [torch.ones(4, dtype=dtype)]
        assert decorated(xs) == module.total(xs)
    info = decorated.cache_info()
    assert info.misses == len(dtypes)
    assert info.currsize == 3 and info.maxsize == 3
    assert len(decorated.__looplift__.cache) == 3


def test_many_signatures_never_grow_the_cache_beyond_the_default_bound(module) -> None:
    """200 distinct signatures (an opaque argument of 200 classes): the cache stays at 64."""
    decorated = looplift(compile=False)(module.total)
    xs = [torch.ones(3)]
    classes = [type(f"Opaque{i}", (), {}) for i in range(200)]
    sizes = []
    for cls in classes:
        assert decorated(xs, cls()) == module.total(xs)
        sizes.append(decorated.cache_info().currsize)
    assert max(sizes) == 64 == decorated.cache_info().maxsize
    assert decorated.cache_info().misses == 200
    # the oldest signatures were evicted: calling the first again is a miss
    decorated(xs, classes[0]())
    assert decorated.cache_info().misses == 201


def test_keys_hold_no_tensors(module) -> None:
    decorated = looplift(compile=False)(module.total)
    for n in (BIG, 5):  # two size classes: two specializations
        t = torch.rand(n)
        w = torch.rand(n)
        ref_t, ref_w = weakref.ref(t), weakref.ref(w)
        assert decorated([t], extra=w) == pytest.approx(module.total([t], extra=w))
        del t, w
        _collect()
        assert ref_t() is None, "an input tensor is kept alive after the call"
        assert ref_w() is None, "a keyword input tensor is kept alive after the call"
    assert decorated.cache_info().currsize == 2


def test_results_do_not_pin_inputs_through_the_cache(module) -> None:
    decorated = looplift(compile=False)(module.total)
    arrays = []
    for i in range(5):
        t = torch.full((BIG,), float(i))
        arrays.append(weakref.ref(t))
        decorated([t])
        del t
    _collect()
    assert all(r() is None for r in arrays)


def test_deleted_decorated_function_frees_its_specializations(module) -> None:
    decorated = looplift(compile=False)(module.total)
    decorated([torch.rand(BIG)])
    decorated([torch.rand(5)])
    dispatcher = decorated.__looplift__
    specs = list(dispatcher.cache.values())
    assert any(spec.call is not module.total for spec in specs)
    refs = [weakref.ref(decorated), weakref.ref(dispatcher)]
    refs += [weakref.ref(spec.call) for spec in specs if spec.call is not module.total]
    del decorated, dispatcher, specs
    _collect()
    alive = [r() for r in refs if r() is not None]
    assert not alive, f"still alive after the decorated function was deleted: {alive}"
    assert module.total([torch.ones(2)]) == 4.0  # the original is untouched


def test_cache_clear_releases_specializations(module) -> None:
    decorated = looplift(compile=False)(module.total)
    decorated([torch.rand(BIG)])
    spec = next(iter(decorated.__looplift__.cache.values()))
    ref = weakref.ref(spec.call)
    del spec
    decorated.cache_clear()
    _collect()
    assert ref() is None
    assert decorated.cache_info() == (0, 0, 64, 0)


def test_many_calls_on_one_signature_do_not_accumulate(module) -> None:
    """A hot loop of cache hits allocates nothing that survives a call (no growing state)."""
    decorated = looplift(compile=False)(module.total)
    xs = [torch.rand(BIG) for _ in range(2)]
    decorated(xs)
    _collect()
    before = len(gc.get_objects())
    for _ in range(300):
        decorated(xs)
    _collect()
    grown = len(gc.get_objects()) - before
    assert grown < 100, f"{grown} objects survived 300 cache hits"
    info = decorated.cache_info()
    assert info.misses == 1 and info.currsize == 1
    assert np.isfinite(decorated(xs))
