"""Abstract interpretation of the function body for one input signature.

Walks the function once per statement (to a fixpoint around loops), computing for every
expression the abstract value the *original* program has there, and deciding, as it goes, how
the *rewritten* program represents it:

* a conversion of a tensor to NumPy becomes a guarded **lift** (the value stays a tensor);
* a NumPy operation with a lifted operand becomes a **registry op** when the registry proves it
  exact for these operand types;
* wherever a lifted value reaches anything else (a Python-level use, an opaque call, a store, a
  return) it is **materialized** there.  Where the consumer may keep or mutate the value
  ("retain"), an array-valued name is **demoted** first (rebound to its NumPy form), so that the
  program from then on holds exactly one object, as the original did.

Uses come in four contexts: OPERAND (consumed by a rewritten op; nothing to do), READ (consumed
by Python: materialize the expression), RETAIN (kept or possibly mutated by the consumer:
materialize, and demote names), EXIT (returned: materialize, nothing after it runs).
"""
from __future__ import annotations

import ast
import builtins
import sys
import types
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from .. import registry
from ..errors import Refusal
from .. import pragmas
from ..pragmas import Mark
from ..registry import probe
from . import conversions, scope as scope_mod
from ..semantics import ALIASING_STEPS as SHORTCUT_STEPS
from .facts import CACHED_CONVERSION, Facts
from ..lattice import AV, BOTTOM, TOP, UNBOUND, ArrayV, ConstV, ListV, ObjV, PyScalarV, RangeV, TensorV, TopV, TupleV, UnionV, PlainV, conflicted, contains_lifted, demoted, holds_local_list, join, widened
from ..dtypes import LIFTABLE_NP_DTYPES, NP_TO_TORCH, TENSOR_CAST_METHODS, TORCH_TO_NP

Env = dict[str, AV]


class Ctx(Enum):
    OPERAND = "operand"
    READ = "read"
    RETAIN = "retain"
    EXIT = "exit"


_STRENGTH = {Ctx.OPERAND: 0, Ctx.READ: 1, Ctx.EXIT: 1, Ctx.RETAIN: 2}
MAX_LOOP_PASSES = 8
_MISSING = object()
#: Guard value for a builtin: the name must stay absent from the function's globals.
ABSENT = object()

#: Builtins that only read their arguments and keep nothing: their results by type.
READ_BUILTINS: dict[Any, AV] = {
    print: ConstV(None), float: PyScalarV(float), int: PyScalarV(int), bool: PyScalarV(bool),
    complex: PyScalarV(complex), str: PlainV(str), repr: PlainV(str), format: PlainV(str),
    isinstance: PyScalarV(bool), issubclass: PyScalarV(bool), type: TOP, hash: PyScalarV(int), callable: PyScalarV(bool),
    round: TOP, min: TOP, max: TOP, sum: TOP, any: PyScalarV(bool), all: PyScalarV(bool),
    len: PyScalarV(int),
}

_TENSOR_SAME = {"detach", "cpu", "cuda", "clone", "contiguous", "t", "abs", "neg", "exp", "log",
                "sqrt", "relu", "sigmoid", "tanh", "sin", "cos", "square", "flip", "requires_grad_"}


class RetryWithout(Exception):
    """Names that must never hold lifted values; the analysis reruns with them excluded."""

    def __init__(self, names: Iterable[str]):
        super().__init__(", ".join(sorted(names)))
        self.names = set(names)


@dataclass
class _LoopCtx:
    breaks: list[Env] = field(default_factory=list)
    continues: list[Env] = field(default_factory=list)


def _join_env(*envs: Env | None) -> Env | None:
    """Merge the environments of several paths; a name that would hold a lifted value on one
    path and a real tensor on another is retried as a name that never holds lifted values."""
    live = [e for e in envs if e is not None]
    if not live:
        return None
    out = dict(live[0])
    for env in live[1:]:
        for name in out.keys() | env.keys():
            out[name] = join(out.get(name, UNBOUND), env.get(name, UNBOUND))
    clashes = {name for name, value in out.items() if conflicted(value)}
    if clashes:
        raise RetryWithout(clashes)
    return out


def _const_value(node: ast.Constant) -> AV:
    value = node.value
    if isinstance(value, bool):
        return ConstV(value)
    if isinstance(value, (int, float, complex, str, bytes)) or value is None or value is Ellipsis:
        return ConstV(value)
    return TOP


