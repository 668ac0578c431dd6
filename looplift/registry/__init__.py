"""The NumPy-to-torch op registry: NumPy operations as data.

Importing this package loads every entry module; ``table`` answers lookups, ``probe.infer``
gives an entry's static result, ``calling.runtime_callable`` its runtime form.
"""
from __future__ import annotations

from . import creation, indexing, linalg, methods, reductions, shape, sorting, ufuncs  # noqa: F401  (registers entries)
from .entry import OpEntry, Unsupported
from .table import by_key, entries, for_attribute, for_method, for_object, for_operator

__all__ = ["OpEntry", "Unsupported", "by_key", "entries", "for_attribute", "for_method",
           "for_object", "for_operator"]
