"""What rewritten code calls at run time, reached through one free variable, ``__ll``.

The rewritten function sees this module as ``__ll`` (a closure cell, never a new global in the
user's module): ``__ll.lift_method``/``__ll.lift_call``/``__ll.to_tensor``/``__ll.numpy_of``
replace conversions, ``__ll.defer``/``__ll.later`` keep host reads (and Python arithmetic on them) on the device, ``__ll.m``
materializes where values leave, and lowered region code checks ``__ll.require``.  Regions
themselves are separate free variables (``__ll_r0``: ``regions.Region``).
"""
from __future__ import annotations

from .batch import batched, batched_or, fold_all
from .convert import lift_call, lift_method, materialize, meta, numpy_of, to_tensor
from .deferred import defer, later
from .regions import require

m = materialize
#: Where a value leaves lifted code for the host, as the original's own conversion or at an exit:
#: a read of tensor data made in one of these functions (module-qualified names) is an "exit"
#: read for ``looplift.testing.count_host_reads``; any other read inside looplift is "internal".
#: Materialization (``materialize`` and the transfer it runs), the chains of ``numpy_of``, and
#: the original conversion that ``lift_method``/``lift_call``/``to_tensor`` perform when a guard fails.
EXIT_FUNCTIONS = frozenset({
    *(f"{__name__}.convert.{name}" for name in (
        "materialize", "_Transfer.run", "_Transfer.rebuild", "_Transfer.tensor_value", "_Transfer.value_of",
        "_read", "_unpack", "numpy_of", "_steps", "lift_method", "lift_call", "to_tensor")),
    *(f"{__name__}.deferred.{name}" for name in ("defer", "<lambda>")),  # a read made where the original made it
})
slice = slice  # noqa: A001 - the builtin, safe from a user's global named ``slice``

__all__ = ["batched", "batched_or", "fold_all", "m", "meta", "slice", "lift_call", "lift_method", "numpy_of",
           "to_tensor", "materialize", "defer", "later", "require", "EXIT_FUNCTIONS"]