class Inference:
    """One run of the analysis (see the module docstring)."""

    def __init__(self, fn: ast.FunctionDef, *, globals_: Mapping[str, Any], params: Mapping[str, AV],
                 marks: Mapping[ast.AST, Mark], lift: bool, opt_in: bool, unliftable: set[str]):
        self.fn = fn
        self.globals = globals_
        self.scope = scope_mod.analyze(fn)
        self.unliftable = self.scope.unliftable | unliftable
        self.params = params
        self.marks = marks
        self.lift_allowed = lift
        self.lifting = lift and not opt_in
        self.opt_in = opt_in
        self.shortening = False  # conversions in this loop may be shortened (``_loop_shortening``)
        self.facts = Facts()
        self.writes_in_place = _writes_in_place(fn)
        self.resolve = conversions.make_resolver(self.scope.locals, globals_)
        self.pending: set[str] = set()
        self.loops: list[_LoopCtx] = []
        self.returns: list[AV] = []

    # ----------------------------------------------------------------- driver
    def run(self) -> Facts:
        env: Env = {name: UNBOUND for name in self.scope.locals}
        for name in self.scope.params:
            env[name] = self.params.get(name, TOP)
        self.block(self.fn.body, env)
        return self.facts

    def block(self, body: list[ast.stmt], env: Env | None) -> Env | None:
        for stmt in body:
            if env is None:
                return None
            env = self.stmt(stmt, env)
        return env

    def stmt(self, node: ast.stmt, env: Env) -> Env | None:
        """Evaluate one statement; names it needs demoted are rebound just before it."""
        outer_pending = self.pending
        forced: set[str] = set()
        try:
            while True:
                self.pending = set()
                env_in = dict(env)
                for name in forced:
                    env_in[name] = _non_local(demoted(env_in[name]))
                out = self._stmt(node, env_in)
                new = self.pending - forced
                if not new:
                    break
                unbound = {n for n in new if env.get(n, UNBOUND).may_be_unbound}
                if unbound:
                    raise RetryWithout(unbound)
                forced |= new
        finally:
            self.pending = outer_pending
        if forced:
            self.facts.demote[node] = sorted(forced)
        else:
            self.facts.demote.pop(node, None)
        return out

    # ------------------------------------------------------------- statements
    def _stmt(self, node: ast.stmt, env: Env) -> Env | None:
        method = getattr(self, f"_stmt_{type(node).__name__}", None)
        if method is None:
            raise Refusal(f"unsupported statement {type(node).__name__}", getattr(node, "lineno", None))
        return method(node, env)

    def _stmt_Expr(self, node: ast.Expr, env: Env) -> Env:
        self.expr(node.value, env, Ctx.OPERAND)
        return env

    def _stmt_Pass(self, node: ast.Pass, env: Env) -> Env:
        return env

    def _stmt_Global(self, node: ast.Global, env: Env) -> Env:
        return env

    _stmt_Nonlocal = _stmt_Global

    def _stmt_Assign(self, node: ast.Assign, env: Env) -> Env:
        if (len(node.targets) == 1 and isinstance(node.targets[0], (ast.Tuple, ast.List))
                and isinstance(node.value, (ast.Tuple, ast.List))
                and len(node.targets[0].elts) == len(node.value.elts)
                and not any(isinstance(e, ast.Starred) for e in (*node.targets[0].elts, *node.value.elts))):
            values = [self.expr(v, env, Ctx.OPERAND) for v in node.value.elts]
            self.facts.types[node.value] = TupleV(tuple(values))
            for target, value_node, value in zip(node.targets[0].elts, node.value.elts, values):
                self.assign(target, value_node, value, env)
            return env
        value = self.expr(node.value, env, Ctx.OPERAND)
        if len(node.targets) > 1:
            value = self.use(node.value, value, Ctx.RETAIN, env)
        for target in node.targets:
            self.assign(target, node.value, value, env)
        return env

    def _stmt_AnnAssign(self, node: ast.AnnAssign, env: Env) -> Env:
        if node.value is not None:
            value = self.expr(node.value, env, Ctx.OPERAND)
            self.assign(node.target, node.value, value, env)
        return env

    def _stmt_AugAssign(self, node: ast.AugAssign, env: Env) -> Env:
        self.facts.forget(node)
        op_name = _BINOPS.get(type(node.op))
        target = node.target
        if isinstance(target, ast.Name) and target.id not in self.unliftable:
            current = self.lookup(target, env)
            self.facts.types[target] = current
            value = self.expr(node.value, env, Ctx.OPERAND)
            if all(_is_immutable_scalar(o) for o in current.options()):
                # x op= y rebinds x for Python and NumPy scalars: an ordinary binary op
                env[target.id] = self.scalar_augassign(node, target, op_name, current, value, env)
                return env
            if contains_lifted(current):
                self.pending.add(target.id)  # in-place on a lifted array: NumPy does it
            self.use(node.value, value, Ctx.READ, env)
            # in place on an array keeps the array; on anything else (a NumPy scalar among the
            # alternatives rebinds, to a tensor if ``value`` is one) the result is unknown
            arrays = all(isinstance(o, ArrayV) and not _is_immutable_scalar(o) for o in current.options())
            env[target.id] = demoted(current) if arrays else TOP
            return env
        value = self.expr(node.value, env, Ctx.OPERAND)
        self.use(node.value, value, Ctx.RETAIN, env)
        self.store_target(target, env)
        return env

    def scalar_augassign(self, node: ast.AugAssign, target: ast.Name, op_name: str | None, current: AV,
                         value: AV, env: Env) -> AV:
        if not (contains_lifted(current) or contains_lifted(value)):
            entry = registry.for_operator(op_name) if op_name else None
            if entry is not None and any(isinstance(o, ArrayV) for o in (*current.options(), *value.options())):
                return self.numpy_result(entry, [current, value], {})
            return _plain_binop(current, value)
        entry = registry.for_operator(op_name) if op_name and self.lifting else None
        result = self.try_op(node, entry, [current, value], {}) if entry is not None else None
        if result is not None:
            self.facts.aug_ops[node] = self.facts.ops.pop(node)
            return result
        if contains_lifted(current):
            self.pending.add(target.id)  # NumPy runs the update: x is made NumPy first
        self.use(node.value, value, Ctx.READ, env)
        return TOP

    def _stmt_Return(self, node: ast.Return, env: Env) -> None:
        if node.value is not None:
            self.returns.append(self.expr(node.value, env, Ctx.EXIT))
        return None

    def _stmt_Delete(self, node: ast.Delete, env: Env) -> Env:
        for target in node.targets:
            if isinstance(target, ast.Name):
                env[target.id] = UNBOUND
            else:
                self.store_target(target, env)
        return env

    def _stmt_Raise(self, node: ast.Raise, env: Env) -> None:
        for part in (node.exc, node.cause):
            if part is not None:
                self.expr(part, env, Ctx.RETAIN)
        return None

    def _stmt_Assert(self, node: ast.Assert, env: Env) -> Env:
        self.expr(node.test, env, Ctx.READ)
        if node.msg is not None:
            self.expr(node.msg, env, Ctx.RETAIN)
        return env

    def _stmt_Import(self, node: ast.Import | ast.ImportFrom, env: Env) -> Env:
        for alias in node.names:
            name = (alias.asname or alias.name).split(".")[0]
            module = sys.modules.get(alias.name) if isinstance(node, ast.Import) and alias.asname else None
            env[name] = ObjV(module) if isinstance(module, types.ModuleType) else TOP
        return env

    _stmt_ImportFrom = _stmt_Import

    def _stmt_FunctionDef(self, node: ast.FunctionDef | ast.ClassDef, env: Env) -> Env:
        for expr in (*node.decorator_list, *_defaults(node)):
            self.expr(expr, env, Ctx.RETAIN)
        env[node.name] = TOP
        return env

    _stmt_ClassDef = _stmt_FunctionDef
    _stmt_AsyncFunctionDef = _stmt_FunctionDef

    def _stmt_If(self, node: ast.If, env: Env) -> Env | None:
        self.expr(node.test, env, Ctx.READ)
        return _join_env(self.block(node.body, dict(env)), self.block(node.orelse, dict(env)))

    def _stmt_Break(self, node: ast.Break, env: Env) -> None:
        self.loops[-1].breaks.append(env)
        return None

    def _stmt_Continue(self, node: ast.Continue, env: Env) -> None:
        self.loops[-1].continues.append(env)
        return None

    def _stmt_With(self, node: ast.With, env: Env) -> Env | None:
        for item in node.items:
            self.expr(item.context_expr, env, Ctx.RETAIN)
            if item.optional_vars is not None:
                self.store_target(item.optional_vars, env)
        return self.block(node.body, env)

    def _stmt_Try(self, node: ast.Try, env: Env) -> Env | None:
        seen: list[Env | None] = [dict(env)]
        body_env: Env | None = dict(env)
        for stmt in node.body:
            if body_env is None:
                break
            body_env = self.stmt(stmt, body_env)
            seen.append(body_env)
        # a handler may start after any statement of the body
        handler_entry = _join_env(*seen)
        outs = [self.block(node.orelse, body_env) if body_env is not None else None]
        for handler in node.handlers:
            if handler_entry is None:
                break
            h_env = dict(handler_entry)
            if handler.type is not None:
                self.expr(handler.type, h_env, Ctx.READ)
            if handler.name:
                h_env[handler.name] = TOP
            outs.append(self.block(handler.body, h_env))
        after = _join_env(*outs)
        if node.finalbody:
            final_entry = _join_env(after, handler_entry)
            final_out = self.block(node.finalbody, dict(final_entry) if final_entry else None)
            return final_out if after is not None else None
        return after

    _stmt_TryStar = _stmt_Try

    def _stmt_Match(self, node: ast.Match, env: Env) -> Env | None:
        """The subject is matched by Python (NumPy form); each case binds opaque values."""
        self.expr(node.subject, env, Ctx.RETAIN)
        outs: list[Env | None] = []
        exhaustive = False
        for case in node.cases:
            case_env = dict(env)
            for sub in ast.walk(case.pattern):
                for name in (getattr(sub, "name", None), getattr(sub, "rest", None)):
                    if isinstance(name, str):
                        case_env[name] = TOP
                if isinstance(sub, ast.MatchValue):
                    self.expr(sub.value, case_env, Ctx.READ)
            if case.guard is not None:
                self.expr(case.guard, case_env, Ctx.READ)
            outs.append(self.block(case.body, case_env))
            exhaustive |= isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None \
                and case.guard is None
        if not exhaustive:
            outs.append(env)
        return _join_env(*outs)

    # ------------------------------------------------------------------ loops
    def _marked(self, node: ast.AST, on: bool, unmarked: bool) -> bool:
        """A loop's switch under its pragma: off when marked off, ``on`` when marked on,
        ``unmarked`` (what it inherits) otherwise."""
        mark = self.marks.get(node, Mark.NONE)
        return False if mark is Mark.OFF else on if mark is Mark.ON else unmarked

    def _loop_lifting(self, node: ast.AST) -> bool:
        return self._marked(node, self.lift_allowed, self.lifting)

    def _loop_shortening(self, node: ast.AST) -> bool:
        """Whether per-iteration conversions in this loop may be shortened: a loop that is not
        turned off, and with ``opt_in`` one turned on (or inside one).  Unlike lifting, this
        does not depend on the cost model: it is never slower."""
        return self._marked(node, True, self.shortening if self.loops else not self.opt_in)

    def _enter_loop(self, node: ast.For | ast.While, env: Env) -> bool:
        """Switch lifting for the loop; values entering a loop that must not lift are demoted."""
        inner = self._loop_lifting(node)
        if self.lifting and not inner:
            for name in _loaded_names(node):
                if name in env and contains_lifted(env[name]) and name not in self.unliftable:
                    self.pending.add(name)
        return inner

    def _stmt_For(self, node: ast.For, env: Env) -> Env | None:
        self.facts.forget(node)
        inner = self._enter_loop(node, env)
        iter_value = self.expr(node.iter, env, Ctx.OPERAND)
        element = self.element_of(node.iter, iter_value, env)
        if contains_lifted(element) and not self.holds_lifted(node.target):
            self.use(node.iter, iter_value, Ctx.READ, env)  # elements go to plain names: NumPy first
            element = demoted(element)
        return self._fixpoint(node, env, inner, lambda head: self._for_body(node, element, head))

    def _for_body(self, node: ast.For, element: AV, head: Env) -> Env | None:
        body_env = dict(head)
        self.assign(node.target, None, element, body_env)
        return self.block(node.body, body_env)

    def _stmt_While(self, node: ast.While, env: Env) -> Env | None:
        inner = self._enter_loop(node, env)

        def body(head: Env) -> Env | None:
            self.expr(node.test, head, Ctx.READ)
            return self.block(node.body, dict(head))

        return self._fixpoint(node, env, inner, body)

    def _fixpoint(self, node: ast.For | ast.While, env: Env, inner: bool, body) -> Env | None:
        outer_shortening, self.shortening = self.shortening, self._loop_shortening(node)
        outer_lifting, self.lifting = self.lifting, inner
        head = dict(env)
        try:
            for attempt in range(MAX_LOOP_PASSES + 1):
                self.loops.append(_LoopCtx())
                end = body(head)
                ctx = self.loops.pop()
                new_head = _join_env(head, end, *ctx.continues)
                if new_head == head:
                    break
                if attempt == MAX_LOOP_PASSES:  # widen: whatever changes is unknown
                    new_head = {k: (v if head.get(k) == v else widened(v)) for k, v in new_head.items()}
                head = new_head
            if isinstance(node, ast.While):
                self.expr(node.test, head, Ctx.READ)
        finally:
            self.lifting, self.shortening = outer_lifting, outer_shortening
        after_else = self.block(node.orelse, dict(head))
        return _join_env(after_else, *ctx.breaks)

    def element_of(self, iter_node: ast.expr, value: AV, env: Env) -> AV:
        """The abstract value of one element produced by iterating over ``value``."""
        element: AV = BOTTOM
        for option in value.options():
            if isinstance(option, ListV):
                item = option.elem
            elif isinstance(option, TupleV):
                item = BOTTOM
                for t in option.item_types():
                    item = join(item, t)
            elif isinstance(option, RangeV):
                item = option.elem
            elif isinstance(option, TensorV) and option.ndim:
                item = replace(option, ndim=option.ndim - 1)
            elif isinstance(option, ArrayV) and not option.scalar and option.ndim:
                item = ArrayV(option.dtype, option.ndim - 1, scalar=option.ndim == 1)
            else:
                item = TOP
            element = join(element, item)
        if contains_lifted(value) and not _local_list(value):
            self.use(iter_node, value, Ctx.RETAIN, env)  # rows are views: iterate in NumPy
            element = demoted(element)
        return element

    # ------------------------------------------------------------- assignment
    def assign(self, target: ast.expr, value_node: ast.expr | None, value: AV, env: Env) -> None:
        if isinstance(target, ast.Name):
            self.facts.types[target] = value
            if target.id in self.unliftable or target.id not in self.scope.locals:
                if value_node is not None:
                    value = self.use(value_node, value, Ctx.RETAIN, env)
                value = _non_local(demoted(value))
            elif holds_local_list(value) and value_node is not None \
                    and not isinstance(value_node, (ast.List, ast.ListComp)):
                # a second name for a list: from now on it may change behind the analysis' back
                value = _non_local(self.use(value_node, value, Ctx.RETAIN, env))
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = _unpack(value, len(target.elts))
            if items is None or any(isinstance(e, ast.Starred) for e in target.elts):
                if value_node is not None:
                    self.use(value_node, value, Ctx.RETAIN, env)
                items = [TOP] * len(target.elts)
            elif any(contains_lifted(i) for i in items) and value_node is not None \
                    and any(not isinstance(e, ast.Name) for e in target.elts):
                self.use(value_node, value, Ctx.RETAIN, env)
                items = [demoted(i) for i in items]
            for element, item in zip(target.elts, items):
                if isinstance(element, ast.Starred):
                    self.store_target(element.value, env)
                else:
                    self.assign(element, None, item, env)
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value, env, Ctx.OPERAND)
            self.expr(target.slice, env, Ctx.READ)
            local_list = all(isinstance(o, ListV) and o.local for o in base.options())
            if local_list and isinstance(target.value, ast.Name):
                env[target.value.id] = ListV(join(base_elem(base), value), local=True)
            elif value_node is not None:
                store_ctx = Ctx.READ if all(isinstance(o, ArrayV) for o in base.options()) else Ctx.RETAIN
                self.use(value_node, value, store_ctx, env)
            if contains_lifted(base) and not local_list:
                self.use(target.value, base, Ctx.RETAIN, env)  # item assignment mutates: NumPy does it
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, env, Ctx.RETAIN)
            if value_node is not None:
                self.use(value_node, value, Ctx.RETAIN, env)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value_node, TOP, env)

    def holds_lifted(self, target: ast.expr) -> bool:
        """A target made only of names that may hold lifted values."""
        if isinstance(target, ast.Name):
            return target.id in self.scope.locals and target.id not in self.unliftable
        if isinstance(target, (ast.Tuple, ast.List)):
            return all(self.holds_lifted(e) for e in target.elts)
        return False

    def store_target(self, target: ast.expr, env: Env) -> None:
        """A target bound to something opaque (``with ... as x``, ``del x[i]``, ``x.a += 1``)."""
        if isinstance(target, ast.Name):
            env[target.id] = TOP
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.store_target(element.value if isinstance(element, ast.Starred) else element, env)
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value, env, Ctx.OPERAND)
            self.expr(target.slice, env, Ctx.READ)
            if contains_lifted(base):
                self.use(target.value, base, Ctx.RETAIN, env)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, env, Ctx.RETAIN)

    # ------------------------------------------------------------ expressions
    def expr(self, node: ast.expr, env: Env, ctx: Ctx) -> AV:
        self.facts.forget(node)
        method = getattr(self, f"_expr_{type(node).__name__}", None)
        if method is None:
            raise Refusal(f"unsupported expression {type(node).__name__}", getattr(node, "lineno", None))
        value = method(node, env, ctx)
        self.facts.types[node] = value
        return self.use(node, value, ctx, env)

    def use(self, node: ast.expr, value: AV, ctx: Ctx, env: Env) -> AV:
        """Apply a use context to an evaluated expression (see the module docstring)."""
        if ctx is Ctx.OPERAND or not contains_lifted(value):
            return value
        if conflicted(value):  # materializing would also convert real tensors
            if isinstance(node, ast.Name):
                raise RetryWithout({node.id})
            raise Refusal("a value may be a lifted array or a tensor", getattr(node, "lineno", None))
        if isinstance(node, ast.Name) and node.id in self.scope.locals:
            if ctx is Ctx.RETAIN and _needs_rebind(value):
                self.pending.add(node.id)
                return _non_local(demoted(value))
            if any(isinstance(o, ListV) for o in value.options()):
                env[node.id] = demoted(value)  # the list is made NumPy in place
        self.facts.materialize.add(node)
        return demoted(value)

    def lookup(self, node: ast.Name, env: Env) -> AV:
        if node.id in self.scope.locals:
            return env.get(node.id, UNBOUND)
        return self.global_value(node.id)

    def global_value(self, name: str) -> AV:
        obj = self.globals.get(name, _MISSING)
        if obj is _MISSING:
            obj = getattr(builtins, name, _MISSING)
            if obj is _MISSING:
                return TOP
            self.facts.global_guards[name] = ABSENT
        elif isinstance(obj, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type,
                              np.ufunc)) or callable(obj):
            self.facts.global_guards[name] = obj
        else:
            return TOP  # a global variable: its value may change between calls
        return ObjV(obj)

    def _expr_Constant(self, node: ast.Constant, env: Env, ctx: Ctx) -> AV:
        return _const_value(node)

    def _expr_Name(self, node: ast.Name, env: Env, ctx: Ctx) -> AV:
        return self.lookup(node, env)

    def _expr_Attribute(self, node: ast.Attribute, env: Env, ctx: Ctx) -> AV:
        base = self.expr(node.value, env, Ctx.OPERAND)
        if isinstance(base, ObjV) and isinstance(base.obj, types.ModuleType):
            return _module_attribute(base.obj, node.attr)
        if contains_lifted(base) and self.lifting:
            entry = registry.for_attribute(node.attr)
            if entry is not None:
                result = self.try_op(node, entry, [base], {})
                if result is not None:
                    return result
            self.use(node.value, base, Ctx.RETAIN, env)
            return TOP
        self.use(node.value, base, Ctx.RETAIN, env)
        if isinstance(base, TensorV) and node.attr in ("T", "mT", "data"):
            return base
        return TOP

    def _expr_Call(self, node: ast.Call, env: Env, ctx: Ctx) -> AV:
        conversion = conversions.match(node, self.resolve)
        if conversion is not None:
            result = self.conversion(conversion, env)
            if result is not None:
                return result
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.expr(func.value, env, Ctx.OPERAND)
            if isinstance(receiver, ObjV) and getattr(receiver.obj, func.attr, None) is pragmas.loop:
                receiver = ObjV(pragmas)  # ``looplift.loop`` where ``looplift`` is the decorator
            if not (isinstance(receiver, ObjV) and isinstance(receiver.obj, types.ModuleType)):
                self.facts.types[func] = TOP
                return self.method_call(node, func, receiver, env)
            callee = _module_attribute(receiver.obj, func.attr)
            self.facts.types[func] = callee
        else:
            callee = self.expr(func, env, Ctx.RETAIN)
        return self.function_call(node, callee, env)

    def args(self, node: ast.Call, env: Env) -> tuple[list[AV], dict[str, AV]] | None:
        """Operand values of a call's arguments (None when it has ``*args`` or ``**kwargs``)."""
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            for a in node.args:
                self.expr(a.value if isinstance(a, ast.Starred) else a, env, Ctx.RETAIN)
            for k in node.keywords:
                self.expr(k.value, env, Ctx.RETAIN)
            return None
        positional = [self.expr(a, env, Ctx.OPERAND) for a in node.args]
        keywords = {k.arg: self.expr(k.value, env, Ctx.OPERAND) for k in node.keywords}
        return positional, keywords

    def release_args(self, node: ast.Call, values: tuple[list[AV], dict[str, AV]] | None,
                     ctx: Ctx, env: Env) -> None:
        if values is None:
            return
        for a, v in zip(node.args, values[0]):
            self.use(a, v, ctx, env)
        for k in node.keywords:
            self.use(k.value, values[1][k.arg], ctx, env)

    def function_call(self, node: ast.Call, callee: AV, env: Env) -> AV:
        values = self.args(node, env)
        obj = callee.obj if isinstance(callee, ObjV) else _MISSING
        if values is not None and any(map(contains_lifted, [*values[0], *values[1].values()])):
            entry = registry.for_object(obj) if obj is not _MISSING else None
            if entry is not None and self.lifting:
                result = self.try_op(node, entry, values[0], values[1])
                if result is not None:
                    return result
        if values is None:
            return TOP
        entry = registry.for_object(obj) if obj is not _MISSING else None
        if entry is not None:  # NumPy runs it: still worth knowing the result type
            self.release_args(node, values, Ctx.RETAIN, env)
            return self.numpy_result(entry, *values)
        if obj in (enumerate, zip):
            return self.iterator_call(node, obj, values, env)
        if obj is range:
            self.release_args(node, values, Ctx.READ, env)
            return RangeV(PyScalarV(int))
        if obj is pragmas.loop and len(values[0]) == 1 and not values[1]:
            return values[0][0]  # the loop marker returns its argument
        if obj is len and values[0] and _local_list(values[0][0]):
            return PyScalarV(int)
        if obj is not _MISSING and _hashable(obj) and obj in READ_BUILTINS:
            self.release_args(node, values, Ctx.READ, env)
            return READ_BUILTINS[obj]
        self.release_args(node, values, Ctx.RETAIN, env)
        return TOP

    def iterator_call(self, node: ast.Call, obj: Any, values: tuple[list[AV], dict[str, AV]],
                      env: Env) -> AV:
        items = []
        for arg, value in zip(node.args, values[0]):
            items.append(self.element_of(arg, value, env))
        if values[1]:
            self.release_args(node, values, Ctx.RETAIN, env)
            return TOP
        if obj is enumerate:
            return RangeV(TupleV((PyScalarV(int), items[0]))) if len(items) == 1 else TOP
        return RangeV(TupleV(tuple(items)))

    def method_call(self, node: ast.Call, func: ast.Attribute, receiver: AV, env: Env) -> AV:
        name = func.attr
        values = self.args(node, env)
        if values is not None and contains_lifted(receiver) and self.lifting and \
                all(isinstance(o, ArrayV) for o in receiver.options()):
            entry = registry.for_method(name)
            if entry is not None:
                result = self.try_op(node, entry, [receiver, *values[0]], values[1])
                if result is not None:
                    return result
        if _local_list(receiver) and values is not None:
            return self.list_method(node, func, receiver, name, values, env)
        if isinstance(receiver, TensorV) and values is not None:
            self.release_args(node, values, Ctx.RETAIN, env)
            return _tensor_method(receiver, name)
        self.use(func.value, receiver, Ctx.RETAIN, env)
        self.release_args(node, values, Ctx.RETAIN, env)
        return TOP

    def list_method(self, node: ast.Call, func: ast.Attribute, receiver: AV, name: str,
                    values: tuple[list[AV], dict[str, AV]], env: Env) -> AV:
        """Methods of a list the function created: appends may keep lifted elements."""
        elem = base_elem(receiver)
        if name == "append" and len(values[0]) == 1 and not values[1] and isinstance(func.value, ast.Name):
            elem = join(elem, values[0][0])
            if conflicted(elem):  # lifted and real tensors in one list: keep this list plain
                raise RetryWithout({func.value.id})
            if holds_local_list(values[0][0]):
                self.use(node.args[0], values[0][0], Ctx.RETAIN, env)
                elem = demoted(elem)
            env[func.value.id] = ListV(elem, local=True)
            return ConstV(None)
        if name == "pop" and isinstance(func.value, ast.Name):
            self.release_args(node, values, Ctx.READ, env)
            return elem
        self.use(func.value, receiver, Ctx.RETAIN, env)
        self.release_args(node, values, Ctx.RETAIN, env)
        return TOP

    def numpy_result(self, entry: registry.OpEntry, args: list[AV], kwargs: dict[str, AV]) -> AV:
        """The type of a registry operation that NumPy runs (on values that are not lifted)."""
        try:
            return demoted(probe.infer(entry, [demoted(a) for a in args],
                                       {k: demoted(v) for k, v in kwargs.items()}))
        except Refusal:
            return TOP

    def try_op(self, node: ast.AST, entry: registry.OpEntry, args: list[AV], kwargs: dict[str, AV]) -> AV | None:
        """The registry op's result when it applies to these operands (recorded), else None."""
        if self.writes_in_place and entry.copies_views is not None and entry.copies_views(args):
            self.facts.skip(node, f"{entry.key} runs in NumPy", "NumPy returns a view where torch copies, "
                                                                "and this function writes into arrays in place")
            return None
        try:
            result = probe.infer(entry, args, kwargs)
        except Refusal as refusal:
            self.facts.skip(node, f"{entry.key} runs in NumPy", refusal.reason)
            return None
        if any(isinstance(o, (TensorV, TopV)) for o in result.options()):
            self.facts.skip(node, f"{entry.key} runs in NumPy", "result type unknown")
            return None
        self.facts.ops[node] = entry
        return result

    def conversion(self, conv: conversions.Conversion, env: Env) -> AV | None:
        """A tensor<->NumPy conversion: lifted when the signature proves it safe."""
        source = self.expr(conv.source, env, Ctx.OPERAND)
        node = conv.node
        link = node.func.value if isinstance(node.func, ast.Attribute) else node.args[0]
        while link is not conv.source and isinstance(link, ast.Call):  # .detach().cpu() links
            self.facts.types[link] = source
            link = link.func.value  # type: ignore[attr-defined]
        if conv.direction == "to_numpy":
            if not isinstance(source, TensorV):
                return None  # not a tensor here: an ordinary call (NumPy's own asarray, say)
            np_dtype = TORCH_TO_NP.get(source.dtype) if source.dtype is not None else None
            result = ArrayV(np_dtype, source.ndim) if np_dtype is not None else TOP
            reason = _unliftable_tensor(source, conv)
            if reason is None and self.lifting:
                self.facts.lifted_conversions[node] = (conv, source)
                return replace(result, lifted=True)
            if self.lifting and reason:
                self.facts.skip(node, f"{conv.describe()} kept", reason)
            if self.shortening and conv.how == "numpy" and conv.chain and set(conv.chain) <= SHORTCUT_STEPS \
                    and source.device == "cpu" and source.requires_grad is False:
                self.facts.shortened_conversions[node] = conv
            return result
        # to_tensor
        if contains_lifted(source) and self.lifting and isinstance(source, ArrayV) \
                and not (source.scalar and conv.how == "from_numpy"):
            self.facts.lifted_conversions[node] = (conv, source)
            return TensorV(_torch_dtype(source), source.ndim, "cpu", False)
        source = self.use(conv.source, source, Ctx.READ, env)
        if isinstance(source, ArrayV) and source.dtype in LIFTABLE_NP_DTYPES:
            return TensorV(_torch_dtype(source), source.ndim, "cpu", False)
        return TOP

    # operators
    def _expr_BinOp(self, node: ast.BinOp, env: Env, ctx: Ctx) -> AV:
        left = self.expr(node.left, env, Ctx.OPERAND)
        right = self.expr(node.right, env, Ctx.OPERAND)
        return self.binop(node, _BINOPS.get(type(node.op)), left, right, node.left, node.right, env)

    def binop(self, node: ast.AST, op_name: str | None, left: AV, right: AV,
              left_node: ast.expr, right_node: ast.expr, env: Env) -> AV:
        if contains_lifted(left) or contains_lifted(right):
            entry = registry.for_operator(op_name) if op_name and self.lifting else None
            if entry is not None:
                result = self.try_op(node, entry, [left, right], {})
                if result is not None:
                    return result
            self.use(left_node, left, Ctx.READ, env)
            self.use(right_node, right, Ctx.READ, env)
            return TOP
        if op_name and any(isinstance(o, ArrayV) for v in (left, right) for o in v.options()):
            entry = registry.for_operator(op_name)
            if entry is not None:
                return self.numpy_result(entry, [left, right], {})
        return _plain_binop(left, right)

    def _expr_UnaryOp(self, node: ast.UnaryOp, env: Env, ctx: Ctx) -> AV:
        if isinstance(node.op, ast.Not):
            self.expr(node.operand, env, Ctx.READ)
            return PyScalarV(bool)
        operand = self.expr(node.operand, env, Ctx.OPERAND)
        if contains_lifted(operand):
            entry = registry.for_operator(_UNARYOPS[type(node.op)]) if self.lifting else None
            if entry is not None:
                result = self.try_op(node, entry, [operand], {})
                if result is not None:
                    return result
            self.use(node.operand, operand, Ctx.READ, env)
            return TOP
        return operand if isinstance(operand, (PyScalarV, TensorV)) else TOP

    def _expr_Compare(self, node: ast.Compare, env: Env, ctx: Ctx) -> AV:
        if len(node.ops) == 1 and type(node.ops[0]) in _COMPARES:
            left = self.expr(node.left, env, Ctx.OPERAND)
            right = self.expr(node.comparators[0], env, Ctx.OPERAND)
            return self.binop(node, _COMPARES[type(node.ops[0])], left, right, node.left,
                              node.comparators[0], env)
        identity = all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops)
        for part in (node.left, *node.comparators):
            self.expr(part, env, Ctx.OPERAND if identity else Ctx.READ)
        return PyScalarV(bool) if identity else TOP

    def _expr_BoolOp(self, node: ast.BoolOp, env: Env, ctx: Ctx) -> AV:
        inner = Ctx.RETAIN if ctx is Ctx.RETAIN else Ctx.READ
        result: AV = BOTTOM
        for value in node.values:
            result = join(result, self.expr(value, env, inner))
        return result

    def _expr_IfExp(self, node: ast.IfExp, env: Env, ctx: Ctx) -> AV:
        if getattr(node, CACHED_CONVERSION, False):  # ``h if h is not None else (h := conv)``
            self.expr(node.test, env, Ctx.OPERAND)
            self.expr(node.body, env, Ctx.OPERAND)
            return self.expr(node.orelse, env, Ctx.OPERAND)
        self.expr(node.test, env, Ctx.READ)
        body = self.expr(node.body, env, ctx)
        orelse = self.expr(node.orelse, env, ctx)
        if conflicted(join(body, orelse)):  # one branch lifted, the other maybe a tensor
            body = self.use(node.body, body, Ctx.RETAIN, env)
            orelse = self.use(node.orelse, orelse, Ctx.RETAIN, env)
        return join(body, orelse)

    def _expr_NamedExpr(self, node: ast.NamedExpr, env: Env, ctx: Ctx) -> AV:
        value = self.expr(node.value, env, Ctx.OPERAND)
        self.assign(node.target, node.value, value, env)
        return env.get(node.target.id, value) if node.target.id in self.scope.locals else demoted(value)

    def _expr_Subscript(self, node: ast.Subscript, env: Env, ctx: Ctx) -> AV:
        base = self.expr(node.value, env, Ctx.OPERAND)
        if _local_list(base):
            self.expr(node.slice, env, Ctx.READ)
            return base_elem(base) if not isinstance(node.slice, ast.Slice) else base
        index = self.expr(node.slice, env, Ctx.OPERAND)
        if contains_lifted(base) and self.lifting:
            entry = registry.for_operator("getitem")
            if entry is not None:
                result = self.try_op(node, entry, [base, index], {})
                if result is not None:
                    return result
        if contains_lifted(base):
            self.use(node.value, base, Ctx.RETAIN, env)  # views of the array: NumPy indexes
        self.use(node.slice, index, Ctx.READ, env)
        if isinstance(base, TupleV) and base.items is not None and isinstance(index, ConstV) \
                and isinstance(index.value, int) and -len(base.items) <= index.value < len(base.items):
            return base.items[index.value]
        if isinstance(base, (ListV, TupleV)) and not isinstance(node.slice, ast.Slice) and \
                any(isinstance(o, PyScalarV) and o.type is int or isinstance(o, ConstV) and type(o.value) is int
                    for o in index.options()):
            return base_elem(base) if isinstance(base, ListV) else join(BOTTOM, base.elem if base.items is None
                                                                        else _join_all(base.items))
        if isinstance(base, TensorV):
            return TensorV(base.dtype, None, base.device, base.requires_grad)
        return TOP

    def _expr_Slice(self, node: ast.Slice, env: Env, ctx: Ctx) -> AV:
        parts = []
        for part in (node.lower, node.upper, node.step):
            if part is None:
                parts.append(None)
                continue
            value = self.expr(part, env, Ctx.READ)
            parts.append(value.value if isinstance(value, ConstV) and isinstance(value.value, int) else None)
        return ConstV(slice(*parts))

    def _expr_Tuple(self, node: ast.Tuple, env: Env, ctx: Ctx) -> AV:
        inner = Ctx.OPERAND if ctx is Ctx.OPERAND else ctx
        if any(isinstance(e, ast.Starred) for e in node.elts):
            for e in node.elts:
                self.expr(e, env, Ctx.RETAIN)
            return TupleV(None, TOP)
        return TupleV(tuple(self.display_items(node, [self.expr(e, env, inner) for e in node.elts], env)))

    def _expr_List(self, node: ast.List, env: Env, ctx: Ctx) -> AV:
        items = [self.expr(e, env, Ctx.RETAIN if isinstance(e, ast.Starred) else ctx) for e in node.elts]
        elem: AV = BOTTOM
        for item in self.display_items(node, items, env):
            elem = join(elem, item)
        return ListV(elem, local=True)

    def display_items(self, node: ast.Tuple | ast.List, items: list[AV], env: Env) -> list[AV]:
        """Items of a tuple or list display: lists in it escape (they may change behind the
        analysis' back), and lifted items are materialized when real tensors sit beside them."""
        mixed = conflicted(_join_all(items))
        out = []
        for element, item in zip(node.elts, items):
            if holds_local_list(item) or (mixed and contains_lifted(item)):
                item = _non_local(self.use(element, item, Ctx.RETAIN, env))
            out.append(item)
        return out

    def _expr_Set(self, node: ast.Set, env: Env, ctx: Ctx) -> AV:
        for e in node.elts:
            self.expr(e, env, Ctx.RETAIN)
        return TOP

    def _expr_Dict(self, node: ast.Dict, env: Env, ctx: Ctx) -> AV:
        for key, value in zip(node.keys, node.values):
            if key is not None:
                self.expr(key, env, Ctx.RETAIN)
            self.expr(value, env, Ctx.RETAIN)
        return TOP

    def _expr_Starred(self, node: ast.Starred, env: Env, ctx: Ctx) -> AV:
        self.expr(node.value, env, Ctx.RETAIN)
        return TOP

    def _expr_JoinedStr(self, node: ast.JoinedStr, env: Env, ctx: Ctx) -> AV:
        for value in node.values:
            self.expr(value, env, Ctx.READ)
        return PlainV(str)

    def _expr_FormattedValue(self, node: ast.FormattedValue, env: Env, ctx: Ctx) -> AV:
        self.expr(node.value, env, Ctx.READ)
        if node.format_spec is not None:
            self.expr(node.format_spec, env, Ctx.READ)
        return TOP

    def _expr_Lambda(self, node: ast.Lambda, env: Env, ctx: Ctx) -> AV:
        for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
            self.expr(default, env, Ctx.RETAIN)
        return TOP

    def _comprehension(self, node: ast.expr, env: Env) -> AV:
        """A comprehension runs at once in its own scope: the names it reads are made NumPy
        before the statement, and its body is typed (for hoisting) but not rewritten."""
        inner_locals = {n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        for name in _loaded_names(node) - inner_locals:
            if name in self.scope.locals and contains_lifted(env.get(name, UNBOUND)):
                self.pending.add(name)
        inner = {k: demoted(v) for k, v in env.items()}
        outer_lifting, self.lifting = self.lifting, False
        try:
            for generator in node.generators:
                iterable = self.expr(generator.iter, inner, Ctx.OPERAND)
                element = self.element_of(generator.iter, iterable, inner)
                for target in ast.walk(generator.target):
                    if isinstance(target, ast.Name):
                        inner[target.id] = element if target is generator.target else TOP
                for condition in generator.ifs:
                    self.expr(condition, inner, Ctx.OPERAND)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.expr(getattr(node, part), inner, Ctx.OPERAND)
        finally:
            self.lifting = outer_lifting
        return TOP

    def _expr_ListComp(self, node: ast.ListComp, env: Env, ctx: Ctx) -> AV:
        self._comprehension(node, env)
        return ListV(TOP, local=True)

    def _expr_GeneratorExp(self, node: ast.GeneratorExp, env: Env, ctx: Ctx) -> AV:
        return self._comprehension(node, env)

    _expr_SetComp = _expr_GeneratorExp
    _expr_DictComp = _expr_GeneratorExp

    def _expr_Await(self, node: ast.AST, env: Env, ctx: Ctx) -> AV:
        raise Refusal("await/yield are not rewritten", getattr(node, "lineno", None))

    _expr_Yield = _expr_Await
    _expr_YieldFrom = _expr_Await


def _writes_in_place(fn: ast.FunctionDef) -> bool:
    """The function may write into an array in place (item stores, augmented assignments,
    in-place methods, ``out=``): a syntactic, conservative check."""
    for node in ast.walk(fn):
        if isinstance(node, ast.AugAssign) or (isinstance(node, (ast.Subscript, ast.Attribute))
                                               and isinstance(node.ctx, (ast.Store, ast.Del))):
            return True
        if isinstance(node, ast.Call) and (any(k.arg == "out" for k in node.keywords) or (
                isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"))):
            return True
    return False


def _module_attribute(module: types.ModuleType, name: str) -> AV:
    """``np.exp`` is the function itself; ``np.pi``/``np.newaxis`` are constants."""
    obj = getattr(module, name, _MISSING)
    if obj is None or isinstance(obj, (bool, int, float)):
        return ConstV(obj)
    if isinstance(obj, types.ModuleType) or callable(obj):
        return ObjV(obj)
    return TOP


_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
           ast.Mod: "mod", ast.Pow: "pow", ast.LShift: "lshift", ast.RShift: "rshift",
           ast.BitAnd: "and_", ast.BitOr: "or_", ast.BitXor: "xor", ast.MatMult: "matmul"}
_UNARYOPS = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "invert"}
_COMPARES = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}


