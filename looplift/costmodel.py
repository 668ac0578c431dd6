"""Whether lifting and compiling pay off for a specialization.

Measured here (2-core CPU, torch 2.13, one torch thread; docs/performance.md): on a CPU a
conversion costs nothing (the array shares the tensor's memory), and torch's eager elementwise
ops do not beat NumPy's even at 65,536 elements, while reductions and transcendentals win from
about 10^5 elements; each lifted op also pays a few microseconds of dispatch; and
``torch.compile`` costs seconds, while a fused elementwise chain on a large array (one pass over
memory instead of one per op) is where compiled code beats NumPy most.  On an accelerator, every
conversion is a copy and a sync, so keeping the data on the device always wins.  Hence:

* tensors on an accelerator: lift (and compile with ``compile="auto"``);
* on the CPU: lift when the values converted in every iteration (the items of list and tuple
  arguments) are large, and let ``compile="auto"`` compile the lifted regions; for mid-sized
  items (16,384+ elements) lift only where every lifted operation fuses into a compiled region
  (``only_if_fused``: ``np.mean(a * a - 0.5 * a)`` yes, a lone ``np.argmax``, 8x slower in
  torch on one thread, no);
* otherwise only hoist loop-invariant conversions, which never costs anything.

With ``compile="auto"`` a region compiles in the background only after it has run a while, and
is kept only if it measures faster than its baseline, NumPy on the CPU and eager torch on an
accelerator (``runtime/compiled.py``): the choice here is whether compiling is worth trying, the
measurement whether it won.  Where NumPy wins every region of an ``only_if_fused`` rewrite, the
hoist-only rewrite takes over (``pipeline``), so a lost bet costs nothing in the long run.

``LOOPLIFT_LIFT=always`` (or ``never``) overrides the choice, for tests and measurements.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch

from .lattice import AV, TensorV
from .options import Options
from .runtime.compiled import compile_available
from .signature import LARGE, LARGE_NUMEL, MEDIUM, SMALL_NUMEL, largest_class


@dataclass(frozen=True)
class CostDecision:
    lift: bool
    compile: bool
    reason: str
    only_if_fused: bool = False
    """Keep the lifted rewrite only if every lifted operation lands in a compiled region (else
    only hoist): on the CPU, mid-sized eager torch ops lose to NumPy, fused ones win."""
    accelerator: bool = False
    """The data lives on an accelerator: compiled regions compete with eager torch there, with
    NumPy on the CPU (``runtime/compiled.py``)."""
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


def lift_mode() -> str:
    mode = os.environ.get("LOOPLIFT_LIFT", "auto").strip().lower() or "auto"
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"LOOPLIFT_LIFT must be auto, always or never, not {mode!r}")
    return mode


def decide(args: tuple[Any, ...], kwargs: dict[str, Any], options: Options,
           observed: Mapping[int, AV] | None = None) -> CostDecision:
    values = (*args, *kwargs.values())
    devices = {t.device.type for t in _tensors(values)} | _observed_devices(observed or {})
    mode = lift_mode()
    if mode == "never":
        return CostDecision(False, False, "LOOPLIFT_LIFT=never: conversions are hoisted, nothing is lifted",
                            batch=False)
    if not devices:
        return CostDecision(False, False, "no tensor arguments: conversions are hoisted, nothing is lifted")
    if devices - {"cpu"}:
        return CostDecision(True, options.compile is not False,
                            f"tensors on {', '.join(sorted(devices - {'cpu'}))}: keep the data on the device",
                            accelerator=True)
    if mode == "always":
        return CostDecision(True, options.compile is not False, "LOOPLIFT_LIFT=always: lifting on the CPU "
                                                                "as on an accelerator")
    batches = [v for v in values if isinstance(v, (list, tuple))]  # what loops convert item by item
    if any(largest_class(v) == LARGE for v in batches):
        return CostDecision(True, options.compile is not False,
                            f"items of {LARGE_NUMEL}+ elements converted per iteration on the CPU: "
                            "torch's reductions and compiled elementwise chains win at that size")
    if options.compile is not False and compile_available() and \
            any(largest_class(v) == MEDIUM for v in batches):
        return CostDecision(True, True, f"items of {SMALL_NUMEL}+ elements converted per iteration on the CPU: "
                                        "lifted where every lifted operation fuses into a compiled region",
                            only_if_fused=True)
    return CostDecision(False, False, NOT_LIFTED)


#: Why a CPU specialization only hoists.
NOT_LIFTED = ("on the CPU a conversion shares memory and NumPy's per-op cost is lower below "
              f"{LARGE_NUMEL} elements per item, unless fused: conversions are hoisted, nothing is lifted")
