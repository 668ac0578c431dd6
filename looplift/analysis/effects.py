"""What a loop does to names: which it rebinds, which it may mutate, whether it calls code
the analysis cannot see into.  Hoisting reads this to prove a conversion loop-invariant.
"""
from __future__ import annotations

import ast
import builtins
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .. import registry
from ..lattice import AV, ArrayV, ConstV, ListV, PyScalarV, TensorV

#: Builtins that neither mutate their arguments nor run user code we care about.
PURE_BUILTINS = frozenset(getattr(builtins, n) for n in (
    "abs", "all", "any", "bool", "complex", "divmod", "enumerate", "float", "format", "hash",
    "int", "isinstance", "issubclass", "len", "max", "min", "pow", "print", "range", "repr",
    "reversed", "round", "sorted", "str", "sum", "tuple", "type", "zip", "list", "dict", "set",
    "frozenset", "slice", "callable", "id"))

#: NumPy functions that write into an argument.
NUMPY_MUTATORS = frozenset(getattr(np, n) for n in (
    "copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis") if hasattr(np, n))

#: ndarray methods that write into the array.
ARRAY_MUTATING_METHODS = frozenset({"fill", "sort", "put", "itemset", "resize", "setfield",
                                    "setflags", "partition", "byteswap"})


def _callee(func: ast.expr, resolve: Callable[[ast.expr], Any]) -> Any:
    try:
        return resolve(func)
    except Exception:
        return None


@dataclass
class LoopEffects:
    """``assigned``: names the loop rebinds.  ``mutates``: the loop may write into an array or
    a tensor in place (through any name: views and aliases are not tracked, so any such write
    counts).  ``opaque_call``: the loop calls code that could do either."""

    assigned: set[str] = field(default_factory=set)
    mutates: bool = False
    opaque_call: bool = False


def _immutable(value: AV | None) -> bool:
    return value is not None and all(
        isinstance(o, (PyScalarV, ConstV)) or (isinstance(o, ArrayV) and o.scalar) for o in value.options())


def _container_of_plain_items(value: AV | None) -> bool:
    """Item assignment into a Python list replaces an element; it writes into no array."""
    return value is not None and all(isinstance(o, ListV) for o in value.options())


def is_pure_call(call: ast.Call, resolve: Callable[[ast.expr], Any], types_: Mapping[ast.AST, AV]) -> bool:
    """The call runs no user code: it can write only into its receiver or its arguments the way
    ``_writes_in_place`` sees, and cannot rebind the function's names."""
    func = call.func
    target = _callee(func, resolve)
    if target is not None:
        if isinstance(target, np.ufunc) or (callable(target) and registry.for_object(target) is not None):
            return True
        try:
            if target in PURE_BUILTINS or target in NUMPY_MUTATORS:
                return True
        except TypeError:
            return False
        module = getattr(target, "__module__", "") or ""
        if module.startswith(("numpy", "torch")) and not module.startswith(("torch.nn", "torch.optim",
                                                                            "torch.autograd")):
            return isinstance(target, (types.FunctionType, types.BuiltinFunctionType)) or \
                type(target).__name__ in ("builtin_function_or_method", "_ArrayFunctionDispatcher")
        return False
    if isinstance(func, ast.Attribute):
        receiver = types_.get(func.value)
        if receiver is None:
            return False
        options = list(receiver.options())
        if all(isinstance(o, (TensorV, ArrayV)) for o in options):
            return True
        if all(isinstance(o, ListV) for o in options):
            return func.attr in ("append", "index", "count", "copy")
    return False


def loop_effects(loop: ast.AST, resolve: Callable[[ast.expr], Any], types_: Mapping[ast.AST, AV]) -> LoopEffects:
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
            _note(node, effects, resolve, types_)
    return effects


def _note(node: ast.AST, effects: LoopEffects, resolve: Callable[[ast.expr], Any],
          types_: Mapping[ast.AST, AV]) -> None:
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
        if not (isinstance(node.target, ast.Name) and _immutable(types_.get(node.target))):
            effects.mutates = True
    elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
        if not (isinstance(node, ast.Subscript) and _container_of_plain_items(types_.get(node.value))):
            effects.mutates = True
    elif isinstance(node, ast.Call):
        if not is_pure_call(node, resolve, types_):
            effects.opaque_call = True
        elif _writes_in_place(node, resolve):
            effects.mutates = True


def _writes_in_place(call: ast.Call, resolve: Callable[[ast.expr], Any]) -> bool:
    if any(k.arg == "out" for k in call.keywords):
        return True
    func = call.func
    if isinstance(func, ast.Attribute) and (func.attr.endswith("_") or func.attr in ARRAY_MUTATING_METHODS):
        return True
    try:
        return _callee(func, resolve) in NUMPY_MUTATORS
    except TypeError:
        return False