def _torch_dtype(value: ArrayV) -> torch.dtype | None:
    return NP_TO_TORCH.get(value.dtype) if value.dtype is not None else None


def _defaults(node: ast.AST) -> list[ast.expr]:
    args = getattr(node, "args", None)
    if not isinstance(args, ast.arguments):
        return list(getattr(node, "bases", [])) + [k.value for k in getattr(node, "keywords", [])]
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def _loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _local_list(value: AV) -> bool:
    return all(isinstance(o, ListV) and o.local for o in value.options())


def _join_all(values: Iterable[AV]) -> AV:
    result: AV = BOTTOM
    for value in values:
        result = join(result, value)
    return result


def base_elem(value: AV) -> AV:
    elem: AV = BOTTOM
    for option in value.options():
        if isinstance(option, ListV):
            elem = join(elem, option.elem)
    return elem


def _non_local(value: AV) -> AV:
    """A demoted list escaped: from now on it may be seen elsewhere."""
    if isinstance(value, ListV):
        return ListV(value.elem, local=False)
    if isinstance(value, UnionV):
        result: AV = BOTTOM
        for option in value.alts:
            result = join(result, _non_local(option))
        return result
    return value


def _needs_rebind(value: AV) -> bool:
    """A retained value that can be mutated: lifted arrays (not scalars) and local lists."""
    for option in value.options():
        if isinstance(option, ArrayV) and option.lifted and option.ndim != 0:
            return True
        if isinstance(option, TopV) and option.lifted:
            return True
        if isinstance(option, (ListV, TupleV)) and contains_lifted(option):
            return True
    return False


