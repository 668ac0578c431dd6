"""Warnings and errors that looplift reports to its users.

Every refusal to transform carries a location (file and line) and a human reason, so the
warning a user sees says exactly which line ran as the original code and why.
"""
from __future__ import annotations

from dataclasses import dataclass


class LoopliftWarning(UserWarning):
    """Part of a decorated function runs as the original code (the message says where and why)."""


class LoopliftError(RuntimeError):
    """Raised instead of a `LoopliftWarning` when the decorator was given ``strict=True``."""


class SettingError(LoopliftError, ValueError):
    """An environment variable looplift reads has a value it does not accept (``LOOPLIFT_DEBUG=2``).

    A ``ValueError`` (the value is wrong) and a ``LoopliftError`` (``except LoopliftError`` sees
    every error looplift raises); the message is one line naming the variable and what it accepts."""


@dataclass(frozen=True)
class Refusal(Exception):
    """An analysis or transform could not prove something safe; the caller falls back.

    ``line`` is an absolute line number in the user's file (or ``None`` for the whole function).
    """

    reason: str
    line: int | None = None

    def __str__(self) -> str:  # pragma: no cover - trivial
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.reason}"
