"""The AST walk: finds tensor<->NumPy conversions inside loops and decides what each one is.

One pass over the tree.  The visitor keeps a stack of scopes (module, then one per
``def``/``lambda``/``class``), each with its own stack of enclosing loops: a conversion inside a
nested ``def`` inside a loop is *not* in that loop, because the function body runs whenever it
is called, not once per iteration.  Only the per-iteration part of a loop counts: a ``for``
loop's target and body (its iterable is evaluated once, its ``else`` after the loop), a
``while`` loop's test and body, and everything in a comprehension except its first iterable.

For each conversion it finds, it decides (with `LoopEffects`) whether the source is invariant
in the innermost loop, and how many enclosing loops it could be hoisted out of.  It then follows
the converted value (through names, views such as ``.to(device)`` and containers) to the end of
the walk, because two things about a conversion are only known from later code:

* a per-iteration tensor->NumPy conversion is *liftable* when its value feeds NumPy work
  (a NumPy function, arithmetic, indexing, an array method, or a conversion back to a tensor);
* an invariant conversion is *hoistable* only if each iteration's result is just read: when an
  iteration keeps it (stores it, yields it, collects it in a comprehension, passes it to a call
  that may keep it) or modifies it in place, hoisting would share one object between iterations
  (``state["step"] = torch.tensor(0.0)`` for every parameter).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Iterable, Sequence

from .findings import HOISTABLE, LIFTABLE, PER_ITERATION, PYTHON_LEVEL, Finding
from looplift.semantics import TO_TENSOR_FUNCTIONS, modifies_receiver, result_may_alias

from .calls import display_name, may_keep_arguments
from .conversions import NOUNS, Conversion, classify
from .effects import LoopEffects
from .kinds import ARRAYS, Kind, KindInference
from .names import ImportAliases, attr_chain
from .tree import child_fields

#: NumPy functions that write or print an array rather than compute with it: passing a converted
#: value to them is not "NumPy work" that @looplift could keep in torch.
_NUMPY_OUTPUT = frozenset({
    "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.array2string",
    "numpy.array_repr", "numpy.array_str",
})
_SNIPPET_LENGTH = 60
#: Code without any of these words has no loop, comprehension or per-item call to check.
LOOP_WORDS = re.compile(r"\b(?:for|while|lambda|map|filter|sorted|sort|min|max|reduce|starmap|filterfalse|"
                        r"takewhile|dropwhile|groupby|accumulate)\b")


@dataclass(eq=False)
class _Loop:
    """One enclosing loop: its per-iteration ``region`` and, once needed, what that region changes."""

    label: str
    line: int
    targets: tuple[tuple[ast.expr, ast.expr], ...]  # (target, iterable) pairs it binds
    region: tuple[ast.AST, ...]
    effects: LoopEffects | None = None

    def where(self) -> str:
        """How messages name the loop: "for loop at line 12"."""
        return f"{self.label} at line {self.line}"


@dataclass
class _Pending:
    """A conversion found in a loop, completed by what later code does with its value."""

    node: ast.expr
    direction: str
    snippet: str
    loop: _Loop  # the outermost loop it is invariant in, else the innermost loop
    invariant: bool
    immutable: bool  # the result is a Python scalar
    reason: str  # the reason unless later code changes it
    numpy_use: bool = False  # the value feeds NumPy work
    kept: str | None = None  # how an iteration keeps or modifies the value ("stored at line 9")


@dataclass
class _Scope:
    """A module, function, lambda or class body: its names' kinds and its own enclosing loops."""

    kinds: dict[str, Kind | None] = field(default_factory=dict)
    values: dict[str, tuple[_Pending, ...]] = field(default_factory=dict)  # name -> converted values it holds
    loops: list[_Loop] = field(default_factory=list)


@dataclass(frozen=True)
class _PerItem:
    """A callable that calls its function argument once per item of an iterable argument."""

    name: str  # how messages name the call: "map() call at line 12"
    position: int | None  # where the function argument is: a position, or
    keyword: str | None  # a keyword (which wins when both are given)
    items: int | None  # the position of the iterable, or None: the receiver (``xs.sort(key=f)``)
    item_param: int | None = 0  # the function's parameter that receives the item
    collects: bool = False  # the function's results are kept (``map``), not just compared


