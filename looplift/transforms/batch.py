"""Batch: a loop with independent iterations runs as one computation, the loop kept beside it.

For a loop the dependence pass planned (``analysis/dependence.py``) this writes

* the *body function*: the lifted body of one iteration, returning what the iteration hands out
  (appended values, the tensors of folded reads), ``__ll_k0(t, w)``;
* the loop's replacement: the iterable is taken once, ``__ll.batched`` tries the body on every
  item at once (``runtime/batch.py``), and where it cannot (items of different shapes, a guard that
  does not hold, an error) the loop runs as it would have::

      __ll_items0 = batches
      __ll_batch0 = __ll.batched(__ll_k0, __ll_items0, (w,), ('array',))
      if __ll_batch0 is not None:
          out.extend(__ll_batch0[0])
      else:
          for t in __ll_items0:
              ...
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from .. import anno
from ..analysis.dependence import BatchPlan
from ..anno import Key
from .builders import assign, constant, runtime_call


@dataclass
class BatchCode:
    plan: BatchPlan
    name: str
    body: ast.FunctionDef
    kinds: tuple[str, ...]


def body_function(plan: BatchPlan, name: str, lift: "ast.NodeTransformer") -> BatchCode:
    """The body of one iteration as a function of the item and the invariants (lifted by ``lift``)."""
    statements = [_Unhoisted().visit(copy.deepcopy(s)) for s in plan.statements]
    values = [_Unhoisted().visit(copy.deepcopy(o.value)) for o in plan.outputs]
    body: list[ast.stmt] = []
    for stmt in statements:
        new = lift.statement(stmt)  # type: ignore[attr-defined]
        body.extend(new if isinstance(new, list) else [new])
    body.append(ast.Return(ast.Tuple([lift.visit(v) for v in values], ast.Load())))  # a tuple: vmap's outputs
    args = ast.arguments([], [ast.arg(n) for n in (plan.item, *plan.invariants)], None, [], [], None, [])
    fn = ast.FunctionDef(name, args, body, [], None)
    ast.copy_location(fn, plan.loop)
    fn.end_lineno = fn.lineno
    kinds = tuple("array" if o.read is None else f"read:{o.read}" for o in plan.outputs)
    return BatchCode(plan, name, ast.fix_missing_locations(fn), kinds)


class _Unhoisted(ast.NodeTransformer):
    """A hoisted conversion's cache (``h if h is not None else (h := conv)``) is the conversion
    itself in a batch body: the body runs once, for every item."""

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        if anno.hasanno(node, Key.HOISTED):
            return node.orelse.value  # type: ignore[attr-defined]
        return self.generic_visit(node)


def _first_line(loop: ast.For) -> ast.AST:
    """A location on the loop's first line only (a statement spanning the whole loop would be
    reported at its last line)."""
    here = ast.Pass()
    here.lineno = here.end_lineno = loop.lineno
    here.col_offset, here.end_col_offset = loop.col_offset, loop.col_offset
    return here


def replacement(code: BatchCode, loop: ast.For, fallback: ast.For, index: int) -> list[ast.stmt]:
    """The statements that replace ``loop``: the batched run, else ``fallback`` (the lifted loop)."""
    items, result = f"__ll_items{index}", f"__ll_batch{index}"
    at = _first_line(loop)
    take = assign(items, loop.iter, at)
    fallback.iter = ast.Name(items, ast.Load())
    run = assign(result, runtime_call(("batched",), [
        ast.Name(code.name, ast.Load()), ast.Name(items, ast.Load()),
        ast.Tuple([ast.Name(n, ast.Load()) for n in code.plan.invariants], ast.Load()), constant(code.kinds)]), at)
    hand_out: list[ast.stmt] = []
    for position, output in enumerate(code.plan.outputs):
        values = ast.Subscript(ast.Name(result, ast.Load()), ast.Constant(position), ast.Load())
        if output.kind == "append":
            call = ast.Call(ast.Attribute(ast.Name(output.target, ast.Load()), "extend", ast.Load()), [values], [])
            hand_out.append(ast.copy_location(ast.Expr(call), at))
        else:
            fold = runtime_call(("fold_all",), [ast.Name(output.target, ast.Load()), constant(output.op), values])
            hand_out.append(assign(output.target, fold, at))
    check = ast.Compare(ast.Name(result, ast.Load()), [ast.IsNot()], [ast.Constant(None)])
    branch = ast.copy_location(ast.If(check, hand_out, [fallback]), at)
    return [take, run, ast.fix_missing_locations(branch)]


def comprehension(code: BatchCode, node: ast.ListComp, fallback: ast.ListComp) -> ast.expr:
    """``[f(t) for t in items]`` -> ``__ll.batched_or(__ll_k0, items, (w,), kinds, lambda items: [...])``:
    the items taken once, batched where it can, else the (lifted) comprehension on them."""
    items = "__ll_items"
    iterable = fallback.generators[0].iter
    fallback.generators[0].iter = ast.Name(items, ast.Load())
    otherwise = ast.Lambda(ast.arguments([], [ast.arg(items)], None, [], [], None, []), fallback)
    call = runtime_call(("batched_or",), [
        ast.Name(code.name, ast.Load()), iterable,
        ast.Tuple([ast.Name(n, ast.Load()) for n in code.plan.invariants], ast.Load()), constant(code.kinds),
        otherwise])
    return ast.fix_missing_locations(ast.copy_location(call, node))
