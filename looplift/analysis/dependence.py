"""The dependence pass: loops whose iterations are independent, so they can run as one batch.

A loop over a list of tensors whose body only computes from the item (lifted conversions and
lowered regions), from values that do not change in the loop, and from names the body itself
just assigned, and whose only effects across iterations are

* ``out.append(value)`` to a list the function made before the loop and reads nowhere in it,
* ``x += value.item()`` (a fold of host reads) into a number nothing else in the loop reads,

computes the same thing when every item goes through the body at once, with a leading batch
dimension (``runtime/batch.py`` stacks the items and runs the body under ``torch.func.vmap``).
This pass proves it, statically, on placement's annotations; where the proof fails it records
why, naming the line.  Whether a batch then runs is decided per call at run time (all items
tensors of one dtype, shape and device, not requiring grad), and the loop stays a loop whenever
it does not.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .. import anno, semantics
from ..anno import Key
from ..lattice import AV, TOP, ArrayV, ListV, contains_lifted
from ..report import Decision
from . import scope as scope_mod


@dataclass
class Output:
    """What one iteration hands out: appended to ``target`` (``kind`` "append") or folded into it
    (``kind`` "fold", with ``op``), as a lifted NumPy value or a deferred read (``read``: how)."""

    kind: str
    target: str
    value: ast.expr
    read: str | None = None
    op: str | None = None


@dataclass
class BatchPlan:
    loop: ast.AST
    item: str
    iterable: ast.expr
    statements: list[ast.stmt] = field(default_factory=list)
    """The body's assignments of per-item values, in order."""
    outputs: list[Output] = field(default_factory=list)
    invariants: list[str] = field(default_factory=list)
    """Names the body reads that the loop does not assign: taken as they are (not batched)."""


