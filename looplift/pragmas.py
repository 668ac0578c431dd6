"""Stage 2: per-loop opt-in and opt-out.

Three ways to mark a loop: ``for x in looplift.loop(xs):`` (the marker is the identity at run
time), a ``# looplift`` comment on the loop's first line (opt in), and ``# looplift: off``
(never touch this loop).  Comments are invisible to ``ast``, so they are read with ``tokenize``.

A marker comment is ``# looplift`` alone, or ``# looplift: VALUE`` followed by anything (``#
looplift: off  (needs exact sums)``); a VALUE other than those in ``MARK_VALUES`` is a typo that
would silently leave the loop unmarked, so it is reported (a `LoopliftWarning` at the comment's
file and line, a `LoopliftError` under ``strict=True``).  A comment that merely mentions looplift
(``# looplift makes this fast``) is not a marker.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from enum import Enum
from typing import Any, Iterable, Mapping

from .errors import LoopliftError, LoopliftWarning

LOOP_NODES = (ast.For, ast.While)


class Mark(Enum):
    NONE = "none"
    ON = "on"
    OFF = "off"


def loop(iterable: Iterable[Any]) -> Iterable[Any]:
    """Mark a loop for looplift (``for x in looplift.loop(xs):``); returns ``iterable`` itself."""
    return iterable


#: ``# looplift: VALUE`` -> the mark it sets.
MARK_VALUES: dict[str, Mark] = {"on": Mark.ON, "off": Mark.OFF, "no": Mark.OFF, "skip": Mark.OFF}
_MARKER = re.compile(r"#\s*looplift\s*(?:(?P<colon>:)\s*(?P<value>[^\s(,;#]*))?(?P<rest>.*)", re.IGNORECASE)
#: Where unknown markers were reported, so each is reported once per process.
_REPORTED: dict[Any, Any] = {}


def comment_marks(text: str, first_line: int, filename: str | None = None, strict: bool = False) -> dict[int, Mark]:
    """Absolute line -> mark, from ``# looplift`` / ``# looplift: off`` comments.

    An unknown value (``# looplift: maybe``) is reported with ``filename`` and its line, and
    marks nothing."""
    marks: dict[int, Mark] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError):
        return marks
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _MARKER.fullmatch(token.string.strip())
        if match is None or not match.group("colon") and match.group("rest").strip():
            continue  # not a marker: another comment, or prose that mentions looplift
        line = token.start[0] + first_line - 1
        value = (match.group("value") or "").lower() if match.group("colon") else "on"
        if value in MARK_VALUES:
            marks[line] = MARK_VALUES[value]
        else:
            _unknown_marker(token.string.strip(), filename, line, strict)
    return marks


def _unknown_marker(comment: str, filename: str | None, line: int, strict: bool) -> None:
    accepted = ", ".join(f"'# looplift: {v}'" for v in MARK_VALUES)
    message = (f"unknown looplift marker {comment!r} (use '# looplift', {accepted}); "
               "the loop is not marked")
    if strict:
        raise LoopliftError(f"{filename or '<unknown>'}:{line}: {message}")
    warnings.warn_explicit(message, LoopliftWarning, filename or "<unknown>", line, registry=_REPORTED)


def is_loop_marker(call: ast.expr, globals_: Mapping[str, Any]) -> bool:
    """``loop(xs)`` or ``<module>.loop(xs)`` where the callee is ``looplift.loop``."""
    if not isinstance(call, ast.Call) or len(call.args) != 1 or call.keywords:
        return False
    func = call.func
    if isinstance(func, ast.Name):
        return globals_.get(func.id) is loop
    if isinstance(func, ast.Attribute) and func.attr == "loop" and isinstance(func.value, ast.Name):
        return getattr(globals_.get(func.value.id), "loop", None) is loop
    return False


def loop_marks(fn_node: ast.FunctionDef, text: str, first_line: int, globals_: Mapping[str, Any],
               filename: str | None = None, strict: bool = False) -> dict[ast.AST, Mark]:
    """Every loop of the function with its mark (comments win over the marker call).

    ``filename`` and ``strict``: where and how an unknown marker is reported (`comment_marks`)."""
    comments = comment_marks(text, first_line, filename, strict)
    marks: dict[ast.AST, Mark] = {}
    for node in ast.walk(fn_node):
        if not isinstance(node, LOOP_NODES):
            continue
        mark = comments.get(node.lineno, Mark.NONE)
        if mark is Mark.NONE and isinstance(node, ast.For) and is_loop_marker(node.iter, globals_):
            mark = Mark.ON
        marks[node] = mark
    return marks
