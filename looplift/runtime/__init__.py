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
slice = slice  # noqa: A001 - the builtin, safe from a user's global named ``slice``

#: Functions where values leave the rewritten code: the host reads inside them are the ones the
#: rewrite is allowed (``looplift.testing`` tells them apart from reads anywhere else).
EXIT_FUNCTIONS = frozenset({"materialize", "run", "rebuild", "tensor_value", "_read", "defer", "numpy_of",
                            "lift_method", "lift_call", "to_tensor"})

__all__ = ["batched", "batched_or", "fold_all", "m", "meta", "slice", "lift_call", "lift_method", "numpy_of", "to_tensor", "materialize", "defer", "later",
           "require", "EXIT_FUNCTIONS"]
