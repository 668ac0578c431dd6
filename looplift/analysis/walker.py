"""The statement walker both analysis passes stand on: abstract interpretation of control flow.

A pass subclasses ``Walker`` and says what an expression is worth (``expr``) and what binding a
target does (``assign``); the walker carries the environment (name -> abstract value) through
statements, joins it where paths merge (``if``, ``try``, ``match``, a loop's ``break``s), and runs
every loop to a fixpoint, widening whatever still changes after ``MAX_LOOP_PASSES``.  How a
statement *uses* each expression (read by Python, kept, returned) is structural and said here as a
``Use``; passes that care (placement) act on it, others ignore it.
"""
from __future__ import annotations

import ast
import sys
import types
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping

from ..errors import Refusal
from ..lattice import AV, BOTTOM, TOP, UNBOUND, ConstV, ObjV, PlainV, TopV, UnboundV, join, widened
from . import scope as scope_mod

Env = dict[str, AV]
MAX_LOOP_PASSES = 8


class Use(Enum):
    """How the consumer of an expression uses its value."""

    OPERAND = "operand"  # consumed by the enclosing operation, which placement decides
    READ = "read"  # read by Python (a condition, formatting, a builtin)
    RETAIN = "retain"  # kept or possibly modified by the consumer (an opaque call, a store)
    EXIT = "exit"  # returned: nothing of the function runs after it


@dataclass
class _LoopFrame:
    breaks: list[Env] = field(default_factory=list)
    continues: list[Env] = field(default_factory=list)


