"""looplift: make loops that mix PyTorch and NumPy fast without rewriting them.

    from looplift import looplift

    @looplift
    def energy(batches):
        out = []
        for t in batches:
            a = t.detach().cpu().numpy()
            out.append(np.sum(np.exp(a) * 2 + 1))
        return out
"""
from __future__ import annotations

from .api import explain, looplift
from .errors import LoopliftError, LoopliftWarning
from .options import Options
from .pragmas import loop
from .report import Report

__version__ = "0.1.0"

__all__ = ["looplift", "explain", "loop", "LoopliftWarning", "LoopliftError", "Options", "Report",
           "__version__"]
