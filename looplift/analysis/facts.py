"""What the analysis concludes about the tree: the annotations transforms read.

The analysis annotates nodes (by identity) rather than rewriting them, so each transform is a
small, separately testable pass over one set of conclusions (the AutoGraph ``pyct`` shape).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from ..registry.entry import OpEntry
from .conversions import Conversion
from ..lattice import AV
from ..report import Decision


#: Attribute set on the ``IfExp`` that caches a hoisted conversion (``h if h is not None else
#: (h := conversion)``): the analysis types it as the conversion itself.
CACHED_CONVERSION = "looplift_cached_conversion"


@dataclass
class Facts:
    types: dict[ast.AST, AV] = field(default_factory=dict)
    ops: dict[ast.AST, OpEntry] = field(default_factory=dict)
    """Expressions (calls, operators, subscripts, attributes) the registry rewrites."""
    aug_ops: dict[ast.AugAssign, OpEntry] = field(default_factory=dict)
    """``x op= y`` on an immutable scalar: rewritten as ``x = op(x, y)``."""
    lifted_conversions: dict[ast.Call, tuple[Conversion, AV]] = field(default_factory=dict)
    """Conversions replaced by a guarded lift, with the value they are expected to see."""
    shortened_conversions: dict[ast.Call, Conversion] = field(default_factory=dict)
    """``t.detach().cpu().numpy()`` left in NumPy: one ``t.numpy()`` where ``t`` turns out to be
    a CPU tensor without grad (same array, two intermediate tensors fewer per iteration)."""
    materialize: set[ast.AST] = field(default_factory=set)
    """Expressions whose value is made NumPy again where it is used."""
    demote: dict[ast.stmt, list[str]] = field(default_factory=dict)
    """Names made NumPy again (rebound) just before a statement."""
    global_guards: dict[str, Any] = field(default_factory=dict)
    """Global names whose current objects the rewrite relies on (checked on every call)."""
    skipped: dict[ast.AST, Decision] = field(default_factory=dict)
    """Places where a lifted value had to go back to NumPy, with the reason."""

    def forget(self, node: ast.AST) -> None:
        """Drop earlier conclusions about ``node`` (the analysis revisits nodes in loops)."""
        self.ops.pop(node, None)
        self.skipped.pop(node, None)
        self.materialize.discard(node)
        if isinstance(node, ast.Call):
            self.lifted_conversions.pop(node, None)
            self.shortened_conversions.pop(node, None)
        if isinstance(node, ast.AugAssign):
            self.aug_ops.pop(node, None)

    def skip(self, node: ast.AST, what: str, reason: str) -> None:
        self.skipped[node] = Decision(getattr(node, "lineno", 0), what, reason)
