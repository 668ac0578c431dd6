"""Lift: apply the analysis' decisions to the tree.

* lifted conversions become guarded ``__ll.lift_method`` / ``__ll.lift_call`` / ``__ll.to_tensor``;
* ``t.detach().cpu().numpy()`` left in NumPy becomes ``__ll.numpy_of`` (one step when it can);
* registry operations become ``__ll.op.<entry>(...)``;
* materialized expressions are wrapped in ``__ll.m(...)``;
* demoted names are rebound (``x = __ll.m(x)``) just before the statement that needs it;
* ``x op= y`` on an immutable scalar becomes ``x = __ll.op.<op>(x, y)``.
"""
from __future__ import annotations

import ast

from ..analysis.conversions import Conversion
from ..analysis.facts import Facts
from ..lattice import TensorV
from ..registry.entry import OpEntry
from .builders import assign, constant, runtime_call


class Lift(ast.NodeTransformer):
    def __init__(self, facts: Facts):
        self.facts = facts

    def visit(self, node: ast.AST) -> ast.AST | list[ast.AST]:
        if isinstance(node, ast.stmt):
            return self.statement(node)
        if isinstance(node, ast.expr):
            return self.expression(node)
        return self.generic_visit(node)

    def statement(self, node: ast.stmt) -> ast.AST | list[ast.AST]:
        if isinstance(node, ast.AugAssign) and node in self.facts.aug_ops:
            entry = self.facts.aug_ops[node]
            target = node.target
            assert isinstance(target, ast.Name)
            value = runtime_call(("op", entry.ident), [ast.Name(target.id, ast.Load()), self.visit(node.value)])
            new: ast.AST = assign(target.id, value, node)
        else:
            new = self.generic_visit(node)
        names = self.facts.demote.get(node)
        if not names:
            return new
        rebinds = [assign(n, runtime_call(("m",), [ast.Name(n, ast.Load())]), node) for n in names]
        return [*rebinds, new]

    # expressions -----------------------------------------------------------
    def expression(self, node: ast.expr) -> ast.expr:
        facts = self.facts
        if node in facts.lifted_conversions:
            new = self.conversion(node, *facts.lifted_conversions[node])
        elif node in facts.shortened_conversions:
            conv = facts.shortened_conversions[node]
            new = runtime_call(("numpy_of",), [self.visit(conv.source), constant(conv.chain)])
        elif node in facts.ops:
            new = self.op(node, facts.ops[node])
        else:
            new = self.generic_visit(node)
        new = ast.copy_location(new, node)  # the line of an op call labels its compiled region
        if node in facts.materialize:
            new = ast.copy_location(runtime_call(("m",), [new]), node)
        return new

    def conversion(self, node: ast.Call, conv: Conversion, source_type: object) -> ast.expr:
        source = self.visit(conv.source)
        if conv.direction == "to_tensor":
            return runtime_call(("to_tensor",), [self.visit(node.func), source])
        assert isinstance(source_type, TensorV) and source_type.dtype is not None
        dtype = str(source_type.dtype).removeprefix("torch.")
        guard = [constant(dtype), constant(source_type.ndim), constant(conv.chain)]
        if conv.how == "numpy":
            return runtime_call(("lift_method",), [source, *guard])
        return runtime_call(("lift_call",), [self.visit(node.func), source, *guard,
                                             constant(conv.copies_on_cpu)])

    def op(self, node: ast.expr, entry: OpEntry) -> ast.expr:
        path = ("op", entry.ident)
        if isinstance(node, ast.Call):
            args = [self.visit(a) for a in node.args]
            keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
            if isinstance(node.func, ast.Attribute) and entry.namespace == "ndarray":
                args.insert(0, self.visit(node.func.value))
            return runtime_call(path, args, keywords)
        if isinstance(node, ast.Attribute):
            return runtime_call(path, [self.visit(node.value)])
        if isinstance(node, ast.BinOp):
            return runtime_call(path, [self.visit(node.left), self.visit(node.right)])
        if isinstance(node, ast.Compare):
            return runtime_call(path, [self.visit(node.left), self.visit(node.comparators[0])])
        if isinstance(node, ast.UnaryOp):
            return runtime_call(path, [self.visit(node.operand)])
        if isinstance(node, ast.Subscript):
            return runtime_call(path, [self.visit(node.value), self.index(node.slice)])
        raise AssertionError(f"no rewrite for {type(node).__name__}")

    def index(self, node: ast.expr) -> ast.expr:
        """An index expression as a value: ``1:3`` becomes ``__ll.slice(1, 3, None)``."""
        if isinstance(node, ast.Slice):
            parts = [self.visit(p) if p is not None else ast.Constant(None)
                     for p in (node.lower, node.upper, node.step)]
            return ast.copy_location(runtime_call(("slice",), parts), node)
        if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts):
            return ast.copy_location(ast.Tuple([self.index(e) for e in node.elts], ast.Load()), node)
        return self.visit(node)


def apply(fn: ast.FunctionDef, facts: Facts) -> ast.FunctionDef:
    """Rewrite ``fn`` (in place) according to ``facts``."""
    transformer = Lift(facts)
    body: list[ast.stmt] = []
    for stmt in fn.body:
        new = transformer.visit(stmt)
        body.extend(new if isinstance(new, list) else [new])
    fn.body = body
    return fn
