"""How names in a file map to modules: import aliases and dotted attribute chains.

The scan never imports the code it checks, so ``th.tensor``, ``numpy.asarray`` and a bare
``asarray`` (after ``from numpy import asarray``) are recognized by following the file's own
import statements: every reference is resolved to a qualified name such as ``"torch.tensor"``.
"""
from __future__ import annotations

import ast
import builtins

#: Conventional module names, used when a file refers to them without importing them (code
#: pasted from a notebook, ``from common import *``).  An explicit import always wins, so
#: ``import jax.numpy as np`` is *not* NumPy.
_CONVENTIONAL = {"np": "numpy", "numpy": "numpy", "torch": "torch"}
#: Names that resolve to ``builtins.<name>`` unless the file imports them (a local variable that
#: shadows a builtin is not tracked: the scan takes ``len`` to be ``builtins.len``).
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))


def attr_chain(expr: ast.expr) -> tuple[str, ...] | None:
    """``a.b.c`` -> ``("a", "b", "c")``; ``None`` for anything that is not a plain chain."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return tuple(reversed(parts))


def root_chain(expr: ast.expr) -> tuple[str, ...] | None:
    """The named object that a store or method call through ``expr`` reaches.

    ``self.buf[i].x`` -> ``("self", "buf")``: writing through it modifies ``self.buf``.
    ``model.parameters()`` -> ``("model",)``.  ``None`` when no name is involved (``f().x``).
    """
    while True:
        chain = attr_chain(expr)
        if chain is not None:
            return chain
        if isinstance(expr, (ast.Attribute, ast.Subscript, ast.Starred)):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            expr = expr.func.value
        else:
            return None


class ImportAliases:
    """The module-level names a file binds with ``import``: local name -> qualified name."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        """Record what an import statement binds (relative and star imports bind nothing known)."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self._names[alias.asname] = alias.name
                else:  # ``import torch.nn`` binds ``torch``
                    top = alias.name.partition(".")[0]
                    self._names[top] = top
        elif not node.level and node.module:
            for alias in node.names:
                if alias.name != "*":
                    self._names[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def add_module_imports(self, tree: ast.Module) -> None:
        """Record the imports of the module body, including those under ``if``/``try``/``with``.

        Run before visiting so that functions defined above a late import still resolve it;
        imports inside functions are added by the visitor as it reaches them.
        """
        stack: list[ast.AST] = list(tree.body)
        while stack:
            stmt = stack.pop()
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self.add(stmt)
            elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    stack.extend(getattr(stmt, field, ()))

    def is_imported(self, expr: ast.expr) -> bool:
        """Whether ``expr`` is a name or chain rooted at an imported (or conventional) name:
        ``np.linalg`` and ``F`` are, ``xs`` and ``self.buf`` are not."""
        chain = attr_chain(expr)
        return chain is not None and (chain[0] in self._names or chain[0] in _CONVENTIONAL)

    def resolve(self, expr: ast.expr) -> str | None:
        """The qualified name ``expr`` refers to (``np.asarray`` -> ``"numpy.asarray"``).

        Names that no import binds resolve to the builtin of that name (``float`` ->
        ``"builtins.float"``), the conventional module (``np`` -> ``"numpy"``), or themselves.
        ``None`` when ``expr`` is not a name or chain.
        """
        chain = attr_chain(expr)
        if chain is None:
            return None
        name = chain[0]
        head = self._names.get(name) or _CONVENTIONAL.get(name) or (f"builtins.{name}" if name in _BUILTINS else name)
        return ".".join((head, *chain[1:]))
