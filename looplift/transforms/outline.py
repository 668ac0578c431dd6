"""Outline: move runs of lifted statements into functions that ``torch.compile`` can fuse.

A region is a maximal run of consecutive assignments in one block whose right-hand sides are
made only of registry operations (``__ll.op.*``), names and constants, with at least two
operations (one op gains nothing from compiling).  The run becomes

    out1, out2 = __ll_r0(in1, in2)

where ``__ll_r0`` wraps the outlined function in ``CompiledRegion``.  The Python loop itself stays
a Python loop, so branches, prints and opaque calls keep working, and neither the trip count
nor the list length can cause a recompile.
"""
from __future__ import annotations

import ast
import types
from typing import Any

from .. import codegen, runtime
from ..analysis.facts import Decision, Facts
from ..options import Options
from ..runtime.compiled import CompiledRegion
from .builders import RUNTIME

MIN_OPS = 2


def _op_count(node: ast.AST) -> int | None:
    """Registry operations in a right-hand side, or None when it holds anything else."""
    count = 0
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
                    and isinstance(func.value.value, ast.Name) and func.value.value.id == RUNTIME
                    and func.value.attr == "op"):
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
    def __init__(self, filename: str, fn: types.FunctionType):
        self.filename = filename
        self.fn = fn
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
            for handler in getattr(stmt, "handlers", []):
                handler.body = self.visit_block(handler.body)
            count = _candidate(stmt)
            if count is not None:
                run.append(stmt)
                ops += count
                continue
            out.extend(self.flush(run, ops))
            run, ops = [], 0
            out.append(stmt)
        out.extend(self.flush(run, ops))
        return out

    def flush(self, run: list[ast.stmt], ops: int) -> list[ast.stmt]:
        if ops < MIN_OPS:
            return run
        assigned: list[str] = []
        inputs: list[str] = []
        for stmt in run:
            for node in ast.walk(stmt.value):  # type: ignore[attr-defined]
                if isinstance(node, ast.Name) and node.id != RUNTIME and node.id not in assigned \
                        and node.id not in inputs:
                    inputs.append(node.id)
            target = stmt.targets[0].id  # type: ignore[attr-defined]
            if target not in assigned:
                assigned.append(target)
        name = f"__ll_r{len(self.regions)}"
        first, last = run[0], run[-1]
        fn_node = ast.FunctionDef(
            name=f"{self.fn.__name__}_region{len(self.regions)}",
            args=ast.arguments([], [ast.arg(i) for i in inputs], None, [], [], None, []),
            body=[*run, ast.Return(ast.Tuple([ast.Name(a, ast.Load()) for a in assigned], ast.Load()))],
            decorator_list=[], returns=None)
        ast.copy_location(fn_node, first)
        ast.fix_missing_locations(fn_node)
        region_fn = codegen.build_helper(fn_node, self.filename, self.fn.__globals__, {RUNTIME: runtime})
        label = f"{self.filename}:{first.lineno}"
        self.regions[name] = CompiledRegion(region_fn, label)
        self.decisions.append(Decision(first.lineno, f"lines {first.lineno}-{last.end_lineno or last.lineno} "
                                                     f"compiled as one region ({ops} ops)",
                                       "torch.compile(dynamic=True), eager if it fails"))
        call = ast.Assign([ast.Tuple([ast.Name(a, ast.Store()) for a in assigned], ast.Store())],
                          ast.Call(ast.Name(name, ast.Load()), [ast.Name(i, ast.Load()) for i in inputs], []))
        return [ast.fix_missing_locations(ast.copy_location(call, first))]


def apply(tree: ast.FunctionDef, facts: Facts, filename: str, fn: types.FunctionType,
          options: Options) -> tuple[dict[str, Any], list[Decision]]:
    """Outline the regions of ``tree`` (in place); the helpers to bind and the decisions."""
    outliner = Outliner(filename, fn)
    tree.body = outliner.visit_block(tree.body)
    return dict(outliner.regions), outliner.decisions
