"""Instrument: the original function, observing its values, able to continue a loop specialized.

Two rewrites of the *original* code (so everything it computes is what the original computes):

* every site whose type the code alone does not give (a call's result, an item of a container, an
  attribute, a loop target) passes its value through the observer: ``__ll_obs(17, net(x))``;
* an outermost ``for`` loop gets a resume point at the top of each iteration.  Once its first
  iterations have been observed, ``__ll_resume.enter`` runs the rest of the loop in a
  specialization built from the live variables (``pipeline.specialize_loop``), on the same
  iterator, and the function continues with the variables it hands back:

      __ll_rest3 = iter(batches)
      for __ll_item3 in __ll_rest3:
          if __ll_resume.ready(3):
              __ll_done3 = __ll_resume.enter(3, __ll_item3, __ll_rest3, locals())
              if __ll_done3 is not None:
                  (the variables are rebound from it, or its return value returned)
                  break
          x, y = __ll_item3
          ... the body ...

A loop inside a ``try`` (a handler would see the variables as they were before the resumed
iterations) or a ``with`` whose context manager might swallow an exception is not resumed; nor is
a ``while`` loop, a loop inside another loop (the outer one resumes), or one in a function that
uses ``locals()`` itself.
"""
from __future__ import annotations

import ast
import types
from typing import Any, Mapping

from .. import anno
from ..anno import Key
from ..analysis import conversions, scope as scope_mod
from ..semantics import qualified_name

OBSERVER = "__ll_obs"
RESUME = "__ll_resume"

#: Context managers known never to swallow an exception (a loop inside may resume).
_SAFE_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.enable_grad", "torch.set_grad_enabled",
                            "torch.autocast", "torch.amp.autocast", "torch.cuda.amp.autocast"})


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def _method(name: str, method: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Attribute(ast.Name(name, ast.Load()), method, ast.Load()), list(args), [])


