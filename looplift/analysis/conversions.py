"""Recognizing conversions between torch and NumPy, and host reads, in the syntax tree.

One recognizer serves every pass (hoisting moves conversions, placement lifts them, the report
names them), and its vocabulary is ``semantics.py``'s, which the static ``scan`` reads too.  A
call is matched syntactically, then its callee is resolved against the function's globals, so
``np.asarray`` only counts when ``np`` really is NumPy.
"""
from __future__ import annotations

import ast
import builtins
import types
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .. import semantics

Resolver = Callable[[ast.expr], Any]


@dataclass(frozen=True)
class Conversion:
    """A conversion call. ``source`` is the converted expression (a tensor or an array),
    ``chain`` the tensor methods applied before ``.numpy()``, ``how`` the final step."""

    node: ast.Call
    direction: str  # "to_numpy" or "to_tensor"
    source: ast.expr
    how: str  # "numpy" (the method), or the function's name: "asarray", "array", "from_numpy", "tensor", ...
    chain: tuple[str, ...] = ()
    qualified: str = ""  # the converting function's qualified name ("" for the method)

    @property
    def copies_on_cpu(self) -> bool:
        """The original makes a new copy of the data even when everything is on the CPU."""
        table = semantics.TO_NUMPY_FUNCTIONS if self.direction == "to_numpy" else semantics.TO_TENSOR_FUNCTIONS
        return table.get(self.qualified, False) or bool(semantics.COPYING_STEPS & set(self.chain))

    def describe(self) -> str:
        if self.how == "numpy":
            return "".join(f".{name}()" for name in (*self.chain, "numpy"))
        prefix = "np" if self.direction == "to_numpy" else "torch"
        return f"{prefix}.{self.how}()"


@dataclass(frozen=True)
class HostRead:
    """A read of a tensor's data by the host: ``t.item()``, ``t.tolist()``, ``float(t)``."""

    node: ast.Call
    source: ast.expr
    how: str  # "item", "tolist", "float", "int", "bool", "complex"

    def describe(self) -> str:
        return f".{self.how}()" if self.how in semantics.HOST_READ_METHODS else f"{self.how}()"


def _method_chain(node: ast.expr) -> tuple[ast.expr, tuple[str, ...]]:
    """``t.detach().cpu()`` -> (``t``, ("detach", "cpu"))."""
    chain: list[str] = []
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
           and node.func.attr in semantics.DATA_PRESERVING_STEPS and not node.args and not node.keywords):
        chain.append(node.func.attr)
        node = node.func.value
    return node, tuple(reversed(chain))


def match(node: ast.AST, resolve: Resolver) -> Conversion | None:
    """The conversion ``node`` performs, or None.  ``resolve`` maps a callee to its object."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "numpy" and not node.args and not node.keywords:
        source, chain = _method_chain(func.value)
        return Conversion(node, "to_numpy", source, "numpy", chain)
    if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
        return None
    qualified = _qualified(func, resolve)
    if qualified in semantics.TO_NUMPY_FUNCTIONS:
        source, chain = _method_chain(node.args[0])
        return Conversion(node, "to_numpy", source, qualified.rsplit(".", 1)[1], chain, qualified)
    if qualified in semantics.TO_TENSOR_FUNCTIONS:
        return Conversion(node, "to_tensor", node.args[0], qualified.rsplit(".", 1)[1], (), qualified)
    return None


def host_read(node: ast.AST, resolve: Resolver) -> HostRead | None:
    """The host read ``node`` performs if its operand is a tensor (the caller checks that)."""
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in ("item", "tolist") and not node.args:
        return HostRead(node, func.value, func.attr)
    if len(node.args) == 1 and not isinstance(node.args[0], ast.Starred):
        qualified = _qualified(func, resolve)
        if qualified in semantics.HOST_READ_BUILTINS:
            return HostRead(node, node.args[0], qualified.rsplit(".", 1)[1])
    return None


def _qualified(func: ast.expr, resolve: Resolver) -> str | None:
    target = resolve(func)
    return semantics.qualified_name(target) if target is not None else None


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