_PER_ITEM = {
    "builtins.map": _PerItem("map", 0, None, 1, collects=True),
    "builtins.filter": _PerItem("filter", 0, None, 1),
    "builtins.sorted": _PerItem("sorted", None, "key", 0),
    "builtins.min": _PerItem("min", None, "key", 0),
    "builtins.max": _PerItem("max", None, "key", 0),
    "functools.reduce": _PerItem("reduce", 0, None, 1, item_param=1),
    "itertools.starmap": _PerItem("starmap", 0, None, 1, item_param=None, collects=True),
    "itertools.filterfalse": _PerItem("filterfalse", 0, None, 1),
    "itertools.takewhile": _PerItem("takewhile", 0, None, 1),
    "itertools.dropwhile": _PerItem("dropwhile", 0, None, 1),
    "itertools.groupby": _PerItem("groupby", 1, "key", 0),
    "itertools.accumulate": _PerItem("accumulate", 1, "func", 0, item_param=1, collects=True),
}
_SORT = _PerItem("sort", None, "key", None)


def _per_item_function(call: ast.Call, qualified: str) -> tuple[ast.expr, ast.expr | None, _PerItem] | None:
    """The function a per-item call runs (a lambda, or a name), its iterable, and how it calls it."""
    spec = _PER_ITEM.get(qualified)
    if spec is None and isinstance(call.func, ast.Attribute) and call.func.attr == "sort":
        spec = _SORT
    if spec is None:
        return None
    function = next((k.value for k in call.keywords if k.arg == spec.keyword), None)
    if function is None and spec.position is not None and len(call.args) > spec.position:
        function = call.args[spec.position]
    if function is None or isinstance(function, ast.Starred):
        return None
    if spec.items is None:
        items = call.func.value if isinstance(call.func, ast.Attribute) else None
    else:
        items = call.args[spec.items] if len(call.args) > spec.items else None
    return function, None if isinstance(items, ast.Starred) else items, spec


def _simple_chains(expr: ast.expr) -> list[tuple[str, ...]] | None:
    """The names/attribute chains a "plain" source reads, or ``None`` when it computes something.

    Plain: a name, an attribute chain, a constant, or a literal container of those
    (``torch.tensor([0.5, scale])``).  Anything else may produce a new value every iteration.
    """
    chain = attr_chain(expr)
    if chain is not None:
        return [chain]
    if isinstance(expr, ast.Constant):
        return []
    if isinstance(expr, ast.UnaryOp):
        return _simple_chains(expr.operand)
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
        parts = expr.elts if not isinstance(expr, ast.Dict) else [*filter(None, expr.keys), *expr.values]
        chains: list[tuple[str, ...]] = []
        for part in parts:
            sub = _simple_chains(part.value if isinstance(part, ast.Starred) else part)
            if sub is None:
                return None
            chains.extend(sub)
        return chains
    return None


def _names_in(exprs: Iterable[ast.expr]) -> set[str]:
    return {n.id for e in exprs for n in ast.walk(e) if isinstance(n, ast.Name)}


def _written_object(target: ast.expr) -> ast.expr:
    """The object a store modifies: ``v`` for ``v[i] = x`` and ``v.a.b = x``, ``v`` for ``v += x``."""
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target