def _is_immutable_scalar(value: AV) -> bool:
    if isinstance(value, (PyScalarV, ConstV)):
        return isinstance(value, PyScalarV) or isinstance(value.value, (bool, int, float, complex))
    return isinstance(value, ArrayV) and value.scalar


def _unpack(value: AV, count: int) -> list[AV] | None:
    if isinstance(value, TupleV):
        if value.items is not None:
            return list(value.items) if len(value.items) == count else None
        return [value.elem] * count
    if isinstance(value, ListV):
        return [value.elem] * count
    if isinstance(value, TensorV) and value.ndim:
        return [replace(value, ndim=value.ndim - 1)] * count
    if isinstance(value, ArrayV) and not value.lifted and value.ndim:
        return [ArrayV(value.dtype, value.ndim - 1, scalar=value.ndim == 1)] * count
    return None


def _unliftable_tensor(source: TensorV, conv: conversions.Conversion) -> str | None:
    """Why converting this tensor cannot be lifted, or None."""
    if source.dtype is None or source.ndim is None:
        return "tensor dtype or ndim unknown here"
    if TORCH_TO_NP.get(source.dtype) not in LIFTABLE_NP_DTYPES:
        return f"dtype {source.dtype} is not lifted"
    if source.ndim == 0:
        return "0-d tensor (NumPy gives a 0-d array)"
    if source.requires_grad is not False and "detach" not in conv.chain:
        return "tensor may require grad (the original raises)"
    if source.device != "cpu" and "cpu" not in conv.chain and conv.how == "numpy":
        return "tensor may not be on the CPU (the original raises)"
    return None


