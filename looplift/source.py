"""Stage 1: the function's source as a syntax tree that still points at the user's file.

The tree keeps the original file name and absolute line numbers, so warnings, ``explain()``
and tracebacks from the rewritten code name the user's lines.  Source that changed on disk
after the function was defined is refused: the code object's line table would no longer match
the text, and a rewrite of the new text would run code the user never imported.
"""
from __future__ import annotations

import ast
import dis
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass

from . import codegen
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
    ast.increment_lineno(node, first_line - 1)
    if node.name != fn.__name__ or not _compiles_to(node, filename, fn):
        raise Refusal("the source file changed since the function was defined")
    return FunctionSource(node=node, filename=filename, text=text, first_line=first_line)


def _compiles_to(node: ast.FunctionDef, filename: str, fn: types.FunctionType) -> bool:
    """The parsed source compiles to the very code the function runs (text that changed on
    disk, even on the same lines, does not)."""
    try:
        code = codegen.compile_def(node, filename, list(fn.__code__.co_freevars), codegen.future_flags(fn))
    except SyntaxError:
        return False
    return _same_code(code, fn.__code__)


_IGNORED_OPS = frozenset({"CACHE", "EXTENDED_ARG", "NOP", "PRECALL", "PUSH_NULL", "RESUME"})


def _instructions(code: types.CodeType) -> list[tuple[str, object]]:
    """Bytecode compared by meaning: what the compiler decides from the *module* around a
    function (an imported name called as ``np.sum(x)`` gets LOAD_ATTR, not LOAD_METHOD) and
    jump offsets are left out."""
    out = []
    for ins in dis.get_instructions(code):
        if ins.opname in _IGNORED_OPS:
            continue
        name = "LOAD_ATTR" if ins.opname == "LOAD_METHOD" else ins.opname
        arg = None if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs or isinstance(ins.argval, types.CodeType) \
            else ins.argval
        out.append((name, arg))
    return out


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    if (a.co_varnames, a.co_freevars, a.co_cellvars) != (b.co_varnames, b.co_freevars, b.co_cellvars):
        return False
    if _instructions(a) != _instructions(b):
        return False
    nested_a = [c for c in a.co_consts if isinstance(c, types.CodeType)]
    nested_b = [c for c in b.co_consts if isinstance(c, types.CodeType)]
    return len(nested_a) == len(nested_b) and all(map(_same_code, nested_a, nested_b))
