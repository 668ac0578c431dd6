"""Hoist: convert a loop-invariant value once instead of once per iteration.

A conversion (``W.numpy()``, ``np.array(W)``, ``torch.tensor(A)``, ...) inside a loop or a
comprehension is hoisted when its source is a local name that the loop neither rebinds nor
mutates, the loop calls no code that could (for a copying conversion), and its result is only
read (never stored, returned or mutated, so sharing one result across iterations is invisible).

The hoisted conversion is *cached*, not moved: ``h = None`` goes before the loop and the use
becomes ``(h if h is not None else (h := W.numpy()))``.  The conversion therefore still runs
at the point the original first ran it: an exception is raised where it was, and a loop that
runs zero times converts nothing.  Hoisting goes out through enclosing loops while the source
is invariant in them too.
"""
from __future__ import annotations

import ast
from typing import Any, Iterator, Mapping

import numpy as np

from ..analysis import conversions, effects, scope as scope_mod
from ..analysis.facts import CACHED_CONVERSION, Facts
from ..report import Decision
from ..pragmas import Mark
from .builders import assign

LOOPS = (ast.For, ast.While)
COMPREHENSIONS = scope_mod.COMPREHENSIONS

#: Functions and methods whose result is a new value that shares no memory with its operands.
FRESH_RESULTS = frozenset({
    "sum", "mean", "std", "var", "max", "min", "amax", "amin", "prod", "ptp", "argmax", "argmin",
    "any", "all", "median", "percentile", "quantile", "average", "nansum", "nanmean", "nanmax",
    "nanmin", "count_nonzero", "cumsum", "cumprod", "dot", "vdot", "inner", "outer", "matmul",
    "tensordot", "norm", "trace", "det", "inv", "solve", "item", "tolist", "copy", "clone",
    "astype", "sort", "argsort", "where", "clip", "round", "around", "isclose", "allclose",
    "array_equal", "concatenate", "stack", "vstack", "hstack", "tile", "repeat", "array",
    "tensor", "zeros_like", "ones_like", "full_like", "exp", "log", "sqrt", "abs", "float",
    "double", "long", "int", "bool", "half", "numel", "size", "dim", "allclose", "equal"})
#: Functions, methods and attributes whose result may be a view of their operand: a value
#: reaching them is only read if their own result is only read.
VIEW_RESULTS = frozenset({
    "reshape", "ravel", "transpose", "T", "mT", "squeeze", "unsqueeze", "expand_dims", "swapaxes",
    "moveaxis", "view", "view_as", "diagonal", "broadcast_to", "asarray", "asanyarray",
    "ascontiguousarray", "atleast_1d", "atleast_2d", "atleast_3d", "flip", "fliplr", "flipud",
    "rot90", "real", "imag", "numpy", "detach", "cpu", "contiguous", "expand", "permute", "narrow",
    "select", "from_numpy", "as_tensor", "t", "data", "flatten"})
METADATA_ATTRIBUTES = frozenset({"shape", "ndim", "dtype", "size", "device", "itemsize", "nbytes"})
READING_BUILTINS = frozenset({len, float, int, bool, print, str, repr, format, isinstance, abs, round})


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_repeated(child: ast.AST, loop: ast.AST) -> bool:
    """Whether ``child`` (a direct child of ``loop``) runs on every iteration."""
    if isinstance(loop, ast.For):
        return child is not loop.iter
    if isinstance(loop, ast.While):
        return True
    if isinstance(loop, COMPREHENSIONS):
        return not (loop.generators and child is loop.generators[0])
    return False


