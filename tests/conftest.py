"""Shared fixtures, hypothesis profiles and input strategies for the core test suite.

Lifting modes: a test runs with ``LOOPLIFT_LIFT`` unset (the default cost model, as users run
it) unless it is marked ``@pytest.mark.lift("always")`` (lifting forced, as on an accelerator);
the differential tests choose their modes per case.

Profiles (select with ``HYPOTHESIS_PROFILE=<name>``; ``ci`` is the default):

* ``ci``: derandomized, no deadline (the first call of a decorated function specializes it,
  which takes milliseconds to seconds on a shared machine), few examples per test so the whole
  core suite stays within a few minutes on two cores.
* ``dev``: random inputs, more examples, for local exploration.
* ``thorough``: many examples, for a nightly run.

The strategies below are imported by the ``test_core_*`` modules (``from conftest import ...``).
"""
from __future__ import annotations

import os
import random
import subprocess
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from looplift import LoopliftWarning, looplift
from looplift.signature import SMALL_NUMEL

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.function_scoped_fixture]

settings.register_profile("ci", deadline=None, max_examples=8, derandomize=True, database=None,
                          suppress_health_check=_SUPPRESS, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=40, suppress_health_check=_SUPPRESS,
                          print_blob=True)
settings.register_profile("thorough", deadline=None, max_examples=300, suppress_health_check=_SUPPRESS,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: A 2-d shape whose tensors are "large" for the cost model (lifting happens on the CPU).
BIG = (128, 128)
assert BIG[0] * BIG[1] >= SMALL_NUMEL

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
FLOATS = ("float32", "float64")
INTS = ("int32", "int64")

#: Small shapes: 0-d, empty, 1-d, 2-d (hoist-only paths on the CPU).
SMALL_SHAPES = [(), (0,), (1,), (5,), (3, 4), (0, 3)]


# --------------------------------------------------------------------------- value factories
def make_tensor(dtype: str, shape: tuple[int, ...], seed: int, *, requires_grad: bool = False,
                low: float = -3.0, high: float = 3.0) -> torch.Tensor:
    """A deterministic tensor: floats uniform in [low, high), ints in [-5, 5], bools 50/50."""
    gen = torch.Generator().manual_seed(seed)
    tdtype = DTYPES[dtype]
    if tdtype.is_floating_point:
        t = torch.rand(shape, generator=gen, dtype=tdtype) * (high - low) + low
    elif tdtype is torch.bool:
        t = torch.rand(shape, generator=gen) < 0.5
    else:
        t = torch.randint(-5, 6, shape, generator=gen, dtype=tdtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor_strategy(dtypes: tuple[str, ...] = tuple(DTYPES), shapes: list[tuple[int, ...]] | None = None,
                    *, grad: bool | None = False, **kw: Any) -> st.SearchStrategy[torch.Tensor]:
    """Tensors of one of ``dtypes`` and ``shapes``; ``grad=None`` draws requires_grad too
    (floats only)."""
    shapes = shapes if shapes is not None else SMALL_SHAPES

    @st.composite
    def build(draw: st.DrawFn) -> torch.Tensor:
        dtype = draw(st.sampled_from(dtypes))
        shape = draw(st.sampled_from(shapes))
        seed = draw(st.integers(0, 2**16))
        rg = draw(st.booleans()) if grad is None else grad
        return make_tensor(dtype, shape, seed, requires_grad=rg and dtype in FLOATS, **kw)

    return build()


def tensor_list_strategy(dtypes: tuple[str, ...] = tuple(DTYPES), shape: tuple[int, ...] = BIG,
                         *, min_size: int = 0, max_size: int = 4, grad: bool | None = False,
                         **kw: Any) -> st.SearchStrategy[list[torch.Tensor]]:
    """Lists of tensors sharing one dtype and shape (a batch list)."""

    @st.composite
    def build(draw: st.DrawFn) -> list[torch.Tensor]:
        dtype = draw(st.sampled_from(dtypes))
        n = draw(st.integers(min_size, max_size))
        seed = draw(st.integers(0, 2**16))
        rg = draw(st.booleans()) if grad is None else grad
        return [make_tensor(dtype, shape, seed + i, requires_grad=rg and dtype in FLOATS, **kw)
                for i in range(n)]

    return build()


def array_strategy(dtypes: tuple[str, ...] = FLOATS, shapes: list[tuple[int, ...]] | None = None
                   ) -> st.SearchStrategy[np.ndarray]:
    shapes = shapes if shapes is not None else [(3,), (2, 3)]
    return st.sampled_from(dtypes).flatmap(
        lambda d: st.sampled_from(shapes).flatmap(
            lambda s: hnp.arrays(np.dtype(d), s, elements=st.floats(-4, 4, width=32)
                                 if d in FLOATS else st.integers(-5, 5))))


# --------------------------------------------------------------------------- helpers
def line_of(path: str, text: str) -> int:
    """The line number in ``path`` of the first line containing ``text`` (the tests' markers)."""
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if text in line:
                return number
    raise LookupError(text)


def lift(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``looplift`` with ``compile=False`` unless asked otherwise."""
    options.setdefault("compile", False)
    if fn is None:
        return lambda f: looplift(f, **options)
    return looplift(fn, **options)


@pytest.fixture
def no_looplift_warnings():
    """Fail the test on any LoopliftWarning (for functions expected to be rewritten cleanly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", LoopliftWarning)
        yield


@pytest.fixture
def numpy_calls(monkeypatch: pytest.MonkeyPatch):
    """Counts calls of ``torch.Tensor.numpy`` while the test runs: ``numpy_calls()`` is the count
    so far, ``numpy_calls.reset()`` starts over."""
    original = torch.Tensor.numpy
    counter = {"n": 0}

    def counting(self: torch.Tensor, *args: Any, **kwargs: Any) -> np.ndarray:
        counter["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "numpy", counting)

    class Counter:
        def __call__(self) -> int:
            return counter["n"]

        def reset(self) -> None:
            counter["n"] = 0

    return Counter()


def fuzz_seed() -> int:
    """The exploring fuzz run's seed: ``LOOPLIFT_FUZZ_SEED``, else the first 32 bits of the
    checked-out commit (every commit explores new programs; a failure names its seed), else 0
    outside a git checkout."""
    if os.environ.get("LOOPLIFT_FUZZ_SEED"):
        return int(os.environ["LOOPLIFT_FUZZ_SEED"])
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        return int(head[:8], 16)
    except (OSError, subprocess.SubprocessError, ValueError):
        return 0


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the exploring fuzz run's seed after any run that included it (pass or fail)."""
    reports = [r for kind in ("passed", "failed") for r in terminalreporter.stats.get(kind, [])]
    if any("test_exploring_run" in getattr(r, "nodeid", "") for r in reports):
        number = fuzz_seed()
        terminalreporter.write_line(f"looplift fuzz: exploring seed {number} "
                                    f"(LOOPLIFT_FUZZ_SEED={number} reproduces the run)")


@pytest.fixture(autouse=True)
def seeded_random_state() -> None:
    """Every test starts from the same global random state (``torch.rand(...)``,
    ``np.random.rand(...)`` and ``random`` without a generator), so no test's inputs depend on the
    tests that ran before it."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


@pytest.fixture
def counts() -> Iterator[Any]:
    """The run-time paths looplift takes during the test (``looplift.testing.observed_paths``)."""
    from looplift.testing import observed_paths

    with observed_paths() as found:
        yield found


@pytest.fixture(autouse=True)
def paths_left_off() -> Iterator[None]:
    """No test leaves the run-time path counter on (it would count into another test's numbers);
    the test that does fails, by name."""
    from looplift.runtime import paths

    yield
    if paths.ENABLED:
        paths.ENABLED = False
        pytest.fail("the test left looplift.runtime.paths.ENABLED on")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lift(mode): run the test with LOOPLIFT_LIFT=mode (always, auto or never); "
                                       "unmarked tests run with the default cost model, as users do")


@pytest.fixture(autouse=True)
def lift_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs in the lifting mode it declares (``@pytest.mark.lift("always")``), or in the
    default mode users get; never in whatever the environment happened to hold.  Tests of the
    cost model itself still set ``LOOPLIFT_LIFT`` with monkeypatch."""
    marker = request.node.get_closest_marker("lift")
    if marker is None:
        monkeypatch.delenv("LOOPLIFT_LIFT", raising=False)
        return "auto"
    monkeypatch.setenv("LOOPLIFT_LIFT", marker.args[0])
    return marker.args[0]


@pytest.fixture
def production_cost_model(monkeypatch):
    """The cost model as users get it (small CPU values are only hoisted, never lifted)."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "auto")
