"""Which names of the function are its own locals, and which of them other scopes can see.

A name that a nested ``def``, ``lambda`` or ``class`` captures can be read or rebound later by
code the analysis does not follow, so it never holds a lifted value.  Names declared ``global``
or ``nonlocal`` live outside the frame and are treated the same way.  (Comprehensions run at once,
so the statement that holds one is analysed as a use of the names it reads.)
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass
class Scope:
    params: list[str] = field(default_factory=list)
    locals: set[str] = field(default_factory=set)
    declared_outer: set[str] = field(default_factory=set)  # global / nonlocal
    captured: set[str] = field(default_factory=set)

    @property
    def unliftable(self) -> set[str]:
        """Names that must only ever hold plain (materialized) values."""
        return self.declared_outer | self.captured


def _param_names(args: ast.arguments) -> list[str]:
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg:
        names.append(args.vararg.arg)
    names.extend(a.arg for a in args.kwonlyargs)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def own_nodes(root: ast.AST):
    """Nodes of ``root``'s own scope: nested defs, lambdas, classes and comprehensions excluded
    (the nodes themselves are yielded, their insides are not)."""
    stack = list(ast.iter_child_nodes(root))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, NESTED_SCOPES + COMPREHENSIONS):
            stack.extend(ast.iter_child_nodes(node))


def analyze(fn: ast.FunctionDef) -> Scope:
    scope = Scope(params=_param_names(fn.args))
    scope.locals.update(scope.params)
    nested: list[ast.AST] = []
    for node in own_nodes(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            scope.locals.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            scope.declared_outer.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.locals.add(node.name)
            nested.append(node)
        elif isinstance(node, ast.Lambda):
            nested.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            scope.locals.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.locals.add(node.name)
        elif isinstance(node, COMPREHENSIONS):
            nested.extend(n for n in ast.walk(node) if isinstance(n, NESTED_SCOPES))
            # walrus targets inside a comprehension bind in the function scope
            scope.locals.update(n.target.id for n in ast.walk(node)
                                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name))
    scope.locals -= scope.declared_outer
    for inner in nested:
        for node in ast.walk(inner):
            if isinstance(node, ast.Name) and node.id in scope.locals:
                scope.captured.add(node.id)
    return scope
