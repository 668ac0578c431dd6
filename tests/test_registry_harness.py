"""The registry's lowering harness catches what it must (see registry/testing.py): synthetic
lowerings of ``np.exp`` that are right, that read the host, that give the wrong dtype, that raise,
or that are missing, each judged as they deserve."""
from __future__ import annotations

import dataclasses
import re

import pytest

from looplift import registry
from looplift.registry import lowering, testing
from looplift.registry.lowering import Call, Emit

EXAMPLES = 30


def _exp(template: str) -> registry.OpEntry:
    """``numpy.exp`` with a lowering that casts to NumPy's loop dtype, then runs ``template``
    (``{x}`` is the cast operand)."""

    def lower(call: Call) -> Emit:
        return Emit(template.format(x=lowering.cast("_0", call.result_dtype, call.args[0].dtype)))

    return dataclasses.replace(registry.by_key("numpy.exp"), lower=lower, numpy_only="")


def _verdict(entry: registry.OpEntry) -> str | None:
    return testing.lowering_stats(entry, EXAMPLES).verdict(entry)


def test_a_right_lowering_passes() -> None:
    assert _verdict(_exp("torch.exp({x})")) is None


def test_a_host_read_is_refused_and_the_form_unreached() -> None:
    verdict = _verdict(_exp("torch.exp({x}) + {x}.sum().item() * 0"))
    assert verdict is not None and "reads tensor data on the host" in verdict


def test_a_wrong_dtype_is_refused_and_the_form_unreached() -> None:
    verdict = _verdict(_exp("torch.exp({x}).to(torch.int64)"))
    assert verdict is not None and "never ran lowered" in verdict


def test_a_wrong_value_fails() -> None:
    with pytest.raises(AssertionError, match="values differ"):
        _verdict(_exp("torch.exp({x}) * 1.001"))


def test_raising_where_numpy_succeeds_fails() -> None:
    with pytest.raises(AssertionError, match="raises"):
        # probes have sides of 2: only drawn operands reach the failing call
        _verdict(_exp("torch.exp({x}) if {x}.ndim == 0 or {x}.shape[0] != 3 else torch.exp({x}, 0)"))


def test_an_entry_without_lowering_must_say_why() -> None:
    entry = dataclasses.replace(registry.by_key("numpy.exp"), lower=None, numpy_only="")
    assert "declare numpy_only" in _verdict(entry)
    assert _verdict(dataclasses.replace(entry, numpy_only="a reason")) is None


def test_host_reads_are_counted() -> None:
    import torch

    t = torch.arange(3.0)
    with lowering.HostReads() as host:
        bool(t[0]), float(t[1]), t.tolist(), t.to("cpu"), t.sum()
    assert host.reads == ["__bool__", "__float__", "tolist", "to"]


def _large_only(key: str, mutate: str | None) -> registry.OpEntry:
    """The entry restricted to its large-array forms, its lowering's ``correction=`` off by one
    when ``mutate``."""
    entry = registry.by_key(key)
    large = tuple(c for c in entry.cases if any(getattr(a, "large", False) for a in c.args))

    def lower(call: Call) -> Emit:
        emit = entry.lower(call)
        return Emit(re.sub(r"correction=([^,)]+)", r"correction=\1 + 1", emit.template), emit.requires) \
            if mutate else emit

    return dataclasses.replace(entry, lower=lower, cases=large)


@pytest.mark.parametrize("key", ["numpy.var", "numpy.std"])
def test_a_ddof_off_by_one_fails_on_large_float32_arrays(key: str) -> None:
    assert testing.lowering_stats(_large_only(key, None), 12, pins=("float32",)).verdict(
        _large_only(key, None)) is None
    with pytest.raises((AssertionError, ExceptionGroup)) as caught:  # hypothesis may report several failures
        testing.lowering_stats(_large_only(key, "ddof"), 12, pins=("float32",))
    found = caught.value.exceptions if isinstance(caught.value, ExceptionGroup) else (caught.value,)
    assert any("values differ" in str(e) for e in found), found


@pytest.mark.parametrize("left, right", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                         ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((2, 0), (0, 3))])
def test_integer_matmul_off_the_cpu_is_numpys(left: tuple[int, ...], right: tuple[int, ...]) -> None:
    """``lib.matmul_by_sums``, the integer matmul for devices without one (CUDA), wraps and
    shapes its result as NumPy's matmul does."""
    import numpy as np
    import torch

    from looplift.registry import lib

    rng = np.random.default_rng(0)
    a = rng.integers(-2 ** 31, 2 ** 31, left, dtype=np.int32)
    b = rng.integers(-2 ** 31, 2 ** 31, right, dtype=np.int32)
    got = lib.matmul_by_sums(torch.from_numpy(a), torch.from_numpy(b))
    assert got.dtype == torch.int32 and np.array_equal(got.numpy(), a @ b)


def test_integer_matmul_off_the_cpu_raises_for_mismatched_operands() -> None:
    import torch

    from looplift.registry import lib

    with pytest.raises(ValueError):
        lib.matmul_by_sums(torch.ones(2, 3, dtype=torch.int64), torch.ones(1, 4, dtype=torch.int64))
