"""The whole transformation for one input signature: the pass list.

    source -> pragmas -> parameters -> types (static) -> hoist -> types -> placement
           -> regions -> outline -> lift -> codegen

Each pass annotates the tree (``anno``) or rewrites it from the annotations; ``specialize``
reads top to bottom.  Any ``Refusal`` on the way makes the specialization the original function,
with the reason in the report; the dispatcher turns that into a ``LoopliftWarning`` (or
``LoopliftError`` under ``strict=True``).
"""
from __future__ import annotations

import ast
import copy
import inspect
import math
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

from . import anno, codegen, costmodel, logs, pragmas, runtime, source
from .analysis import (conversions, dependence, placement, reads, regions, scope as scope_mod, types as types_pass,
                       walker)
from .anno import Key
from .errors import Refusal
from .lattice import AV, TOP, ArrayV, ConstV, ListV, PyScalarV, TensorV, TupleV, from_runtime
from .options import Options
from .registry import lib
from .report import Decision, Report
from .runtime import observe
from .runtime.compiled import CompiledRegion, compile_available
from .runtime.regions import Region
from .signature import abstract_of
from .transforms import batch, hoist, instrument, lift, outline


@dataclass
class Specialization:
    call: Callable[..., Any]
    report: Report
    guards: tuple[tuple[str, Any], ...] = ()
    warnings: list[str] = field(default_factory=list)
    compiled: dict[str, CompiledRegion] = field(default_factory=dict)
    """Compiled regions by label: the dispatcher keeps their choices (``diskcache``)."""


def parameter_values(fn: types.FunctionType, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, AV]:
    """Abstract values of the parameters for this call (defaults included)."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise Refusal(f"arguments do not match the signature ({exc})") from None
    bound.apply_defaults()
    values: dict[str, AV] = {}
    for name, param in inspect.signature(fn).parameters.items():
        value = bound.arguments.get(name)
        if param.kind is param.VAR_POSITIONAL:
            values[name] = TupleV(tuple(abstract_of(v) for v in value or ()))
        elif param.kind is param.VAR_KEYWORD:
            values[name] = TOP
        else:
            values[name] = abstract_of(value)
    return values


def specialize(fn: types.FunctionType, args: tuple[Any, ...], kwargs: dict[str, Any], options: Options,
               observed: Mapping[int, AV] | None = None, params: Mapping[str, AV] | None = None,
               choices: Mapping[str, str] | None = None) -> Specialization:
    """Rewrite ``fn`` for calls like this one (the original function when nothing applies).
    ``observed``: abstract values seen at sites of the function when it ran (``SITE`` ids);
    ``params``: the parameters' abstract values, when taken before the call changed them;
    ``choices``: compiled regions' choices from an earlier process, by label."""
    report = Report(function=fn.__qualname__, signature=_describe(args, kwargs), original_source="")
    try:
        loaded = source.load(fn)
        report.original_source = loaded.text
        tree = fresh_tree(loaded)
        params = dict(params) if params is not None else parameter_values(fn, args, kwargs)
        cost = costmodel.decide(args, kwargs, options, observed)
        marks = pragmas.loop_marks(tree, loaded.text, loaded.first_line, fn.__globals__,
                                   filename=loaded.filename, strict=options.strict)
        return _rewrite(tree, fn, loaded.filename, params, marks, cost, options, observed, report,
                        choices=choices)
    except Refusal as refusal:
        line = f"line {refusal.line}: " if refusal.line else ""
        report.fallback = f"{line}{refusal.reason}"
        return Specialization(fn, report, warnings=[report.fallback])


def fresh_tree(loaded: source.FunctionSource) -> ast.FunctionDef:
    """A copy of the function's tree to rewrite, its sites numbered as in every other copy."""
    tree = copy.deepcopy(loaded.node)
    tree.decorator_list = []  # decorators apply to the wrapper, not to the rewritten code
    anno.number_sites(tree)
    return tree