class Instrument(ast.NodeTransformer):
    def __init__(self, fn: ast.FunctionDef, globals_: Mapping[str, Any]) -> None:
        self.fn = fn
        self.scope = scope_mod.analyze(fn)
        self.resolve = conversions.make_resolver(self.scope.locals, globals_)
        self.resumable: list[int] = []
        # a function whose variables closures capture, or that reads locals(), keeps its loops:
        # a resumed loop runs in another frame, with cells of its own
        self.uses_locals = bool(self.scope.captured) or any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("locals", "vars")
            for n in ast.walk(fn))

    # ------------------------------------------------------------------ observing
    def observed(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Call):
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            return not _is_module(self.resolve(node.value))
        return False

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) and node is not self.fn:
            return node  # runs later, in its own frame
        if isinstance(node, ast.Call):
            # the callee is not observed (a method's object is bound, not a value of the program)
            node.func = self.visit_callee(node.func)
            node.args = [self.visit(a) for a in node.args]
            node.keywords = [self.visit(k) for k in node.keywords]
            return self.wrap(node)
        new = super().visit(node)
        if isinstance(new, ast.expr) and self.observed(new):
            return self.wrap(new)
        return new

    def visit_callee(self, func: ast.expr) -> ast.expr:
        if isinstance(func, ast.Attribute):
            func.value = self.visit(func.value)
            return func
        return self.visit(func)

    def wrap(self, node: ast.expr) -> ast.expr:
        site = anno.getanno(node, Key.SITE)
        if site is None:
            return node
        return ast.copy_location(_call(OBSERVER, ast.Constant(site), node), node)

    def targets(self, target: ast.expr) -> list[ast.stmt]:
        """``__ll_obs.names(site, x, site, y)`` for the names a loop binds."""
        pairs: list[ast.expr] = []
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and anno.hasanno(node, Key.SITE):
                pairs += [ast.Constant(anno.getanno(node, Key.SITE)), ast.Name(node.id, ast.Load())]
        return [ast.Expr(_method(OBSERVER, "names", *pairs))] if pairs else []

    # ------------------------------------------------------------------ loops
    def visit_For(self, node: ast.For) -> Any:
        node.iter = self.visit(node.iter)
        node.body = self.targets(node.target) + [self.visit(s) for s in node.body]
        node.orelse = [self.visit(s) for s in node.orelse]
        return node

    def resume_points(self, body: list[ast.stmt], safe: bool) -> list[ast.stmt]:
        """Give the outermost ``for`` loops of ``body`` resume points (``safe``: no ``try``
        or unknown ``with`` around them)."""
        out: list[ast.stmt] = []
        for stmt in body:
            if isinstance(stmt, ast.For) and safe and not self.uses_locals and not isinstance(stmt, ast.AsyncFor):
                out.extend(self.resumable_loop(stmt))
                continue
            if isinstance(stmt, (ast.If,)):
                stmt.body = self.resume_points(stmt.body, safe)
                stmt.orelse = self.resume_points(stmt.orelse, safe)
            elif isinstance(stmt, ast.With):
                stmt.body = self.resume_points(stmt.body, safe and all(self.safe_context(i) for i in stmt.items))
            out.append(stmt)
        return out

    def safe_context(self, item: ast.withitem) -> bool:
        expr = item.context_expr
        func = expr.func if isinstance(expr, ast.Call) else expr
        target = self.resolve(func)
        name = qualified_name(target) if target is not None else None
        return name in _SAFE_CONTEXTS

    def resumable_loop(self, loop: ast.For) -> list[ast.stmt]:
        site = anno.getanno(loop, Key.SITE)
        if site is None:
            return [loop]
        self.resumable.append(site)
        rest, item, done = f"__ll_rest{site}", f"__ll_item{site}", f"__ll_done{site}"
        setup = ast.Assign([ast.Name(rest, ast.Store())], _method(RESUME, "start", loop.iter))
        values = ast.Subscript(ast.Name(done, ast.Load()), ast.Constant(1), ast.Load())
        rebind: list[ast.stmt] = [
            ast.If(ast.Compare(ast.Constant(name), [ast.In()], [values]),
                   [ast.Assign([ast.Name(name, ast.Store())], ast.Subscript(values, ast.Constant(name), ast.Load()))], [])
            for name in sorted(self.scope.locals)]
        returned = ast.If(ast.Subscript(ast.Name(done, ast.Load()), ast.Constant(0), ast.Load()),
                          [ast.Return(values)], rebind)
        check = ast.If(_method(RESUME, "ready", ast.Constant(site)), [
            ast.Assign([ast.Name(done, ast.Store())],
                       _method(RESUME, "enter", ast.Constant(site), ast.Name(item, ast.Load()),
                               ast.Name(rest, ast.Load()), _call("locals"))),
            ast.If(ast.Compare(ast.Name(done, ast.Load()), [ast.IsNot()], [ast.Constant(None)]),
                   [returned, ast.Break()], [])], [])
        bind = ast.Assign([loop.target], ast.Name(item, ast.Load()))
        new_loop = ast.For(ast.Name(item, ast.Store()), ast.Name(rest, ast.Load()),
                           [check, bind, *self.targets(loop.target), *loop.body], loop.orelse, None)
        for node in (setup, new_loop, check, bind):
            ast.copy_location(node, loop)
        return [setup, new_loop]


def _is_module(obj: Any) -> bool:
    return isinstance(obj, types.ModuleType)


def apply(fn: ast.FunctionDef, globals_: Mapping[str, Any]) -> tuple[ast.FunctionDef, list[int]]:
    """The instrumented function (in place) and the sites of the loops that may resume."""
    instrument = Instrument(fn, globals_)
    fn.body = instrument.resume_points(fn.body, safe=True)  # on the original code, then observed
    fn.body = [instrument.visit(s) for s in fn.body]
    ast.fix_missing_locations(fn)
    return fn, instrument.resumable
