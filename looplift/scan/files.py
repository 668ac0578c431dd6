"""The file side of the scan: which files to check, how to decode them, ``# noqa`` comments.

Walking follows linter conventions: a path given explicitly is always checked (whatever its
extension); directories are walked recursively for ``*.py``, in sorted order so that output is
stable, skipping hidden directories and the usual build/vendor folders.
"""
from __future__ import annotations

import io
import logging
import os
import re
import tokenize
from typing import Iterable, Iterator

log = logging.getLogger(__name__)

#: Directory names never walked into (hidden directories, ``.git``/``.venv`` included, are too).
SKIPPED_DIRS = frozenset({"__pycache__", "build", "dist", "venv", "node_modules", "site-packages"})

# flake8's syntax: "# noqa" silences every code on the line, "# noqa: LL001,LL003" only those
# (prefixes allowed); "# noqa:" followed by no valid code is a blanket noqa, as in flake8.
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


class SourceError(Exception):
    """A file that cannot be turned into source text; ``line`` is 1-based where known."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


def iter_python_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Every file to scan under ``paths``, each once, in a stable order.

    Raises ``FileNotFoundError`` (before yielding anything) for a path that does not exist, so
    a typo in a CI command fails instead of passing vacuously.
    """
    roots = [os.fspath(p) for p in paths]
    for root in roots:
        if not os.path.exists(root):
            raise FileNotFoundError(f"no such file or directory: {root!r}")
    seen: set[str] = set()
    for root in roots:
        files = _walk(root) if os.path.isdir(root) else iter((root,))
        for path in files:
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                yield path


def _walk(top: str) -> Iterator[str]:
    for directory, dirnames, filenames in os.walk(top):
        kept = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        if len(kept) != len(dirnames):
            log.debug("skipping %s", ", ".join(sorted(set(dirnames) - set(kept))))
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield os.path.join(directory, name)


def read_source(path: str) -> str:
    """The decoded text of a Python file (PEP 263 cookie or BOM honoured, UTF-8 by default)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SourceError(f"could not read file: {exc.strerror or exc}") from exc
    return decode_source(data)


def decode_source(data: bytes) -> str:
    """Decode source bytes like the interpreter would; `SourceError` says where it fails."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # unknown or invalid coding cookie
        raise SourceError(f"could not decode file: {exc.msg}", exc.lineno or 1) from exc
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(f"could not decode file as {encoding}: {exc.reason} (byte 0x{data[exc.start]:02x})",
                          line) from exc


def split_lines(text: str) -> list[str]:
    """Physical lines as ``ast`` numbers them (``\\r\\n``, ``\\r`` and ``\\n`` end a line)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def noqa_suppresses(line: str, code: str) -> bool:
    """Whether a ``# noqa`` comment on ``line`` silences ``code``."""
    if "noqa" not in line.lower():
        return False
    match = _NOQA.search(line)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)