class Independence:
    """Decides, for one loop, whether its iterations are independent (see the module docstring)."""

    def __init__(self, fn: ast.FunctionDef, loop: ast.For, scope: scope_mod.Scope) -> None:
        self.fn = fn
        self.loop = loop
        self.scope = scope
        self.assigned: list[str] = []
        self.why: Decision | None = None

    def refuse(self, node: ast.AST, why: str) -> None:
        if self.why is None:
            self.why = Decision(getattr(node, "lineno", self.loop.lineno), "the loop runs item by item", why)

    def plan(self) -> BatchPlan | None:
        loop = self.loop
        if not isinstance(loop.target, ast.Name):
            self.refuse(loop, "its target is not one name")
            return None
        if loop.orelse:
            self.refuse(loop, "it has an else clause")
            return None
        plan = BatchPlan(loop, loop.target.id, loop.iter)
        self.assigned.append(loop.target.id)
        for stmt in loop.body:
            if not self.statement(stmt, plan):
                return None
        if not plan.outputs:
            self.refuse(loop, "no value leaves an iteration through an append or an accumulation")
            return None
        if not any(anno.hasanno(n, Key.LIFT) and isinstance(_source(n), ast.Name) and _source(n).id == plan.item
                   for n in ast.walk(loop)):
            self.refuse(loop, "its items are not tensors converted in the loop")
            return None
        if self.live_after(set(self.assigned)):
            return None
        plan.invariants = sorted({n.id for stmt in loop.body for n in ast.walk(stmt)
                                  if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                                  and n.id in self.scope.locals and n.id not in self.assigned
                                  and n.id not in {o.target for o in plan.outputs} and not n.id.startswith("__ll_h")})
        return plan

    def statement(self, stmt: ast.stmt, plan: BatchPlan) -> bool:
        if anno.hasanno(stmt, Key.DEMOTE):
            self.refuse(stmt, "a value is made NumPy inside it")
            return False
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if not self.per_item(stmt.value):
                return False
            plan.statements.append(stmt)
            self.assigned.append(name)
            return True
        if isinstance(stmt, ast.AugAssign) and anno.hasanno(stmt, Key.FOLD) and isinstance(stmt.target, ast.Name):
            read = _deferred(stmt.value)
            if read is None or not self.per_item(read):
                self.refuse(stmt, "the accumulated value is not a read of a per-item tensor")
                return False
            if self.used_in_loop(stmt.target.id, stmt):
                return False
            plan.outputs.append(Output("fold", stmt.target.id, read, anno.getanno(stmt.value, Key.DEFER).how,
                                       anno.getanno(stmt, Key.FOLD)))
            return True
        if isinstance(stmt, ast.Expr) and _append(stmt.value) is not None:
            target, value = _append(stmt.value)  # type: ignore[misc]
            if not _local_list(anno.getanno(stmt.value.func.value, Key.TYPE)) or self.used_in_loop(target, stmt):  # type: ignore[attr-defined]
                self.refuse(stmt, f"`{target}` is not a list the function made, or the loop reads it")
                return False
            read = _deferred(value)
            if read is not None:
                if not self.per_item(read):
                    return False
                plan.outputs.append(Output("append", target, read, anno.getanno(value, Key.DEFER).how))
                return True
            if not self.per_item(value) or not _lifted(value):
                self.refuse(stmt, "the appended value is not computed by lifted code")
                return False
            plan.outputs.append(Output("append", target, value))
            return True
        self.refuse(stmt, f"the statement `{_text(stmt)}` may depend on earlier iterations or have effects")
        return False

    def per_item(self, node: ast.expr) -> bool:
        """``node`` computes from the item, invariants and this iteration's names only, with
        lifted conversions and regions: pure code that runs batched."""
        if isinstance(node, ast.Name):
            if node.id in self.assigned or node.id not in self.scope.locals or node.id.startswith("__ll_h"):
                return True
            if self.assigned_in_loop(node.id):
                self.refuse(node, f"`{node.id}` is carried from one iteration to the next")
                return False
            return True
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            return self.per_item(node.value)
        plan = anno.getanno(node, Key.REGION)
        if plan is not None:
            return all(self.per_item(i) for i in plan.inputs)
        if isinstance(node, ast.IfExp) and anno.hasanno(node, Key.HOISTED):  # a loop-invariant conversion
            return self.per_item(node.orelse.value)  # type: ignore[attr-defined]
        if isinstance(node, ast.Call) and anno.hasanno(node, Key.LIFT):
            return self.per_item(_source(node))
        self.refuse(node, f"`{_text(node)}` is not lifted code (it may have effects)")
        return False

    def assigned_in_loop(self, name: str) -> bool:
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, (ast.Store, ast.Del))
                   for n in ast.walk(self.loop))

    def used_in_loop(self, name: str, owner: ast.stmt) -> bool:
        """``name`` is read or written in the loop other than by ``owner``'s own update."""
        mine = {id(n) for n in ast.walk(owner)}
        for node in ast.walk(self.loop):
            if isinstance(node, ast.Name) and node.id == name and id(node) not in mine:
                self.refuse(node, f"`{name}` is also used elsewhere in the loop")
                return True
        return False

    def live_after(self, names: set[str]) -> bool:
        """A name the loop assigns is read after it (it would hold the last item's value)."""
        after = False
        for node in ast.walk(self.fn):
            if node is self.loop:
                continue
            if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load) and \
                    node.lineno > (self.loop.end_lineno or self.loop.lineno):
                self.refuse(node, f"`{node.id}` is read after the loop")
                after = True
                break
        return after or _inside_loop(self.fn, self.loop)


def _inside_loop(fn: ast.FunctionDef, loop: ast.AST) -> bool:
    """Loops nested in another loop are batched by none here (the outer one repeats them)."""
    for node in ast.walk(fn):
        if isinstance(node, (ast.For, ast.While)) and node is not loop and any(sub is loop for sub in ast.walk(node)):
            return True
    return False


