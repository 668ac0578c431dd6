"""Threads: a first call raced by many threads specializes once; concurrent hits and misses over
several signatures all give the original's results."""
from __future__ import annotations

import random
import threading
import time
import warnings

import pytest
import torch

from looplift import looplift, pipeline
from looplift.fuzz.runner import loaded
from looplift.testing import assert_same, clone

SOURCE = '''
import numpy as np


def energy(xs, scale):
    out = []
    acc = 0.0
    for t in xs:
        a = t.detach().cpu().numpy()
        b = np.exp(a * scale) + 1
        acc = acc + np.sum(b)
        out.append(b.mean())
    return acc, out
'''

THREADS = 16


@pytest.fixture(autouse=True)
def lift_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift whatever the size: on the CPU the cost model lifts only list items of
    ``LARGE_NUMEL``+ elements, and these tests are about the rewritten code."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")


def _inputs(dtype: torch.dtype, n: int, seed: int) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(n, generator=gen, dtype=torch.float64).to(dtype) for _ in range(3)], 0.5


@pytest.fixture
def module():
    with loaded(SOURCE, "concurrency") as mod:
        yield mod


def _race(target, args_for_thread, threads: int = THREADS) -> tuple[list, list]:
    barrier = threading.Barrier(threads)
    results: list = [None] * threads
    errors: list = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i, *args_for_thread(i))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    return results, errors


def test_racing_first_calls_build_one_specialization(module, monkeypatch: pytest.MonkeyPatch) -> None:
    """All threads call a new signature at once: one specialization, built once, used by all."""
    builds = []
    real = pipeline.specialize

    def slow_specialize(*args, **kwargs):
        builds.append(threading.get_ident())
        time.sleep(0.05)  # widen the window in which the other threads arrive
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "specialize", slow_specialize)
    decorated = looplift(compile=False)(module.energy)
    inputs = [_inputs(torch.float32, 20000, seed) for seed in range(THREADS)]
    expected = [module.energy(*clone(args)) for args in inputs]

    results, errors = _race(lambda i, xs, s: decorated(xs, s), lambda i: clone(inputs[i]))
    assert not errors, errors
    assert len(builds) == 1
    info = decorated.cache_info()
    assert info.misses == 1 and info.currsize == 1
    for want, got in zip(expected, results):
        assert_same(want, got, scale=20000)
    spec = next(iter(decorated.__looplift__.cache.values()))
    assert spec.call is not module.energy, "the specialization should be a rewrite (large float32 inputs)"


def test_concurrent_hits_and_misses_over_several_signatures(module) -> None:
    decorated = looplift(compile=False)(module.energy)
    signatures = [(torch.float32, 20000), (torch.float64, 20000), (torch.float32, 7), (torch.float64, 5)]
    calls_per_thread = 12
    plans = []
    for thread in range(THREADS):
        rng = random.Random(thread)
        plans.append([(rng.randrange(len(signatures)), rng.randrange(1000)) for _ in range(calls_per_thread)])

    def run_plan(i: int, plan) -> list:
        got = []
        for sig, seed in plan:
            dtype, n = signatures[sig]
            args = _inputs(dtype, n, seed)
            got.append((args, decorated(*clone(args))))
        return got

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, errors = _race(run_plan, lambda i: (plans[i],))
    assert not errors, errors
    for per_thread in results:
        for args, got in per_thread:
            assert_same(module.energy(*clone(args)), got, scale=20000)
    info = decorated.cache_info()
    used = {sig for plan in plans for sig, _ in plan}
    assert info.misses == len(used)
    assert info.currsize == len(used)


def test_concurrent_calls_on_a_cache_bounded_below_the_signatures(module) -> None:
    """Evictions while other threads hit: results stay right and the bound holds."""
    decorated = looplift(compile=False, cache_size=2)(module.energy)
    dtypes = [torch.float32, torch.float64, torch.int32, torch.int64]

    def run(i: int) -> list:
        got = []
        for j in range(10):
            args = _inputs(dtypes[(i + j) % 4], 20000 if j % 2 else 9, i * 100 + j)
            got.append((args, decorated(*clone(args))))
        return got

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, errors = _race(run, lambda i: ())
    assert not errors, errors
    for per_thread in results:
        for args, got in per_thread:
            assert_same(module.energy(*clone(args)), got, scale=20000)
    assert decorated.cache_info().currsize <= 2
    assert len(decorated.__looplift__.cache) <= 2
