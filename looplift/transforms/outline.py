"""Outline: move runs of lifted statements into functions that ``torch.compile`` can fuse.

A region is a maximal run of consecutive assignments in one block whose right-hand sides are
made only of registry operations (``__ll.op.*``), names and constants, with at least two
operations (one op gains nothing from compiling).  The run becomes

    out1, out2 = __ll_r0(in1, in2)

where ``__ll_r0`` wraps the outlined function in ``CompiledRegion`` (which decides when to
compile and whether to keep the compiled version).  The Python loop itself stays
a Python loop, so branches, prints and opaque calls keep working, and neither the trip count
nor the list length can cause a recompile.
"""
from __future__ import annotations

import ast
import copy
import types
import warnings
from typing import Any

from .. import codegen, runtime
from ..analysis.facts import Facts
from ..report import Decision
from ..options import Options
from ..errors import LoopliftWarning
from ..runtime.compiled import CompiledRegion, compile_available
from .builders import RUNTIME

MIN_OPS = 2


def _is_op(func: ast.expr) -> bool:
    """``__ll.op.<entry>``: a registry operation of the lifted code."""
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
            and isinstance(func.value.value, ast.Name) and func.value.value.id == RUNTIME
            and func.value.attr == "op")


class _ToReference(ast.NodeTransformer):
    """``__ll.op.<entry>(...)`` -> ``__ll.ref.<entry>(...)``: the region's NumPy twin, which
    calls each entry's NumPy reference directly (what the op does when no tensor comes in)."""

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if _is_op(node.func):
            node.func.value.attr = "ref"  # type: ignore[attr-defined]
        return node


def ops_left(tree: ast.AST) -> int:
    """Registry operations still in ``tree`` (after outlining: those outside every region)."""
    return sum(isinstance(node, ast.Call) and _is_op(node.func) for node in ast.walk(tree))


def _op_count(node: ast.AST) -> int | None:
    """Registry operations in a right-hand side, or None when it holds anything else."""
    count = 0
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            if _is_op(func):
                count += 1
                continue
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and func.value.id == RUNTIME and func.attr == "slice":
                continue
            return None
        if not isinstance(sub, (ast.Name, ast.Constant, ast.Attribute, ast.Tuple, ast.keyword, ast.Load,
                                ast.expr_context)):
            return None
    return count


def _candidate(stmt: ast.stmt) -> int | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return _op_count(stmt.value)
    return None


