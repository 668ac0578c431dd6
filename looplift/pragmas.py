"""Stage 2: per-loop opt-in and opt-out.

Three ways to mark a loop: ``for x in looplift.loop(xs):`` (the marker is the identity at run
time), a ``# looplift`` comment on the loop's first line (opt in), and ``# looplift: off``
(never touch this loop).  Comments are invisible to ``ast``, so they are read with ``tokenize``.
"""
from __future__ import annotations

import ast
import io
import tokenize
from enum import Enum
from typing import Any, Iterable, Mapping

LOOP_NODES = (ast.For, ast.While)


class Mark(Enum):
    NONE = "none"
    ON = "on"
    OFF = "off"


def loop(iterable: Iterable[Any]) -> Iterable[Any]:
    """Mark a loop for looplift (``for x in looplift.loop(xs):``); returns ``iterable`` itself."""
    return iterable


def comment_marks(text: str, first_line: int) -> dict[int, Mark]:
    """Absolute line -> mark, from ``# looplift`` / ``# looplift: off`` comments."""
    marks: dict[int, Mark] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError):
        return marks
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        body = token.string.lstrip("#").strip().lower().replace(" ", "")
        line = token.start[0] + first_line - 1
        if body in ("looplift:off", "looplift:no", "looplift:skip"):
            marks[line] = Mark.OFF
        elif body in ("looplift", "looplift:on"):
            marks[line] = Mark.ON
    return marks


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


def loop_marks(fn_node: ast.FunctionDef, text: str, first_line: int,
               globals_: Mapping[str, Any]) -> dict[ast.AST, Mark]:
    """Every loop of the function with its mark (comments win over the marker call)."""
    comments = comment_marks(text, first_line)
    marks: dict[ast.AST, Mark] = {}
    for node in ast.walk(fn_node):
        if not isinstance(node, LOOP_NODES):
            continue
        mark = comments.get(node.lineno, Mark.NONE)
        if mark is Mark.NONE and isinstance(node, ast.For) and is_loop_marker(node.iter, globals_):
            mark = Mark.ON
        marks[node] = mark
    return marks
