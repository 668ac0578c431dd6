"""What ``looplift scan`` reports: the table of codes and the `Finding` record.

``CODES`` is the single source of truth for the codes: the visitor picks codes from it, the
report prints their titles (``--statistics``, ``--list-codes``), and ``docs/scan.md`` documents
exactly these entries (a test keeps the two in sync).  Codes are stable: a code is never
reused for a different meaning, so ``--select``/``--ignore``/``# noqa`` lists in users' CI
configurations keep working across versions.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class CodeInfo:
    """One reportable code: ``title`` is its one-line meaning, ``fix`` what to do about it."""

    code: str
    title: str
    fix: str


CODES: dict[str, CodeInfo] = {
    info.code: info
    for info in (
        CodeInfo("LL001", "tensor->NumPy conversion in a loop",
                 "decorate the function with @looplift when the value feeds NumPy ops, "
                 "or keep the computation in torch"),
        CodeInfo("LL002", "loop-invariant tensor->NumPy conversion in a loop",
                 "hoist the conversion above the loop (or let @looplift do it)"),
        CodeInfo("LL003", "NumPy->tensor conversion in a loop",
                 "convert the data once before the loop, or build the batch in torch"),
        CodeInfo("LL004", "loop-invariant NumPy->tensor conversion in a loop",
                 "hoist the conversion above the loop (or let @looplift do it)"),
        CodeInfo("LL005", "host sync in a loop (.item()/.tolist()/float(tensor))",
                 "accumulate in a tensor and convert once after the loop"),
        CodeInfo("LL006", ".cpu() device->host copy in a loop",
                 "keep the value on the device, or copy once after the loop"),
        CodeInfo("LL900", "file could not be parsed",
                 "fix the syntax or encoding error; nothing else in the file was checked"),
    )
}

#: What `Finding.reason` starts with, one per decision the linter can reach.
HOISTABLE = "hoistable: loop-invariant"
LIFTABLE = "liftable: NumPy ops on a tensor-derived value"
PER_ITERATION = "per-iteration"
PYTHON_LEVEL = "python-level"

_CODE_PREFIX = re.compile(r"[A-Z]+[0-9]*")


@dataclass(frozen=True)
class Finding:
    """One reported conversion (or an unparsable file), located flake8-style.

    ``line`` and ``col`` are 1-based; ``col`` counts characters, not bytes.  ``invariant`` says
    whether the converted value is the same on every iteration, ``liftable`` whether
    ``@looplift`` would remove the conversion from the loop, ``reason`` the short why.  Both
    flags are ``None`` for LL900, where no analysis ran.
    """

    path: str
    line: int
    col: int
    code: str
    message: str
    invariant: bool | None
    liftable: bool | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--format json``): every field, under its own name."""
        return asdict(self)


def parse_codes(text: str | Iterable[str]) -> tuple[str, ...]:
    """Parse a ``--select``/``--ignore`` value ("LL001,LL003", "LL0") into code prefixes.

    Raises ``ValueError`` for a prefix that matches no known code, so a typo in a CI
    configuration fails loudly instead of silently selecting nothing.
    """
    parts = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text)
    prefixes = tuple(p.strip().upper() for p in parts if p.strip())
    for prefix in prefixes:
        if not _CODE_PREFIX.fullmatch(prefix) or not any(c.startswith(prefix) for c in CODES):
            raise ValueError(f"unknown code {prefix!r} (known codes: {', '.join(CODES)})")
    return prefixes


def is_selected(code: str, select: Iterable[str] | None, ignore: Iterable[str] | None) -> bool:
    """Whether ``code`` passes ``--select``/``--ignore`` (prefix match, like flake8).

    When both lists match, the longer (more specific) prefix wins, and ``ignore`` wins a tie:
    ``--select LL0 --ignore LL002`` drops LL002, ``--select LL002 --ignore LL0`` keeps it.
    """
    selected = max((len(p) for p in select if code.startswith(p)), default=-1) if select else 0
    ignored = max((len(p) for p in ignore or () if code.startswith(p)), default=-1)
    return selected >= 0 and selected > ignored
