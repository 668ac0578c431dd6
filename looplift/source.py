"""Stage 1: the function's source as a syntax tree that still points at the user's file.

The tree keeps the original file name and absolute line numbers, so warnings, ``explain()``
and tracebacks from the rewritten code name the user's lines.  Source that changed on disk
after the function was defined is refused: the code object's line table would no longer match
the text, and a rewrite of the new text would run code the user never imported.
"""
from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass

from .errors import Refusal


@dataclass(frozen=True)
class FunctionSource:
    """A parsed function: its ``def`` node (absolute line numbers), file name and text."""

    node: ast.FunctionDef
    filename: str
    text: str
    first_line: int


def _target_function(fn: object) -> types.FunctionType:
    if isinstance(fn, (staticmethod, classmethod)):
        fn = fn.__func__
    if not isinstance(fn, types.FunctionType):
        raise Refusal(f"{type(fn).__name__} objects have no Python source to rewrite")
    return fn


def load(fn: types.FunctionType) -> FunctionSource:
    """Parse ``fn``'s source; ``Refusal`` (with the reason) when it cannot be trusted."""
    fn = _target_function(fn)
    if hasattr(fn, "__wrapped__"):
        raise Refusal("the function is already wrapped by another decorator "
                      "(put @looplift closest to the def)")
    code = fn.__code__
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        raise Refusal("generators and async functions are not rewritten")
    if fn.__name__ == "<lambda>":
        raise Refusal("lambdas are not rewritten (decorate a def)")
    filename = code.co_filename
    linecache.checkcache(filename)
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise Refusal(f"no source available ({exc})") from None
    if first_line != code.co_firstlineno:
        raise Refusal("the source file changed since the function was defined")
    text = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        raise Refusal(f"source does not parse on its own ({exc.msg})") from None
    if not module.body or not isinstance(module.body[0], ast.FunctionDef):
        raise Refusal("source is not a plain def")
    node = module.body[0]
    if node.name != fn.__name__:
        raise Refusal("the source file changed since the function was defined")
    _check_lines_match(node, code)
    ast.increment_lineno(node, first_line - 1)
    return FunctionSource(node=node, filename=filename, text=text, first_line=first_line)


def _check_lines_match(node: ast.FunctionDef, code: types.CodeType) -> None:
    """The parsed body must span the lines the code object was compiled from."""
    code_lines = {line for _, _, line in code.co_lines() if line is not None}
    if not code_lines:
        return
    start = code.co_firstlineno
    span = max(code_lines) - start + 1
    end = (node.end_lineno or node.lineno) - node.lineno + 1 if node.decorator_list == [] else \
        (node.end_lineno or node.lineno) - min(d.lineno for d in node.decorator_list) + 1
    if span > end:
        raise Refusal("the source file changed since the function was defined")
