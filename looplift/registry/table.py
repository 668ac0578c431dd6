"""The registry's tables: every entry by key, and the lookups the analysis uses."""
from __future__ import annotations

from typing import Any

from .entry import OpEntry

_BY_KEY: dict[str, OpEntry] = {}
_BY_OBJECT: dict[int, tuple[Any, OpEntry]] = {}


def register(entry: OpEntry, *, obj: Any = None) -> OpEntry:
    """Add ``entry``; ``obj`` is the Python object that calls it (``np.exp``, ``len``)."""
    if entry.key in _BY_KEY:
        raise ValueError(f"duplicate registry entry {entry.key}")
    _BY_KEY[entry.key] = entry
    if obj is not None:
        _BY_OBJECT[id(obj)] = (obj, entry)
    return entry


def entries() -> list[OpEntry]:
    """Every entry, sorted by key."""
    return [_BY_KEY[k] for k in sorted(_BY_KEY)]


def by_key(key: str) -> OpEntry | None:
    return _BY_KEY.get(key)


def for_object(obj: Any) -> OpEntry | None:
    """The entry for a callable such as ``np.exp`` or ``np.linalg.norm`` (by identity)."""
    found = _BY_OBJECT.get(id(obj))
    return found[1] if found is not None and found[0] is obj else None


def for_method(name: str) -> OpEntry | None:
    entry = _BY_KEY.get(f"ndarray.{name}")
    return entry if entry is not None and not entry.attribute else None


def for_attribute(name: str) -> OpEntry | None:
    entry = _BY_KEY.get(f"ndarray.{name}")
    return entry if entry is not None and entry.attribute else None


def for_operator(name: str) -> OpEntry | None:
    """``name`` is a key of ``looplift.registry.ufuncs.OPERATOR_UFUNCS`` or ``getitem``."""
    return _BY_KEY.get(f"operator.{name}")
