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
import torch

from .. import registry
from .values import AV, ArrayV, ListV, TensorV

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
    assigned: set[str] = field(default_factory=set)
    mutated: set[str] = field(default_factory=set)
    escaped: set[str] = field(default_factory=set)
    opaque_call: bool = False


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def is_pure_call(call: ast.Call, resolve: Callable[[ast.expr], Any], types_: Mapping[ast.AST, AV]) -> bool:
    """The call cannot mutate its arguments or rebind the function's names."""
    if any(k.arg == "out" for k in call.keywords):
        return False
    func = call.func
    target = _callee(func, resolve)
    if target is not None:
        if isinstance(target, np.ufunc) or (callable(target) and registry.for_object(target) is not None):
            return True
        try:
            if target in PURE_BUILTINS:
                return True
            if target in NUMPY_MUTATORS:
                return False
        except TypeError:
            return False
        module = getattr(target, "__module__", "") or ""
        name = getattr(target, "__name__", "")
        if module.startswith(("numpy", "torch")) and not name.endswith("_") \
                and not module.startswith(("torch.nn", "torch.optim", "torch.autograd")):
            return isinstance(target, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)) or \
                type(target).__name__ in ("builtin_function_or_method", "_ArrayFunctionDispatcher")
        return False
    if isinstance(func, ast.Attribute):
        receiver = types_.get(func.value)
        method = func.attr
        if receiver is None:
            return False
        options = list(receiver.options())
        if all(isinstance(o, TensorV) for o in options):
            return not method.endswith("_")
        if all(isinstance(o, ArrayV) for o in options):
            return method not in ARRAY_MUTATING_METHODS
        if all(isinstance(o, ListV) for o in options):
            return method in ("append", "index", "count", "copy")
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
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        effects.opaque_call = True
    elif isinstance(node, ast.AugAssign):
        name = _root_name(node.target)
        if name:
            effects.mutated.add(name)
    elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
        name = _root_name(node)
        if name:
            effects.mutated.add(name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(not isinstance(t, ast.Name) for t in targets) and node.value is not None:
            effects.escaped.update(n.id for n in ast.walk(node.value) if isinstance(n, ast.Name))
    elif isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
        effects.opaque_call = True
    elif isinstance(node, ast.Call):
        pure = is_pure_call(node, resolve, types_)
        if not pure:
            effects.opaque_call = True
            for arg in (*node.args, *(k.value for k in node.keywords)):
                effects.escaped.update(n.id for n in ast.walk(arg) if isinstance(n, ast.Name))
            name = _root_name(node.func.value) if isinstance(node.func, ast.Attribute) else None
            if name:
                effects.mutated.add(name)
        for k in node.keywords:
            if k.arg == "out":
                name = _root_name(k.value)
                if name:
                    effects.mutated.add(name)