def _source(conv_node: ast.Call) -> ast.expr:
    conv = anno.getanno(conv_node, Key.LIFT)[0]
    return conv.source


def _deferred(node: ast.expr) -> ast.expr | None:
    """``x.item()``/``float(x)`` kept on the device: the read tensor ``x``."""
    read = anno.getanno(node, Key.DEFER)
    return read.source if read is not None else None


def _append(call: ast.expr) -> tuple[str, ast.expr] | None:
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "append" and \
            isinstance(call.func.value, ast.Name) and len(call.args) == 1 and not call.keywords:
        return call.func.value.id, call.args[0]
    return None


def _local_list(value: AV | None) -> bool:
    return value is not None and all(isinstance(o, ListV) and o.local for o in value.options())


def _lifted(node: ast.expr) -> bool:
    """A lifted array in new memory: computed by lowered code whose last operation is not a view
    (a batch hands out slices of one stacked result, where the loop would hand out views of its
    items: ``out.append(x.numpy())`` shares the item's memory, ``out.append(x.numpy() * 2)`` does not)."""
    value = anno.getanno(node, Key.REP, TOP)
    if not (contains_lifted(value) and all(isinstance(o, ArrayV) and o.lifted for o in value.options())):
        return False
    lowered = anno.getanno(node, Key.LOWER)
    if lowered is None:
        return False
    name = lowered.entry.name
    return not (semantics.result_may_alias(f"numpy.{name}", None) or semantics.result_may_alias(None, name)
                or lowered.entry.key in ("operator.getitem", "operator.pos"))


def _text(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def comprehension_plan(fn: ast.FunctionDef, node: ast.ListComp, scope: scope_mod.Scope) -> BatchPlan | None:
    """``[f(t) for t in items]``: one generator, no conditions, a lifted (or deferred) element."""
    if len(node.generators) != 1:
        return None
    generator = node.generators[0]
    if generator.ifs or generator.is_async or not isinstance(generator.target, ast.Name):
        return None
    check = Independence(fn, node, scope)  # type: ignore[arg-type]
    item = generator.target.id
    check.assigned.append(item)
    plan = BatchPlan(node, item, generator.iter)
    read = _deferred(node.elt)
    value = read if read is not None else node.elt
    if not check.per_item(value) or (read is None and not _lifted(node.elt)):
        return None
    if not any(anno.hasanno(n, Key.LIFT) and isinstance(_source(n), ast.Name) and _source(n).id == item
               for n in ast.walk(node.elt)):
        return None
    plan.outputs.append(Output("collect", "", value, anno.getanno(node.elt, Key.DEFER).how if read is not None else None))
    plan.invariants = sorted({n.id for n in ast.walk(node.elt) if isinstance(n, ast.Name) and
                              isinstance(n.ctx, ast.Load) and n.id in scope.locals and n.id != item})
    return plan


def plan(fn: ast.FunctionDef) -> tuple[list[BatchPlan], list[Decision]]:
    """Batch plans for the loops of ``fn`` that qualify (annotated ``BATCH``), and why the others
    with lifted code do not."""
    scope = scope_mod.analyze(fn)
    plans, refused = [], []
    for loop in ast.walk(fn):
        if isinstance(loop, ast.ListComp) and any(anno.hasanno(n, Key.LIFT) for n in ast.walk(loop)):
            batch = comprehension_plan(fn, loop, scope)
            if batch is not None:
                anno.setanno(loop, Key.BATCH, batch)
                plans.append(batch)
            continue
        if not isinstance(loop, ast.For) or not any(anno.hasanno(n, Key.LIFT) for n in ast.walk(loop)):
            continue
        check = Independence(fn, loop, scope)
        batch = check.plan()
        if batch is not None:
            anno.setanno(loop, Key.BATCH, batch)
            plans.append(batch)
        elif check.why is not None:
            refused.append(check.why)
    return plans, refused