class Outliner:
    def __init__(self, filename: str, fn: types.FunctionType, measure: bool, numpy_baseline: bool):
        """``numpy_baseline``: regions get a NumPy twin, the side compiled code must beat."""
        self.filename = filename
        self.fn = fn
        self.measure = measure
        self.numpy_baseline = numpy_baseline
        self.regions: dict[str, CompiledRegion] = {}
        self.decisions: list[Decision] = []

    def visit_block(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        run: list[ast.stmt] = []
        ops = 0
        for stmt in body:
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, field, self.visit_block(inner))
            for clause in (*getattr(stmt, "handlers", []), *getattr(stmt, "cases", [])):
                clause.body = self.visit_block(clause.body)
            count = _candidate(stmt)
            if count is not None:
                run.append(stmt)
                ops += count
                continue
            out.extend(self.flush(run, ops))
            run, ops = [], 0
            out.append(self.outline_expressions(stmt))
        out.extend(self.flush(run, ops))
        return out

    def outline_expressions(self, stmt: ast.stmt) -> ast.stmt:
        """Outline maximal pure-op subexpressions of a statement's own expressions
        (``out.append(np.sum(np.exp(a) * 2 + 1))`` compiles ``np.sum(...)``)."""
        for field, value in ast.iter_fields(stmt):
            if isinstance(value, ast.expr):
                setattr(stmt, field, self.outline_expression(value))
            elif isinstance(value, list) and value and isinstance(value[0], ast.expr):
                setattr(stmt, field, [self.outline_expression(v) for v in value])
        return stmt

    def outline_expression(self, node: ast.expr) -> ast.expr:
        count = _op_count(node)
        if count is not None:
            if count < MIN_OPS or not isinstance(node, ast.Call):
                return node
            inputs = _inputs([node], [])
            body = [ast.Return(node)]
            call = self.region(body, inputs, node, node, count)
            return ast.fix_missing_locations(ast.copy_location(call, node))
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                setattr(node, field, self.outline_expression(value))
            elif isinstance(value, list):
                setattr(node, field, [self.outline_expression(v) if isinstance(v, ast.expr) else v for v in value])
        return node

    def region(self, body: list[ast.stmt], inputs: list[str], first: ast.AST, last: ast.AST,
               ops: int) -> ast.Call:
        """Compile ``body`` as a region function of ``inputs``; the call that replaces it."""
        name = f"__ll_r{len(self.regions)}"
        fn_node = ast.FunctionDef(
            name=f"{self.fn.__name__}_region{len(self.regions)}",
            args=ast.arguments([], [ast.arg(i) for i in inputs], None, [], [], None, []),
            body=body, decorator_list=[], returns=None)
        ast.copy_location(fn_node, first)
        ast.fix_missing_locations(fn_node)
        region_fn = codegen.build_helper(fn_node, self.filename, self.fn.__globals__, {RUNTIME: runtime})
        numpy_fn = None
        if self.numpy_baseline:
            twin = _ToReference().visit(copy.deepcopy(fn_node))
            numpy_fn = codegen.build_helper(twin, self.filename, self.fn.__globals__, {RUNTIME: runtime})
        self.regions[name] = CompiledRegion(region_fn, f"{self.filename}:{first.lineno}", measure=self.measure,
                                            numpy_twin=numpy_fn)
        end = getattr(last, "end_lineno", None) or first.lineno  # type: ignore[attr-defined]
        span = "" if end == first.lineno else f"lines {first.lineno}-{end} "  # type: ignore[attr-defined]
        self.decisions.append(Decision(first.lineno, f"{span}compiled as one region ({ops} ops)",  # type: ignore[attr-defined]
                                       "torch.compile in the background once it has run a while, kept if it "
                                       f"measures faster than {'NumPy' if self.numpy_baseline else 'eager torch'}"
                                       if self.measure
                                       else "torch.compile(dynamic=True) at the first call, compile=True"))
        return ast.Call(ast.Name(name, ast.Load()), [ast.Name(i, ast.Load()) for i in inputs], [])

    def flush(self, run: list[ast.stmt], ops: int) -> list[ast.stmt]:
        if ops < MIN_OPS:
            return [self.outline_expressions(stmt) for stmt in run]
        assigned: list[str] = []
        inputs = _inputs([stmt.value for stmt in run], assigned,  # type: ignore[attr-defined]
                         [stmt.targets[0].id for stmt in run])  # type: ignore[attr-defined]
        body = [*run, ast.Return(ast.Tuple([ast.Name(a, ast.Load()) for a in assigned], ast.Load()))]
        call = self.region(body, inputs, run[0], run[-1], ops)
        assign = ast.Assign([ast.Tuple([ast.Name(a, ast.Store()) for a in assigned], ast.Store())], call)
        return [ast.fix_missing_locations(ast.copy_location(assign, run[0]))]


def _inputs(values: list[ast.expr], assigned: list[str], targets: list[str] | None = None) -> list[str]:
    """Names read before the region assigns them (its parameters); fills ``assigned``."""
    inputs: list[str] = []
    for i, value in enumerate(values):
        for node in ast.walk(value):
            if isinstance(node, ast.Name) and node.id != RUNTIME and node.id not in assigned \
                    and node.id not in inputs:
                inputs.append(node.id)
        if targets is not None and targets[i] not in assigned:
            assigned.append(targets[i])
    return inputs


def apply(tree: ast.FunctionDef, facts: Facts, filename: str, fn: types.FunctionType,
          options: Options, *, numpy_baseline: bool) -> tuple[dict[str, Any], list[Decision]]:
    """Outline the regions of ``tree`` (in place); the helpers to bind and the decisions.
    ``numpy_baseline``: CPU data, where compiled regions compete with NumPy, not eager torch."""
    if not compile_available():
        if options.compile is True:
            warnings.warn("looplift: compile=True but this torch has no torch.compile; regions run eagerly",
                          LoopliftWarning, stacklevel=2)
        return {}, []
    outliner = Outliner(filename, fn, measure=options.compile == "auto", numpy_baseline=numpy_baseline)
    tree.body = outliner.visit_block(tree.body)
    return dict(outliner.regions), outliner.decisions
