"""Counting host reads of tensor data during a call (issue 13), for the benchmark tables.

A read is anything that hands tensor data to the Python host: on an accelerator each one waits
for the device (a sync) and, for data, copies it.  Counted with a ``TorchFunctionMode``, which
sees (checked on torch 2.13 by ``tests/test_bench.py``) ``.item()``, ``float()``, ``int()``,
``bool()``, ``complex()``, ``operator.index()`` (``range(t)``, ``xs[t]``), ``.tolist()``,
``.numpy()``, ``np.asarray(t)``/``np.array(t)``/``np.float32(t)`` (``__array__``), formatting
(``f"{t:.3f}"``: ``__format__``), ``repr``, ``x in t``, and ``.cpu()``/``.to(...)``/
``cpu_tensor.copy_(t)`` of a tensor on another device (a device-to-host copy).  A mode's handler
runs with the mode switched off, so a read made inside another (``float(t)`` calls ``item``)
counts once.  Not reads: ``len(t)``, iterating a tensor, ``t.shape``.

On the CPU, ``.numpy()`` is counted although it copies nothing: it is the conversion that
becomes a device-to-host copy and a sync when the tensor lives on a GPU (``.cpu().numpy()``
there counts twice, the copy and the conversion, both in the same place).

``looplift.testing.count_host_reads`` is used instead when the installed looplift has it
(the oracle branch adds one with the same rules), so the numbers stay comparable.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch.overrides import TorchFunctionMode

#: Tensor methods that hand tensor data to the host, by the name the table shows.
HOST_READS = {getattr(torch.Tensor, name): name for name in (
    "item", "__float__", "__int__", "__bool__", "__complex__", "__index__", "tolist", "numpy", "__array__",
    "__format__", "__repr__", "__contains__")}
_DEVICE_COPIES = {torch.Tensor.cpu: "cpu", torch.Tensor.to: "to", torch.Tensor.copy_: "copy_"}

_LOOPLIFT = os.path.dirname(os.path.abspath(__import__("looplift").__file__)) + os.sep
_SKIPPED = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (torch, __import__("numpy")))
_STDLIB = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
_HERE = os.path.abspath(__file__)


@dataclass
class Reads:
    """Host reads made while the block ran: ``program`` (the user's code, the rewritten code
    included, which runs under the user's file name) and ``looplift`` (made inside the
    package: its exits, where values leave lifted code, and anything else); ``sites`` counts
    (where, read, function)."""

    program: int = 0
    looplift: int = 0
    sites: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.program + self.looplift

    def describe(self, limit: int = 4) -> str:
        return ", ".join(f"{n}× {read} in {where}:{fn}" for (where, read, fn), n in self.sites.most_common(limit))


def _device_copy(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``.cpu()``, ``.to(...)`` or ``dst.copy_(src)`` moves data from a device to the host."""
    source = args[1] if name == "copy_" and len(args) > 1 else args[0] if args else None
    if not isinstance(source, torch.Tensor) or source.device.type == "cpu":
        return False
    if name == "cpu":
        return True
    if name == "copy_":
        return isinstance(args[0], torch.Tensor) and args[0].device.type == "cpu"
    try:
        device = torch._C._nn._parse_to(*args[1:], **kwargs)[0]
    except Exception:  # noqa: BLE001 - not a form we know: not counted
        return False
    return device is not None and device.type == "cpu"


def _where(frame: Any) -> tuple[str, str]:
    """("program" | "looplift", function) of the nearest frame outside torch, NumPy, the
    standard library and this module."""
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if not (name.startswith(_SKIPPED) or name == _HERE or
                (name.startswith(_STDLIB) and "site-packages" not in name)):
            break
        frame = frame.f_back
    if frame is None:
        return "program", "?"
    name = os.path.abspath(frame.f_code.co_filename)
    where = "looplift" if name.startswith(_LOOPLIFT) else "program"
    return where, f"{os.path.basename(name)}:{frame.f_code.co_name}"


class _Counter(TorchFunctionMode):
    def __init__(self, reads: Reads) -> None:
        super().__init__()
        self.reads = reads

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        read = HOST_READS.get(func)
        if read is None and func in _DEVICE_COPIES and _device_copy(_DEVICE_COPIES[func], args, kwargs):
            read = _DEVICE_COPIES[func]
        if read is not None:
            where, function = _where(sys._getframe(1))
            setattr(self.reads, where, getattr(self.reads, where) + 1)
            self.reads.sites[(where, read, function)] += 1
        return func(*args, **kwargs)


@contextlib.contextmanager
def _own_counter() -> Iterator[Reads]:
    reads = Reads()
    with _Counter(reads):
        yield reads


def library_counter() -> Any:
    """``looplift.testing.count_host_reads`` when the installed looplift has it, else None."""
    from looplift import testing

    return getattr(testing, "count_host_reads", None)


@contextlib.contextmanager
def count_host_reads() -> Iterator[Reads]:
    """Count host reads of tensor data in this thread while the block runs (see the module
    docstring); yields a ``Reads`` filled in when the block ends."""
    counter = library_counter()
    if counter is None:
        with _own_counter() as reads:
            yield reads
        return
    reads = Reads()
    with counter() as theirs:
        yield reads
    reads.program = theirs.program
    reads.looplift = theirs.total - theirs.program
    for (kind, function, _line, read), n in theirs.sites.items():
        reads.sites[("program" if kind == "program" else "looplift", read, function)] += n
