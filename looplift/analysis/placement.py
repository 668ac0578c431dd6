"""The placement pass: where each value lives in the rewritten program, and why.

It reads the types pass' ``TYPE`` annotations (what the original holds at every expression) and
decides how the rewritten program holds it, annotating:

* ``LIFT``: a conversion of a tensor to NumPy keeps the tensor (guarded where it runs), and a
  conversion of such a value back to a tensor uses it directly;
* ``LOWER``: a NumPy operation with a lifted operand runs as lowered torch (``registry.lowering``);
* ``DEFER``: a host read (``t.item()``, ``float(t)``) whose value only flows into names, lists,
  accumulators or returns stays on the device; ``FOLD``: ``x += read`` on a Python number keeps
  the reads and adds them up, in the original's order, where ``x`` leaves;
* ``MATERIALIZE``/``DEMOTE``: wherever a lifted value reaches anything else (Python, an opaque
  call, a store, a return) it is made what the original holds, right there; where the consumer
  may keep or modify it, the name is rebound first so the program holds one object, as the
  original did;
* ``SKIPPED``: why a conversion, operation or read stays as it was.

Its values are the types pass' with *lifted* bits (``lattice``: a lifted array is a tensor in the
rewritten program, a lifted Python number a deferred read).  A name that could hold a lifted value
on one path and a real tensor on another, or must be rebound where it may be unbound, is
*pinned*: it never holds lifted values, and the pass runs again (a local fixpoint, bounded by the
number of names).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import anno, pragmas, registry, semantics
from ..anno import Key
from ..errors import Refusal
from ..lattice import (AV, TOP, UNBOUND, ArrayV, ConstV, DictV, ListV, ObjV, TopV, TupleV, conflicted, contains_lifted, may_be_real_tensor,
                       demoted, holds_local_container, join)
from ..pragmas import Mark
from ..report import Decision
from . import conversions, reads, rules as R
from .rules import (comprehension_targets, deferred_number, is_tensor, loaded_names, needs_rebind,
                    writes_in_place)
from .decisions import Decisions, not_one_tensor
from .walker import Env, Use, Walker, join_all

@dataclass
class Plan:
    """What placement concluded beyond the annotations: reasons, and what the rewrite relies on."""

    skipped: dict[ast.AST, Decision] = field(default_factory=dict)
    kept_reads: dict[ast.AST, Decision] = field(default_factory=dict)
    """Host reads that stay where they are, with the line whose use needs the value there."""
    switched_off: dict[ast.AST, Decision] = field(default_factory=dict)
    """Conversions and reads in loops where lifting is off (the cost model, a marker): reported,
    not warned about (nothing was attempted)."""
    pinned: set[str] = field(default_factory=set)


class Placement(Decisions, Walker):
    """One walk of the placement pass (``place`` runs it to its fixpoint)."""

    def __init__(self, fn: ast.FunctionDef, globals_: Mapping[str, Any], marks: Mapping[ast.AST, Mark], *,
                 lift: bool, opt_in: bool, pinned: set[str], lift_loops: set[ast.AST] | None = None,
                 kept: Mapping[int, str] | None = None, loops_off: Mapping[ast.AST, str] | None = None) -> None:
        super().__init__(fn)
        self.loops_off = loops_off or {}  # loops that would read more often lifted: why
        self.loop_nodes: list[ast.AST] = []  # the loops (and comprehensions) the walk is inside
        self.kept = kept or {}  # conversions and reads (SITE ids) not worth lifting, and why
        self.marks = marks
        self.lift_loops = lift_loops or set()
        self.lift_allowed = lift
        self.lifting = lift and not opt_in
        self.opt_in = opt_in
        self.shortening = False  # conversions outside loops run once: nothing to shorten
        self.pinned = self.scope.unliftable | pinned
        self.resolve = conversions.make_resolver(self.scope.locals, globals_)
        self.writes_in_place = writes_in_place(fn)
        self.splices = _splice_sites(fn)
        self.plan = Plan(pinned=set(pinned))
        self.conflicts: set[str] = set()
        self.pending: set[str] = set()

    # ------------------------------------------------------------------ statements
    def stmt(self, node: ast.stmt, env: Env) -> Env | None:
        """Run a statement; names it needs made NumPy first are rebound just before it."""
        outer_pending = self.pending
        forced: set[str] = set()
        self.forget(node, decisions=True)
        try:
            while True:
                self.pending = set()
                env_in = dict(env)
                for name in forced:
                    env_in[name] = R.non_local(demoted(env_in[name]))
                self.forget(node, decisions=False)  # why a name was demoted stays in the report
                out = super().stmt(node, env_in)
                new = self.pending - forced
                if not new:
                    break
                unbound = {n for n in new if env.get(n, UNBOUND).may_be_unbound}
                if unbound:  # a rebinding there would raise NameError: never lift these names
                    self.conflicts |= unbound
                    break
                forced |= new
        finally:
            self.pending = outer_pending
        if forced:
            anno.setanno(node, Key.DEMOTE, sorted(forced))
        return out

    def forget(self, stmt: ast.stmt, decisions: bool) -> None:
        """Drop the conclusions of an earlier visit (loops are walked to a fixpoint)."""
        anno.delanno(stmt, Key.DEMOTE)
        for node in ast.walk(stmt):
            for key in (Key.LIFT, Key.SHORTEN, Key.LOWER, Key.DEFER, Key.FOLD, Key.MATERIALIZE, Key.METADATA):
                anno.delanno(node, key)
            if decisions:
                self.plan.skipped.pop(node, None)
                self.plan.kept_reads.pop(node, None)
                self.plan.switched_off.pop(node, None)

    def join_values(self, name: str, a: AV, b: AV) -> AV:
        joined = join(a, b)
        if conflicted(joined) and name in self.scope.locals:
            self.conflicts.add(name)
        return joined

    def _stmt_Return(self, node: ast.Return, env: Env) -> None:
        """A name returned as it is and also used by an operation of the return value is read
        first: its value crosses to the host anyway, so the operation runs on the host copy
        (``return sims, (sims > 0.5).mean()``: one read, not two)."""
        if node.value is not None:
            names = [n.id for n in ast.walk(node.value) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
            self.pending |= {name for name in _returned_as_is(node.value) if names.count(name) > 1 and
                             name in self.scope.locals and name not in self.pinned and
                             contains_lifted(env.get(name, UNBOUND)) and not env.get(name, UNBOUND).may_be_unbound}
        return super()._stmt_Return(node, env)

    def augassign(self, node: ast.AugAssign, env: Env) -> None:
        target = node.target
        op = R.BINOPS.get(type(node.op))
        if isinstance(target, ast.Subscript) and self.item_update(node, target, op, env):
            return
        if not (isinstance(target, ast.Name) and target.id in self.scope.locals and target.id not in self.pinned):
            value = self.expr(node.value, env, Use.RETAIN)
            self.store_target(target, env)
            return
        current = env.get(target.id, UNBOUND)
        anno.setanno(target, Key.REP, current)
        value = self.expr(node.value, env, Use.OPERAND)
        if isinstance(node.op, ast.Add) and R.is_local_list(current) and anno.hasanno(node.value, Key.DEFER):
            self.into_list(target, R.list_elem(current), R.element_of(value), env)  # xs += t.tolist()
            return
        if all(R.is_immutable_scalar(o) for o in current.options()):
            env[target.id] = self.scalar_update(node, target, op, current, value, env)
            return
        if contains_lifted(current):
            self.pending.add(target.id)  # in place on a lifted array: NumPy does it, on the NumPy form
        self.use(node.value, value, Use.READ, env)
        env[target.id] = demoted(anno.getanno(target, Key.TYPE, TOP)) if not contains_lifted(current) else \
            R.non_local(demoted(current))

    def item_update(self, node: ast.AugAssign, target: ast.Subscript, op: str | None, env: Env) -> bool:
        """``d[k] op= read`` on a number in a dict the function made: folded like ``x op= read``
        (``d[k] = later(op, d[k], read)``: ``d`` and ``k`` are names or literals, so evaluating
        them again reads the same objects).  False where that is not the case."""
        name = R.holder(target, env)
        if name is None or name not in self.scope.locals or name in self.pinned or \
                not isinstance(target.slice, (ast.Name, ast.Constant)) or \
                any(isinstance(n, ast.NamedExpr) for n in ast.walk(node.value)):
            return False
        current = R.dict_value(self.expr(target.value, env, Use.OPERAND))
        self.expr(target.slice, env, Use.READ)
        anno.setanno(target, Key.REP, current)
        value = self.expr(node.value, env, Use.OPERAND)
        later = self.later(op, current, value)
        if later is not None:
            anno.setanno(node, Key.FOLD, op)
            R.hold(env, target, later)
        elif op is not None and R.is_python_number(current) and R.is_python_number(value) and \
                not contains_lifted(current) and not contains_lifted(value):  # plain numbers: Python adds them now
            self.use(node.value, value, Use.READ, env)
            R.hold(env, target, join_all(R.python_binop(a, b, op) for a in current.options() for b in value.options()))
        else:  # as any other item update: Python needs the values
            self.use(node.value, value, Use.RETAIN, env)
            self.expr(target.value, env, Use.RETAIN)
        return True

    def assign(self, target: ast.expr, value_node: ast.expr | None, value: AV, env: Env) -> None:
        if isinstance(target, ast.Name) and isinstance(value, TopV) and not value.lifted:
            value = demoted(self.type_of(target))  # what the types pass knows of it (observed, say)
        if isinstance(target, ast.Name):
            if target.id in self.pinned or target.id not in self.scope.locals:
                if value_node is not None:
                    value = self.use(value_node, value, Use.RETAIN, env)
                value = R.non_local(demoted(value))
            elif holds_local_container(value) and value_node is not None and not isinstance(value_node, R.FRESH):
                value = R.non_local(self.use(value_node, value, Use.RETAIN, env))  # a second name for a list
            anno.setanno(target, Key.REP, value)
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = R.unpack(value, len(target.elts))
            if items is None or any(isinstance(e, ast.Starred) for e in target.elts):
                if value_node is not None:
                    self.use(value_node, value, Use.RETAIN, env)
                items = [TOP] * len(target.elts)
            elif any(contains_lifted(i) for i in items) and value_node is not None and \
                    not all(isinstance(e, ast.Name) and e.id in self.scope.locals and e.id not in self.pinned
                            for e in target.elts):
                self.use(value_node, value, Use.RETAIN, env)
                items = [demoted(i) for i in items]
            for element, item in zip(target.elts, items):
                if isinstance(element, ast.Starred):
                    self.store_target(element.value, env)
                else:
                    self.assign(element, None, item, env)
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value, env, Use.OPERAND)
            self.expr(target.slice, env, Use.READ)
            local_list = R.is_local_list(base)
            name = R.holder(target, env)
            if local_list and isinstance(target.value, ast.Name):
                env[target.value.id] = ListV(join(R.list_elem(base), value), local=True)
            elif name is not None and name not in self.pinned:  # an item of a dict the function made
                if value_node is not None and not isinstance(value_node, R.FRESH) and holds_local_container(value):
                    value = R.non_local(self.use(value_node, value, Use.RETAIN, env))
                R.hold(env, target, value)
                if conflicted(env[name]):  # lifted and real tensors in one dict: keep it plain
                    self.conflicts.add(name)
                return
            elif value_node is not None:
                arrays = all(isinstance(o, ArrayV) for o in base.options())
                self.use(value_node, value, Use.READ if arrays else Use.RETAIN, env)
            if contains_lifted(base) and not local_list:
                self.use(target.value, base, Use.RETAIN, env)  # item assignment writes: NumPy does it
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, env, Use.RETAIN)
            if value_node is not None:
                self.use(value_node, value, Use.RETAIN, env)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value_node, TOP, env)

    # ------------------------------------------------------------------ loops
    def entering_loop(self, node: ast.For | ast.While, env: Env) -> Any:
        token = (self.lifting, self.shortening)
        self.loop_nodes.append(node)
        mark = self.marks.get(node, Mark.NONE)
        inner = False if mark is Mark.OFF or node in self.loops_off else self.lift_allowed if mark is Mark.ON else \
            (self.lifting or node in self.lift_loops)
        if self.lifting and not inner:  # values entering a loop that must not lift are made NumPy
            for name in loaded_names(node):
                if name in env and contains_lifted(env[name]) and name not in self.pinned:
                    self.pending.add(name)
        self.lifting = inner
        inherited = self.shortening if self.loops else not self.opt_in
        self.shortening = False if mark is Mark.OFF else True if mark is Mark.ON else inherited
        return token

    def leaving_loop(self, node: ast.For | ast.While, token: Any) -> None:
        self.lifting, self.shortening = token
        self.loop_nodes.pop()

    def loop_target(self, node: ast.For, iter_value: AV, element: AV, env: Env) -> AV:
        if contains_lifted(element) and not self.holds_lifted(node.target):
            self.use(node.iter, iter_value, Use.READ, env)  # elements go to names that stay NumPy
            return demoted(element)
        return element

    def element_of(self, iter_node: ast.expr, value: AV, env: Env) -> AV:
        element = R.element_of(value)
        if R.is_local_dict(value):
            return element  # its keys: never lifted
        if contains_lifted(value) and not R.is_local_list(value):
            self.use(iter_node, value, Use.RETAIN, env)  # rows of an array are views: NumPy iterates
            element = demoted(element)
        return element

    def holds_lifted(self, target: ast.expr) -> bool:
        if isinstance(target, ast.Name):
            return target.id in self.scope.locals and target.id not in self.pinned
        if isinstance(target, (ast.Tuple, ast.List)):
            return all(self.holds_lifted(e) for e in target.elts)
        return False

    # ------------------------------------------------------------- expressions
    def expr(self, node: ast.expr, env: Env, use: Use) -> AV:
        method = getattr(self, f"_expr_{type(node).__name__}", None)
        value = method(node, env) if method is not None else self.plain(node, env)
        anno.setanno(node, Key.REP, value)
        return self.use(node, value, use, env)

    def type_of(self, node: ast.AST) -> AV:
        return anno.getanno(node, Key.TYPE, TOP)

    def plain(self, node: ast.expr, env: Env) -> AV:
        """An expression placement does not rewrite: its parts are made NumPy where they are
        lifted (kept or modified if the expression could), and it holds what the original does."""
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, env, Use.RETAIN)
            elif isinstance(child, (ast.comprehension, ast.keyword, ast.arguments)):
                for part in ast.iter_child_nodes(child):
                    if isinstance(part, ast.expr):
                        self.expr(part, env, Use.RETAIN)
        return demoted(self.type_of(node))

    def use(self, node: ast.expr, value: AV, use: Use, env: Env) -> AV:
        """Apply a use to an evaluated expression (see the module docstring)."""
        name = R.holder(node, env) if use is Use.RETAIN and holds_local_container(value) else None
        if name in env:
            env[name] = R.non_local(env[name])  # kept or aliased elsewhere: no longer only ours
        if use is Use.OPERAND or not contains_lifted(value):
            return value
        if conflicted(value):  # materializing would also convert real tensors
            if isinstance(node, ast.Name) and node.id in self.scope.locals:
                self.conflicts.add(node.id)
                return demoted(value)
            raise Refusal("a value may be a lifted array or a tensor", getattr(node, "lineno", None))
        if anno.hasanno(node, Key.DEFER):  # needed at once (or a splice not taken by a list): the original read stays
            read = anno.getanno(node, Key.DEFER)
            anno.delanno(node, Key.DEFER)
            self.keep_read(node, _why_read(use))
            if read.how == "tolist":  # ``a.tolist()`` of a lifted array: NumPy's, on the array
                self.use(read.source, anno.getanno(read.source, Key.REP, TOP), Use.RETAIN, env)
            return demoted(value)
        root = _root_name(node) if isinstance(node, (ast.Subscript, ast.Attribute)) else None
        if use is Use.RETAIN and root is not None and root in self.scope.locals and root not in self.pinned:
            self.pending.add(root)  # part of it is kept or written: the name's own value is made NumPy
            return demoted(value)
        if isinstance(node, ast.Name) and node.id in self.scope.locals:
            if (use is Use.RETAIN and needs_rebind(value)) or deferred_number(value):
                self.pending.add(node.id)
                return R.non_local(demoted(value))
            if any(isinstance(o, ListV) for o in value.options()):
                env[node.id] = demoted(value)  # the list is made NumPy in place
        anno.setanno(node, Key.MATERIALIZE, True)
        return demoted(value)

    def _expr_Constant(self, node: ast.Constant, env: Env) -> AV:
        return self.type_of(node)

    def _expr_Name(self, node: ast.Name, env: Env) -> AV:
        if node.id in self.scope.locals or node.id in env:  # a comprehension's own names are in env too
            return env.get(node.id, UNBOUND)
        return self.type_of(node)

    def _expr_Attribute(self, node: ast.Attribute, env: Env) -> AV:
        base = self.expr(node.value, env, Use.OPERAND)
        if node.attr in semantics.ARRAY_METADATA and contains_lifted(base) and \
                all(isinstance(o, ArrayV) for o in base.options()):
            anno.setanno(node, Key.METADATA, node.attr)  # read from the tensor: no data, no conversion
            return demoted(self.type_of(node))
        if contains_lifted(base):
            entry = registry.for_attribute(node.attr)
            lowered = self.lower(node, entry, [base], {}) if entry is not None else None
            if lowered is not None:
                return lowered
        self.use(node.value, base, Use.RETAIN, env)
        return demoted(self.type_of(node))

    def _expr_Call(self, node: ast.Call, env: Env) -> AV:
        conversion = conversions.match(node, self.resolve)
        if conversion is not None:
            return self.conversion(conversion, env)
        read = conversions.host_read(node, self.resolve)
        if read is not None:
            source = self.type_of(read.source)
            if is_tensor(source) or any(isinstance(o, ArrayV) and o.scalar for o in source.options()):
                return self.host_read(read, env)
            if self.loops and may_be_real_tensor(source):  # a read as written: said, never silent
                self.skip(node, f"{read.describe()} read on the host as written", not_one_tensor(source))
        func = node.func
        callee = self.type_of(func)
        if isinstance(func, ast.Attribute) and not isinstance(callee, ObjV):
            return self.method_call(node, func, env)
        if not isinstance(func, ast.Attribute):
            self.expr(func, env, Use.RETAIN)
        return self.function_call(node, callee, env)

    def arguments(self, node: ast.Call, env: Env) -> tuple[list[AV], dict[str, AV]] | None:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            for a in node.args:
                self.expr(a.value if isinstance(a, ast.Starred) else a, env, Use.RETAIN)
            for k in node.keywords:
                self.expr(k.value, env, Use.RETAIN)
            return None
        return ([self.expr(a, env, Use.OPERAND) for a in node.args],
                {k.arg: self.expr(k.value, env, Use.OPERAND) for k in node.keywords if k.arg is not None})

    def release(self, node: ast.Call, values: tuple[list[AV], dict[str, AV]] | None, use: Use, env: Env) -> None:
        """The arguments go to code that is not rewritten: made NumPy (and rebound where kept)."""
        if values is None:
            return
        for a, v in zip(node.args, values[0]):
            self.use(a, v, use, env)
        for k in node.keywords:
            if k.arg is not None:
                self.use(k.value, values[1][k.arg], use, env)

    def function_call(self, node: ast.Call, callee: AV, env: Env) -> AV:
        values = self.arguments(node, env)
        obj = getattr(callee, "obj", None)
        if values is not None and obj is len and len(values[0]) == 1 and R.is_local_list(values[0][0]):
            return demoted(self.type_of(node))  # the length of a list the function made: its items stay
        entry = registry.for_object(obj) if obj is not None else None
        if values is not None and entry is not None and any(map(contains_lifted, [*values[0], *values[1].values()])):
            lowered = self.lower(node, entry, *values)
            if lowered is not None:
                return lowered
        if obj in (locals, vars) and values is not None and not values[0]:  # reads every variable
            self.pending |= {name for name, value in env.items() if contains_lifted(value) and name not in self.pinned}
        if values is not None and obj is range:
            self.release(node, values, Use.READ, env)
        elif values is not None and obj in (enumerate, zip) and not values[1]:
            return R.iterator_result(obj, values[0], {})  # elements keep their placement
        elif values is not None and obj is pragmas.loop and len(values[0]) == 1:
            return values[0][0]
        elif values is not None and R.hashable(obj) and obj in R.READ_BUILTIN_RESULTS:
            self.release(node, values, Use.READ, env)
        else:
            self.release(node, values, Use.RETAIN, env)
        return demoted(self.type_of(node))

    def method_call(self, node: ast.Call, func: ast.Attribute, env: Env) -> AV:
        receiver = self.expr(func.value, env, Use.OPERAND)
        values = self.arguments(node, env)
        name = func.attr
        if values is not None and contains_lifted(receiver) and all(isinstance(o, ArrayV) for o in receiver.options()):
            read = conversions.host_read(node, self.resolve) if name == "tolist" else None
            spliced = self.splice(read, receiver) if read is not None else None
            if spliced is not None:
                return spliced
            entry = registry.for_method(name)
            lowered = self.lower(node, entry, [receiver, *values[0]], values[1]) if entry is not None else None
            if lowered is not None:
                return lowered
        if values is not None and R.is_local_list(receiver) and R.holder(func.value, env) is not None:
            return self.list_method(node, func, receiver, values, env)
        self.use(func.value, receiver, Use.RETAIN, env)
        self.release(node, values, Use.RETAIN, env)
        return demoted(self.type_of(node))

    def list_method(self, node: ast.Call, func: ast.Attribute, receiver: AV,
                    values: tuple[list[AV], dict[str, AV]], env: Env) -> AV:
        """Methods of a list the function made: appends may keep lifted elements."""
        args, kwargs = values
        name = func.attr
        elem = R.list_elem(receiver)
        # a comprehension walks a copy of the names: lifted items it added would go unseen after it
        adds = not (self.loops and isinstance(self.loops[-1], _ComprehensionFrame))
        if adds and (name, len(args)) in (("append", 1), ("insert", 2)) and not kwargs:
            if name == "insert":
                self.use(node.args[0], args[0], Use.READ, env)
            item = args[-1]
            if holds_local_container(item):
                item = self.use(node.args[-1], item, Use.RETAIN, env)
            self.into_list(func.value, elem, item, env)
            return ConstV(None)
        if adds and name == "extend" and len(args) == 1 and not kwargs and anno.hasanno(node.args[0], Key.DEFER):
            self.into_list(func.value, elem, R.element_of(args[0]), env)  # xs.extend(t.tolist())
            return ConstV(None)
        if name == "pop":
            self.release(node, values, Use.READ, env)
            return elem
        self.use(func.value, receiver, Use.RETAIN, env)
        self.release(node, values, Use.RETAIN, env)
        return demoted(self.type_of(node))

    # ----------------------------------------------------------- operators
    def _expr_BinOp(self, node: ast.BinOp, env: Env) -> AV:
        left = self.expr(node.left, env, Use.OPERAND)
        right = self.expr(node.right, env, Use.OPERAND)
        return self.operator(node, R.BINOPS.get(type(node.op)), [(node.left, left), (node.right, right)], env)

    def operator(self, node: ast.expr, op: str | None, operands: list[tuple[ast.expr, AV]], env: Env) -> AV:
        values = [v for _, v in operands]
        later = self.later(op, *values) if len(values) == 2 else None
        if later is not None:
            anno.setanno(node, Key.FOLD, op)  # Python arithmetic on a deferred read: done later, on the host
            return later
        if any(isinstance(o, ArrayV) and o.lifted for v in values for o in v.options()):
            lowered = self.lower(node, registry.for_operator(op) if op else None, values, {})
            if lowered is not None:
                return lowered
        for operand, value in operands:
            self.use(operand, value, Use.READ, env)
        return demoted(self.type_of(node))

    def _expr_UnaryOp(self, node: ast.UnaryOp, env: Env) -> AV:
        if isinstance(node.op, ast.Not):
            self.expr(node.operand, env, Use.READ)
            return self.type_of(node)
        operand = self.expr(node.operand, env, Use.OPERAND)
        return self.operator(node, R.UNARYOPS[type(node.op)], [(node.operand, operand)], env)

    def _expr_Compare(self, node: ast.Compare, env: Env) -> AV:
        if len(node.ops) == 1 and type(node.ops[0]) in R.COMPARES:
            left = self.expr(node.left, env, Use.OPERAND)
            right = self.expr(node.comparators[0], env, Use.OPERAND)
            return self.operator(node, R.COMPARES[type(node.ops[0])],
                                 [(node.left, left), (node.comparators[0], right)], env)
        identity = all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops)
        for part in (node.left, *node.comparators):
            self.expr(part, env, Use.OPERAND if identity else Use.READ)
        return self.type_of(node)

    def _expr_BoolOp(self, node: ast.BoolOp, env: Env) -> AV:
        return join_all(self.expr(value, env, Use.READ) for value in node.values)

    def _expr_IfExp(self, node: ast.IfExp, env: Env) -> AV:
        if anno.hasanno(node, Key.HOISTED):  # ``h if h is not None else (h := conversion)``
            self.expr(node.test, env, Use.OPERAND)
            self.expr(node.body, env, Use.OPERAND)
            return self.expr(node.orelse, env, Use.OPERAND)
        self.expr(node.test, env, Use.READ)
        narrowing = self.narrowing(node.test, env)
        body = self.branch(node.body, env, narrowing, True)
        orelse = self.branch(node.orelse, env, narrowing, False)
        if conflicted(join(body, orelse)):  # one branch lifted, the other maybe a real tensor
            body = self.use(node.body, body, Use.RETAIN, env)
            orelse = self.use(node.orelse, orelse, Use.RETAIN, env)
        return join(body, orelse)

    def _expr_NamedExpr(self, node: ast.NamedExpr, env: Env) -> AV:
        value = self.expr(node.value, env, Use.OPERAND)
        self.assign(node.target, node.value, value, env)
        return env.get(node.target.id, value) if node.target.id in self.scope.locals else demoted(value)

    def _expr_Subscript(self, node: ast.Subscript, env: Env) -> AV:
        base = self.expr(node.value, env, Use.OPERAND)
        if R.is_local_list(base):
            self.expr(node.slice, env, Use.READ)
            return R.list_elem(base) if not isinstance(node.slice, ast.Slice) else base
        if R.is_local_dict(base) and not isinstance(node.slice, ast.Slice):
            self.expr(node.slice, env, Use.READ)
            return R.dict_value(base)
        index = self.expr(node.slice, env, Use.OPERAND)
        if contains_lifted(base):
            lowered = self.lower(node, registry.for_operator("getitem"), [base, index], {})
            if lowered is not None:
                return lowered
            self.use(node.value, base, Use.RETAIN, env)  # views of the array: NumPy indexes
        self.use(node.slice, index, Use.READ, env)
        if isinstance(base, TupleV) and base.items is not None and isinstance(index, ConstV) and \
                isinstance(index.value, int) and -len(base.items) <= index.value < len(base.items):
            return base.items[index.value]
        return demoted(self.type_of(node))

    def _expr_Tuple(self, node: ast.Tuple, env: Env) -> AV:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            for e in node.elts:
                self.expr(e, env, Use.RETAIN)
            return TupleV(None, TOP)
        return TupleV(tuple(self.items(node.elts, [self.expr(e, env, Use.OPERAND) for e in node.elts], env)))

    def _expr_List(self, node: ast.List, env: Env) -> AV:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            for e in node.elts:
                self.expr(e, env, Use.RETAIN)
            return demoted(self.type_of(node))
        return ListV(join_all(self.items(node.elts, [self.expr(e, env, Use.OPERAND) for e in node.elts], env)),
                     local=True)

    def _expr_Dict(self, node: ast.Dict, env: Env) -> AV:
        if any(key is None for key in node.keys):  # ``{**other}``: not followed
            return self.plain(node, env)
        values = []
        for key, value in zip(node.keys, node.values):
            self.expr(key, env, Use.RETAIN)
            values.append(self.expr(value, env, Use.OPERAND))
        return DictV(join_all(self.items(node.values, values, env, keep=R.FRESH)), local=True)

    def items(self, elements: list[ast.expr], items: list[AV], env: Env, keep: tuple[type, ...] = ()) -> list[AV]:
        """Items of a display: lists and dicts in it escape (but new ones in a dict, ``keep``:
        only the dict reaches them), and lifted items are made NumPy where real tensors sit
        beside them."""
        mixed = conflicted(join_all(items))
        out = []
        for element, item in zip(elements, items):
            if (holds_local_container(item) and not isinstance(element, keep)) or (mixed and contains_lifted(item)):
                item = R.non_local(self.use(element, item, Use.RETAIN, env))
            out.append(item)
        return out

    def _expr_Lambda(self, node: ast.Lambda, env: Env) -> AV:
        for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
            self.expr(default, env, Use.RETAIN)
        return self.type_of(node)

    def _expr_Slice(self, node: ast.Slice, env: Env) -> AV:
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                self.expr(part, env, Use.READ)
        return self.type_of(node)

    def _expr_JoinedStr(self, node: ast.JoinedStr, env: Env) -> AV:
        for value in node.values:
            self.expr(value, env, Use.READ)
        return self.type_of(node)

    def _expr_FormattedValue(self, node: ast.FormattedValue, env: Env) -> AV:
        self.expr(node.value, env, Use.READ)
        if node.format_spec is not None:
            self.expr(node.format_spec, env, Use.READ)
        return self.type_of(node)

    def bind(self, target: ast.expr, value: AV) -> dict[ast.Name, AV] | None:
        """The names a comprehension's target binds and their values (None where a lifted value
        would go to a part of the target that cannot hold it)."""
        return _bind(target, value)

    def comprehension(self, node: ast.expr, env: Env) -> AV:
        """A comprehension runs in its own scope.  A list comprehension is placed like a loop
        that appends (its elements may stay lifted); the others read NumPy values."""
        lifting_inside = isinstance(node, ast.ListComp) and (self.lifting or node in self.lift_loops) and \
            node not in self.loops_off
        if not lifting_inside:
            for name in loaded_names(node) - comprehension_targets(node):
                if name in self.scope.locals and contains_lifted(env.get(name, UNBOUND)) and name not in self.pinned:
                    self.pending.add(name)
        inner = {k: (v if lifting_inside else demoted(v)) for k, v in env.items()}
        outer_lifting = self.lifting
        self.lifting = lifting_inside
        self.loops.append(_ComprehensionFrame())
        self.loop_nodes.append(node)
        try:
            for generator in node.generators:  # type: ignore[attr-defined]
                iterable = self.expr(generator.iter, inner, Use.OPERAND)
                element = self.element_of(generator.iter, iterable, inner)
                items = self.bind(generator.target, element)
                if items is None:  # a target the items cannot be split over: iterate NumPy values
                    self.use(generator.iter, iterable, Use.RETAIN, inner)
                    items = self.bind(generator.target, demoted(element)) or {}
                for target, value in items.items():
                    inner[target.id] = value
                    anno.setanno(target, Key.REP, value)
                for condition in generator.ifs:
                    self.expr(condition, inner, Use.READ)
            if isinstance(node, ast.ListComp):
                elem = self.expr(node.elt, inner, Use.OPERAND)
                if holds_local_container(elem) or conflicted(elem):
                    elem = self.use(node.elt, elem, Use.RETAIN, inner)
                return ListV(elem, local=True)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.expr(getattr(node, part), inner, Use.RETAIN)
            return demoted(self.type_of(node))
        finally:
            self.loops.pop()
            self.loop_nodes.pop()
            self.lifting = outer_lifting

    _expr_ListComp = comprehension
    _expr_SetComp = comprehension
    _expr_DictComp = comprehension
    _expr_GeneratorExp = comprehension

    def _expr_Await(self, node: ast.AST, env: Env) -> AV:
        raise Refusal("await/yield are not rewritten", getattr(node, "lineno", None))

    _expr_Yield = _expr_Await
    _expr_YieldFrom = _expr_Await


def _bind(target: ast.expr, value: AV) -> dict[ast.Name, AV] | None:
    if isinstance(target, ast.Name):
        return {target: value}
    if isinstance(target, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in target.elts):
        items = R.unpack(value, len(target.elts))
        if items is not None:
            out: dict[ast.Name, AV] = {}
            for element, item in zip(target.elts, items):
                bound = _bind(element, item)
                if bound is None:
                    return None
                out.update(bound)
            return out
    if contains_lifted(value):
        return None
    return {n: TOP for n in ast.walk(target) if isinstance(n, ast.Name)}


class _ComprehensionFrame:
    """A comprehension counts as a loop for deferral (``self.loops``); it has no break or continue."""

    breaks: list[Env] = []
    continues: list[Env] = []


def place(fn: ast.FunctionDef, globals_: Mapping[str, Any], params: Mapping[str, AV],
          marks: Mapping[ast.AST, Mark], *, lift: bool, opt_in: bool, lift_loops: set[ast.AST] | None = None) -> Plan:
    """Run placement to its fixpoint: names found in conflict are pinned and the walk repeats.
    ``lift_loops``: loops (and comprehensions) that lift even where ``lift`` is off."""
    pinned: set[str] = set()
    kept: dict[int, str] = {}
    loops_off: dict[ast.AST, str] = {}  # loops whose rewrite would read the host more often, and why
    earlier: dict[ast.AST, Decision] = {}  # why operations stayed in NumPy, from walks that lifted more
    while True:
        walk = Placement(fn, globals_, marks, lift=lift, opt_in=opt_in, pinned=pinned, lift_loops=lift_loops,
                         kept=kept, loops_off=loops_off)
        anno.clear(fn, Key.LIFT, Key.SHORTEN, Key.LOWER, Key.DEFER, Key.FOLD, Key.MATERIALIZE, Key.DEMOTE, Key.REP,
                   Key.METADATA)
        # a pinned parameter holds no lifted values, as a pinned name assigned in the body (``assign``):
        # a list a resumed loop gets (``pipeline.specialize_loop``) would otherwise still take them
        walk.run({name: R.non_local(demoted(value)) if name in walk.pinned else demoted(value)
                  for name, value in params.items()})
        round_trips = {site: why for site, why in _round_trips(fn).items() if site not in kept}
        worse = {} if round_trips or walk.conflicts - pinned else \
            _reading_more(fn, walk.resolve, loops_off, walk.plan.kept_reads)
        if not walk.conflicts - pinned and not round_trips and not worse:
            for node, decision in earlier.items():
                if not anno.hasanno(node, Key.LOWER):
                    walk.plan.skipped.setdefault(node, decision)
            return walk.plan
        earlier.update(walk.plan.skipped)
        pinned |= walk.conflicts
        kept.update(round_trips)
        loops_off.update(worse)


def _splice_sites(fn: ast.FunctionDef) -> set[ast.expr]:
    """What ``name.extend(...)`` and ``name += ...`` take: where a ``.tolist()`` may be spliced
    into a list (``Decisions.splice``; the list itself is checked where it takes the value)."""
    sites: set[ast.expr] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "extend" and \
                isinstance(node.func.value, ast.Name) and len(node.args) == 1 and not node.keywords:
            sites.add(node.args[0])
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
            sites.add(node.value)
    return sites


def _root_name(node: ast.expr) -> str | None:
    """The name a chain of subscripts and attributes starts from (``out`` of ``out[0].data``)."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _returned_as_is(value: ast.expr) -> set[str]:
    """Names a return value holds as they are: the value itself, or items of tuple and list displays."""
    if isinstance(value, ast.Name):
        return {value.id}
    if isinstance(value, (ast.Tuple, ast.List)):
        return set().union(*(_returned_as_is(e) for e in value.elts))
    return set()


