"""Small AST builders shared by the transforms (runtime references, assignments)."""
from __future__ import annotations

import ast
from typing import Sequence

RUNTIME = "__ll"


def runtime_ref(*path: str) -> ast.expr:
    """``__ll.a.b`` as an expression."""
    node: ast.expr = ast.Name(RUNTIME, ast.Load())
    for part in path:
        node = ast.Attribute(node, part, ast.Load())
    return node


def runtime_call(path: Sequence[str], args: Sequence[ast.expr], keywords: Sequence[ast.keyword] = ()) -> ast.Call:
    return ast.Call(runtime_ref(*path), list(args), list(keywords))


def constant(value: object) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple([constant(v) for v in value], ast.Load())
    return ast.Constant(value)


def assign(name: str, value: ast.expr, like: ast.AST) -> ast.Assign:
    """``name = value`` placed at ``like``'s line (so tracebacks point at the user's line)."""
    node = ast.Assign([ast.Name(name, ast.Store())], value)
    return ast.copy_location(node, like)
