"""What a loop does to names: which it rebinds, which it may modify, whether it calls code the
analysis cannot see into.  Hoisting reads this to prove a conversion loop-invariant.

It relies only on facts that hold whatever the arguments turn out to be (``STATIC_TYPE``): a
method call on a value that is only *observed* to be a tensor could run anything.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import anno, registry, semantics
from ..anno import Key
from ..lattice import AV, ArrayV, ConstV, ListV, PyScalarV, TensorV

Resolver = Callable[[ast.expr], Any]


@dataclass
class LoopEffects:
    """``assigned``: names the loop rebinds.  ``mutates``: the loop may write into an array or
    a tensor in place (through any name: views and aliases are not tracked, so any such write
    counts).  ``opaque_call``: the loop calls code that could do either."""

    assigned: set[str] = field(default_factory=set)
    mutates: bool = False
    opaque_call: bool = False


def static_type(node: ast.AST) -> AV | None:
    return anno.getanno(node, Key.STATIC_TYPE)


def _immutable(value: AV | None) -> bool:
    return value is not None and all(
        isinstance(o, (PyScalarV, ConstV)) or (isinstance(o, ArrayV) and o.scalar) for o in value.options())


def _list(value: AV | None) -> bool:
    """Item assignment into a Python list replaces an element; it writes into no array."""
    return value is not None and all(isinstance(o, ListV) for o in value.options())


def qualified_callee(func: ast.expr, resolve: Resolver) -> str | None:
    try:
        target = resolve(func)
    except Exception:
        return None
    if target is None:
        return None
    if isinstance(target, np.ufunc) or (callable(target) and registry.for_object(target) is not None):
        return semantics.qualified_name(target) or "numpy.<registry>"
    return semantics.qualified_name(target)


def is_pure_call(call: ast.Call, resolve: Resolver) -> bool:
    """The call runs no user code: it can write only into its receiver or its arguments the way
    ``writes_in_place`` sees, and cannot rebind the function's names."""
    func = call.func
    qualified = qualified_callee(func, resolve)
    if qualified is not None:
        return semantics.is_read_only_function(qualified) or qualified in semantics.NUMPY_MUTATORS or \
            qualified == "numpy.<registry>"
    if isinstance(func, ast.Attribute):
        receiver = static_type(func.value)
        if receiver is None:
            return False
        options = list(receiver.options())
        if all(isinstance(o, (TensorV, ArrayV)) for o in options):
            return True
        if all(isinstance(o, ListV) for o in options):
            return func.attr in ("append", "index", "count", "copy")
    return False


def writes_in_place(call: ast.Call, resolve: Resolver) -> bool:
    if any(k.arg == "out" for k in call.keywords):
        return True
    func = call.func
    if isinstance(func, ast.Attribute) and (semantics.is_inplace_method(func.attr)
                                            or func.attr in semantics.ARRAY_MUTATING_METHODS):
        return True
    return qualified_callee(func, resolve) in semantics.NUMPY_MUTATORS


def loop_effects(loop: ast.AST, resolve: Resolver) -> LoopEffects:
    """Effects of the repeated part of ``loop`` (a For/While body and test, a comprehension)."""
    effects = LoopEffects()
    if isinstance(loop, ast.For):
        roots: list[ast.AST] = [loop.target, *loop.body, *loop.orelse]
    elif isinstance(loop, ast.While):
        roots = [loop.test, *loop.body, *loop.orelse]
    else:
        roots = [loop]
    for root in roots:
        for node in ast.walk(root):
            _note(node, effects, resolve)
    return effects


def _note(node: ast.AST, effects: LoopEffects, resolve: Resolver) -> None:
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        effects.assigned.add(node.id)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        effects.assigned.add(node.name)
        effects.opaque_call = True  # nested code may run later with unknown effects
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        effects.assigned.update((a.asname or a.name).split(".")[0] for a in node.names)
    elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await)):
        effects.opaque_call = True
    elif isinstance(node, ast.AugAssign):
        if not (isinstance(node.target, ast.Name) and _immutable(static_type(node.target))):
            effects.mutates = True
    elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
        if not (isinstance(node, ast.Subscript) and _list(static_type(node.value))):
            effects.mutates = True
    elif isinstance(node, ast.Call):
        if not is_pure_call(node, resolve):
            effects.opaque_call = True
        elif writes_in_place(node, resolve):
            effects.mutates = True
