"""looplift: make loops that mix PyTorch and NumPy fast without rewriting them.

    from looplift import looplift

    @looplift
    def energy(batches):
        out = []
        for t in batches:
            a = t.detach().cpu().numpy()
            out.append(np.sum(np.exp(a) * 2 + 1))
        return out

The decorator and ``explain`` load torch; they are imported on first use, so tools that need
neither (``looplift scan``) start fast.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import LoopliftError, LoopliftWarning, SettingError
from .options import Options
from .pragmas import loop

if TYPE_CHECKING:
    from .api import explain, looplift
    from .report import Report

__version__ = "0.1.0"

__all__ = ["looplift", "explain", "loop", "LoopliftWarning", "LoopliftError", "SettingError", "Options",
           "Report", "__version__"]

_LAZY = {"looplift": ".api", "explain": ".api", "Report": ".report"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'looplift' has no attribute {name!r}")
