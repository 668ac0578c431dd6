"""Lift: write placement's decisions into the tree.

* a lifted conversion becomes a guarded ``__ll.lift_method``/``__ll.lift_call``/``__ll.to_tensor``;
* ``t.detach().cpu().numpy()`` left in NumPy becomes ``__ll.numpy_of`` (one step when it can);
* a region's root (a lowered tree, or a run of assignments of lowered trees) becomes a call of
  the region on its inputs: ``__ll_r0(a)``, ``x, y = __ll_r1(a, b)`` (``outline`` builds them);
* a deferred host read becomes ``__ll.defer(t, 'item')``, Python arithmetic on it
  ``x = __ll.later('add', x, read)``;
* a materialized expression is wrapped in ``__ll.m(...)``; demoted names are rebound just before
  the statement that needs them (``x = __ll.m(x)``).
"""
from __future__ import annotations

import ast
import copy
from typing import Any

from .. import anno
from ..anno import Key
from ..dtypes import torch_name
from ..analysis.conversions import Conversion, HostRead
from ..analysis.dependence import BatchPlan
from ..analysis.regions import RegionPlan
from ..lattice import TOP, TensorV, contains_lifted
from . import batch
from .builders import assign, constant, runtime_call


class Lift(ast.NodeTransformer):
    def __init__(self) -> None:
        self.batches: list[batch.BatchCode] = []

    def batch_code(self, plan: BatchPlan) -> batch.BatchCode:
        code = batch.body_function(plan, f"__ll_k{len(self.batches)}", self)
        self.batches.append(code)
        return code

    def visit_block(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        skip: set[int] = set()
        for stmt in body:
            if id(stmt) in skip:
                continue
            plan: RegionPlan | None = anno.getanno(stmt, Key.REGION)
            batched: BatchPlan | None = anno.getanno(stmt, Key.BATCH)
            if plan is not None and plan.statements:
                skip.update(id(s) for s in plan.statements[1:])
                new: Any = self.statement_run(stmt, plan)
            elif batched is not None and isinstance(stmt, ast.For):
                code = self.batch_code(batched)
                *rebinds, loop = self.statement(stmt)
                new = [*rebinds, *batch.replacement(code, stmt, loop, len(self.batches) - 1)]
            else:
                new = self.statement(stmt)
            out.extend(new if isinstance(new, list) else [new])
        return out

    def statement(self, node: ast.stmt) -> ast.stmt | list[ast.stmt]:
        plan: RegionPlan | None = anno.getanno(node, Key.REGION)
        if isinstance(node, ast.AugAssign) and plan is not None:
            target = node.target
            assert isinstance(target, ast.Name)
            new: ast.stmt = assign(target.id, self.region_call(plan), node)
        elif isinstance(node, ast.AugAssign) and anno.hasanno(node, Key.FOLD):
            # ``x op= read`` -> ``x = __ll.later(op, x, read)``; ``d[k]`` alike (``d``, ``k``: names or literals)
            current = copy.deepcopy(node.target)
            current.ctx = ast.Load()
            value = runtime_call(("later",), [constant(anno.getanno(node, Key.FOLD)), current, self.visit(node.value)])
            new = ast.copy_location(ast.Assign([node.target], value), node)
        elif isinstance(node, ast.Return) and node.value is not None:
            # every name whose value leaves here is made NumPy in one call, just before the return
            inner = {id(n) for c in ast.walk(node.value) if isinstance(c, COMPREHENSIONS) for n in ast.walk(c)}
            leaving = [n for n in ast.walk(node.value) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                       and id(n) not in inner and contains_lifted(anno.getanno(n, Key.REP, TOP))
                       and not anno.getanno(n, Key.REP, TOP).may_be_unbound and not _inside_region(n, node.value)]
            for name in leaving:
                anno.delanno(name, Key.MATERIALIZE)
            if all(not contains_lifted(anno.getanno(n, Key.REP, TOP)) or n in leaving
                   for n in ast.walk(node.value) if n is not node.value and isinstance(n, ast.expr)):
                anno.delanno(node.value, Key.MATERIALIZE)  # nothing lifted is left in it
            node.value = self.visit(node.value)
            names = [*anno.getanno(node, Key.DEMOTE, []), *dict.fromkeys(n.id for n in leaving)]
            return [*self.rebinds(node, names), node]
        else:
            for field, value in ast.iter_fields(node):
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    setattr(node, field, self.visit_block(value))
                elif isinstance(value, list):
                    setattr(node, field, [self.visit_part(v) for v in value])
                elif isinstance(value, ast.AST):
                    setattr(node, field, self.visit_part(value))
            new = node
        return [*self.rebinds(node), new]

    def visit_part(self, node: Any) -> Any:
        if isinstance(node, ast.expr):
            return self.visit(node)
        if isinstance(node, (ast.excepthandler, ast.match_case)):
            node.body = self.visit_block(node.body)
            for field, value in ast.iter_fields(node):
                if isinstance(value, ast.expr):
                    setattr(node, field, self.visit(value))
            return node
        if isinstance(node, (ast.keyword, ast.comprehension, ast.withitem, ast.arguments, ast.arg)):
            return self.generic_visit(node)
        return node

    def statement_run(self, first: ast.stmt, plan: RegionPlan) -> list[ast.stmt]:
        targets = ast.Tuple([ast.Name(n, ast.Store()) for n in plan.outputs], ast.Store())
        new = ast.copy_location(ast.Assign([targets], self.region_call(plan)), first)
        return [*self.rebinds(first), new]

    def rebinds(self, node: ast.stmt, names: list[str] | None = None) -> list[ast.stmt]:
        """``a = __ll.m(a)`` for the names made NumPy before ``node``; several names in one call
        (``a, b = __ll.m((a, b))``), so their values cross from the device in one transfer."""
        names = list(dict.fromkeys(anno.getanno(node, Key.DEMOTE, []) if names is None else names))
        if not names:
            return []
        if len(names) == 1:
            return [assign(names[0], runtime_call(("m",), [ast.Name(names[0], ast.Load())]), node)]
        values = ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())
        targets = ast.Tuple([ast.Name(n, ast.Store()) for n in names], ast.Store())
        return [ast.copy_location(ast.Assign([targets], runtime_call(("m",), [values])), node)]

    # ------------------------------------------------------------------ expressions
    def visit(self, node: ast.AST) -> Any:
        if not isinstance(node, ast.expr):
            return super().visit(node)
        plan: RegionPlan | None = anno.getanno(node, Key.REGION)
        batched: BatchPlan | None = anno.getanno(node, Key.BATCH)
        if plan is not None:
            new: ast.expr = self.region_call(plan)
        elif batched is not None and isinstance(node, ast.ListComp):
            code = self.batch_code(batched)
            new = batch.comprehension(code, node, self.generic_visit(node))
        elif anno.hasanno(node, Key.LIFT):
            new = self.conversion(node, *anno.getanno(node, Key.LIFT))
        elif anno.hasanno(node, Key.SHORTEN):
            conv: Conversion = anno.getanno(node, Key.SHORTEN)
            new = runtime_call(("numpy_of",), [self.visit(conv.source), constant(conv.chain)])
        elif isinstance(node, ast.BinOp) and anno.hasanno(node, Key.FOLD):
            new = runtime_call(("later",), [constant(anno.getanno(node, Key.FOLD)), self.visit(node.left),
                                            self.visit(node.right)])
        elif anno.hasanno(node, Key.METADATA):
            new = runtime_call(("meta",), [self.visit(node.value), constant(anno.getanno(node, Key.METADATA))])
        elif anno.hasanno(node, Key.DEFER):
            read: HostRead = anno.getanno(node, Key.DEFER)
            new = runtime_call(("defer",), [self.visit(read.source), constant(read.how)])
        else:
            new = self.generic_visit(node)
        new = ast.copy_location(new, node)
        if anno.hasanno(node, Key.MATERIALIZE):
            new = ast.copy_location(runtime_call(("m",), [new]), node)
        return new

    def region_call(self, plan: RegionPlan) -> ast.Call:
        return ast.Call(ast.Name(plan.name, ast.Load()), [self.input(i) for i in unique_inputs(plan)], [])

    def input(self, node: ast.expr) -> ast.expr:
        """An input as a value: ``1:3`` becomes ``__ll.slice(1, 3, None)``."""
        if isinstance(node, ast.Slice):
            parts = [self.visit(p) if p is not None else ast.Constant(None) for p in (node.lower, node.upper, node.step)]
            return ast.copy_location(runtime_call(("slice",), parts), node)
        if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts):
            return ast.copy_location(ast.Tuple([self.input(e) for e in node.elts], ast.Load()), node)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):  # the target of x op= y
            return ast.copy_location(ast.Name(node.id, ast.Load()), node)
        return self.visit(node)

    def conversion(self, node: ast.Call, conv: Conversion, source_type: Any) -> ast.expr:
        source = self.visit(conv.source)
        if conv.direction == "to_tensor":
            return runtime_call(("to_tensor",), [self.visit(node.func), source])
        assert isinstance(source_type, TensorV) and source_type.dtype is not None
        guard = [constant(torch_name(source_type.dtype)), constant(source_type.ndim), constant(conv.chain)]
        if conv.how == "numpy":
            return runtime_call(("lift_method",), [source, *guard])
        return runtime_call(("lift_call",), [self.visit(node.func), source, *guard, constant(conv.copies_on_cpu)])


COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _inside_region(name: ast.Name, root: ast.expr) -> bool:
    """The name is read by a region (which takes it lifted), not by the returned value itself."""
    for node in ast.walk(root):
        if anno.hasanno(node, Key.REGION) and any(sub is name for sub in ast.walk(node)):
            return True
    return False


def unique_inputs(plan: RegionPlan) -> list[ast.expr]:
    """The inputs a region takes as parameters: a name read twice is one parameter."""
    seen: set[str] = set()
    out = []
    for node in plan.inputs:
        if isinstance(node, ast.Name):
            if node.id in seen:
                continue
            seen.add(node.id)
        out.append(node)
    return out


def apply(fn: ast.FunctionDef) -> list[batch.BatchCode]:
    """Rewrite ``fn`` (in place) according to its annotations; the body functions of its
    batched loops."""
    lift = Lift()
    fn.body = lift.visit_block(fn.body)
    return lift.batches
