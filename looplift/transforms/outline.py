"""Outline: the functions each planned region runs, from the plan and the lowerings.

For a region (``analysis/regions.py``) this builds three pieces of source, all plain Python:

* the *lowered* function: the torch expressions of its lowered operations, with the operands put
  in (``return torch.sum(torch.exp(a) * 2 + 1)``) and, first, the lowerings' conditions on Python
  operands (``__ll.require(-128 <= n <= 127)``);
* the *twin*: the region's original statements on the same parameters, which runs on their NumPy
  form wherever the lowered function does not apply;
* the *guard*: what the lowering assumed of each input (``type(a) is Tensor and a.dtype is
  torch.float32 and a.dim() == 1``).

Building them into callables (``codegen``) and running them (``runtime/regions.py``) happens
elsewhere; this module only writes the code, so ``explain()`` can show it.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from .. import anno
from ..anno import Key
from ..dtypes import NP_TO_TORCH, torch_name
from ..lattice import AV, ArrayV, ConstV, ListV, PyScalarV, TupleV
from ..registry.lowering import Lowered
from ..analysis.regions import RegionPlan, is_literal, operand_nodes
from .builders import runtime_call
from .lift import unique_inputs


@dataclass
class RegionCode:
    """The generated code of one region."""

    plan: RegionPlan
    params: list[str]
    lowered: ast.FunctionDef
    twin: ast.FunctionDef
    guard: str
    """A Python expression over ``params`` (``Tensor`` and ``torch`` in scope); "True" for none."""
    label: str
    ops: int
    adopt: tuple[int, ...] = ()
    """Positions of the lifted-array inputs: one that arrives as NumPy (a value carried into the
    loop from before it, ``v = v0``) is made a tensor at the region's entry."""