class ConversionVisitor:
    """Walks one module's AST and collects `Finding` objects for it."""

    _dispatch: ClassVar[dict[type, Callable[[ConversionVisitor, ast.AST], None]]] = {}

    def __init__(self, path: str, lines: Sequence[str]) -> None:
        self._path = path
        self._lines = lines
        self._aliases = ImportAliases()
        self._module = _Scope()
        self._scopes = [self._module]
        self._infer = KindInference(self._aliases, self._lookup)
        self._pending: list[_Pending] = []
        self._values: dict[int, tuple[_Pending, ...]] = {}  # id(expression) -> converted values it holds
        self._absorbed: set[int] = set()

    def run(self, tree: ast.Module) -> list[Finding]:
        """Visit ``tree`` and return its findings in source order (no filtering applied)."""
        self._aliases.add_module_imports(tree)
        self.visit(tree)
        found = [self._finding(p) for p in self._pending]
        return sorted(found, key=lambda f: (f.line, f.col, f.code))

    # -- traversal ----------------------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        method = self._dispatch.get(node.__class__)
        if method is None:
            method = getattr(type(self), f"visit_{node.__class__.__name__}", ConversionVisitor.generic_visit)
            self._dispatch[node.__class__] = method
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in child_fields(node.__class__):
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def _visit_all(self, nodes: Iterable[ast.AST | None]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    @property
    def _scope(self) -> _Scope:
        return self._scopes[-1]

    def _lookup(self, name: str) -> Kind | None:
        scope = self._scope
        if name in scope.kinds:
            return scope.kinds[name]
        return self._module.kinds.get(name)

    def _bind(self, pairs: Iterable[tuple[str, Kind | None]]) -> None:
        scope = self._scope
        for name, kind in pairs:
            scope.kinds[name] = kind
            scope.values.pop(name, None)

    # -- scopes -------------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self._aliases.add(node)

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args
        self._visit_all([*node.decorator_list, *args.defaults, *args.kw_defaults])
        if not self._may_loop(node):
            return  # nothing in its body runs in a loop of its own, and its names are local
        scope = _Scope()
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                scope.kinds[arg.arg] = self._infer.annotation_kind(arg.annotation)
        self._in_scope(scope, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        """A lambda's body runs when it is called, somewhere else: not in the enclosing loops
        (unless it is called per item or at once, see `_per_item_call` and `visit_Call`)."""
        self._visit_all([*node.args.defaults, *node.args.kw_defaults])
        self._in_scope(_Scope(), [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        """A class body runs once, where the ``class`` statement is: in the enclosing loops."""
        self._visit_all([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
        self._in_scope(self._inner_scope(), node.body)

    def _inner_scope(self, *loops: _Loop) -> _Scope:
        """A scope whose body runs here and now (a class body, a lambda called per item): it
        sees the enclosing names and is inside the enclosing loops, plus ``loops``."""
        scope = self._scope
        return _Scope(dict(scope.kinds), {}, [*scope.loops, *loops])

    def _may_loop(self, node: ast.stmt) -> bool:
        """Whether ``node``'s source has a loop keyword: a cheap regex over its lines that
        lets the walk skip loop-free functions, most of a typical code base."""
        text = "\n".join(self._lines[node.lineno - 1:node.end_lineno])
        return LOOP_WORDS.search(text) is not None

    def _in_scope(self, scope: _Scope, body: Iterable[ast.AST]) -> None:
        self._scopes.append(scope)
        self._visit_all(body)
        self._scopes.pop()

    # -- loops --------------------------------------------------------------------------------

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._bind(self._infer.iteration(node.target, node.iter))
        label = "async for loop" if isinstance(node, ast.AsyncFor) else "for loop"
        loop = _Loop(label, node.lineno, ((node.target, node.iter),), tuple(node.body))
        self._in_loop(loop, [node.target, *node.body])
        self._visit_all(node.orelse)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        self._in_loop(_Loop("while loop", node.lineno, (), (node.test, *node.body)), [node.test, *node.body])
        self._visit_all(node.orelse)

    def _in_loop(self, loop: _Loop, body: Iterable[ast.AST]) -> None:
        loops = self._scope.loops
        loops.append(loop)
        self._visit_all(body)
        loops.pop()

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
                       label: str, results: list[ast.expr]) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # evaluated once, outside the comprehension's loop
        targets = tuple((g.target, g.iter) for g in node.generators)
        region = (*(i for g in node.generators for i in g.ifs), *(g.iter for g in rest), *results)
        scope = self._scope
        saved: dict[str, tuple[bool, Kind | None]] = {}
        scope.loops.append(_Loop(label, node.lineno, targets, region))
        for index, generator in enumerate(node.generators):
            if index:
                self.visit(generator.iter)
            bindings = list(self._infer.iteration(generator.target, generator.iter))
            for name, _ in bindings:  # comprehension variables do not leak into the function
                saved.setdefault(name, (name in scope.kinds, scope.kinds.get(name)))
            self._bind(bindings)
            self._visit_all([generator.target, *generator.ifs])
        self._visit_all(results)
        for result in results:
            self._keep(result, f"collected by the {label}", result)
        scope.loops.pop()
        for name, (existed, kind) in saved.items():
            if existed:
                scope.kinds[name] = kind
            else:
                scope.kinds.pop(name, None)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, "list comprehension", [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node, "set comprehension", [node.elt])

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node, "generator expression", [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, "dict comprehension", [node.key, node.value])

    # -- assignments (tensor provenance, converted values) -----------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        self._visit_all(node.targets)
        for target in node.targets:
            self._bind(self._infer.assignment(target, node.value))
            self._assign_value(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._visit_all([node.value, node.target])
        if isinstance(node.target, ast.Name):
            kind = self._infer.annotation_kind(node.annotation)
            if kind is None and node.value is not None:
                kind = self._infer.kind_of(node.value)
            self._bind([(node.target.id, kind)])
        self._assign_value(node.target, node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._visit_all([node.value, node.target])
        target, value = node.target, node.value
        self._use(target)
        if isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
            self._keep(value, "stored", node)  # xs += [v]
        else:
            self._use(value)
        self._keep(_written_object(target), "modified in place", node)  # += works in place on arrays
        if isinstance(target, ast.Name) and self._lookup(target.id) is None and self._infer.is_tensor(value):
            self._bind([(target.id, Kind.TENSOR)])

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind([(node.target.id, self._infer.kind_of(node.value))])
        self._assign_value(node.target, node.value)
        self._follow(node, node.value)

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self.visit(node.optional_vars)
            self._bind(self._infer.assignment(node.optional_vars, None))

    def _assign_value(self, target: ast.expr, value: ast.expr | None) -> None:
        """Follow converted values into names; storing one anywhere else keeps it."""
        if isinstance(target, ast.Name):
            held = self._values_of(value)
            if held:
                self._scope.values[target.id] = held
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            self._keep(value, "stored", target)
            self._keep(_written_object(target), "modified in place", target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for sub_target, sub_value in zip(target.elts, value.elts):
                    self._assign_value(sub_target, sub_value)
                return
            self._keep(value, "unpacked", target)
            for sub_target in target.elts:
                self._assign_value(sub_target, None)
        elif isinstance(target, ast.Starred):
            self._assign_value(target.value, None)

    # -- uses of converted values -------------------------------------------------------------

    def _values_of(self, expr: ast.expr | None) -> tuple[_Pending, ...]:
        """The converted values ``expr`` holds: a conversion, a view of one, a name bound to one."""
        if isinstance(expr, ast.Starred):
            expr = expr.value
        if expr is None:
            return ()
        held = self._values.get(id(expr))
        if held is None and isinstance(expr, ast.Name):
            held = self._scope.values.get(expr.id)
        return held or ()

    def _follow(self, node: ast.expr, *sources: ast.expr) -> None:
        """``node`` holds the same objects as ``sources`` (``v.to(device)``, ``[v, w]``)."""
        held = tuple(p for source in sources for p in self._values_of(source))
        if held:
            self._values[id(node)] = self._values.get(id(node), ()) + held

    def _use(self, expr: ast.expr) -> None:
        """``expr`` is operated on as an array (NumPy call, arithmetic, indexing, method)."""
        for pending in self._values_of(expr):
            pending.numpy_use = True

    def _keep(self, expr: ast.expr | None, how: str, at: ast.expr | ast.stmt) -> None:
        """An iteration keeps ``expr``'s value beyond itself, or modifies it, at ``at``: an
        invariant conversion of it then cannot be hoisted (iterations would share one object)."""
        loops = self._scope.loops
        for pending in self._values_of(expr):
            if (pending.invariant and pending.kept is None and not pending.immutable
                    and any(loop is pending.loop for loop in loops)):
                pending.kept = f"{how} at line {at.lineno}"

    def visit_Yield(self, node: ast.Yield | ast.YieldFrom) -> None:
        self.generic_visit(node)
        self._keep(node.value, "yielded", node)

    visit_YieldFrom = visit_Yield

    def visit_List(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        self.generic_visit(node)
        self._follow(node, *node.elts)

    visit_Tuple = visit_Set = visit_List

    def visit_Dict(self, node: ast.Dict) -> None:
        self.generic_visit(node)
        self._follow(node, *node.values)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.generic_visit(node)
        self._follow(node, node.body, node.orelse)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        spine: list[ast.BinOp] = []
        expr: ast.expr = node
        while isinstance(expr, ast.BinOp):  # iterative: generated code has 1000-term chains
            spine.append(expr)
            expr = expr.left
        self.visit(expr)
        self._use(expr)
        for binop in reversed(spine):
            self.visit(binop.right)
            self._use(binop.right)

    def visit_If(self, node: ast.If) -> None:
        while True:  # iterative over elif chains, which nest one If per branch
            self.visit(node.test)
            self._visit_all(node.body)
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                node = node.orelse[0]
                continue
            self._visit_all(node.orelse)
            return

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        self.visit(node.operand)
        self._use(node.operand)

    def visit_Compare(self, node: ast.Compare) -> None:
        self.generic_visit(node)
        for operand in (node.left, *node.comparators):
            self._use(operand)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.generic_visit(node)
        self._use(node.value)

    # -- conversions --------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        qualified = self._aliases.resolve(node.func) or ""
        conversion = classify(node, qualified, self._infer)
        if conversion is not None:
            self._absorbed.update(conversion.absorbed)
            if self._scope.loops and id(node) not in self._absorbed:
                self._report(node, conversion)
        func = node.func
        per_item = _per_item_function(node, qualified)
        if per_item is not None:
            self._per_item_call(node, *per_item)
        elif isinstance(func, ast.Lambda):  # (lambda: ...)(): the body runs here
            self._visit_all([*node.args, *node.keywords, *func.args.defaults, *func.args.kw_defaults])
            self._in_scope(self._inner_scope(), [func.body])
        else:
            self.generic_visit(node)
        self._follow_call(node, qualified)

    def _per_item_call(self, node: ast.Call, function: ast.expr, items: ast.expr | None, spec: _PerItem) -> None:
        """``map(f, xs)``, ``sorted(xs, key=f)``...: ``f`` runs once per item, a loop of its own
        (labelled "map() call").  A lambda's body is that loop's body; a conversion function
        given by name (``map(torch.from_numpy, arrays)``) is a conversion of each item."""
        others = [a for a in (*node.args, *(k.value for k in node.keywords)) if a is not function]
        self._visit_all([node.func, *others])
        element = None if items is None else self._infer.element_kind(items)
        if isinstance(function, ast.Lambda):
            params = [*function.args.posonlyargs, *function.args.args]
            self._visit_all([*function.args.defaults, *function.args.kw_defaults])
            targets = tuple((ast.Name(p.arg, ast.Store(), lineno=p.lineno, col_offset=p.col_offset), node)
                            for p in (*params, function.args.vararg) if p is not None)
            loop = _Loop(f"{spec.name}() call", node.lineno, targets, (function.body,))
            scope = self._inner_scope(loop)
            for index, param in enumerate(params):
                scope.kinds[param.arg] = element if index == spec.item_param else None
            self._in_scope(scope, [function.body])
            if spec.collects:
                self._scopes.append(scope)
                self._keep(function.body, f"collected by {spec.name}()", function.body)
                self._scopes.pop()
            return
        self.visit(function)
        if items is None:
            return
        item = ast.Subscript(items, ast.Constant(0), ast.Load())  # "an item of xs", for the kinds
        call = ast.copy_location(ast.Call(function, [ast.copy_location(item, function)], []), function)
        call.end_lineno, call.end_col_offset = function.end_lineno, function.end_col_offset
        conversion = classify(call, self._aliases.resolve(function) or "", self._infer)
        if conversion is not None:
            loops = self._scope.loops
            loops.append(_Loop(f"{spec.name}() call", node.lineno, (), ()))
            self._report(call, conversion)
            loops.pop()

    def _follow_call(self, node: ast.Call, qualified: str) -> None:
        """What the call does with converted values: NumPy work on them, a result that is the
        same object (followed further), or keeping or modifying them."""
        func = node.func
        receiver = func.value if isinstance(func, ast.Attribute) and not self._aliases.is_imported(func.value) else None
        method = func.attr if receiver is not None else None
        arguments = (*node.args, *(k.value for k in node.keywords))
        if qualified.startswith("numpy.") and qualified not in _NUMPY_OUTPUT or qualified in TO_TENSOR_FUNCTIONS:
            for argument in arguments:
                self._use(argument)
        elif receiver is not None and method not in ("item", "tolist"):
            self._use(receiver)
        if receiver is not None and result_may_alias(None, method):
            self._follow(node, receiver)
        elif node.args and result_may_alias(qualified, None):
            self._follow(node, node.args[0])
        if receiver is not None and method is not None and modifies_receiver(method):
            self._keep(receiver, f"modified by .{method}()", node)
        for keyword in node.keywords:
            if keyword.arg == "out":
                self._keep(keyword.value, "written by out=", node)
        if any(self._values_of(a) for a in arguments):
            array_receiver = receiver is not None and self._infer.kind_of(receiver) in (Kind.TENSOR, *ARRAYS)
            if may_keep_arguments(qualified, method, array_receiver):
                for argument in arguments:
                    self._keep(argument, f"passed to {display_name(qualified) or 'a call'}()", node)

    def _report(self, node: ast.Call, conversion: Conversion) -> None:
        loops = self._scope.loops
        hoist_to: _Loop | None = None
        why = "source is recomputed every iteration"
        chains = _simple_chains(conversion.source)
        if chains is not None:
            names = _names_in(conversion.extra)
            tensor = conversion.direction != "to_tensor"
            for loop in reversed(loops):
                if loop.effects is None:
                    loop.effects = LoopEffects(loop.targets, loop.region, self._aliases)
                variant = loop.effects.why_variant(chains, names, tensor)
                if variant is not None:
                    if hoist_to is None:
                        why = variant
                    break
                hoist_to = loop
        invariant = hoist_to is not None
        direction = conversion.direction
        if invariant:
            reason = HOISTABLE
        elif direction == "sync":
            reason = f"{PYTHON_LEVEL}: {conversion.what} result used by Python"
        elif direction == "to_tensor" and self._infer.kind_of(conversion.source) is Kind.TENSOR_ARRAY:
            reason = LIFTABLE
        else:
            reason = f"{PER_ITERATION}: {why}"
        pending = _Pending(node, direction, self._snippet(node), hoist_to or loops[-1], invariant,
                           conversion.immutable_result, reason)
        self._pending.append(pending)
        self._values[id(node)] = (pending,)

    def _finding(self, pending: _Pending) -> Finding:
        """The finding, now that all the code after the conversion has been seen."""
        reason = pending.reason
        if pending.kept is not None:
            reason = f"{PER_ITERATION}: each iteration keeps its own result ({pending.kept})"
        hoistable = reason == HOISTABLE
        if pending.direction == "to_numpy" and not hoistable and pending.numpy_use:
            reason = LIFTABLE
        code = {
            "to_numpy": "LL002" if hoistable else "LL001",
            "to_tensor": "LL004" if hoistable else "LL003",
            "sync": "LL005",
            "to_host": "LL006",
        }[pending.direction]
        noun = NOUNS[pending.direction]
        if hoistable:
            message = f"loop-invariant {noun} `{pending.snippet}`: hoist it out of the {pending.loop.where()}"
        else:
            message = f"{noun} `{pending.snippet}` in the {pending.loop.where()} ({reason})"
        node = pending.node
        return Finding(self._path, node.lineno, self._column(node.lineno, node.col_offset), code, message,
                       pending.invariant, hoistable or reason == LIFTABLE, reason)

    def _snippet(self, node: ast.expr) -> str:
        """``node``'s source text, shortened: sliced from its line (much faster than
        ``ast.unparse``, and it is what the user wrote), unparsed when it spans lines."""
        line = node.lineno
        if node.end_lineno == line and 0 < line <= len(self._lines):
            text = self._lines[line - 1].encode("utf-8")[node.col_offset:node.end_col_offset].decode("utf-8", "replace")
        else:
            try:
                text = " ".join(ast.unparse(node).split())
            except RecursionError:
                text = "..."
        return text if len(text) <= _SNIPPET_LENGTH else text[:_SNIPPET_LENGTH - 3] + "..."

    def _column(self, line: int, col_offset: int) -> int:
        """1-based character column (``ast`` counts UTF-8 bytes)."""
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        if text.isascii():
            return col_offset + 1
        return len(text.encode("utf-8")[:col_offset].decode("utf-8", "replace")) + 1
