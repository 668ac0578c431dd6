"""Decorator options and the environment variables that override them."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, Union

CompileMode = Union[bool, Literal["auto"]]


@dataclass(frozen=True)
class Options:
    """``compile``: ``"auto"`` (compile lifted regions when the cost model expects a gain),
    ``True`` (always, warning when it cannot), ``False`` (never).  ``opt_in``: lift only loops
    marked with ``looplift.loop(...)`` or ``# looplift``.  ``debug``: print the rewritten source and
    decisions at each new specialization.  ``strict``: raise ``LoopliftError`` instead of warning
    when something runs as the original code.  ``cache_size``: specializations kept per function."""

    compile: CompileMode = "auto"
    opt_in: bool = False
    debug: bool = False
    strict: bool = False
    cache_size: int = 64

    def __post_init__(self) -> None:
        if self.compile not in (True, False, "auto"):
            raise ValueError(f"compile must be True, False or 'auto', not {self.compile!r}")
        if not isinstance(self.cache_size, int) or isinstance(self.cache_size, bool) or self.cache_size < 1:
            raise ValueError(f"cache_size must be a positive int, not {self.cache_size!r}")
        for name in ("opt_in", "debug", "strict"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {getattr(self, name)!r}")


def env_flag(name: str) -> bool:
    """``LOOPLIFT_DEBUG=1`` / ``LOOPLIFT_DISABLE=1`` (also ``true``/``yes``/``on``)."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def debug_enabled(options: Options) -> bool:
    return options.debug or env_flag("LOOPLIFT_DEBUG")


def disabled() -> bool:
    return env_flag("LOOPLIFT_DISABLE")
