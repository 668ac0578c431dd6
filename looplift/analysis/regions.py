"""The regions plan: which lowered operations run together, as one pure function.

Every lowered computation runs inside a *region*: a generated function of its inputs whose body is
the lowered torch code, called through ``runtime.regions.Region``, which checks the inputs are what
the lowering assumed (dtype, rank, Python type) and, where they are not or the torch code raises,
runs the region's NumPy twin (the original statements) on the NumPy form of the inputs.  So an odd
value (a guard kept it in NumPy, an observed type was wrong) or an error takes the original path
with the original result or exception, and the lowered code itself can stay plain torch.

A region is a maximal tree of lowered operations (``np.sum(np.exp(a) * 2 + 1)``), or a run of
assignments whose right-hand sides are such trees (the unit ``torch.compile`` fuses).  Inputs are
evaluated before the region runs, so a region only takes inputs whose evaluation has no effect
the lowered code could have come before in the original (names, constants, attributes, guarded
conversions); an operand with effects (``f(x)``) splits the tree so the order stays the original's.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .. import anno
from ..anno import Key
from ..lattice import AV, TOP, ConstV, ObjV, PyScalarV

_PURE_CALLS = (Key.LIFT, Key.SHORTEN)


@dataclass
class RegionPlan:
    """One region: a name, its root expressions (one per statement, or one expression), the
    input expressions (original nodes, in evaluation order) and the names a statement run assigns."""

    name: str
    roots: list[ast.expr]
    inputs: list[ast.expr] = field(default_factory=list)
    statements: list[ast.stmt] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    update: ast.AugAssign | None = None
    """For ``x op= y`` run as a region: the statement (the region returns the new ``x``)."""

    @property
    def line(self) -> int:
        return self.roots[0].lineno

    def input_values(self) -> list[AV]:
        """What the lowering assumed of each input: what the region's guard checks."""
        return [anno.getanno(node, Key.REP, TOP) for node in self.inputs]


def operand_nodes(node: ast.AST) -> tuple[list[ast.expr], dict[str, ast.expr]]:
    """The operands placement handed a lowering, as nodes (receiver first for methods)."""
    if isinstance(node, ast.Call):
        args = list(node.args)
        if isinstance(node.func, ast.Attribute) and not isinstance(anno.getanno(node.func, Key.TYPE), ObjV):
            args.insert(0, node.func.value)
        return args, {k.arg: k.value for k in node.keywords if k.arg is not None}
    if isinstance(node, ast.BinOp):
        return [node.left, node.right], {}
    if isinstance(node, ast.UnaryOp):
        return [node.operand], {}
    if isinstance(node, ast.Compare):
        return [node.left, node.comparators[0]], {}
    if isinstance(node, ast.Subscript):
        return [node.value, node.slice], {}
    if isinstance(node, ast.Attribute):
        return [node.value], {}
    if isinstance(node, ast.AugAssign):
        return [node.target, node.value], {}
    raise AssertionError(f"no operands for {type(node).__name__}")


def is_literal(node: ast.expr) -> bool:
    """A constant, or a negated one (``-1``): written into lowered code as it is."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant)


def is_lowered(node: ast.AST) -> bool:
    return anno.hasanno(node, Key.LOWER)


def pure(node: ast.expr) -> bool:
    """Evaluating ``node`` early has no effect the original could have ordered after a lowered
    operation: names, constants, attribute chains of those, guarded conversions of those."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return pure(node.value)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(pure(e) for e in node.elts)
    if isinstance(node, ast.Slice):
        return all(pure(p) for p in (node.lower, node.upper, node.step) if p is not None)
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and _number(node):  # arithmetic on Python numbers
        return all(pure(part) for part in ast.iter_child_nodes(node) if isinstance(part, ast.expr))
    if isinstance(node, ast.Call) and any(anno.hasanno(node, k) for k in _PURE_CALLS):
        source = node.func.value if isinstance(node.func, ast.Attribute) else node.args[0]
        while isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute):
            source = source.func.value
        return pure(source)
    if isinstance(node, ast.IfExp) and anno.hasanno(node, Key.HOISTED):
        return True
    return False


def _number(node: ast.expr) -> bool:
    value = anno.getanno(node, Key.TYPE)
    return value is not None and all(isinstance(o, (PyScalarV, ConstV)) for o in value.options())


