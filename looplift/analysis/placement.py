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
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .. import anno, pragmas, registry
from ..anno import Key
from ..dtypes import LIFTABLE_NP_DTYPES, TORCH_TO_NP
from ..errors import Refusal
from ..lattice import (AV, TOP, UNBOUND, ArrayV, ConstV, ListV, ObjV, PyScalarV, TensorV, TopV, TupleV, UnionV,
                       conflicted, contains_lifted, demoted, holds_local_list, join)
from ..pragmas import Mark
from ..registry import lowering
from ..report import Decision
from . import conversions, types as T
from .walker import Env, Use, Walker, join_all

#: Host reads kept on the device: the kind of Python value each gives.
_READ_TYPES = {"float": float, "int": int, "bool": bool, "complex": complex}


@dataclass
class Plan:
    """What placement concluded beyond the annotations: reasons, and what the rewrite relies on."""

    skipped: dict[ast.AST, Decision] = field(default_factory=dict)
    kept_reads: dict[ast.AST, Decision] = field(default_factory=dict)
    """Host reads that stay where they are, with the line whose use needs the value there."""
    pinned: set[str] = field(default_factory=set)


class Placement(Walker):
    """One walk of the placement pass (``place`` runs it to its fixpoint)."""

    def __init__(self, fn: ast.FunctionDef, globals_: Mapping[str, Any], marks: Mapping[ast.AST, Mark], *,
                 lift: bool, opt_in: bool, pinned: set[str]) -> None:
        super().__init__(fn)
        self.marks = marks
        self.lift_allowed = lift
        self.lifting = lift and not opt_in
        self.opt_in = opt_in
        self.shortening = False  # conversions outside loops run once: nothing to shorten
        self.pinned = self.scope.unliftable | pinned
        self.resolve = conversions.make_resolver(self.scope.locals, globals_)
        self.writes_in_place = writes_in_place(fn)
        self.plan = Plan(pinned=set(pinned))
        self.conflicts: set[str] = set()
        self.pending: set[str] = set()

    # ------------------------------------------------------------------ statements
    def stmt(self, node: ast.stmt, env: Env) -> Env | None:
        """Run a statement; names it needs made NumPy first are rebound just before it."""
        outer_pending = self.pending
        forced: set[str] = set()
        try:
            while True:
                self.pending = set()
                env_in = dict(env)
                for name in forced:
                    env_in[name] = T.non_local(demoted(env_in[name]))
                self.forget(node)
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

    def forget(self, stmt: ast.stmt) -> None:
        """Drop the conclusions of an earlier visit (loops are walked to a fixpoint)."""
        anno.delanno(stmt, Key.DEMOTE)
        anno.delanno(stmt, Key.FOLD)
        for node in ast.walk(stmt):
            for key in (Key.LIFT, Key.SHORTEN, Key.LOWER, Key.DEFER, Key.FOLD, Key.MATERIALIZE):
                anno.delanno(node, key)
            self.plan.skipped.pop(node, None)
            self.plan.kept_reads.pop(node, None)

    def join_values(self, name: str, a: AV, b: AV) -> AV:
        joined = join(a, b)
        if conflicted(joined) and name in self.scope.locals:
            self.conflicts.add(name)
        return joined

    def augassign(self, node: ast.AugAssign, env: Env) -> None:
        target = node.target
        op = T.BINOPS.get(type(node.op))
        if not (isinstance(target, ast.Name) and target.id in self.scope.locals and target.id not in self.pinned):
            value = self.expr(node.value, env, Use.RETAIN)
            self.store_target(target, env)
            return
        current = env.get(target.id, UNBOUND)
        anno.setanno(target, Key.REP, current)
        value = self.expr(node.value, env, Use.OPERAND)
        if all(T.is_immutable_scalar(o) for o in current.options()):
            env[target.id] = self.scalar_update(node, target, op, current, value, env)
            return
        if contains_lifted(current):
            self.pending.add(target.id)  # in place on a lifted array: NumPy does it, on the NumPy form
        self.use(node.value, value, Use.READ, env)
        env[target.id] = demoted(anno.getanno(target, Key.TYPE, TOP)) if not contains_lifted(current) else \
            T.non_local(demoted(current))

    def scalar_update(self, node: ast.AugAssign, target: ast.Name, op: str | None, current: AV, value: AV,
                      env: Env) -> AV:
        """``x op= y`` where ``x`` is a number: an ordinary binary operation that rebinds ``x``."""
        if op in ("add", "sub") and self.deferrable(value) and is_python_number(current):
            anno.setanno(node, Key.FOLD, op)  # reads added up where x leaves
            return PyScalarV(fold_type(current, value), lifted=True)
        if contains_lifted(current) and not any(isinstance(o, ArrayV) for o in current.options()):
            self.pending.add(target.id)  # a deferred number updated by something else: read it first
            current = demoted(current)
        if contains_lifted(current) or contains_lifted(value):
            lowered = self.lower(node, registry.for_operator(op) if op else None, [current, value], {})
            if lowered is not None:
                return lowered
            if contains_lifted(current):
                self.pending.add(target.id)
        self.use(node.value, value, Use.READ, env)
        return demoted(self.type_of(node))

    def assign(self, target: ast.expr, value_node: ast.expr | None, value: AV, env: Env) -> None:
        if isinstance(target, ast.Name):
            if target.id in self.pinned or target.id not in self.scope.locals:
                if value_node is not None:
                    value = self.use(value_node, value, Use.RETAIN, env)
                value = T.non_local(demoted(value))
            elif holds_local_list(value) and value_node is not None and not isinstance(value_node, (ast.List, ast.ListComp)):
                value = T.non_local(self.use(value_node, value, Use.RETAIN, env))  # a second name for a list
            anno.setanno(target, Key.REP, value)
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = T.unpack(value, len(target.elts))
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
            local_list = T.is_local_list(base)
            if local_list and isinstance(target.value, ast.Name):
                env[target.value.id] = ListV(join(T.list_elem(base), value), local=True)
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
        mark = self.marks.get(node, Mark.NONE)
        inner = False if mark is Mark.OFF else self.lift_allowed if mark is Mark.ON else self.lifting
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

    def loop_target(self, node: ast.For, iter_value: AV, element: AV, env: Env) -> AV:
        if contains_lifted(element) and not self.holds_lifted(node.target):
            self.use(node.iter, iter_value, Use.READ, env)  # elements go to names that stay NumPy
            return demoted(element)
        return element

    def element_of(self, iter_node: ast.expr, value: AV, env: Env) -> AV:
        element = T.element_of(value)
        if contains_lifted(value) and not T.is_local_list(value):
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
        if use is Use.OPERAND or not contains_lifted(value):
            return value
        if conflicted(value):  # materializing would also convert real tensors
            if isinstance(node, ast.Name) and node.id in self.scope.locals:
                self.conflicts.add(node.id)
                return demoted(value)
            raise Refusal("a value may be a lifted array or a tensor", getattr(node, "lineno", None))
        if anno.hasanno(node, Key.DEFER) and not any(
                isinstance(o, ListV) for o in value.options()):  # needed at once: the original read stays
            anno.delanno(node, Key.DEFER)
            self.keep_read(node, f"its value is {'returned' if use is Use.EXIT else 'needed here'}")
            return demoted(value)
        if isinstance(node, ast.Name) and node.id in self.scope.locals:
            if use is Use.RETAIN and needs_rebind(value):
                self.pending.add(node.id)
                return T.non_local(demoted(value))
            if any(isinstance(o, ListV) for o in value.options()):
                env[node.id] = demoted(value)  # the list is made NumPy in place
        anno.setanno(node, Key.MATERIALIZE, True)
        return demoted(value)

    def _expr_Constant(self, node: ast.Constant, env: Env) -> AV:
        return self.type_of(node)

    def _expr_Name(self, node: ast.Name, env: Env) -> AV:
        if node.id in self.scope.locals:
            return env.get(node.id, UNBOUND)
        return self.type_of(node)

    def _expr_Attribute(self, node: ast.Attribute, env: Env) -> AV:
        base = self.expr(node.value, env, Use.OPERAND)
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
        entry = registry.for_object(obj) if obj is not None else None
        if values is not None and entry is not None and any(map(contains_lifted, [*values[0], *values[1].values()])):
            lowered = self.lower(node, entry, *values)
            if lowered is not None:
                return lowered
        if values is not None and obj is range:
            self.release(node, values, Use.READ, env)
        elif values is not None and obj in (enumerate, zip) and not values[1]:
            return T.iterator_result(obj, values[0], {})  # elements keep their placement
        elif values is not None and obj is pragmas.loop and len(values[0]) == 1:
            return values[0][0]
        elif values is not None and obj is len and len(values[0]) == 1 and T.is_local_list(values[0][0]):
            pass  # the length of a list the function made: its items stay as they are
        elif values is not None and T.hashable(obj) and obj in T.READ_BUILTIN_RESULTS:
            self.release(node, values, Use.READ, env)
        else:
            self.release(node, values, Use.RETAIN, env)
        return demoted(self.type_of(node))

    def method_call(self, node: ast.Call, func: ast.Attribute, env: Env) -> AV:
        receiver = self.expr(func.value, env, Use.OPERAND)
        values = self.arguments(node, env)
        name = func.attr
        if values is not None and contains_lifted(receiver) and all(isinstance(o, ArrayV) for o in receiver.options()):
            entry = registry.for_method(name)
            lowered = self.lower(node, entry, [receiver, *values[0]], values[1]) if entry is not None else None
            if lowered is not None:
                return lowered
        if values is not None and T.is_local_list(receiver) and isinstance(func.value, ast.Name):
            return self.list_method(node, func, receiver, values, env)
        self.use(func.value, receiver, Use.RETAIN, env)
        self.release(node, values, Use.RETAIN, env)
        return demoted(self.type_of(node))

    def list_method(self, node: ast.Call, func: ast.Attribute, receiver: AV,
                    values: tuple[list[AV], dict[str, AV]], env: Env) -> AV:
        """Methods of a list the function made: appends may keep lifted elements."""
        args, kwargs = values
        name = func.attr
        elem = T.list_elem(receiver)
        list_name = func.value.id  # type: ignore[attr-defined]
        if name == "append" and len(args) == 1 and not kwargs:
            item = args[0]
            if holds_local_list(item):
                item = self.use(node.args[0], item, Use.RETAIN, env)
            joined = join(elem, item)
            if conflicted(joined):  # lifted and real tensors in one list: keep this list plain
                self.conflicts.add(list_name)
            env[list_name] = ListV(joined, local=True)
            return ConstV(None)
        if name == "pop":
            self.release(node, values, Use.READ, env)
            return elem
        self.use(func.value, receiver, Use.RETAIN, env)
        self.release(node, values, Use.RETAIN, env)
        return demoted(self.type_of(node))

    # ------------------------------------------------------------ decisions
    def lower(self, node: ast.AST, entry: registry.OpEntry | None, args: list[AV], kwargs: dict[str, AV]) -> AV | None:
        """The lifted result of a NumPy operation run as lowered torch (annotated), or None."""
        if entry is None or not self.lifting:
            return None
        if self.writes_in_place and entry.copies_views is not None and entry.copies_views(args):
            self.skip(node, f"{entry.key} runs in NumPy",
                      "NumPy returns a view where torch copies, and this function writes into arrays in place")
            return None
        try:
            lowered = lowering.lower(entry, args, kwargs)
        except Refusal as refusal:
            self.skip(node, f"{entry.key} runs in NumPy", refusal.reason)
            return None
        anno.setanno(node, Key.LOWER, lowered)
        return lowered.result

    def conversion(self, conv: conversions.Conversion, env: Env) -> AV:
        """A conversion between torch and NumPy: kept as a tensor when the types allow."""
        source = self.expr(conv.source, env, Use.OPERAND)
        node = conv.node
        if conv.direction == "to_numpy":
            if not is_tensor(source):
                self.use(conv.source, source, Use.RETAIN, env)
                return demoted(self.type_of(node))
            tensor = next(iter(source.options()))
            assert isinstance(tensor, TensorV)
            reason = unliftable(tensor, conv)
            if reason is None and self.lifting:
                anno.setanno(node, Key.LIFT, (conv, tensor))
                return replace(self.type_of(node), lifted=True)  # type: ignore[arg-type]
            if self.lifting and reason:
                self.skip(node, f"{conv.describe()} kept", reason)
            elif not self.lifting and self.loops:
                self.skip(node, f"{conv.describe()} kept", "lifting is off here (cost model or marker)")
            if self.shortening and conv.how == "numpy" and conv.chain and set(conv.chain) <= SHORTCUT_STEPS \
                    and tensor.device == "cpu" and tensor.requires_grad is False:
                anno.setanno(node, Key.SHORTEN, conv)
            return self.type_of(node)
        if contains_lifted(source) and self.lifting and isinstance(source, ArrayV) \
                and not (source.scalar and conv.how == "from_numpy"):
            anno.setanno(node, Key.LIFT, (conv, source))
            return self.type_of(node)
        self.use(conv.source, source, Use.READ, env)
        return self.type_of(node)

    def host_read(self, read: conversions.HostRead, env: Env) -> AV:
        """``t.item()``/``float(t)``: deferred (kept on the device) while only names, lists,
        accumulators and returns see it; ``use`` puts the read back where Python needs it."""
        source = self.expr(read.source, env, Use.OPERAND)
        result = self.type_of(read.node)
        if read.how == "tolist" or not self.lifting or not self.loops or not isinstance(result, PyScalarV):
            self.use(read.source, source, Use.RETAIN, env)
            if self.loops:
                self.keep_read(read.node, "lifting is off here" if not self.lifting else "not deferred")
            return demoted(result)
        if not (is_tensor(source) or (contains_lifted(source) and
                                      all(isinstance(o, ArrayV) and o.scalar for o in source.options()))):
            self.use(read.source, source, Use.RETAIN, env)  # a NumPy value: nothing to defer
            return demoted(result)
        anno.setanno(read.node, Key.DEFER, read)
        return replace(result, lifted=True)

    def deferrable(self, value: AV) -> bool:
        return self.lifting and bool(self.loops) and all(
            isinstance(o, PyScalarV) and o.lifted and o.type in (int, float, bool) for o in value.options())

    def keep_read(self, node: ast.AST, why: str) -> None:
        read = conversions.host_read(node, self.resolve)
        what = read.describe() if read is not None else "host read"
        self.plan.kept_reads[node] = Decision(getattr(node, "lineno", 0), f"{what} read on the host here", why)

    def skip(self, node: ast.AST, what: str, reason: str) -> None:
        self.plan.skipped[node] = Decision(getattr(node, "lineno", 0), what, reason)

    # ----------------------------------------------------------- operators
    def _expr_BinOp(self, node: ast.BinOp, env: Env) -> AV:
        left = self.expr(node.left, env, Use.OPERAND)
        right = self.expr(node.right, env, Use.OPERAND)
        return self.operator(node, T.BINOPS.get(type(node.op)), [(node.left, left), (node.right, right)], env)

    def operator(self, node: ast.expr, op: str | None, operands: list[tuple[ast.expr, AV]], env: Env) -> AV:
        values = [v for _, v in operands]
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
        return self.operator(node, T.UNARYOPS[type(node.op)], [(node.operand, operand)], env)

    def _expr_Compare(self, node: ast.Compare, env: Env) -> AV:
        if len(node.ops) == 1 and type(node.ops[0]) in T.COMPARES:
            left = self.expr(node.left, env, Use.OPERAND)
            right = self.expr(node.comparators[0], env, Use.OPERAND)
            return self.operator(node, T.COMPARES[type(node.ops[0])],
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
        body = self.expr(node.body, env, Use.OPERAND)
        orelse = self.expr(node.orelse, env, Use.OPERAND)
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
        if T.is_local_list(base):
            self.expr(node.slice, env, Use.READ)
            return T.list_elem(base) if not isinstance(node.slice, ast.Slice) else base
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
        return TupleV(tuple(self.items(node, env)))

    def _expr_List(self, node: ast.List, env: Env) -> AV:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            for e in node.elts:
                self.expr(e, env, Use.RETAIN)
            return demoted(self.type_of(node))
        return ListV(join_all(self.items(node, env)), local=True)

    def items(self, node: ast.Tuple | ast.List, env: Env) -> list[AV]:
        """Items of a display: lists in it escape, and lifted items are made NumPy where real
        tensors sit beside them."""
        items = [self.expr(e, env, Use.OPERAND) for e in node.elts]
        mixed = conflicted(join_all(items))
        out = []
        for element, item in zip(node.elts, items):
            if holds_local_list(item) or (mixed and contains_lifted(item)):
                item = T.non_local(self.use(element, item, Use.RETAIN, env))
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

    def comprehension(self, node: ast.expr, env: Env) -> AV:
        """A comprehension runs in its own scope.  A list comprehension is placed like a loop
        that appends (its elements may stay lifted); the others read NumPy values."""
        lifting_inside = isinstance(node, ast.ListComp) and self.lifting
        if not lifting_inside:
            for name in loaded_names(node) - comprehension_targets(node):
                if name in self.scope.locals and contains_lifted(env.get(name, UNBOUND)) and name not in self.pinned:
                    self.pending.add(name)
        inner = {k: (v if lifting_inside else demoted(v)) for k, v in env.items()}
        outer_lifting = self.lifting
        self.lifting = lifting_inside
        self.loops.append(_ComprehensionFrame())
        try:
            for generator in node.generators:  # type: ignore[attr-defined]
                iterable = self.expr(generator.iter, inner, Use.OPERAND)
                element = self.element_of(generator.iter, iterable, inner)
                for target in ast.walk(generator.target):
                    if isinstance(target, ast.Name):
                        inner[target.id] = element if target is generator.target else TOP
                        anno.setanno(target, Key.REP, inner[target.id])
                for condition in generator.ifs:
                    self.expr(condition, inner, Use.READ)
            if isinstance(node, ast.ListComp):
                elem = self.expr(node.elt, inner, Use.OPERAND)
                if holds_local_list(elem) or conflicted(elem):
                    elem = self.use(node.elt, elem, Use.RETAIN, inner)
                return ListV(elem, local=True)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.expr(getattr(node, part), inner, Use.RETAIN)
            return demoted(self.type_of(node))
        finally:
            self.loops.pop()
            self.lifting = outer_lifting

    _expr_ListComp = comprehension
    _expr_SetComp = comprehension
    _expr_DictComp = comprehension
    _expr_GeneratorExp = comprehension

    def _expr_Await(self, node: ast.AST, env: Env) -> AV:
        raise Refusal("await/yield are not rewritten", getattr(node, "lineno", None))

    _expr_Yield = _expr_Await
    _expr_YieldFrom = _expr_Await


class _ComprehensionFrame:
    """A comprehension counts as a loop for deferral (``self.loops``); it has no break or continue."""

    breaks: list[Env] = []
    continues: list[Env] = []


def place(fn: ast.FunctionDef, globals_: Mapping[str, Any], params: Mapping[str, AV],
          marks: Mapping[ast.AST, Mark], *, lift: bool, opt_in: bool) -> Plan:
    """Run placement to its fixpoint: names found in conflict are pinned and the walk repeats."""
    pinned: set[str] = set()
    while True:
        walk = Placement(fn, globals_, marks, lift=lift, opt_in=opt_in, pinned=pinned)
        anno.clear(fn, Key.LIFT, Key.SHORTEN, Key.LOWER, Key.DEFER, Key.FOLD, Key.MATERIALIZE, Key.DEMOTE, Key.REP)
        walk.run({name: demoted(value) for name, value in params.items()})
        if not walk.conflicts - pinned:
            return walk.plan
        pinned |= walk.conflicts


# ---------------------------------------------------------------------------------------------
# Facts placement relies on

#: Steps of a conversion that return the tensor itself or an alias for a CPU tensor without grad.
SHORTCUT_STEPS = frozenset({"detach", "cpu"})


def unliftable(source: TensorV, conv: conversions.Conversion) -> str | None:
    """Why converting this tensor cannot be lifted, or None."""
    if source.dtype is None or source.ndim is None:
        return "tensor dtype or rank unknown here"
    if TORCH_TO_NP.get(source.dtype) not in LIFTABLE_NP_DTYPES:
        return f"dtype {source.dtype} is not lifted"
    if source.ndim == 0:
        return "0-d tensor (NumPy gives a 0-d array)"
    if source.requires_grad is not False and "detach" not in conv.chain:
        return "tensor may require grad (the original raises)"
    if source.device != "cpu" and "cpu" not in conv.chain and conv.how == "numpy":
        return "tensor may not be on the CPU (the original raises)"
    return None


def is_tensor(value: AV) -> bool:
    options = list(value.options())
    return len(options) == 1 and isinstance(options[0], TensorV)


def is_python_number(value: AV) -> bool:
    return all(isinstance(o, PyScalarV) and o.type in (int, float, bool) or
               isinstance(o, ConstV) and type(o.value) in (int, float, bool) for o in value.options())


def fold_type(current: AV, value: AV) -> type:
    """The Python type ``x + read`` ends with: float if either is a float, else int."""
    kinds = {o.type if isinstance(o, PyScalarV) else type(o.value) for v in (current, value)
             for o in v.options()}  # type: ignore[union-attr]
    return float if float in kinds else int


def needs_rebind(value: AV) -> bool:
    """A retained value that can be modified: lifted arrays (not scalars) and lists holding lifted values."""
    for option in value.options():
        if isinstance(option, ArrayV) and option.lifted and option.ndim != 0:
            return True
        if isinstance(option, TopV) and option.lifted:
            return True
        if isinstance(option, (ListV, TupleV)) and contains_lifted(option):
            return True
    return False


def writes_in_place(fn: ast.FunctionDef) -> bool:
    """The function may write into an array in place (a syntactic, conservative check)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.AugAssign) or (isinstance(node, (ast.Subscript, ast.Attribute))
                                               and isinstance(node.ctx, (ast.Store, ast.Del))):
            return True
        if isinstance(node, ast.Call) and (any(k.arg == "out" for k in node.keywords) or (
                isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"))):
            return True
    return False


def loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def comprehension_targets(node: ast.AST) -> set[str]:
    return {n.id for gen in getattr(node, "generators", []) for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
