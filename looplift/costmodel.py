"""Whether lifting and compiling pay off for a specialization.

Measured on the CPU (shared/semantics, timing table): a torch op costs about four times a NumPy
op on an 8-element array and wins from about 10^5 elements; a compiled region costs ~10 us a
call.  So on the CPU, lifting is for large values; on an accelerator, lifting keeps data on the
device and always wins.  The size class comes from the specialization key (``signature.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch

from .options import Options
from .signature import SMALL_NUMEL, is_small


@dataclass(frozen=True)
class CostDecision:
    lift: bool
    compile: bool
    reason: str


def _values(args: Iterable[Any]) -> Iterable[Any]:
    for value in args:
        if isinstance(value, (list, tuple)):
            if value:
                yield value[0]
        else:
            yield value


def decide(args: tuple[Any, ...], kwargs: dict[str, Any], options: Options) -> CostDecision:
    values = [v for v in _values((*args, *kwargs.values())) if isinstance(v, (torch.Tensor, np.ndarray))]
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    if not tensors:
        return CostDecision(False, False, "no tensor arguments: conversions are hoisted, nothing is lifted")
    devices = {t.device.type for t in tensors}
    compile_wanted = options.compile is True or options.compile == "auto"
    if devices - {"cpu"}:
        return CostDecision(True, compile_wanted, f"tensors on {', '.join(sorted(devices - {'cpu'}))}: "
                                                  "keep the data on the device")
    if all(is_small(v) for v in values):
        if options.compile is True:
            return CostDecision(True, True, "compile=True: lifting although every value is small")
        return CostDecision(False, False, f"every value has fewer than {SMALL_NUMEL} elements on the CPU: "
                                          "NumPy's per-call overhead is lower, so only conversions are hoisted")
    return CostDecision(True, compile_wanted, f"values of {SMALL_NUMEL}+ elements on the CPU: torch ops win")