def _tensor_method(receiver: TensorV, name: str) -> AV:
    if name in _TENSOR_SAME:
        if name == "cpu":
            return replace(receiver, device="cpu")
        if name == "detach":
            return replace(receiver, requires_grad=False)
        if name == "t":
            return receiver
        return replace(receiver, requires_grad=None) if name == "requires_grad_" else receiver
    if name in TENSOR_CAST_METHODS:
        return replace(receiver, dtype=TENSOR_CAST_METHODS[name])
    if name == "item" and receiver.dtype is not None:
        if receiver.dtype is torch.bool:
            return PyScalarV(bool)
        return PyScalarV(float if receiver.dtype.is_floating_point else int)
    return TOP


def _plain_binop(left: AV, right: AV) -> AV:
    """Result of an operator on values that are not lifted (only what later decisions need)."""
    tensors = [v for v in (left, right) if isinstance(v, TensorV)]
    if tensors:
        same = len(tensors) == 2 and tensors[0] == tensors[1]
        return tensors[0] if same else TensorV(None, None, tensors[0].device, None)
    kinds = []
    for value in (left, right):
        if isinstance(value, ConstV) and isinstance(value.value, (bool, int, float)):
            kinds.append(type(value.value))
        elif isinstance(value, PyScalarV) and value.type in (bool, int, float):
            kinds.append(value.type)
        else:
            return TOP
    return PyScalarV(float if float in kinds else int)
