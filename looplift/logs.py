"""looplift's loggers, one per category, and ``LOOPLIFT_LOGS`` to turn them on.

Everything looplift logs goes through a child of the ``looplift`` logger, so the standard
``logging`` configuration of an application applies as usual (``logging.getLogger("looplift.cache")
.setLevel(logging.DEBUG)``).  Levels follow one convention: INFO is one line per decision (a new
specialization, an eviction, a compile kept or dropped), DEBUG the details behind it.

``LOOPLIFT_LOGS`` is the quick way, like ``TORCH_LOGS``: a comma-separated list of categories,
``cache,compile`` (INFO), ``+cache`` (DEBUG), ``-fallback`` (warnings only) and ``all`` / ``+all``
for every category.  It attaches one handler, to stderr, to the ``looplift`` logger (never to the
root logger, so other libraries' logs are untouched) and stops those records from also reaching
the root logger's handlers, so nothing is printed twice.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from typing import Mapping, TextIO

from .errors import SettingError

#: The parent of every looplift logger.
root = logging.getLogger("looplift")
#: A new specialization: the function, its signature, what was decided (counts), any fallback.
specialize = logging.getLogger("looplift.specialize")
#: The specialization cache: misses (and why: a new signature, a changed global) and evictions.
cache = logging.getLogger("looplift.cache")
#: What runs as the original code: whole-function fallbacks and conversions left in loops.
fallback = logging.getLogger("looplift.fallback")
#: Compiled regions: whether to compile, background compiles, measurements, the version kept.
compile = logging.getLogger("looplift.compile")
#: Reads of tensor data by the host (device syncs): the ones kept, and why, and the ones deferred.
host_reads = logging.getLogger("looplift.host_reads")
#: Batching: loops run as one batched computation, or why not.
batching = logging.getLogger("looplift.batching")
#: The static linter (``looplift scan``): files scanned and skipped.
scan = logging.getLogger("looplift.scan")

#: Category name (as ``LOOPLIFT_LOGS`` spells it) -> logger.
CATEGORIES: dict[str, logging.Logger] = {
    "specialize": specialize, "cache": cache, "fallback": fallback, "compile": compile,
    "host_reads": host_reads, "batching": batching, "scan": scan,
}
FORMAT = "[%(name)s] %(levelname)s: %(message)s"
_PREFIX_LEVELS = {"+": logging.DEBUG, "": logging.INFO, "-": logging.WARNING}
_ENTRY = re.compile(r"(?P<prefix>[+-]?)(?P<name>\w+)")
_handler: logging.Handler | None = None
_configured_from: str | None = None


def parse(spec: str) -> dict[str, int]:
    """``"+cache,compile"`` -> ``{"cache": DEBUG, "compile": INFO}``; ``all`` names the parent.

    Raises `SettingError` (one line, listing the categories) for an unknown name."""
    levels: dict[str, int] = {}
    for entry in filter(None, re.split(r"[,\s]+", spec.strip())):
        match = _ENTRY.fullmatch(entry)
        name = match.group("name").lower() if match else entry
        if match is None or name not in CATEGORIES and name != "all":
            raise SettingError(f"LOOPLIFT_LOGS: unknown category {entry!r} (use all, {', '.join(CATEGORIES)}, "
                               "each optionally prefixed by + for DEBUG or - for warnings only)")
        levels[name] = _PREFIX_LEVELS[match.group("prefix")]
    return levels


def enable(levels: Mapping[str, int]) -> None:
    """Set these categories' levels (``"all"``: the ``looplift`` logger, which the others
    inherit from) and make sure their records reach stderr."""
    for name, level in levels.items():
        (root if name == "all" else CATEGORIES[name]).setLevel(level)
    _attach()


def enable_all(level: int) -> None:
    """Every looplift logger at ``level``, to stderr (``looplift -v`` / ``-vv``)."""
    enable({"all": level})


def configure_from_environment() -> None:
    """Apply ``LOOPLIFT_LOGS`` (once per value; unset or empty changes nothing)."""
    global _configured_from
    spec = os.environ.get("LOOPLIFT_LOGS", "")
    if spec.strip() and spec != _configured_from:
        enable(parse(spec))
        _configured_from = spec


def reset() -> None:
    """Undo `enable`: levels back to NOTSET, the handler removed, records propagate again."""
    global _handler, _configured_from
    for logger in (root, *CATEGORIES.values()):
        logger.setLevel(logging.NOTSET)
    if _handler is not None:
        root.removeHandler(_handler)
        _handler = None
    root.propagate = True
    _configured_from = None


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (pytest and IPython replace it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _attach() -> None:
    global _handler
    if _handler is None:
        _handler = _Stderr()
        _handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(_handler)
        root.propagate = False
