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
slice = slice  # noqa: A001 - the builtin, safe from a user's global named ``slice``

__all__ = ["op", "ref", "m", "slice", "lift_call", "lift_method", "numpy_of", "to_tensor", "materialize"]
