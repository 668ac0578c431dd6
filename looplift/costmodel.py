"""Whether lifting, batching and compiling pay off for a specialization.

Measured here (2-core CPU, torch 2.13, one torch thread; docs/performance.md): on a CPU a
conversion costs nothing (the array shares the tensor's memory), an eager torch operation costs
a few microseconds more than NumPy's on small arrays and does not beat NumPy's elementwise
loops even at 65,536 elements, while ``torch.compile`` fuses a chain of them into one pass over
memory, which beats NumPy on large arrays.  On an accelerator every conversion is a copy and
every host read a sync, so keeping the data on the device always wins.  And a loop over many
small tensors is dominated by per-operation overhead wherever it runs: run batched, it is one
operation per step for all items.  Hence:

* tensors on an accelerator (arguments, or values observed inside the loop): lift, batch, and
  compile with ``compile="auto"``/``True``;
* on the CPU: batch the loops whose iterations are independent (lifting only those loops) when
  the items of list and tuple arguments are small (stacking large items costs a copy and saves
  only overhead that is already small beside the work), and lift everything where those items
  are large and compiling is on (``compile="auto"``/``True``): eager torch alone would not beat
  NumPy there;
* otherwise only hoist loop-invariant conversions, which never costs anything.

With ``compile="auto"`` a region compiles in the background only after it has run a while, and
is kept only if it measures faster than eager torch (``runtime/compiled.py``): the choice here
is whether compiling is worth trying, the measurement whether it won.

``LOOPLIFT_LIFT=always`` (or ``never``) overrides the choice, for tests and measurements.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch

from .lattice import AV, TensorV
from .options import Options, lift_mode
from .runtime.compiled import compile_available
from .signature import LARGE, LARGE_NUMEL, SMALL, SMALL_NUMEL, largest_class


@dataclass(frozen=True)
class CostDecision:
    lift: bool
    compile: bool
    reason: str
    accelerator: bool = False
    """The data lives on an accelerator."""
    batch: bool = True
    """Loops whose iterations are independent run batched (``analysis/dependence.py``); where
    ``lift`` is off, only those loops are lifted."""


def _tensors(values: Iterable[Any]) -> Iterable[torch.Tensor]:
    for value in values:
        if isinstance(value, torch.Tensor):
            yield value
        elif type(value) is tuple:
            yield from _tensors(value)
        elif isinstance(value, (list, tuple)) and value:
            yield from _tensors(value[:1])


def _observed_devices(observed: Mapping[int, AV]) -> set[str]:
    """Devices of the tensors seen while the function ran (inside loaders, modules, dicts)."""
    found: set[str] = set()
    for value in observed.values():
        for option in value.options():
            if isinstance(option, TensorV) and option.device is not None:
                found.add(option.device)
    return found


def decide(args: tuple[Any, ...], kwargs: dict[str, Any], options: Options,
           observed: Mapping[int, AV] | None = None) -> CostDecision:
    values = (*args, *kwargs.values())
    devices = {t.device.type for t in _tensors(values)} | _observed_devices(observed or {})
    mode = lift_mode()
    compiling = options.compile is not False and compile_available()
    if mode == "never":
        return CostDecision(False, False, "LOOPLIFT_LIFT=never: conversions are hoisted, nothing is lifted",
                            batch=False)
    if devices - {"cpu"}:
        return CostDecision(True, compiling, f"tensors on {', '.join(sorted(devices - {'cpu'}))}: "
                                             "keep the data on the device", accelerator=True)
    if mode == "always":
        return CostDecision(True, compiling, "LOOPLIFT_LIFT=always: lifting on the CPU as on an accelerator")
    batches = [v for v in values if isinstance(v, (list, tuple))]  # what loops convert item by item
    largest = max(map(largest_class, batches), default=SMALL)
    if compiling and largest == LARGE:
        return CostDecision(True, True, f"items of {LARGE_NUMEL}+ elements converted per iteration on the CPU: "
                                        "compiled torch beats NumPy at that size", batch=False)
    if largest > SMALL:
        return CostDecision(False, False, NOT_BATCHED, batch=False)
    return CostDecision(False, False, NOT_LIFTED)


#: Why a CPU specialization with items of medium size only hoists.
NOT_BATCHED = (f"items of {SMALL_NUMEL}+ elements on the CPU: a conversion shares memory, eager torch is no faster "
               "than NumPy, and batching would copy the items to save overhead that is small beside the work: "
               "conversions are hoisted")

#: Why a CPU specialization lifts only the loops it batches.
NOT_LIFTED = ("on the CPU a conversion shares memory and eager torch is no faster than NumPy per operation: "
              "loops with independent iterations run batched, other conversions are hoisted")
