"""``looplift scan``: a static linter for tensor<->NumPy conversions inside loops.

Python API::

    from looplift.scan import scan_paths, scan_source
    for finding in scan_paths(["src/"], select=["LL00"], ignore=["LL005"]):
        print(finding.path, finding.line, finding.code, finding.message)

This package parses files with ``ast`` and never imports torch or NumPy (nor the code it
checks), so it runs in CI without them and checks thousands of files in seconds.  See
``docs/scan.md`` for the codes.
"""
from __future__ import annotations

import ast
import logging
import os
import re
import time
import warnings
from typing import Iterable

from .files import SourceError, decode_source, iter_python_files, noqa_comments, noqa_suppresses, read_source, split_lines
from .findings import CODES, CodeInfo, Finding, is_selected, parse_codes
from .visitor import LOOP_WORDS, ConversionVisitor

__all__ = ["CODES", "CodeInfo", "Finding", "scan_file", "scan_paths", "scan_source"]

log = logging.getLogger(__name__)

#: A file without it has no ``# noqa`` comment to look for (tokenizing is the slow part).
_HAS_NOQA = re.compile("noqa", re.IGNORECASE)
#: A file that contains none of these cannot contain a reportable conversion; it is still
#: parsed (a syntax error is reported everywhere) but not walked.
_TRIGGERS = ("torch", "numpy", ".numpy", ".item", ".tolist", ".cpu", ".to(", "asarray", "array(")


def scan_source(text: str | bytes, path: str = "<string>", select: Iterable[str] | None = None,
                ignore: Iterable[str] | None = None) -> list[Finding]:
    """Findings for one module's source, ``# noqa`` and ``select``/``ignore`` applied.

    ``bytes`` are decoded like the interpreter would (coding cookie, BOM).  Never raises for
    bad input: undecodable or unparsable source yields a single LL900 finding.
    """
    select, ignore = _codes(select), _codes(ignore)
    try:
        source = decode_source(text) if isinstance(text, bytes) else text
    except SourceError as exc:
        return _filtered([_unparsable(path, str(exc), exc.line)], "", select, ignore)
    return _filtered(_analyze(source, path, split_lines(source)), source, select, ignore)


def scan_file(path: str, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> list[Finding]:
    """Findings for one file; an unreadable file yields a single LL900 finding."""
    try:
        text = read_source(path)
    except SourceError as exc:
        return _filtered([_unparsable(path, str(exc), exc.line)], "", _codes(select), _codes(ignore))
    return scan_source(text, path, select, ignore)


def scan_paths(paths: Iterable[str | os.PathLike[str]], select: Iterable[str] | None = None,
               ignore: Iterable[str] | None = None) -> list[Finding]:
    """Findings for every file under ``paths`` (directories walked for ``*.py``), in order.

    Raises ``FileNotFoundError`` for a path that does not exist and ``ValueError`` for an
    unknown code in ``select``/``ignore``, before scanning anything.
    """
    select, ignore = _codes(select), _codes(ignore)
    started = time.perf_counter()
    found: list[Finding] = []
    count = 0
    for count, path in enumerate(iter_python_files(paths), 1):
        log.debug("scanning %s", path)
        found.extend(scan_file(path, select, ignore))
    log.info("scanned %d files in %.2fs: %d findings", count, time.perf_counter() - started, len(found))
    return found


def _codes(codes: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if codes is None else parse_codes(codes)


def _analyze(source: str, path: str, lines: list[str]) -> list[Finding]:
    try:
        with warnings.catch_warnings():  # "is" with a literal, invalid escapes: not ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        where = exc.lineno or 1
        return [_unparsable(path, f"{type(exc).__name__}: {exc.msg}", where, exc.offset or 1)]
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return [_unparsable(path, f"{type(exc).__name__}: {exc}", 1)]
    if not any(trigger in source for trigger in _TRIGGERS) or not LOOP_WORDS.search(source):
        return []
    try:
        return ConversionVisitor(path, lines).run(tree)
    except RecursionError:
        return [_unparsable(path, "too deeply nested to analyze", 1)]


def _unparsable(path: str, error: str, line: int, col: int = 1) -> Finding:
    return Finding(path, line, max(col, 1), "LL900", f"{CODES['LL900'].title}: {error}", None, None, error)


def _filtered(found: list[Finding], source: str, select: tuple[str, ...] | None,
              ignore: tuple[str, ...] | None) -> list[Finding]:
    """``found`` without the codes ``select``/``ignore`` drop and those a ``# noqa`` silences."""
    kept = [f for f in found if is_selected(f.code, select, ignore)]
    if not kept or not _HAS_NOQA.search(source):
        return kept
    comments = noqa_comments(source, max(f.line for f in kept))
    return [f for f in kept if not any(noqa_suppresses(c, f.code) for c in comments.get(f.line, ()))]
