"""Recognizing conversions between torch and NumPy in the syntax tree.

One recognizer serves every pass: the hoisting transform moves conversions, the lifting
transform replaces them, and the report names them.  A conversion is matched syntactically and
then resolved against the function's globals, so ``np.asarray`` only counts when ``np`` really is
NumPy.
"""
from __future__ import annotations

import ast
import builtins
import types
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch

#: Tensor methods that may precede ``.numpy()`` without changing the data.
PASSTHROUGH_METHODS = ("detach", "cpu", "contiguous", "clone", "resolve_conj", "resolve_neg")
#: Of those, the steps that return the tensor itself, or an alias of its memory, for a CPU
#: tensor without grad: there ``t.numpy()`` alone gives the same array.
SHORTCUT_STEPS = frozenset({"detach", "cpu"})

#: NumPy functions that turn a tensor into an array: name -> copies even on the CPU.
TO_NUMPY_FUNCTIONS: dict[Any, str] = {np.asarray: "asarray", np.array: "array", np.asanyarray: "asanyarray"}
#: torch functions that turn an array into a tensor.
TO_TENSOR_FUNCTIONS: dict[Any, str] = {torch.from_numpy: "from_numpy", torch.tensor: "tensor",
                                       torch.as_tensor: "as_tensor", torch.asarray: "asarray"}

Resolver = Callable[[ast.expr], Any]


@dataclass(frozen=True)
class Conversion:
    """A conversion call. ``source`` is the converted expression (a tensor or an array),
    ``chain`` the tensor methods applied before ``.numpy()``, ``how`` the final step."""

    node: ast.Call
    direction: str  # "to_numpy" or "to_tensor"
    source: ast.expr
    how: str  # "numpy" (the method), "asarray", "array", "from_numpy", "tensor", ...
    chain: tuple[str, ...] = ()

    @property
    def copies_on_cpu(self) -> bool:
        """The original makes a new copy of the data even when everything is on the CPU."""
        return self.how in ("array", "tensor") or "clone" in self.chain

    def describe(self) -> str:
        if self.how == "numpy":
            return "".join(f".{name}()" for name in (*self.chain, "numpy"))
        prefix = "np" if self.direction == "to_numpy" else "torch"
        return f"{prefix}.{self.how}()"


def _method_chain(node: ast.expr) -> tuple[ast.expr, tuple[str, ...]]:
    """``t.detach().cpu()`` -> (``t``, ("detach", "cpu"))."""
    chain: list[str] = []
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
           and node.func.attr in PASSTHROUGH_METHODS and not node.args and not node.keywords):
        chain.append(node.func.attr)
        node = node.func.value
    return node, tuple(reversed(chain))


def match(node: ast.AST, resolve: Resolver) -> Conversion | None:
    """The conversion ``node`` performs, or None.  ``resolve`` maps a callee to its object."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if (isinstance(func, ast.Attribute) and func.attr == "numpy" and not node.args
            and not node.keywords):
        source, chain = _method_chain(func.value)
        return Conversion(node, "to_numpy", source, "numpy", chain)
    if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
        return None
    target = resolve(func)
    if target is None:
        return None
    for table, direction in ((TO_NUMPY_FUNCTIONS, "to_numpy"), (TO_TENSOR_FUNCTIONS, "to_tensor")):
        try:
            how = table.get(target)
        except TypeError:  # unhashable callee
            return None
        if how is not None:
            source, chain = _method_chain(node.args[0]) if direction == "to_numpy" else (node.args[0], ())
            return Conversion(node, direction, source, how, chain)
    return None


def make_resolver(local_names: set[str], globals_: Mapping[str, Any]) -> Resolver:
    """A resolver for callees: globals and builtins by name, then module attributes.
    Local names resolve to None (their objects are only known at run time)."""

    def resolve(func: ast.expr) -> Any:
        if isinstance(func, ast.Name):
            if func.id in local_names:
                return None
            return globals_.get(func.id, getattr(builtins, func.id, None))
        if isinstance(func, ast.Attribute):
            base = resolve(func.value)
            if isinstance(base, types.ModuleType):
                return getattr(base, func.attr, None)
        return None

    return resolve