def _rewrite(tree: ast.FunctionDef, fn: types.FunctionType, filename: str, params: Mapping[str, AV],
             marks: Mapping[ast.AST, pragmas.Mark], cost: costmodel.CostDecision, options: Options,
             observed: Mapping[int, AV] | None, report: Report, *, defaults: bool = True,
             extra: Mapping[str, Any] | None = None, choices: Mapping[str, str] | None = None) -> Specialization:
    """The pass list, on ``tree`` (a copy of ``fn``'s, or a loop of it made a function)."""
    report.cost = cost.reason
    static = types_pass.TypesPass(tree, fn.__globals__, key=Key.STATIC_TYPE)
    static.run(params)
    report.hoisted, kept = hoist.apply(tree, marks, fn.__globals__, options.opt_in)
    typed = types_pass.TypesPass(tree, fn.__globals__, observed=observed)
    typed.run(params)
    tree_loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))]
    plan, plans, batches = _place(tree, fn, params, marks, cost, options)
    code = outline.apply(plans, fn.__name__)
    _record(report, tree, plan, code, kept)
    report.compiled = [Decision(region.plan.line, f"{region.plan.name} compiled ({region.ops} operations)",
                                "torch.compile in the background once it has run a while, kept if faster than "
                                "eager torch" if options.compile == "auto" else "torch.compile at the first call")
                       for region in code if compiles(region, cost)]
    report.batched = [Decision(b.loop.lineno, "the loop runs as one batched computation over its items",
                               "when they are tensors of one dtype, shape and device; else item by item")
                      for b in batches[0]]
    report.skipped = sorted([*report.skipped, *batches[1]], key=lambda d: d.line)
    report.unknown = [] if observed is not None else unknown_sources(tree)
    book = reads.ledger(tree, conversions.make_resolver(scope_mod.analyze(tree).locals, fn.__globals__),
                        {**plan.skipped, **plan.kept_reads, **plan.switched_off})
    report.host_reads, report.reads = book.reads, book.summary
    bodies = lift.apply(tree)
    report.source = _render(tree, code, bodies)
    guards = {**static.global_guards, **typed.global_guards}
    notes = [str(d) for d in (*plan.skipped.values(), *plan.kept_reads.values())
             if _in_enabled_loop(d, tree_loops, marks, options.opt_in)]
    if not report.changed and extra is None:
        return Specialization(fn, report, tuple(guards.items()))
    helpers: dict[str, Any] = {"__ll": runtime, **(extra or {})}
    compiled: dict[str, CompiledRegion] = {}
    for region in code:
        built = helpers[region.plan.name] = _build_region(region, filename, fn, cost, options, choices or {})
        if isinstance(built.lowered, CompiledRegion):
            compiled[built.label] = built.lowered
    for body in bodies:
        helpers[body.name] = codegen.build_helper(body.body, filename, fn.__globals__, helpers)
    rewritten = codegen.build_function(tree, filename, fn, helpers, defaults=defaults)
    return Specialization(rewritten, report, tuple(guards.items()), warnings=notes, compiled=compiled)


def _place(tree: ast.FunctionDef, fn: types.FunctionType, params: Mapping[str, AV],
           marks: Mapping[ast.AST, pragmas.Mark], cost: costmodel.CostDecision, options: Options
           ) -> tuple[placement.Plan, list[regions.RegionPlan], tuple[list[dependence.BatchPlan], list[Decision]]]:
    """Placement, regions and batching.  Where the cost model lifts only loops that batch (small
    items on a CPU), placement first lifts everything to find those loops, then only them."""
    lift_loops: set[ast.AST] | None = None
    not_batched: list[Decision] = []
    if not cost.lift and cost.batch:
        placement.place(tree, fn.__globals__, params, marks, lift=True, opt_in=options.opt_in)
        regions.plan(tree)
        found, not_batched = dependence.plan(tree)
        anno.clear(tree, Key.REGION, Key.BATCH)
        lift_loops = {b.loop for b in found}
    plan = placement.place(tree, fn.__globals__, params, marks, lift=cost.lift, opt_in=options.opt_in,
                           lift_loops=lift_loops)
    plans = regions.plan(tree)
    batched, refused = dependence.plan(tree) if cost.batch else ([], [])
    return plan, plans, (batched, refused or not_batched)


def instrumented(fn: types.FunctionType, observer: observe.Observer, resume: observe.Resume) -> Specialization:
    """The original function, observing the types at its sites and able to resume its loops
    specialized (``transforms/instrument.py``)."""
    report = Report(function=fn.__qualname__, signature="(observing)", original_source="")
    try:
        loaded = source.load(fn)
        tree, loops = instrument.apply(fresh_tree(loaded), fn.__globals__)
        helpers = {instrument.OBSERVER: observer, instrument.RESUME: resume}
        return Specialization(codegen.build_function(tree, loaded.filename, fn, helpers), report)
    except Refusal as refusal:
        report.fallback = refusal.reason
        return Specialization(fn, report)


