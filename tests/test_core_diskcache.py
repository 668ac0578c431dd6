"""``cache=True``: what a specialization learned (observed types, compiled regions' choices)
is kept on disk for the next process, keyed so a stale entry cannot be found, and a damaged one
is ignored and removed; ``compile_options`` reach ``torch.compile``."""
from __future__ import annotations

import pickle

import pytest
import torch

from looplift import diskcache, looplift
from looplift.runtime import compiled as compiled_module, paths


class Loader:
    def __init__(self, n=8):
        g = torch.Generator().manual_seed(0)
        self.items = [torch.randn(4, generator=g) for _ in range(n)]

    def __iter__(self):
        return iter(self.items)


def total(loader):
    t = 0.0
    for x in loader:
        t += x.sum().item()
    return t


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPLIFT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")
    paths.ENABLED = True
    paths.COUNTS.clear()
    yield tmp_path
    paths.ENABLED = False
    paths.COUNTS.clear()


def entries(directory):
    return sorted(directory.rglob("*.pickle"))


def test_observed_types_are_kept_for_the_next_process(cache_dir):
    first = looplift(total, cache=True, compile=False)
    assert first(Loader()) == total(Loader())
    (entry,) = entries(cache_dir)
    assert diskcache.load(entry)["observed"]
    paths.COUNTS.clear()
    again = looplift(total, cache=True, compile=False)  # a new decorated function: as in a new process
    assert again(Loader()) == total(Loader())
    assert paths.COUNTS["read.deferred"] == 8  # specialized from the first call on: nothing observed


def test_without_cache_nothing_is_written(cache_dir):
    looplift(total, compile=False)(Loader())
    assert entries(cache_dir) == []


def test_a_damaged_entry_is_ignored_and_removed(cache_dir):
    looplift(total, cache=True, compile=False)(Loader())
    (entry,) = entries(cache_dir)
    entry.write_bytes(b"not a pickle")
    assert looplift(total, cache=True, compile=False)(Loader()) == total(Loader())
    assert diskcache.load(entry) is not None  # rewritten by the run above


def test_an_entry_builds_nothing_but_abstract_values(cache_dir, tmp_path):
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"observed": {1: print}}))
    assert diskcache.load(path) is None and not path.exists()


def test_compile_options_reach_torch_compile(monkeypatch):
    seen = {}

    def fake_compile(fn, **kwargs):
        seen.update(kwargs)
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    region = compiled_module.CompiledRegion(lambda x: x * 2, "here", measure=False,
                                            compile_options={"mode": "reduce-overhead"})
    assert torch.equal(region(torch.ones(2)), torch.full((2,), 2.0))
    assert seen == {"mode": "reduce-overhead", "dynamic": True}


def test_bad_compile_options_are_refused_at_decoration():
    with pytest.raises(ValueError, match="torch.compile takes"):
        looplift(total, compile_options={"modes": "x"})
    with pytest.raises(TypeError):
        looplift(total, compile_options=["mode"])
