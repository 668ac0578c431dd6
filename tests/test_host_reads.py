"""The host-read counter (``looplift.testing.count_host_reads``) and where reads are attributed.

A read of tensor data by the host is a device sync on an accelerator: issue 13 makes it the cost
that counts.  These tests pin down what the counter sees on this torch (every kind of read
reaches ``__torch_function__``), what it does not count, how a read is attributed (the
program, an exit of lifted code, or looplift's internals), and the opt-in assertions of
``compare_calls(host_reads=...)``.

The last tests hold issue 13's targets: a lifted loop reads nothing inside looplift, never reads
more often than the original, and reads an ``.item()`` accumulator once per call.
"""
from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

from looplift import looplift, runtime
from looplift.registry.coerce import to_numpy
from looplift.testing import InternalHostRead, Mismatch, compare_calls, count_host_reads

READS = {
    "item": lambda t: t.sum().item(),
    "__float__": lambda t: float(t.sum()),
    "__int__": lambda t: int(t.sum()),
    "__bool__": lambda t: bool(t.sum()),
    "__complex__": lambda t: complex(t.sum()),
    "__index__": lambda t: operator.index(t.sum().long()),
    "tolist": lambda t: t.tolist(),
    "numpy": lambda t: t.numpy(),
    "__array__": lambda t: np.asarray(t),
    "__format__": lambda t: f"{t.sum():.3f}",
    "__repr__": lambda t: repr(t),
    "__contains__": lambda t: 1.0 in t,
}


@pytest.mark.parametrize("kind", READS)
def test_every_kind_of_read_is_counted_once(kind: str) -> None:
    t = torch.arange(4.0)
    with count_host_reads() as reads:
        READS[kind](t)
    assert reads.program == 1 and reads.total == 1, reads.describe()
    assert [read for (_, _, _, read) in reads.sites] == [kind]


def test_what_is_not_a_read_is_not_counted() -> None:
    t = torch.arange(4.0)
    with count_host_reads() as reads:
        len(t)
        list(iter(t))
        t * 2 + torch.exp(t)
        t.shape, t.dtype
        t.cpu()  # already on the host: no copy
        t.to(torch.float64)
    assert reads.total == 0, reads.describe()


@pytest.mark.parametrize("copy", ["cpu", "to", "to_device", "copy_"])
def test_device_to_host_copies_are_counted(copy: str) -> None:
    """A tensor on another device (``meta`` here: the CPU machine has no accelerator; the copy
    itself fails, the counter sees the call first)."""
    t = torch.empty(3, device="meta")
    action = {"cpu": lambda: t.cpu(), "to": lambda: t.to("cpu"), "to_device": lambda: t.to(torch.device("cpu")),
              "copy_": lambda: torch.empty(3).copy_(t)}[copy]
    with count_host_reads() as reads:
        with pytest.raises((NotImplementedError, RuntimeError)):
            action()
    assert reads.program == 1, reads.describe()


def test_a_copy_to_another_dtype_on_the_device_is_not_a_read() -> None:
    t = torch.empty(3, device="meta")
    with count_host_reads() as reads:
        t.to(torch.float64)
        t.to("meta")
    assert reads.total == 0


def test_reads_are_attributed_to_program_exit_or_internal() -> None:
    t = torch.arange(4.0)
    with count_host_reads() as reads:
        float(t.sum())  # this test: the program
        runtime.materialize(t * 2)  # where a lifted value leaves: an exit
        to_numpy(t)  # the registry's NumPy form of an operand: internal
    assert (reads.program, reads.exit, reads.internal) == (1, 1, 1), reads.describe()
    functions = {where: function for (where, function, _, _) in reads.sites}
    assert functions["exit"] == "looplift.runtime.convert.materialize"
    assert functions["internal"] == "looplift.registry.coerce.to_numpy"
    assert functions["program"].endswith("test_reads_are_attributed_to_program_exit_or_internal")


@pytest.mark.lift("always")
def test_rewritten_code_reads_as_the_program() -> None:
    """Rewritten code runs under the user's file name: its own reads are the program's."""
    def scaled(xs):
        out = []
        for x in xs:
            a = x.numpy()
            if x.max().item() > 0:  # a branch on tensor data: the program reads it
                out.append(np.exp(a))
        return out

    decorated = looplift(scaled, compile=False)
    xs = [torch.arange(4.0) for _ in range(3)]
    with count_host_reads() as reads:
        decorated(xs)
    programs = {function for (where, function, _, _) in reads.sites if where == "program"}
    assert programs == {f"{__name__}.test_rewritten_code_reads_as_the_program.<locals>.scaled"}, reads.describe()
    assert reads.program == len(xs) and reads.exit and not reads.internal, reads.describe()


def test_strict_mode_fails_on_an_internal_read() -> None:
    with pytest.raises(InternalHostRead, match="looplift.registry.coerce.to_numpy"):
        with count_host_reads(strict=True):
            to_numpy(torch.ones(2))
    with count_host_reads(strict=True) as reads:
        runtime.materialize(torch.ones(2))
    assert reads.exit == 1


def test_compare_calls_counts_both_runs_and_can_demand_no_more() -> None:
    def original(xs):
        return [float(x.sum()) for x in xs]

    def reads_twice(xs):
        return [float(x.sum()) + 0 * float(x.sum()) for x in xs]

    xs = [torch.ones(3) for _ in range(4)]
    outcome = compare_calls(original, reads_twice, (xs,), host_reads="count")
    assert (outcome.reads.total, outcome.decorated.reads.total) == (4, 8)
    with pytest.raises(Mismatch, match="read 8 times, the original 4"):
        compare_calls(original, reads_twice, (xs,), host_reads="no-more")
    with pytest.raises(ValueError):
        compare_calls(original, original, (xs,), host_reads="sometimes")


# ----------------------------------------------------------------------------- issue 13's targets
def matrix_products(w, xs):
    out = []
    for x in xs:
        out.append(np.maximum(x.numpy() @ w.numpy(), 0).sum())
    return out


def appended_copies(w, n):
    out = []
    for _ in range(n):
        out.append(np.array(w))
    out[0][0] = 1
    return out


def item_accumulator(xs):
    total = 0.0
    for x in xs:
        loss = (x * x).mean()
        total += loss.item()
    return total


@pytest.mark.lift("always")
def test_lifted_matrix_products_read_nothing_inside_looplift() -> None:
    g = torch.Generator().manual_seed(0)
    args = (torch.randn(64, 64, generator=g), [torch.randn(32, 64, generator=g) for _ in range(4)])
    compare_calls(matrix_products, looplift(matrix_products, compile=False), args, host_reads="strict")


@pytest.mark.lift("always")
@pytest.mark.parametrize("fn", [appended_copies, matrix_products])
def test_lifted_loops_read_no_more_than_the_original(fn) -> None:
    g = torch.Generator().manual_seed(0)
    args = (torch.randn(3, generator=g), 3) if fn is appended_copies else \
        (torch.randn(64, 64, generator=g), [torch.randn(32, 64, generator=g) for _ in range(4)])
    compare_calls(fn, looplift(fn, compile=False), args, host_reads="no-more")


@pytest.mark.lift("always")
def test_an_item_accumulator_is_read_once_per_call() -> None:
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(100, generator=g) for _ in range(5)]
    outcome = compare_calls(item_accumulator, looplift(item_accumulator, compile=False), (xs,), host_reads="strict")
    assert outcome.decorated.reads.total == 1, outcome.decorated.reads.describe()