def unknown_sources(tree: ast.FunctionDef) -> list[int]:
    """Lines in loops that convert or read a value whose type the code alone does not give:
    what observing a call would settle (``dispatch``)."""
    lines = []
    for loop in ast.walk(tree):
        if not isinstance(loop, (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        for node in ast.walk(loop):
            read = conversions.host_read(node, _NO_RESOLVER) if isinstance(node, ast.Call) else None
            conv = conversions.match(node, _NO_RESOLVER) if isinstance(node, ast.Call) else None
            source = conv.source if conv is not None else read.source if read is not None else None
            if source is not None and not _known(anno.getanno(source, Key.TYPE)):
                lines.append(node.lineno)
    return sorted(set(lines))


def _NO_RESOLVER(func: ast.expr) -> Any:
    return None


def _known(value: AV | None) -> bool:
    """The value's type says enough to place a conversion of it."""
    if value is None:
        return False
    for option in value.options():
        if isinstance(option, TensorV):
            if None in (option.dtype, option.ndim, option.device, option.requires_grad):
                return False
        elif not isinstance(option, (ArrayV, PyScalarV, ConstV)):
            return False
    return True


def specialize_loop(fn: types.FunctionType, site: int, variables: Mapping[str, Any], options: Options,
                    observed: Mapping[int, AV], cost: costmodel.CostDecision) -> Callable[..., Any] | None:
    """The rest of a running loop of ``fn`` as a specialized function of the live variables
    (see ``runtime/observe.py``): ``call(item, rest, variables)`` runs the remaining iterations on
    the same iterator and returns ``(True, value)`` for a ``return``, else ``(False, variables)``."""
    loaded = source.load(fn)
    tree = fresh_tree(loaded)
    loop = next((n for n in ast.walk(tree) if isinstance(n, ast.For) and anno.getanno(n, Key.SITE) == site), None)
    if loop is None:
        return None
    scope = scope_mod.analyze(tree)
    names = [n for n in variables if n in scope.locals and not n.startswith("__ll")]
    params = {n: abstract_of(variables[n]) for n in names}
    for name in _own_lists(fn, loaded, site, variables, observed) & set(names):  # still the function's own
        params[name] = ListV(walker.join_all(map(abstract_of, variables[name])), local=True)
    loop_fn = _loop_function(tree, loop, names, scope)
    report = Report(function=f"{fn.__qualname__} (the loop at line {loop.lineno})", signature="(resumed)",
                    original_source=loaded.text)
    marks = pragmas.loop_marks(loop_fn, loaded.text, loaded.first_line, fn.__globals__,
                               filename=loaded.filename, strict=options.strict)
    spec = _rewrite(loop_fn, fn, loaded.filename, params, marks, cost, options, observed, report, defaults=False,
                    extra=_RESUME_HELPERS)
    logs.specialize.info("%s", spec.report)
    run = spec.call
    return lambda item, rest, values: run(*(values[n] for n in names), item, rest)


#: What a resumed loop's function calls besides the runtime (``runtime/observe.py``).
_RESUME_HELPERS = {"__ll_resume_iter": observe.resume, "__ll_finished": observe.finished,
                   "__ll_returned": observe.returned}


def _own_lists(fn: types.FunctionType, loaded: source.FunctionSource, site: int, variables: Mapping[str, Any],
               observed: Mapping[int, AV]) -> set[str]:
    """Names that hold, inside the loop at ``site``, a list the whole function made and never
    shared (the types pass over the whole function says so, and no other live name holds it): a
    resumed loop may keep lifted values in them as the function itself would.  Not one that holds
    a tensor, at any depth: ``materialize`` converts every tensor in a list, and one the loop
    appended beside it could not be told apart.  (The list's type joins all its items: the
    first one, as ``abstract_of`` takes for an argument, does not say what the others are.)"""
    tree = fresh_tree(loaded)
    params = {name: abstract_of(variables[name]) for name in inspect.signature(fn).parameters if name in variables}
    types_pass.TypesPass(tree, fn.__globals__, observed=observed).run(params)
    loop = next(n for n in ast.walk(tree) if anno.getanno(n, Key.SITE) == site)
    typed = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
             and isinstance(anno.getanno(n, Key.TYPE), ListV) and anno.getanno(n, Key.TYPE).local}
    held = [id(value) for value in variables.values()]
    return {name for name in typed if type(variables.get(name)) is list and held.count(id(variables[name])) == 1
            and not _holds_tensor(variables[name])}


def _holds_tensor(value: Any) -> bool:
    """A tensor in ``value`` or in the lists, tuples and dicts inside it (where ``materialize`` looks)."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (list, tuple)):
            stack += item
        elif isinstance(item, dict):
            stack += item.values()
    return False


def _loop_function(tree: ast.FunctionDef, loop: ast.For, names: list[str], scope: scope_mod.Scope) -> ast.FunctionDef:
    """``def f(<live variables>, __ll_item, __ll_rest)``: the loop on the rest of its iterator,
    then its variables (``locals()``) handed back; a ``return`` inside hands its value back."""
    declarations = [n for n in scope_mod.own_nodes(tree) if isinstance(n, (ast.Global, ast.Nonlocal))]
    unbound = sorted(scope.locals - set(names))
    keep_local = [ast.If(ast.Constant(False), [ast.Assign([ast.Name(n, ast.Store())], ast.Constant(None))
                                               for n in unbound], [])] if unbound else []
    resumed = ast.For(loop.target, ast.Call(ast.Name("__ll_resume_iter", ast.Load()),
                                            [ast.Name("__ll_item", ast.Load()), ast.Name("__ll_rest", ast.Load())], []),
                      _returning(loop.body), _returning(loop.orelse), None)
    finish = ast.Return(ast.Call(ast.Name("__ll_finished", ast.Load()),
                                 [ast.Call(ast.Name("locals", ast.Load()), [], [])], []))
    args = ast.arguments([], [ast.arg(n) for n in (*names, "__ll_item", "__ll_rest")], None, [], [], None, [])
    fn = ast.FunctionDef(tree.name, args, [*declarations, *keep_local, resumed, finish], [], None)
    for node in (fn, resumed, finish, *keep_local):
        ast.copy_location(node, loop)
    fn.lineno = tree.lineno
    return ast.fix_missing_locations(fn)


def _returning(body: list[ast.stmt]) -> list[ast.stmt]:
    """``return x`` -> ``return __ll_returned(x)`` (not inside nested functions)."""

    class Wrap(ast.NodeTransformer):
        def visit_FunctionDef(self, node: ast.AST) -> ast.AST:
            return node

        visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_FunctionDef

        def visit_Return(self, node: ast.Return) -> ast.Return:
            value = node.value if node.value is not None else ast.Constant(None)
            return ast.copy_location(ast.Return(ast.Call(ast.Name("__ll_returned", ast.Load()), [value], [])), node)

    return [Wrap().visit(stmt) for stmt in body]


#: What lowered region code may name besides its parameters.
_REGION_SCOPE = {"__ll": runtime, "torch": torch, "lib": lib, "math": math}


def _build_region(region: outline.RegionCode, filename: str, fn: types.FunctionType,
                  cost: costmodel.CostDecision, options: Options, choices: Mapping[str, str]) -> Region:
    lowered = codegen.build_helper(region.lowered, filename, fn.__globals__, _REGION_SCOPE)
    twin = codegen.build_helper(region.twin, filename, fn.__globals__, {"__ll": runtime})
    guard = eval(f"lambda {', '.join(region.params)}: {region.guard}",  # noqa: S307 - generated by outline
                 {"Tensor": torch.Tensor, "torch": torch, "numpy": np})
    label = f"{filename}:{region.plan.line}"
    body: Callable[..., Any] = lowered
    if compiles(region, cost):
        body = CompiledRegion(lowered, label, measure=options.compile == "auto",
                              compile_options=dict(options.compile_options), preset=choices.get(label))
    return Region(body, twin, guard, label, eager=lowered, adopt=region.adopt)


def compiles(region: outline.RegionCode, cost: costmodel.CostDecision) -> bool:
    """``torch.compile`` fuses a region's operations: worth trying from two operations on."""
    return cost.compile and region.ops >= 2 and compile_available()


def _in_enabled_loop(decision: Decision, loops: list[ast.AST], marks: Mapping[ast.AST, pragmas.Mark],
                     opt_in: bool) -> bool:
    """The decision is about code in a loop looplift works on (not marked off; with ``opt_in``,
    marked on): what stays per iteration there gets a ``LoopliftWarning`` (``LoopliftError``
    under ``strict=True``)."""
    enclosing = [loop for loop in loops if loop.lineno <= decision.line <= (loop.end_lineno or loop.lineno)]
    if not enclosing or any(marks.get(loop) is pragmas.Mark.OFF for loop in enclosing):
        return False
    return not opt_in or any(marks.get(loop) is pragmas.Mark.ON for loop in enclosing)


def _record(report: Report, tree: ast.FunctionDef, plan: placement.Plan, code: list[outline.RegionCode],
            kept: list[Decision]) -> None:
    """The decisions of the passes, as report lines."""
    for node in ast.walk(tree):
        if anno.hasanno(node, Key.LIFT):
            conv, _ = anno.getanno(node, Key.LIFT)
            what = f"{conv.describe()} kept as a tensor" if conv.direction == "to_numpy" else \
                f"{conv.describe()} of a lifted value uses it directly"
            report.rewritten.append(Decision(node.lineno, what, "guarded by dtype, ndim and device"))
        if anno.hasanno(node, Key.SHORTEN):
            conv = anno.getanno(node, Key.SHORTEN)
            report.rewritten.append(Decision(node.lineno, f"{conv.describe()} -> .numpy()",
                                             "one step for a CPU tensor without grad, checked at each call"))
        if anno.hasanno(node, Key.LOWER):
            lowered = anno.getanno(node, Key.LOWER)
            report.rewritten.append(Decision(node.lineno, f"{lowered.entry.key} -> {_lowered_text(node, lowered)}"))
        if anno.hasanno(node, Key.DEFER):
            read = anno.getanno(node, Key.DEFER)
            report.rewritten.append(Decision(node.lineno, f"{read.describe()} deferred",
                                             "kept on the device; read once where the value leaves"))
        if isinstance(node, ast.AugAssign) and anno.hasanno(node, Key.FOLD):
            report.rewritten.append(Decision(node.lineno, f"{ast.unparse(node.target)} accumulates deferred reads",
                                             "added up in the original order where it leaves"))
        if anno.hasanno(node, Key.MATERIALIZE):
            report.materialized.append(Decision(node.lineno, f"{_text(node)} converted to NumPy here",
                                                "its value leaves the lifted code"))
        names = anno.getanno(node, Key.DEMOTE)
        if names:
            report.materialized.append(Decision(node.lineno, f"{', '.join(names)} back to NumPy or Python before this line",
                                                "kept, modified or read by code that is not lifted"))
    for region in code:
        report.regions.append(Decision(region.plan.line, f"{region.plan.name} ({region.label}): "
                                       f"{region.ops} lowered operation{'s' if region.ops > 1 else ''}",
                                       f"runs when {region.guard}; otherwise the original code"))
    report.skipped = sorted([*plan.skipped.values(), *plan.kept_reads.values(), *plan.switched_off.values(), *kept],
                            key=lambda d: d.line)
    for items in (report.rewritten, report.materialized, report.compiled):
        items.sort(key=lambda d: d.line)


def _lowered_text(node: ast.AST, lowered: Any) -> str:
    """A lowering with its operands written out: ``torch.clamp(x @ w, min=0.0)``."""
    args, kwargs = regions.operand_nodes(node)
    names = {f"_{i}": a for i, a in enumerate(args)}
    names.update({f"_k_{k}": v for k, v in kwargs.items()})
    return _text(outline.substitute(lowered.expression, names), 60)


def _render(tree: ast.FunctionDef, code: list[outline.RegionCode], bodies: list[batch.BatchCode]) -> str:
    """The rewritten function, then its regions and batch bodies, as a user reads them: each line
    that runs lowered torch says, in a trailing comment, the NumPy code it stands for."""
    originals = {region.plan.name: "; ".join(_text(root, 60) for root in region.plan.roots) for region in code}
    lines = []
    for line in ast.unparse(tree).splitlines():
        names = [name for name in originals if f"{name}(" in line]
        lines.append(f"{line}  # {'; '.join(originals[n] for n in names)}" if names else line)
    parts = ["\n".join(lines)]
    for region in code:
        parts.append(f"# {region.plan.name}: runs when {region.guard}; otherwise its original code")
        twin = [ast.unparse(s) for s in region.twin.body]
        body = ast.unparse(region.lowered).splitlines()
        lowered_statements = [ast.unparse(s) for s in region.lowered.body if not _is_require(s)]
        for index, statement in enumerate(lowered_statements):
            for position, line in enumerate(body):
                if line.strip() == statement and index < len(twin):
                    body[position] = f"{line}  # {twin[index]}"
                    break
        parts.append("\n".join(body))
    for body_code in bodies:
        parts.append(f"# {body_code.name}: one iteration, run on every item at once (torch.func.vmap)")
        parts.append(ast.unparse(body_code.body))
    return "\n\n".join(parts)


def _is_require(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
        ast.unparse(stmt.value.func) == "__ll.require"


def _text(node: ast.AST, width: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= width else text[:width - 3] + "..."


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [_describe_value(a) for a in args] + [f"{k}={_describe_value(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _describe_value(value: Any) -> str:
    abstract = from_runtime(value) if not isinstance(value, (list, tuple)) else abstract_of(value)
    return repr(abstract) if abstract is not TOP else type(value).__name__
