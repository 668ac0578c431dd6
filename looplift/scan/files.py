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
# (prefixes allowed).  As in flake8, at most one space may follow the colon, and a colon followed
# by no code (``# noqa: see the docs``, ``# noqa:  LL001``) is a blanket noqa.
_NOQA = re.compile(r"#\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


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


def noqa_comments(source: str, last_line: int | None = None) -> dict[int, list[str]]:
    """Line -> the ``# noqa`` comments that apply to it (up to ``last_line``, when given).

    Only comments count (a ``"# noqa"`` inside a string does not).  As in flake8, a comment
    applies to its own line and to the other lines of a token that spans several (a
    triple-quoted string) or of a backslash-continued line; the lines inside brackets are
    separate lines.  Source that does not tokenize falls back to the comment's physical line.
    """
    covered: dict[int, list[str]] = {}
    first, last, found = 0, 0, []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind = token.type
            if kind in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            if not first and last_line is not None and token.start[0] > last_line:
                break  # tokenizing is the slow part: stop after the last line asked about
            first = first or token.start[0]
            last = max(last, token.end[0])
            if kind == tokenize.COMMENT and _NOQA.search(token.string):
                found.append(token.string)
            elif kind in (tokenize.NL, tokenize.NEWLINE):
                for line in range(first, last + 1) if found else ():
                    covered[line] = found
                first, last, found = 0, 0, []
    except (tokenize.TokenError, SyntaxError):
        covered = {n: [text] for n, text in enumerate(split_lines(source), 1) if _NOQA.search(text)}
    return covered


def noqa_suppresses(comment: str, code: str) -> bool:
    """Whether a ``# noqa`` in ``comment`` (a comment, or a line of code) silences ``code``.

    ``# noqa: E501`` names only another tool's code: looplift's codes stay reported."""
    match = _NOQA.search(comment)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)
