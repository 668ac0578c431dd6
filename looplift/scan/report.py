"""Output formats of ``looplift scan``: flake8-style text, JSON, statistics, the codes table."""
from __future__ import annotations

import json
from collections import Counter
from typing import Iterable, Iterator

from .findings import CODES, Finding


def format_text(found: Iterable[Finding]) -> Iterator[str]:
    """``path:line:col: CODE message``, one line per finding (what editors and CI parse)."""
    for f in found:
        yield f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}"


def format_json(found: Iterable[Finding]) -> str:
    """A JSON list of objects with every `Finding` field (``invariant``/``liftable`` are null for LL900)."""
    return json.dumps([f.to_dict() for f in found], indent=2)


def format_statistics(found: Iterable[Finding]) -> Iterator[str]:
    """flake8's ``--statistics``: ``count  CODE title`` per code that occurred, by code."""
    counts = Counter(f.code for f in found)
    for code in sorted(counts):
        yield f"{counts[code]:<5} {code} {CODES[code].title}"


def format_codes() -> Iterator[str]:
    """The codes table (``--list-codes``): code, title and what to do about it."""
    for info in CODES.values():
        yield f"{info.code}  {info.title}\n       fix: {info.fix}"