def _why_read(use: Use) -> str:
    """Why a read that could have been deferred is made where it stands."""
    if use is Use.EXIT:
        return "its value is returned"
    if use is Use.RETAIN:
        return ("its value is kept where a deferred read cannot go: a list shared before the loop, an "
                "attribute, a container or a call's argument")
    return "its value is needed here"


def _reading_more(fn: ast.FunctionDef, resolve: Any, off: Mapping[ast.AST, str],
                  kept_reads: Mapping[ast.AST, Decision]) -> dict[ast.AST, str]:
    """Loops whose rewrite reads tensor data on the host more often per iteration than the
    original (a lifted value Python then needs, say: one read per use, where the original read
    once), or as often in every iteration (an ``if`` on a lifted value): the values that leave
    the lifted code then cost reads the original never made.  Lifting stays off there, so no
    loop ever reads more often than it did."""
    worse: dict[ast.AST, str] = {}
    leaves = reads.exits(fn) > 0
    for loop in ast.walk(fn):
        if not isinstance(loop, reads.LOOPS) or loop in off:
            continue
        original = len(reads.sites(loop, resolve, inner=False))
        rewrite = reads.per_iteration(loop, resolve, kept_reads=kept_reads)
        if rewrite > original:
            worse[loop] = (f"lifting this loop would read the host {_times(rewrite)} per iteration where the "
                           f"original reads {original}")
        elif reads.per_iteration(loop, resolve, branches=False) == original > 0 and leaves:
            worse[loop] = (f"lifting this loop would still read the host {_times(rewrite)} per iteration, as the "
                           "original does, and again where its values leave")
    return worse


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _round_trips(fn: ast.FunctionDef) -> dict[int, str]:
    """Lifted conversions whose value is made NumPy again before anything uses it lifted, and
    deferred reads whose value some use needs on the host anyway: kept as they are (a deferred
    read that is read again later would read twice)."""
    found: dict[int, str] = {}
    needed = {n.id: n.lineno for n in ast.walk(fn) if isinstance(n, ast.Name) and anno.hasanno(n, Key.MATERIALIZE)}
    for stmt in ast.walk(fn):
        for name in anno.getanno(stmt, Key.DEMOTE, []):
            needed.setdefault(name, stmt.lineno)
    for stmt in ast.walk(fn):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and \
                anno.hasanno(stmt.value, Key.DEFER) and stmt.targets[0].id in needed:
            found[anno.getanno(stmt.value, Key.SITE)] = \
                f"its value is needed on the host at line {needed[stmt.targets[0].id]}"
    for block in _blocks(fn):
        for stmt, following in zip(block, [*block[1:], None]):
            for node in ast.walk(stmt):
                if not anno.hasanno(node, Key.LIFT) or anno.getanno(node, Key.LIFT)[0].direction != "to_numpy":
                    continue
                if anno.hasanno(node, Key.MATERIALIZE) or (
                        isinstance(stmt, ast.Assign) and stmt.value is node and len(stmt.targets) == 1 and
                        isinstance(stmt.targets[0], ast.Name) and following is not None and
                        stmt.targets[0].id in anno.getanno(following, Key.DEMOTE, [])):
                    found[anno.getanno(node, Key.SITE)] = "its value is made NumPy again before any lifted use"
    return found


def _blocks(fn: ast.FunctionDef) -> list[list[ast.stmt]]:
    return [value for node in ast.walk(fn) for _, value in ast.iter_fields(node)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt)]


# ---------------------------------------------------------------------------------------------
# Facts placement relies on
