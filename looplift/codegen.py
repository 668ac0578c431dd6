"""Stage 6: from the rewritten tree to a function that behaves like the user's own.

The rewritten ``def`` is compiled nested in a factory whose locals are the original free
variables plus the runtime helpers, so its code object's free variables map by name onto the
*original* closure cells (late binding intact) and onto fresh cells for the helpers.  The
function runs with the original globals (``global`` writes land in the user's module), keeps
its name, defaults and docstring, and is compiled under the user's file name with the user's
line numbers, so tracebacks show the user's file, line and source text.
"""
from __future__ import annotations

import __future__
import ast
import types
from typing import Any, Mapping

from .errors import Refusal

FACTORY = "__looplift_factory__"


#: The name the function has inside the factory: under its own name the ``def`` would bind a
#: factory local, and a recursive call would read that local instead of the module global.
INNER = "__looplift_inner__"


def _factory(fn_node: ast.FunctionDef, cell_names: list[str]) -> ast.Module:
    body: list[ast.stmt] = [ast.Assign([ast.Name(n, ast.Store())], ast.Constant(None)) for n in cell_names]
    inner = ast.copy_location(ast.FunctionDef(INNER, fn_node.args, fn_node.body, [], fn_node.returns,
                                              getattr(fn_node, "type_comment", None)), fn_node)
    body += [inner, ast.Return(ast.Name(INNER, ast.Load()))]
    factory = ast.FunctionDef(FACTORY, ast.arguments([], [], None, [], [], None, []), body, [], None)
    for stmt in body[:-2]:
        ast.copy_location(stmt, fn_node)
        ast.copy_location(stmt.targets[0], fn_node)
        ast.copy_location(stmt.value, fn_node)
    ast.copy_location(factory, fn_node)
    module = ast.Module([factory], [])
    return ast.fix_missing_locations(module)


def _find_code(code: types.CodeType, name: str) -> types.CodeType:
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == name:
            return const
    raise LookupError(name)


def future_flags(fn: types.FunctionType) -> int:
    """The ``from __future__`` flags ``fn`` was compiled with (``annotations``, say)."""
    return fn.__code__.co_flags & _FUTURE_MASK


_FUTURE_MASK = 0
for _feature in __future__.all_feature_names:
    _FUTURE_MASK |= getattr(__future__, _feature).compiler_flag


def compile_def(fn_node: ast.FunctionDef, filename: str, cell_names: list[str], flags: int = 0) -> types.CodeType:
    """The code object of ``fn_node`` compiled with ``cell_names`` as free variables."""
    module_code = compile(_factory(fn_node, cell_names), filename, "exec", flags=flags, dont_inherit=True)
    code = _find_code(_find_code(module_code, FACTORY), INNER)
    return code.replace(co_name=fn_node.name, co_qualname=fn_node.name)


def _compile(fn_node: ast.FunctionDef, filename: str, globals_: dict[str, Any],
             cells: Mapping[str, types.CellType], defaults: tuple[Any, ...] | None,
             flags: int = 0) -> types.FunctionType:
    inner = compile_def(fn_node, filename, list(cells), flags)
    missing = [name for name in inner.co_freevars if name not in cells]
    if missing:  # a name the rewrite made free that the original did not close over
        raise Refusal(f"rewritten code refers to unknown variables {missing}")
    closure = tuple(cells[name] for name in inner.co_freevars)
    return types.FunctionType(inner, globals_, fn_node.name, defaults, closure)


def build_function(fn_node: ast.FunctionDef, filename: str, like: types.FunctionType,
                   helpers: Mapping[str, Any], *, defaults: bool = True) -> types.FunctionType:
    """Compile ``fn_node`` into a function with ``like``'s globals, closure cells, defaults and
    metadata; ``helpers`` become extra free variables (the runtime, regions).  ``defaults=False``
    for a function of another signature (a resumed loop)."""
    cells = dict(zip(like.__code__.co_freevars, like.__closure__ or ()))
    if "__class__" in cells:
        raise Refusal("functions that use zero-argument super() are not rewritten")
    clash = cells.keys() & helpers.keys()
    if clash:
        raise Refusal(f"the function uses reserved names {sorted(clash)}")
    cells.update((name, types.CellType(value)) for name, value in helpers.items())
    fn = _compile(fn_node, filename, like.__globals__, cells, like.__defaults__ if defaults else None,
                  future_flags(like))
    fn.__name__ = like.__name__
    fn.__kwdefaults__ = like.__kwdefaults__ if defaults else None
    fn.__qualname__ = like.__qualname__
    fn.__code__ = fn.__code__.replace(co_qualname=like.__code__.co_qualname)
    fn.__module__ = like.__module__
    fn.__doc__ = like.__doc__
    fn.__annotations__ = like.__annotations__
    return fn


def build_helper(fn_node: ast.FunctionDef, filename: str, globals_: dict[str, Any],
                 helpers: Mapping[str, Any]) -> types.FunctionType:
    """Compile a generated function (an outlined region) that closes over ``helpers`` only."""
    return _compile(fn_node, filename, globals_, {n: types.CellType(v) for n, v in helpers.items()}, None)