class Walker:
    """Abstract interpretation of a function body (see the module docstring)."""

    def __init__(self, fn: ast.FunctionDef, scope: scope_mod.Scope | None = None) -> None:
        self.fn = fn
        self.scope = scope if scope is not None else scope_mod.analyze(fn)
        self.loops: list[_LoopFrame] = []

    # ------------------------------------------------------------------- hooks
    def expr(self, node: ast.expr, env: Env, use: Use) -> AV:
        raise NotImplementedError

    def assign(self, target: ast.expr, value_node: ast.expr | None, value: AV, env: Env) -> None:
        raise NotImplementedError

    def augassign(self, node: ast.AugAssign, env: Env) -> None:
        raise NotImplementedError

    def element_of(self, iter_node: ast.expr, value: AV, env: Env) -> AV:
        raise NotImplementedError

    def loop_target(self, node: ast.For, iter_value: AV, element: AV, env: Env) -> AV:
        """The value a ``for`` loop binds to its target (placement may demote it first)."""
        return element

    def join_values(self, name: str, a: AV, b: AV) -> AV:
        return join(a, b)

    def entering_loop(self, node: ast.For | ast.While, env: Env) -> Any:
        """Called before a loop's fixpoint; the result is handed to ``leaving_loop``."""
        return None

    def leaving_loop(self, node: ast.For | ast.While, token: Any) -> None:
        pass

    # ------------------------------------------------------------------ driver
    def run(self, params: Mapping[str, AV]) -> None:
        env: Env = {name: UNBOUND for name in self.scope.locals}
        for name in self.scope.params:
            env[name] = params.get(name, TOP)
        self.block(self.fn.body, env)

    def block(self, body: list[ast.stmt], env: Env | None) -> Env | None:
        for stmt in body:
            if env is None:
                return None
            env = self.stmt(stmt, env)
        return env

    def stmt(self, node: ast.stmt, env: Env) -> Env | None:
        method: Callable[[Any, Env], Env | None] | None = getattr(self, f"_stmt_{type(node).__name__}", None)
        if method is None:
            raise Refusal(f"unsupported statement {type(node).__name__}", getattr(node, "lineno", None))
        return method(node, env)

    def join_env(self, *envs: Env | None) -> Env | None:
        """The environment where paths merge (None when no path arrives)."""
        live = [e for e in envs if e is not None]
        if not live:
            return None
        out = dict(live[0])
        for env in live[1:]:
            for name in out.keys() | env.keys():
                out[name] = self.join_values(name, out.get(name, UNBOUND), env.get(name, UNBOUND))
        return out

    # -------------------------------------------------------------- statements
    def _stmt_Expr(self, node: ast.Expr, env: Env) -> Env:
        self.expr(node.value, env, Use.OPERAND)
        return env

    def _stmt_Pass(self, node: ast.stmt, env: Env) -> Env:
        return env

    _stmt_Global = _stmt_Pass
    _stmt_Nonlocal = _stmt_Pass

    def _stmt_Assign(self, node: ast.Assign, env: Env) -> Env:
        target = node.targets[0]
        if (len(node.targets) == 1 and isinstance(target, (ast.Tuple, ast.List))
                and isinstance(node.value, (ast.Tuple, ast.List))
                and len(target.elts) == len(node.value.elts)
                and not any(isinstance(e, ast.Starred) for e in (*target.elts, *node.value.elts))):
            # ``a, b = x, y``: item by item
            values = [self.expr(v, env, Use.OPERAND) for v in node.value.elts]
            for element, value_node, value in zip(target.elts, node.value.elts, values):
                self.assign(element, value_node, value, env)
            return env
        value = self.expr(node.value, env, Use.OPERAND if len(node.targets) == 1 else Use.RETAIN)
        for each in node.targets:
            self.assign(each, node.value, value, env)
        return env

    def _stmt_AnnAssign(self, node: ast.AnnAssign, env: Env) -> Env:
        if node.value is not None:
            self.assign(node.target, node.value, self.expr(node.value, env, Use.OPERAND), env)
        return env

    def _stmt_AugAssign(self, node: ast.AugAssign, env: Env) -> Env:
        self.augassign(node, env)
        return env

    def _stmt_Return(self, node: ast.Return, env: Env) -> None:
        if node.value is not None:
            self.expr(node.value, env, Use.EXIT)
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
                self.expr(part, env, Use.RETAIN)
        return None

    def _stmt_Assert(self, node: ast.Assert, env: Env) -> Env:
        self.expr(node.test, env, Use.READ)
        if node.msg is not None:
            self.expr(node.msg, env, Use.RETAIN)
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
            self.expr(expr, env, Use.RETAIN)
        env[node.name] = TOP
        return env

    _stmt_ClassDef = _stmt_FunctionDef
    _stmt_AsyncFunctionDef = _stmt_FunctionDef

    def _stmt_If(self, node: ast.If, env: Env) -> Env | None:
        self.expr(node.test, env, Use.READ)
        narrowing = self.narrowing(node.test, env)
        outs = []
        for taken, body in ((True, node.body), (False, node.orelse)):
            branch_env = dict(env)
            value = narrowing.value(taken) if narrowing is not None else None
            if narrowing is not None and value is not BOTTOM:
                branch_env[narrowing.name] = value
            out = self.block(body, branch_env)
            outs.append(None if value is BOTTOM else out)  # walked (so annotated), but it never runs
        return self.join_env(*outs)

    def branch(self, node: ast.expr, env: Env, narrowing: Narrowing | None, taken: bool) -> AV:
        """A branch of ``body if test else orelse``, evaluated where ``test`` is ``taken``.  A
        branch the test rules out is walked all the same (so its nodes are annotated) but is worth
        ``BOTTOM``: its value joins nothing."""
        if narrowing is None:
            return self.expr(node, env, Use.OPERAND)
        value = narrowing.value(taken)
        if value is BOTTOM:
            self.expr(node, env, Use.OPERAND)
            return BOTTOM
        before = env[narrowing.name]
        env[narrowing.name] = value
        result = self.expr(node, env, Use.OPERAND)
        # the name holds ``before`` again, with whatever the branch did to it (a list shared, say)
        env[narrowing.name] = join(env[narrowing.name], before)
        return result

    def narrowing(self, test: ast.expr, env: Env) -> Narrowing | None:
        """What ``name is None`` or ``name is not None`` (either way round) says about a local
        name that may hold None (``ema = v if ema is None else beta * ema + ...``: a number where
        it is not None).  None for any other test, for a name of unknown value, and for a name a
        nested scope could rebind between the test and the branch.

        A branch is ruled out only where the name holds the program's own ``None`` (a literal):
        a None the analysis knows from a sample (an argument, the first item of a list, an
        observed value) may be something else at another call or item, and that branch runs."""
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.IsNot))):
            return None
        left, right = test.left, test.comparators[0]
        name = left if _is_none_literal(right) else right if _is_none_literal(left) else None
        if not isinstance(name, ast.Name) or name.id not in self.scope.locals or name.id in self.scope.unliftable:
            return None
        options = [o for o in env.get(name.id, UNBOUND).options() if not isinstance(o, UnboundV)]  # the test read it
        nones = [o for o in options if _is_none(o)]
        others = [o for o in options if not _is_none(o)]
        if not nones or any(isinstance(o, TopV) for o in options) or \
                (not others and any(o != ConstV(None) for o in nones)):
            return None
        none, other = join_all(nones), join_all(others)
        return Narrowing(name.id, none, other) if isinstance(test.ops[0], ast.Is) else Narrowing(name.id, other, none)

    def _stmt_Break(self, node: ast.Break, env: Env) -> None:
        self.loops[-1].breaks.append(env)
        return None

    def _stmt_Continue(self, node: ast.Continue, env: Env) -> None:
        self.loops[-1].continues.append(env)
        return None

    def _stmt_With(self, node: ast.With, env: Env) -> Env | None:
        for item in node.items:
            self.expr(item.context_expr, env, Use.RETAIN)
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
        handler_entry = self.join_env(*seen)  # a handler may start after any statement of the body
        outs = [self.block(node.orelse, body_env) if body_env is not None else None]
        for handler in node.handlers:
            if handler_entry is None:
                break
            h_env = dict(handler_entry)
            if handler.type is not None:
                self.expr(handler.type, h_env, Use.READ)
            if handler.name:
                h_env[handler.name] = TOP
            outs.append(self.block(handler.body, h_env))
        after = self.join_env(*outs)
        if node.finalbody:
            final_entry = self.join_env(after, handler_entry)
            final_out = self.block(node.finalbody, dict(final_entry) if final_entry else None)
            return final_out if after is not None else None
        return after

    _stmt_TryStar = _stmt_Try

    def _stmt_Match(self, node: ast.Match, env: Env) -> Env | None:
        """The subject is matched by Python; each case binds opaque values."""
        self.expr(node.subject, env, Use.RETAIN)
        outs: list[Env | None] = []
        exhaustive = False
        for case in node.cases:
            case_env = dict(env)
            for sub in ast.walk(case.pattern):
                for name in (getattr(sub, "name", None), getattr(sub, "rest", None)):
                    if isinstance(name, str):
                        case_env[name] = TOP
                if isinstance(sub, ast.MatchValue):
                    self.expr(sub.value, case_env, Use.READ)
            if case.guard is not None:
                self.expr(case.guard, case_env, Use.READ)
            outs.append(self.block(case.body, case_env))
            exhaustive |= isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None \
                and case.guard is None
        if not exhaustive:
            outs.append(env)
        return self.join_env(*outs)

    # ------------------------------------------------------------------- loops
    def _stmt_For(self, node: ast.For, env: Env) -> Env | None:
        token = self.entering_loop(node, env)
        try:
            iter_value = self.expr(node.iter, env, Use.OPERAND)
            element = self.loop_target(node, iter_value, self.element_of(node.iter, iter_value, env), env)

            def body(head: Env) -> Env | None:
                body_env = dict(head)
                self.assign(node.target, None, element, body_env)
                return self.block(node.body, body_env)

            return self._fixpoint(node, env, body)
        finally:
            self.leaving_loop(node, token)

    def _stmt_While(self, node: ast.While, env: Env) -> Env | None:
        token = self.entering_loop(node, env)
        try:
            def body(head: Env) -> Env | None:
                self.expr(node.test, head, Use.READ)
                return self.block(node.body, dict(head))

            return self._fixpoint(node, env, body)
        finally:
            self.leaving_loop(node, token)

    def _fixpoint(self, node: ast.For | ast.While, env: Env,
                  body: Callable[[Env], Env | None]) -> Env | None:
        head = dict(env)
        frame = _LoopFrame()
        for attempt in range(MAX_LOOP_PASSES + 1):
            frame = _LoopFrame()
            self.loops.append(frame)
            try:
                end = body(head)
            finally:
                self.loops.pop()
            new_head = self.join_env(head, end, *frame.continues)
            assert new_head is not None
            if new_head == head:
                break
            if attempt == MAX_LOOP_PASSES:  # widen: whatever still changes is unknown
                new_head = {k: (v if head.get(k) == v else widened(v)) for k, v in new_head.items()}
            head = new_head
        if isinstance(node, ast.While):
            self.expr(node.test, head, Use.READ)
        after_else = self.block(node.orelse, dict(head))
        return self.join_env(after_else, *frame.breaks)

    def store_target(self, target: ast.expr, env: Env) -> None:
        """A target bound to something opaque (``with ... as x``, ``del x[i]``)."""
        if isinstance(target, ast.Name):
            env[target.id] = TOP
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.store_target(element.value if isinstance(element, ast.Starred) else element, env)
        elif isinstance(target, ast.Subscript):
            self.expr(target.value, env, Use.RETAIN)
            self.expr(target.slice, env, Use.READ)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, env, Use.RETAIN)


@dataclass(frozen=True)
class Narrowing:
    """A name's value where an ``is None`` test holds and where it fails (``BOTTOM``: never)."""

    name: str
    if_true: AV
    if_false: AV

    def value(self, taken: bool) -> AV:
        return self.if_true if taken else self.if_false


def _is_none(value: AV) -> bool:
    return value == ConstV(None) or value == PlainV(type(None))


def _is_none_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _defaults(node: ast.AST) -> list[ast.expr]:
    args = getattr(node, "args", None)
    if not isinstance(args, ast.arguments):
        return list(getattr(node, "bases", [])) + [k.value for k in getattr(node, "keywords", [])]
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def join_all(values: Any) -> AV:
    result: AV = BOTTOM
    for value in values:
        result = join(result, value)
    return result