class _Substitute(ast.NodeTransformer):
    def __init__(self, names: dict[str, ast.expr]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.names:
            return copy.deepcopy(self.names[node.id])
        return node


class Outliner:
    def __init__(self, fn_name: str) -> None:
        self.fn_name = fn_name

    def build(self, plan: RegionPlan) -> RegionCode:
        inputs = unique_inputs(plan)
        params = [n.id if isinstance(n, ast.Name) else f"_i{i}" for i, n in enumerate(inputs)]
        names = {id(n): p for n, p in zip(inputs, params)}
        by_name = {n.id: p for n, p in zip(inputs, params) if isinstance(n, ast.Name)}
        self.param_of = lambda node: names.get(id(node)) or (by_name.get(node.id) if isinstance(node, ast.Name) else None)
        self.ops = 0
        self.internal: set[str] = set()  # names an earlier statement of the region assigned
        requires: list[ast.expr] = []
        if plan.statements:
            body: list[ast.stmt] = []
            for stmt, root in zip(plan.statements, plan.roots):
                target = stmt.targets[0].id  # type: ignore[attr-defined]
                body.append(ast.Assign([ast.Name(target, ast.Store())], self.render(root, requires)))
                self.internal.add(target)
            body.append(ast.Return(ast.Tuple([ast.Name(n, ast.Load()) for n in plan.outputs], ast.Load())))
            twin_body = [self.original(s, inputs, params) for s in plan.statements]
            twin_body.append(ast.Return(ast.Tuple([ast.Name(n, ast.Load()) for n in plan.outputs], ast.Load())))
        else:
            root = plan.roots[0]
            statement = plan.update
            if statement is not None:  # ``x op= y``: the region returns the new x
                body = [ast.Return(self.render_node(statement, requires))]
                twin_stmt = self.original(statement, inputs, params)
                twin_body = [twin_stmt, ast.Return(ast.Name(statement.target.id, ast.Load()))]  # type: ignore[attr-defined]
            else:
                body = [ast.Return(self.render(root, requires))]
                twin_body = [ast.Return(self.original(root, inputs, params))]
        body = [ast.Expr(runtime_call(("require",), [r])) for r in requires] + body
        line = plan.line
        label = f"{self.fn_name}_region{plan.name.removeprefix('__ll_r')}"
        lowered = _function(label, params, body, line)
        twin = _function(self.fn_name, params, twin_body, line)  # tracebacks name the user's function
        values = _values(inputs)
        guard = " and ".join(filter(None, (guard_of(p, v) for p, v in zip(params, values)))) or "True"
        adopt = tuple(i for i, v in enumerate(values) if _lifted_array(v))
        return RegionCode(plan, params, lowered, twin, guard, label, self.ops, adopt)

    def render(self, node: ast.expr, requires: list[ast.expr]) -> ast.expr:
        """The lowered code of ``node``: a parameter for an input, the lowering for an operation."""
        param = self.param_of(node)
        if param is not None:  # an input (a lowered one is computed by a region of its own)
            return ast.Name(param, ast.Load())
        if isinstance(node, ast.Name) and node.id in self.internal:
            return ast.Name(node.id, ast.Load())
        if anno.hasanno(node, Key.LOWER):
            return self.render_node(node, requires)
        if is_literal(node):
            return copy.deepcopy(node)
        raise AssertionError(f"region input not found: {ast.unparse(node)}")

    def render_node(self, node: ast.AST, requires: list[ast.expr]) -> ast.expr:
        lowered: Lowered = anno.getanno(node, Key.LOWER)
        self.ops += 1
        args, kwargs = operand_nodes(node)
        names = {f"_{i}": self.render(a, requires) for i, a in enumerate(args)}
        names.update({f"_k_{k}": self.render(v, requires) for k, v in kwargs.items()})
        substitute = _Substitute(names)
        line = getattr(node, "lineno", 1)
        requires.extend(substitute.visit(_at_line(r, line)) for r in lowered.requires)
        return substitute.visit(_at_line(lowered.expression, line))

    def original(self, node: ast.AST, inputs: list[ast.expr], params: list[str]) -> ast.AST:
        """A copy of the original code of ``node`` with its inputs replaced by the parameters."""
        memo: dict[int, ast.AST] = {}
        twin = copy.deepcopy(node, memo)
        # names are parameters of their own name; other inputs are replaced by theirs
        replacements = {id(memo[id(i)]): ast.Name(p, ast.Load()) for i, p in zip(inputs, params)
                        if id(i) in memo and not isinstance(i, ast.Name)}

        class Replace(ast.NodeTransformer):
            def visit(self, sub: ast.AST) -> ast.AST:
                if id(sub) in replacements:
                    return replacements[id(sub)]
                return self.generic_visit(sub)

        return Replace().visit(twin)


def substitute(template: ast.expr, names: dict[str, ast.expr]) -> ast.expr:
    """A copy of a lowering's template with its placeholders replaced by ``names``."""
    return _Substitute(names).visit(copy.deepcopy(template))


def _at_line(template: ast.expr, line: int) -> ast.expr:
    """A copy of a lowering's template placed at the user's line (tracebacks name it)."""
    expression = copy.deepcopy(template)
    for node in ast.walk(expression):
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = line  # type: ignore[attr-defined]
            node.col_offset = node.end_col_offset = 0  # type: ignore[attr-defined]
    return expression


def _values(inputs: list[ast.expr]) -> list[AV]:
    return [anno.getanno(node, Key.REP) for node in inputs]


def _lifted_array(value: AV | None) -> bool:
    options = list(value.options()) if value is not None else []
    return len(options) == 1 and isinstance(options[0], ArrayV) and options[0].lifted


def guard_of(param: str, value: AV | None) -> str:
    """The check of one input: what the lowering relied on."""
    if value is None:
        return ""
    options = list(value.options())
    if len(options) != 1:  # a union the lowering stands for: any of its forms
        parts = [guard_of(param, PyScalarV(type(o.value)) if isinstance(o, ConstV) and
                          type(o.value) in (bool, int, float, complex) else o) for o in options]
        return "(" + " or ".join(f"({p})" for p in parts) + ")" if all(parts) else "False"
    option = options[0]
    if isinstance(option, ArrayV) and option.lifted:
        return f"type({param}) is Tensor and {param}.dtype is torch.{torch_name(NP_TO_TORCH[option.dtype])} and " \
               f"{_rank(f'{param}.dim()', option.ndim)}"
    if isinstance(option, PyScalarV) and not option.lifted:
        return f"type({param}) is {option.type.__name__}"
    if isinstance(option, ListV) and isinstance(option.elem, ArrayV) and option.elem.lifted:
        elem = option.elem
        return f"type({param}) is list and all(type(_x) is Tensor and _x.dtype is " \
               f"torch.{torch_name(NP_TO_TORCH[elem.dtype])} and {_rank('_x.dim()', elem.ndim)} for _x in {param})"
    if isinstance(option, TupleV) and option.items is not None:
        parts = [guard_of(f"{param}[{i}]", item) for i, item in enumerate(option.items)]
        return f"type({param}) is tuple and len({param}) == {len(option.items)}" + \
            "".join(f" and {p}" for p in parts if p)
    if isinstance(option, ConstV):
        return ""
    if isinstance(option, ArrayV) and option.scalar:  # a NumPy scalar operand
        return f"type({param}) is numpy.{option.dtype.type.__name__}"
    if isinstance(option, ArrayV):  # a NumPy array operand, made a tensor by the lowering
        return f"type({param}) is numpy.ndarray and {param}.dtype == numpy.dtype({str(option.dtype)!r}) and " \
               f"{_rank(f'{param}.ndim', option.ndim)}"
    return ""


def _rank(rank: str, ndim: int | None) -> str:
    """The check of a rank: ``ndim`` None is a rank unknown statically, which lowered code takes
    at any value of at least 1 (``rank_free`` operations only: see ``registry/entry.py``)."""
    return f"{rank} == {ndim}" if ndim is not None else f"{rank} >= 1"


def _function(name: str, params: list[str], body: list[ast.stmt], line: int) -> ast.FunctionDef:
    fn = ast.FunctionDef(name=name, args=ast.arguments([], [ast.arg(p) for p in params], None, [], [], None, []),
                         body=body, decorator_list=[], returns=None)
    fn.lineno, fn.end_lineno, fn.col_offset, fn.end_col_offset = line, line, 0, 0
    return ast.fix_missing_locations(fn)


def apply(plans: list[RegionPlan], fn_name: str) -> list[RegionCode]:
    outliner = Outliner(fn_name)
    return [outliner.build(plan) for plan in plans]
