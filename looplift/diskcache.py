"""What a specialization learned, kept on disk for the next process (``cache=True``).

Two things are worth keeping, because each costs time a new process would otherwise spend again:
the types observed at a function's first call (which make that call run the original code,
instrumented) and the choice each compiled region made between compiled and eager torch (which
takes seconds of compiling and measuring).  Transforming the code itself takes milliseconds, so
it is redone.

An entry is keyed by everything that could make it wrong: looplift's, torch's, NumPy's and
Python's versions, the function's module, name and source text, and the call signature.  A
stale entry therefore cannot be found, and one that does not read back (truncated, corrupted,
written by another version) is ignored and removed.  Entries are written to a temporary file
and renamed into place, so a reader never sees half an entry, and read with an unpickler that
only builds looplift's abstract values and the dtypes inside them.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import tempfile
import types
from pathlib import Path
from typing import Any, Hashable

import numpy as np
import torch

from . import __version__, logs
from .lattice import AV

#: Modules (and names in them) an entry may name when it is read back.
_ALLOWED = {
    "looplift.lattice": None,
    "builtins": {"int", "float", "complex", "bool", "str", "bytes", "tuple", "frozenset", "slice", "type",
                 "NoneType", "Ellipsis"},
    "numpy": {"dtype"},
    "torch": {name for name in dir(torch) if isinstance(getattr(torch, name, None), torch.dtype)},
}


def directory() -> Path:
    """``LOOPLIFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/looplift``, else ``~/.cache/looplift``."""
    explicit = os.environ.get("LOOPLIFT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "looplift"


def _stable(part: Any) -> Any:
    """A key part as text that means the same in every process (types by name, not identity)."""
    if isinstance(part, type):
        return f"{part.__module__}.{part.__qualname__}"
    if isinstance(part, tuple):
        return tuple(_stable(p) for p in part)
    if isinstance(part, (torch.dtype, np.dtype)):
        return str(part)
    return repr(part)


def path_of(fn: types.FunctionType, source: str, key: Hashable) -> Path:
    identity = repr((__version__, torch.__version__, np.__version__, sys.version_info[:3], fn.__module__,
                     fn.__qualname__, source, _stable(key)))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return directory() / f"{fn.__module__}.{fn.__qualname__}" / f"{digest}.pickle"


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get(module, set())
        if allowed is None or name in allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a cache entry")


def load(path: Path) -> dict[str, Any] | None:
    """The entry at ``path``, or None (missing, stale or damaged: a damaged one is removed)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        entry = _Unpickler(io.BytesIO(data)).load()
        if not (isinstance(entry, dict) and isinstance(entry.get("observed", {}), dict)
                and all(isinstance(k, int) and isinstance(v, AV) for k, v in entry.get("observed", {}).items())
                and all(isinstance(k, str) and v in ("compiled", "eager") for k, v in entry.get("regions", {}).items())):
            raise ValueError("not a cache entry")
    except Exception as exc:  # whatever is wrong with it, the cache is only a shortcut
        logs.cache.info("ignoring a damaged cache entry %s (%s)", path, exc)
        try:
            path.unlink()
        except OSError:
            pass
        return None
    logs.cache.info("read %s", path)
    return entry


def store(path: Path, entry: dict[str, Any]) -> None:
    """Write ``entry`` atomically; a failure (read-only disk, no space) only logs."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(entry, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
        logs.cache.info("wrote %s", path)
    except OSError as exc:
        logs.cache.info("could not write the cache entry %s (%s)", path, exc)
