"""What rewritten code calls at run time, reached through one free variable, ``__ll``.

The rewritten function sees this module as ``__ll`` (a closure cell, never a new global in the
user's module): ``__ll.op.<entry>`` runs registry operations, ``__ll.m`` materializes, and
``__ll.lift_method``/``__ll.lift_call``/``__ll.to_tensor``/``__ll.numpy_of`` replace conversions.
"""
from __future__ import annotations

from types import SimpleNamespace

from .. import registry
from ..registry.calling import runtime_callable
from .convert import lift_call, lift_method, materialize, numpy_of, to_tensor

#: Registry operations by identifier (``__ll.op.numpy_exp``, ``__ll.op.add``, ...).
op = SimpleNamespace(**{entry.ident: runtime_callable(entry) for entry in registry.entries()})
#: Their NumPy references, for the NumPy twins of compiled regions (``__ll.ref.numpy_exp``).
ref = SimpleNamespace(**{entry.ident: entry.reference for entry in registry.entries()})
m = materialize
#: Where a value leaves lifted code for the host, as the original's own conversion or at an exit:
#: a read of tensor data made in one of these functions (module-qualified names) is an "exit"
#: read for ``looplift.testing.count_host_reads``; any other read inside looplift is "internal".
#: Materialization (``materialize`` and its helpers), the chains of ``numpy_of``, and the
#: original conversion that ``lift_method``/``lift_call``/``to_tensor`` perform when a guard fails.
EXIT_FUNCTIONS = frozenset(f"{__name__}.convert.{name}" for name in (
    "materialize", "_materialize_list", "_to_numpy", "numpy_of", "_steps", "lift_method", "lift_call",
    "to_tensor"))
slice = slice  # noqa: A001 - the builtin, safe from a user's global named ``slice``

__all__ = ["EXIT_FUNCTIONS", "op", "ref", "m", "slice", "lift_call", "lift_method", "numpy_of", "to_tensor", "materialize"]