def _enclosing_loops(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> Iterator[ast.AST] | None:
    """Loops that repeat ``node``, innermost first (None when inside a nested def or lambda)."""
    loops = []
    child = node
    while child in parents:
        parent = parents[child]
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            if parents.get(parent) is not None:
                return None
            break
        if isinstance(parent, ast.comprehension):
            grand = parents[parent]
            if parent is not grand.generators[0] or child is not parent.iter:
                loops.append(grand)
            child = grand
            continue
        if isinstance(parent, LOOPS + COMPREHENSIONS) and _is_repeated(child, parent):
            if not loops or loops[-1] is not parent:
                loops.append(parent)
        child = parent
    return iter(loops)


class Hoister:
    def __init__(self, fn: ast.FunctionDef, facts: Facts, marks: Mapping[ast.AST, Mark], globals_: Mapping[str, Any],
                 opt_in: bool):
        self.fn = fn
        self.facts = facts
        self.marks = marks
        self.opt_in = opt_in
        self.scope = scope_mod.analyze(fn)
        self.resolve = conversions.make_resolver(self.scope.locals, globals_)
        self.parents = _parents(fn)
        self.effects: dict[ast.AST, effects.LoopEffects] = {}
        self.decisions: list[Decision] = []
        self.kept: list[Decision] = []
        self.count = 0

    def loop_effects(self, loop: ast.AST) -> effects.LoopEffects:
        if loop not in self.effects:
            self.effects[loop] = effects.loop_effects(loop, self.resolve, self.facts.types)
        return self.effects[loop]

    def allowed(self, loop: ast.AST) -> bool:
        mark = self.marks.get(loop, Mark.NONE)
        return mark is Mark.ON or (mark is Mark.NONE and not self.opt_in)

    def in_allowed_region(self, node: ast.AST) -> bool:
        """The nearest enclosing marked loop allows rewriting (opt-in: one must be marked)."""
        while node in self.parents:
            node = self.parents[node]
            mark = self.marks.get(node, Mark.NONE)
            if mark is not Mark.NONE:
                return mark is Mark.ON
        return not self.opt_in

    def invariant_in(self, conv: conversions.Conversion, loop: ast.AST) -> str | None:
        """None when ``conv`` gives the same value on every iteration of ``loop``, else why not."""
        name = conv.source.id  # type: ignore[attr-defined]
        fx = self.loop_effects(loop)
        if name in fx.assigned:
            return f"{name} is reassigned in the loop"
        if fx.mutates:
            return "the loop writes into arrays or tensors in place (an alias may be written)"
        if fx.opaque_call:
            return "the loop calls code that could modify it"
        return None

    def read_only(self, node: ast.expr, loop: ast.AST) -> bool:
        """The value of ``node`` is only read: never stored, returned, mutated or kept, also
        not through a view of it."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.keyword):
            parent = self.parents.get(parent)
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare)):
            return True  # operators make new values
        if isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)) and node is getattr(parent, "test", None):
            return True
        if isinstance(parent, ast.Attribute) and node is parent.value:
            if parent.attr in METADATA_ATTRIBUTES:
                return True
            grand = self.parents.get(parent)
            if isinstance(grand, ast.Call) and grand.func is parent:  # a method of the value
                if parent.attr in FRESH_RESULTS:
                    return True
                return parent.attr in VIEW_RESULTS and self.read_only(grand, loop)
            return parent.attr in VIEW_RESULTS and self.read_only(parent, loop)
        if isinstance(parent, ast.Subscript) and node is parent.value and isinstance(parent.ctx, ast.Load):
            return self.read_only(parent, loop)  # an index may be a view
        if isinstance(parent, ast.Call) and node is not parent.func:
            target = self.resolve(parent.func)
            if target is None:
                return isinstance(parent.func, ast.Attribute) and parent.func.attr in FRESH_RESULTS
            if isinstance(target, np.ufunc) or target in READING_BUILTINS:
                return True
            name = getattr(target, "__name__", "")
            module = getattr(target, "__module__", "") or ""
            if module.split(".")[0] in ("numpy", "torch"):
                if name in FRESH_RESULTS:
                    return True
                return name in VIEW_RESULTS and self.read_only(parent, loop)
            return False
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            return self.name_read_only(parent.targets[0].id, parent, loop)
        return False

    def name_read_only(self, name: str, assignment: ast.Assign, loop: ast.AST) -> bool:
        """``name = conversion`` is the loop's only binding of ``name`` and every use only reads."""
        if name in self.scope.unliftable:
            return False
        for node in ast.walk(loop):
            if isinstance(node, ast.Name) and node.id == name:
                if isinstance(node.ctx, ast.Load):
                    if not self.read_only(node, loop):
                        return False
                elif self.parents.get(node) is not assignment:
                    return False
            elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and any(
                    isinstance(n, ast.Name) and n.id == name for n in ast.walk(node)):
                return False
        return True

    def run(self) -> tuple[list[Decision], list[Decision]]:
        candidates = [c for node in ast.walk(self.fn)
                      if (c := conversions.match(node, self.resolve)) is not None]
        for conv in candidates:
            self.consider(conv)
        return self.decisions, self.kept

    def consider(self, conv: conversions.Conversion) -> None:
        loops_iter = _enclosing_loops(conv.node, self.parents)
        if loops_iter is None:
            return
        loops = list(loops_iter)
        source = conv.source
        if not loops or not self.in_allowed_region(conv.node) or not isinstance(source, ast.Name) \
                or source.id not in self.scope.locals or source.id in self.scope.unliftable:
            return
        chosen = None
        for loop in loops:
            if not self.allowed(loop):
                break
            reason = self.invariant_in(conv, loop)
            if reason is not None:
                if chosen is None and source.id not in _loop_targets(loop):  # a loop variable is no candidate
                    self.decisions_skip(conv, reason)
                break
            chosen = loop
        if chosen is None:
            return
        if not self.read_only(conv.node, loops[0]):
            self.decisions_skip(conv, "its result is stored, returned or modified")
            return
        self.hoist(conv, chosen)

    def decisions_skip(self, conv: conversions.Conversion, reason: str) -> None:
        self.kept.append(Decision(conv.node.lineno, f"{conv.describe()} stays in the loop", reason))

    def hoist(self, conv: conversions.Conversion, loop: ast.AST) -> None:
        var = f"__ll_h{self.count}"
        self.count += 1
        node = conv.node
        cached = ast.IfExp(
            test=ast.Compare(ast.Name(var, ast.Load()), [ast.IsNot()], [ast.Constant(None)]),
            body=ast.Name(var, ast.Load()),
            orelse=ast.NamedExpr(ast.Name(var, ast.Store()), node))
        setattr(cached, CACHED_CONVERSION, True)
        _replace_child(self.parents[node], node, ast.copy_location(cached, node))
        statement = loop
        while not isinstance(statement, ast.stmt):
            statement = self.parents[statement]
        body = _body_of(self.parents[statement], statement)
        body.insert(body.index(statement), assign(var, ast.Constant(None), statement))
        self.parents = _parents(self.fn)
        self.effects.clear()
        line = getattr(loop, "lineno", node.lineno)
        self.decisions.append(Decision(node.lineno, f"{conv.describe()} of {conv.source.id} hoisted out of "  # type: ignore[attr-defined]
                                                    f"the loop at line {line}",
                                       "loop-invariant: converted once, at its first use"))


def _loop_targets(loop: ast.AST) -> set[str]:
    """Names a loop binds as its iteration variables."""
    targets = [loop.target] if isinstance(loop, ast.For) else \
        [g.target for g in getattr(loop, "generators", [])]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise LookupError("child not found")


def _body_of(parent: ast.AST, statement: ast.stmt) -> list[ast.stmt]:
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(item is statement for item in value):
            return value
    raise LookupError("statement not found in its parent")


def apply(fn: ast.FunctionDef, facts: Facts, marks: Mapping[ast.AST, Mark], globals_: Mapping[str, Any],
          opt_in: bool = False) -> tuple[list[Decision], list[Decision]]:
    """Hoist every loop-invariant conversion of ``fn`` (in place).  Returns the conversions
    hoisted and the ones kept in their loop (with the reason)."""
    return Hoister(fn, facts, marks, globals_, opt_in).run()
