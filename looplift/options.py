"""Decorator options and the environment variables that override them.

Both are checked where they enter, with one-line errors: a decorator option of the wrong type
is a ``TypeError`` and one of the wrong value a ``ValueError``, at decoration; an environment
variable with a value outside the documented ones is a `SettingError` (a ``ValueError``) from
the reader below, so a typo such as ``LOOPLIFT_DEBUG=2`` is never silently read as "off".
``looplift`` calls `check_environment` when it decorates a function and in ``explain``; the
dispatcher reads the variables again when it builds a specialization (they may have changed).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal, Union

from .errors import SettingError

CompileMode = Union[bool, Literal["auto"]]
LiftMode = Literal["auto", "always", "never"]

#: What ``LOOPLIFT_DEBUG`` and ``LOOPLIFT_DISABLE`` accept (case-insensitive; empty or unset is off).
FLAG_VALUES: dict[str, bool] = {
    "1": True, "true": True, "yes": True, "on": True,
    "0": False, "false": False, "no": False, "off": False, "": False,
}
#: What ``LOOPLIFT_LIFT`` accepts (case-insensitive; empty or unset is ``auto``).
LIFT_MODES: tuple[LiftMode, ...] = ("auto", "always", "never")


@dataclass(frozen=True)
class Options:
    """``compile``: ``"auto"`` (compile lifted regions when the cost model expects a gain),
    ``True`` (always, warning when it cannot), ``False`` (never).  ``opt_in``: lift only loops
    marked with ``looplift.loop(...)`` or ``# looplift``.  ``debug``: print the rewritten source and
    decisions at each new specialization.  ``strict``: raise ``LoopliftError`` instead of warning
    when something runs as the original code.  ``cache_size``: specializations kept per function.
    ``compile_options``: keyword arguments for ``torch.compile`` (``mode``, ``backend``,
    ``dynamic``, ``fullgraph``, ``options``).  ``cache``: keep what a specialization learned (the
    types observed at its first call, the compiled regions' choices) on disk, for the next process
    (``LOOPLIFT_CACHE_DIR``, by default ``~/.cache/looplift``)."""

    compile: CompileMode = "auto"
    opt_in: bool = False
    debug: bool = False
    strict: bool = False
    cache_size: int = 64
    compile_options: tuple[tuple[str, Any], ...] = ()
    cache: bool = False

    def __post_init__(self) -> None:
        if self.compile is not True and self.compile is not False and self.compile != "auto":
            kind = ValueError if isinstance(self.compile, str) else TypeError
            raise kind(f"compile must be True, False or 'auto', not {self.compile!r}")
        if not isinstance(self.cache_size, int) or isinstance(self.cache_size, bool):
            raise TypeError(f"cache_size must be an int, not {type(self.cache_size).__name__} ({self.cache_size!r})")
        if self.cache_size < 1:
            raise ValueError(f"cache_size must be at least 1, not {self.cache_size}")
        for name in ("opt_in", "debug", "strict", "cache"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {getattr(self, name)!r}")
        unknown = {name for name, _ in self.compile_options} - COMPILE_OPTIONS
        if unknown:
            raise ValueError(f"compile_options: torch.compile takes {sorted(COMPILE_OPTIONS)}, not {sorted(unknown)}")
        if dict(self.compile_options).get("dynamic") is not None and self.compile == "auto":
            raise ValueError("compile_options: dynamic= is chosen by compile='auto' (static shapes first, dynamic "
                             "in the background); give it with compile=True")


#: The keyword arguments of ``torch.compile`` that ``compile_options`` passes through.
COMPILE_OPTIONS = frozenset({"mode", "backend", "dynamic", "fullgraph", "options"})


def env_flag(name: str) -> bool:
    """The value of an on/off variable (``LOOPLIFT_DEBUG``, ``LOOPLIFT_DISABLE``).

    ``1/true/yes/on`` are on, ``0/false/no/off`` and empty (or unset) are off, in any case;
    anything else raises `SettingError`."""
    raw = os.environ.get(name, "")
    value = FLAG_VALUES.get(raw.strip().lower())
    if value is None:
        raise SettingError(f"{name}={raw!r} is not a valid value: use 1/0, true/false, yes/no, on/off, "
                           "or leave it empty")
    return value


def debug_enabled(options: Options) -> bool:
    """``debug=True`` on the decorator, or ``LOOPLIFT_DEBUG`` on."""
    return options.debug or env_flag("LOOPLIFT_DEBUG")


def disabled() -> bool:
    """``LOOPLIFT_DISABLE`` on: decorated functions run their original code."""
    return env_flag("LOOPLIFT_DISABLE")


def lift_mode() -> LiftMode:
    """``LOOPLIFT_LIFT``: ``auto`` (the cost model decides; also when unset or empty),
    ``always`` or ``never``; anything else raises `SettingError`."""
    raw = os.environ.get("LOOPLIFT_LIFT", "")
    mode = raw.strip().lower() or "auto"
    for known in LIFT_MODES:
        if mode == known:
            return known
    raise SettingError(f"LOOPLIFT_LIFT={raw!r} is not a valid value: use auto, always or never")


def check_environment() -> None:
    """Read every variable once, so that a bad value fails now, with its one-line message."""
    env_flag("LOOPLIFT_DEBUG")
    env_flag("LOOPLIFT_DISABLE")
    lift_mode()