class Planner:
    """Finds the regions of a function (annotates roots and first statements with ``REGION``)."""

    def __init__(self) -> None:
        self.plans: list[RegionPlan] = []

    def new(self, roots: list[ast.expr]) -> RegionPlan:
        plan = RegionPlan(f"__ll_r{len(self.plans)}", roots)
        self.plans.append(plan)
        return plan

    # --------------------------------------------------------------- expressions
    def expression(self, node: ast.expr) -> None:
        """Plan the regions of the lowered trees in ``node`` (outermost first)."""
        if is_lowered(node):
            plan = self.new([node])
            self.collect(node, plan)
            anno.setanno(node, Key.REGION, plan)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def collect(self, node: ast.expr, plan: RegionPlan) -> None:
        """Gather the inputs of the tree under ``node``; an operand with effects that follows a
        lowered sibling ends that sibling's part of the region (it becomes a region of its own)."""
        args, kwargs = operand_nodes(node)
        operands = [*args, *kwargs.values()]
        for index, operand in enumerate(operands):
            later_impure = any(not self.tree_pure(o) for o in operands[index + 1:])
            if is_lowered(operand) and not later_impure:
                self.collect(operand, plan)
            elif is_lowered(operand):
                self.expression(operand)  # its own region, evaluated before the impure operand
                plan.inputs.append(operand)
            elif is_literal(operand):
                continue  # written into the lowered code as it is
            else:
                self.visit(operand)  # regions inside an input (a call's arguments) are their own
                plan.inputs.append(operand)

    def tree_pure(self, node: ast.expr) -> bool:
        if is_lowered(node):
            args, kwargs = operand_nodes(node)
            return all(self.tree_pure(o) for o in (*args, *kwargs.values()))
        return pure(node)

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.expr):
            self.expression(node)
        elif isinstance(node, list):
            for item in node:
                self.visit(item)
        else:
            for child in ast.iter_child_nodes(node):
                self.visit(child)

    # ---------------------------------------------------------------- statements
    def block(self, body: list[ast.stmt], in_try: bool) -> None:
        run: list[ast.stmt] = []
        for stmt in body:
            if not in_try and self.candidate(stmt) and (not run or self.inputs_pure(stmt)):
                run.append(stmt)
                continue
            self.flush(run)
            run = [stmt] if not in_try and self.candidate(stmt) else []
            if not run:
                self.statement(stmt, in_try)
        self.flush(run)

    def candidate(self, stmt: ast.stmt) -> bool:
        """``name = <lowered tree>``: may join a run of statements compiled together."""
        return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
            isinstance(stmt.targets[0], ast.Name) and is_lowered(stmt.value) and \
            not anno.hasanno(stmt, Key.DEMOTE)

    def inputs_pure(self, stmt: ast.stmt) -> bool:
        return self.tree_pure(stmt.value)  # type: ignore[attr-defined]

    def flush(self, run: list[ast.stmt]) -> None:
        if len(run) < 2:
            for stmt in run:
                self.statement(stmt, False)
            return
        plan = self.new([s.value for s in run])  # type: ignore[attr-defined]
        plan.statements = list(run)
        assigned: list[str] = []
        for stmt in run:
            for root_input in self._inputs_of(stmt.value, plan):  # type: ignore[attr-defined]
                names = {n.id for n in ast.walk(root_input) if isinstance(n, ast.Name)}
                if not (isinstance(root_input, ast.Name) and root_input.id in assigned) and \
                        not any(n in assigned for n in names):
                    plan.inputs.append(root_input)
            target = stmt.targets[0].id  # type: ignore[attr-defined]
            if target not in assigned:
                assigned.append(target)
        plan.outputs = assigned
        anno.setanno(run[0], Key.REGION, plan)

    def _inputs_of(self, root: ast.expr, plan: RegionPlan) -> list[ast.expr]:
        scratch = RegionPlan(plan.name, [root])
        self.collect(root, scratch)
        return scratch.inputs

    def statement(self, stmt: ast.stmt, in_try: bool) -> None:
        for name, value in ast.iter_fields(stmt):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self.block(value, in_try or (isinstance(stmt, ast.Try) and name == "body"))
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, (ast.excepthandler, ast.match_case)):
                        self.block(item.body, in_try)
                        for part in ast.iter_child_nodes(item):
                            if isinstance(part, ast.expr):
                                self.visit(part)
                    elif isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                if isinstance(stmt, ast.AugAssign) and is_lowered(stmt):
                    continue
                self.visit(value)
        if isinstance(stmt, ast.AugAssign) and is_lowered(stmt):
            plan = self.new([stmt.target])  # the update ``x op= y`` as ``x = region(x, y)``
            plan.update = stmt
            self.collect_augassign(stmt, plan)
            anno.setanno(stmt, Key.REGION, plan)

    def collect_augassign(self, stmt: ast.AugAssign, plan: RegionPlan) -> None:
        plan.inputs.append(stmt.target)
        if is_lowered(stmt.value):
            self.collect(stmt.value, plan)
        else:
            self.visit(stmt.value)
            plan.inputs.append(stmt.value)


def plan(fn: ast.FunctionDef) -> list[RegionPlan]:
    """Annotate the regions of ``fn``; every ``LOWER`` node ends up inside exactly one."""
    planner = Planner()
    planner.block(fn.body, in_try=False)
    return planner.plans
