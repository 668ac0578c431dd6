"""What a loop changes, and so whether a value read inside it is loop-invariant.

A conversion is hoistable only if its source holds the same value on every iteration.  The
scan cannot run the code, so it errs on the side of "per-iteration": a name or attribute chain
is variant in a loop when the loop

* rebinds its root name (assignment, ``+=``, ``del``, loop target, walrus, ``with ... as``,
  ``except ... as``, import, ``def``, match capture, ``nonlocal``/``global`` in a nested def);
* writes through it or through a prefix (``x[i] = v``, ``self.w.data = v``, ``model.w = v``);
* calls an in-place method on it or on a prefix (``x.add_()``, ``x.copy_()``, ``buf.append()``),
  passes it to an in-place function (``nn.init.zeros_(w)``, ``np.copyto(a, b)``) or as ``out=``;
* modifies a view of it (``for p in model.parameters(): p.mul_(0.9)``, ``v = w.view(-1)``,
  ``a = w.numpy(); a += 1``);
* calls a strict prefix of it or a method on one (``model(x)`` may update ``model.bn.running_mean``);
* passes it, a prefix or a part of it to a function that is not known to leave its arguments
  alone (``train_epoch(model)`` may train ``model.fc.weight``; torch, NumPy, ``math``, common
  builtins and container methods such as ``append`` are known to);
* calls ``.step()`` anywhere, for tensor sources (an optimizer updates parameters in place),
  or ``.backward()``/``.zero_grad()``, for sources that go through ``.grad``.

Anything else (a global modified by a called function, aliasing through containers) is out of
reach of a per-file static check.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from looplift.semantics import (ELEMENT_SHARING_BUILTINS, INPLACE_KEYWORD, NUMPY_MUTATORS, is_inplace_method,
                                modifies_receiver, result_may_alias)

from .calls import may_modify_arguments
from .names import ImportAliases, attr_chain, root_chain
from .tree import child_nodes


@dataclass(frozen=True)
class Change:
    """``chain`` (a root name plus attributes) is changed at ``line``; ``how`` says by what."""

    chain: tuple[str, ...]
    line: int
    how: str


def _dotted(chain: Sequence[str]) -> str:
    return ".".join(chain)


def _is_true(expr: ast.expr) -> bool:
    """``inplace=True`` (or any value not known to be false: ``inplace=self.inplace``)."""
    return not (isinstance(expr, ast.Constant) and not expr.value)


class LoopEffects:
    """A summary of everything one loop (its per-iteration region) may change."""

    def __init__(self, targets: Iterable[tuple[ast.expr, ast.expr]], region: Iterable[ast.AST],
                 aliases: ImportAliases) -> None:
        """``targets``: the loop's own (target, iterable) pairs; ``region``: what runs every iteration."""
        self._aliases = aliases
        self.bound: dict[str, tuple[int, str]] = {}  # name -> (first line, "is assigned in the loop")
        self.writes: list[Change] = []
        self.calls: list[Change] = []  # chains that are called, or whose methods are called
        self.views: dict[str, set[str]] = {}  # name bound in the loop -> roots it may share memory with
        self.step_line: int | None = None
        self.grad_line: int | None = None
        for target, iterable in targets:
            self._bind_target(target, "is the loop target", iterable)
        self._collect(region)

    def why_variant(self, chains: Sequence[tuple[str, ...]], names: Iterable[str], tensor: bool) -> str | None:
        """Why a value read from ``chains`` (and depending on ``names``) may change between
        iterations, or ``None`` when it cannot.  ``tensor`` says the value is a tensor, which an
        optimizer step may update in place."""
        for name in (*(c[0] for c in chains), *names):
            if name in self.bound:
                line, how = self.bound[name]
                return f"`{name}` {how} (line {line})"
        for chain in chains:
            why = self._why_chain_variant(chain, tensor)
            if why:
                return why
        return None

    def _why_chain_variant(self, chain: tuple[str, ...], tensor: bool) -> str | None:
        for change in self.writes:
            target = change.chain
            shared = target[0] in self.views and chain[0] in self.views[target[0]]
            if shared or target[:len(chain)] == chain or chain[:len(target)] == target:
                return f"`{_dotted(chain)}` may be modified in the loop (line {change.line}: {change.how})"
        for change in self.calls:
            if len(change.chain) < len(chain) and chain[:len(change.chain)] == change.chain:
                return f"`{change.how}` may modify `{_dotted(chain)}` (line {change.line})"
        if tensor and self.step_line is not None:
            return f"`.step()` may update it in place (line {self.step_line})"
        if self.grad_line is not None and "grad" in chain[1:]:
            return f"`.backward()`/`.zero_grad()` write gradients (line {self.grad_line})"
        return None

    # -- collection ---------------------------------------------------------------------------

    def _bind(self, name: str, line: int, how: str) -> None:
        self.bound.setdefault(name, (line, how))

    def _bind_target(self, target: ast.AST, how: str, source: ast.expr | None) -> None:
        """Record the names a target binds (first binding wins) and what they may be views of."""
        roots = {chain[0] for chain in self._view_chains(source)} if source is not None else set()
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self._bind(node.id, node.lineno, how)
                if roots:
                    self.views.setdefault(node.id, set()).update(roots)

    def _collect(self, region: Iterable[ast.AST]) -> None:
        """One walk over the region; a handler may replace a node's children (nested scopes)."""
        handlers = _HANDLERS
        stack: list[ast.AST] = list(region)
        while stack:
            node = stack.pop()
            handler = handlers.get(node.__class__)
            instead = handler(self, node) if handler is not None else None
            stack.extend(child_nodes(node) if instead is None else instead)

    def _on_loop(self, node: ast.For | ast.AsyncFor | ast.comprehension) -> None:
        self._bind_target(node.target, "is the target of a nested loop", node.iter)

    def _on_assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target, "is assigned in the loop", node.value)

    def _on_named_expr(self, node: ast.NamedExpr) -> None:
        self._bind_target(node.target, "is assigned in the loop", node.value)

    def _on_aug_assign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):  # ``+=`` on a tensor or array works in place
            self._bind(node.target.id, node.lineno, "is updated in the loop")
            self.writes.append(Change((node.target.id,), node.lineno, "+="))

    def _on_name(self, node: ast.Name) -> None:
        if node.ctx.__class__ is not ast.Load:
            deleted = node.ctx.__class__ is ast.Del
            self._bind(node.id, node.lineno, f"is {'deleted' if deleted else 'assigned'} in the loop")

    def _on_except(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, node.lineno, "is bound by `except ... as` in the loop")

    def _on_import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self._bind((alias.asname or alias.name).partition(".")[0], node.lineno, "is imported in the loop")

    def _on_capture(self, node: ast.MatchAs | ast.MatchStar | ast.MatchMapping) -> None:
        name = node.rest if isinstance(node, ast.MatchMapping) else node.name
        if name:
            self._bind(name, node.lineno, "is captured by `match` in the loop")

    def _nested_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda) -> list[ast.AST]:
        """A nested def/class/lambda: its body runs elsewhere, but binding its name, its
        decorators and defaults run here, and ``nonlocal``/``global`` let it rebind our names."""
        if isinstance(node, ast.Lambda):
            return [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
        self._bind(node.name, node.lineno, "is defined in the loop")
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Nonlocal, ast.Global)):
                for name in inner.names:
                    self._bind(name, inner.lineno, f"may be rebound by a nested def (`{type(inner).__name__.lower()}`)")
        if isinstance(node, ast.ClassDef):
            return [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        return [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]

    def _on_store(self, node: ast.Attribute | ast.Subscript) -> None:
        chain = root_chain(node) if node.ctx.__class__ is not ast.Load else None
        if chain is not None:
            if isinstance(node, ast.Subscript):
                how = "deleted an item" if isinstance(node.ctx, ast.Del) else "item assignment"
            else:
                how = "deleted" if isinstance(node.ctx, ast.Del) else "assigned"
            self.writes.append(Change(chain, node.lineno, how))

    def _on_call(self, node: ast.Call) -> None:
        func = node.func
        line = node.lineno
        qualified = self._aliases.resolve(func) or ""
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        for keyword in node.keywords:
            if keyword.arg == "out":
                self.writes.extend(Change(chain, line, "out=") for chain in self._view_chains(keyword.value))
            elif keyword.arg == INPLACE_KEYWORD and node.args and _is_true(keyword.value):
                self.writes.extend(Change(chain, line, "inplace=True") for chain in self._view_chains(node.args[0]))
        module_function = isinstance(func, ast.Name) or qualified.startswith(("torch.", "numpy."))
        if module_function and (is_inplace_method(name) or qualified in NUMPY_MUTATORS):
            for arg in node.args:  # nn.init.zeros_(w), clip_grad_norm_(model.parameters(), 1)
                self.writes.extend(Change(chain, line, f"{name}()") for chain in self._view_chains(arg))
            return
        self._arguments(node, name, qualified)
        if isinstance(func, ast.Attribute):
            receiver = root_chain(func.value)
            if name == "step":
                self.step_line = self.step_line or line
            elif name in ("backward", "zero_grad"):
                self.grad_line = self.grad_line or line
            if receiver is None:
                return
            if modifies_receiver(name):
                self.writes.append(Change(receiver, line, f".{name}()"))
            else:
                self.calls.append(Change(receiver, line, f"{_dotted(receiver)}.{name}()"))
        chain = attr_chain(func)
        if chain is not None:
            self.calls.append(Change(chain, line, f"{_dotted(chain)}()"))

    def _arguments(self, node: ast.Call, name: str, qualified: str) -> None:
        """Record what a call may modify through its arguments (unless it is known not to)."""
        func = node.func
        if not may_modify_arguments(qualified, name if isinstance(func, ast.Attribute) else None):
            return
        callee = _dotted(attr_chain(func) or (name,)) if name else "a call"
        for arg in (*node.args, *(k.value for k in node.keywords)):
            self.writes.extend(Change(chain, node.lineno, f"passed to {callee}()") for chain in self._view_chains(arg))

    def _view_chains(self, expr: ast.expr) -> list[tuple[str, ...]]:
        """The named objects whose memory or elements ``expr``'s value may share.

        ``w.view(-1)``, ``np.asarray(w)`` -> ``[("w",)]``; ``model.parameters()`` -> ``[("model",)]``;
        ``[self.w, b]`` -> ``[("self", "w"), ("b",)]``; a computed value (``w.sum()``) shares nothing.
        """
        chain = attr_chain(expr)
        if chain is not None:
            return [chain]
        if isinstance(expr, (ast.Subscript, ast.Starred)):
            return self._view_chains(expr.value)
        if isinstance(expr, (ast.Tuple, ast.List)):
            return [c for elt in expr.elts for c in self._view_chains(elt)]
        if isinstance(expr, ast.Call):
            func = expr.func
            qualified = self._aliases.resolve(func) or ""
            if qualified.startswith(("torch.", "numpy.")):
                if expr.args and result_may_alias(qualified, None):
                    return self._view_chains(expr.args[0])
            elif isinstance(func, ast.Attribute) and result_may_alias(None, func.attr):
                return self._view_chains(func.value)
            elif qualified in ELEMENT_SHARING_BUILTINS:
                return [c for arg in expr.args for c in self._view_chains(arg)]
        return []


#: node class -> handler; a handler returning a list walks that list instead of the children.
_HANDLERS: dict[type, Callable[[LoopEffects, Any], list[ast.AST] | None]] = {
    ast.FunctionDef: LoopEffects._nested_scope,
    ast.AsyncFunctionDef: LoopEffects._nested_scope,
    ast.ClassDef: LoopEffects._nested_scope,
    ast.Lambda: LoopEffects._nested_scope,
    ast.For: LoopEffects._on_loop,
    ast.AsyncFor: LoopEffects._on_loop,
    ast.comprehension: LoopEffects._on_loop,
    ast.Assign: LoopEffects._on_assign,
    ast.NamedExpr: LoopEffects._on_named_expr,
    ast.AugAssign: LoopEffects._on_aug_assign,
    ast.Name: LoopEffects._on_name,
    ast.Attribute: LoopEffects._on_store,
    ast.Subscript: LoopEffects._on_store,
    ast.Call: LoopEffects._on_call,
    ast.ExceptHandler: LoopEffects._on_except,
    ast.Import: LoopEffects._on_import,
    ast.ImportFrom: LoopEffects._on_import,
    ast.MatchAs: LoopEffects._on_capture,
    ast.MatchStar: LoopEffects._on_capture,
    ast.MatchMapping: LoopEffects._on_capture,
}
