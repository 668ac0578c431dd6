"""Host reads of tensor data during a call (issue 13), as the benchmark tables show them.

A read is anything that hands tensor data to the Python host: on an accelerator each one waits
for the device (a sync) and, for data, copies it.  ``looplift.testing.count_host_reads`` counts
them (its docstring lists what counts); this module folds its sites into the two columns the
tables show: reads in the program (the user's code, rewritten code included, which runs under
the user's file name) and reads inside looplift (where values leave lifted code, and anything
else).

On the CPU, ``.numpy()`` is counted although it copies nothing: it is the conversion that
becomes a device-to-host copy and a sync when the tensor lives on a GPU (``.cpu().numpy()``
there counts twice, the copy and the conversion, both in the same place).
"""
from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator


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


@contextlib.contextmanager
def count_host_reads() -> Iterator[Reads]:
    """Count host reads of tensor data in this thread while the block runs; yields a ``Reads``
    filled in when the block ends."""
    from looplift.testing import count_host_reads as counter

    reads = Reads()
    with counter() as theirs:
        yield reads
    reads.program = theirs.program
    reads.looplift = theirs.total - theirs.program
    for (kind, function, _line, read), n in theirs.sites.items():
        reads.sites[("program" if kind == "program" else "looplift", read, function)] += n
