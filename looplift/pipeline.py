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

import torch

from . import anno, codegen, costmodel, pragmas, runtime, source
from .analysis import placement, regions, types as types_pass
from .anno import Key
from .errors import Refusal
from .lattice import AV, TOP, TupleV, from_runtime
from .options import Options
from .registry import lib
from .report import Decision, Report
from .runtime.compiled import CompiledRegion, compile_available
from .runtime.regions import Region
from .signature import abstract_of
from .transforms import hoist, lift, outline


@dataclass
class Specialization:
    call: Callable[..., Any]
    report: Report
    guards: tuple[tuple[str, Any], ...] = ()
    warnings: list[str] = field(default_factory=list)


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
               observed: Mapping[int, AV] | None = None) -> Specialization:
    """Rewrite ``fn`` for calls like this one (the original function when nothing applies).
    ``observed``: abstract values seen at sites of the function when it ran (``SITE`` ids)."""
    report = Report(function=fn.__qualname__, signature=_describe(args, kwargs), original_source="")
    try:
        loaded = source.load(fn)
        report.original_source = loaded.text
        tree = copy.deepcopy(loaded.node)
        tree.decorator_list = []  # decorators apply to the wrapper, not to the rewritten code
        anno.number_sites(tree)
        marks = pragmas.loop_marks(tree, loaded.text, loaded.first_line, fn.__globals__)
        params = parameter_values(fn, args, kwargs)
        cost = costmodel.decide(args, kwargs, options, observed)
        report.cost = cost.reason

        static = types_pass.TypesPass(tree, fn.__globals__, key=Key.STATIC_TYPE)
        static.run(params)
        report.hoisted, kept = hoist.apply(tree, marks, fn.__globals__, options.opt_in)
        typed = types_pass.TypesPass(tree, fn.__globals__, observed=observed)
        typed.run(params)
        plan = placement.place(tree, fn.__globals__, params, marks, lift=cost.lift, opt_in=options.opt_in)
        plans = regions.plan(tree)
        code = outline.apply(plans, fn.__name__)
        _record(report, tree, plan, code, kept)
        lift.apply(tree)
        report.source = _render(tree, code)
        if not report.changed:
            return Specialization(fn, report)
        helpers: dict[str, Any] = {"__ll": runtime}
        for region in code:
            helpers[region.plan.name] = _build_region(region, loaded.filename, fn, cost, options)
        rewritten = codegen.build_function(tree, loaded.filename, fn, helpers)
    except Refusal as refusal:
        line = f"line {refusal.line}: " if refusal.line else ""
        report.fallback = f"{line}{refusal.reason}"
        return Specialization(fn, report, warnings=[report.fallback])
    guards = {**static.global_guards, **typed.global_guards}
    notes = [str(d) for d in report.skipped if options.strict or _in_marked_loop(d, marks)]
    return Specialization(rewritten, report, tuple(guards.items()), warnings=notes)


#: What lowered region code may name besides its parameters.
_REGION_SCOPE = {"__ll": runtime, "torch": torch, "lib": lib, "math": math}


def _build_region(region: outline.RegionCode, filename: str, fn: types.FunctionType,
                  cost: costmodel.CostDecision, options: Options) -> Region:
    lowered = codegen.build_helper(region.lowered, filename, fn.__globals__, _REGION_SCOPE)
    twin = codegen.build_helper(region.twin, filename, fn.__globals__, {"__ll": runtime})
    guard = eval(f"lambda {', '.join(region.params)}: {region.guard}",  # noqa: S307 - generated by outline
                 {"Tensor": torch.Tensor, "torch": torch})
    label = f"{filename}:{region.plan.line}"
    body: Callable[..., Any] = lowered
    if cost.compile and region.ops >= 2 and compile_available():
        body = CompiledRegion(lowered, label, measure=options.compile == "auto")
    return Region(body, twin, guard, label)


def _in_marked_loop(decision: Decision, marks: Mapping[ast.AST, pragmas.Mark]) -> bool:
    """A skipped conversion inside a loop the user marked for looplift (a warning is due)."""
    return any(mark is pragmas.Mark.ON and loop.lineno <= decision.line <= (loop.end_lineno or loop.lineno)
               for loop, mark in marks.items())


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
            report.rewritten.append(Decision(node.lineno, f"{lowered.entry.key} -> {ast.unparse(lowered.expression)}"))
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
            report.materialized.append(Decision(node.lineno, f"{', '.join(names)} converted to NumPy before this line",
                                                "kept, modified or read by code that is not lifted"))
    for region in code:
        report.compiled.append(Decision(region.plan.line, f"{region.label}: {region.ops} lowered ops as one region",
                                        f"runs when {region.guard}; otherwise the original code"))
    report.skipped = sorted([*plan.skipped.values(), *plan.kept_reads.values(), *kept], key=lambda d: d.line)
    for items in (report.rewritten, report.materialized, report.compiled):
        items.sort(key=lambda d: d.line)


def _render(tree: ast.FunctionDef, code: list[outline.RegionCode]) -> str:
    parts = [ast.unparse(tree)]
    for region in code:
        parts.append(f"# {region.plan.name}: runs when {region.guard}")
        parts.append(ast.unparse(region.lowered))
    return "\n\n".join(parts)


def _text(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [_describe_value(a) for a in args] + [f"{k}={_describe_value(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _describe_value(value: Any) -> str:
    abstract = from_runtime(value) if not isinstance(value, (list, tuple)) else abstract_of(value)
    return repr(abstract) if abstract is not TOP else type(value).__name__
