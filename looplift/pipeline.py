"""The whole transformation for one input signature, stage by stage.

    source -> pragmas -> signature values -> analysis -> hoist -> analysis -> lift -> outline -> codegen

Any ``Refusal`` on the way makes the specialization the original function, with the reason in
the report; the dispatcher turns that into a ``LoopliftWarning`` (or ``LoopliftError``).
"""
from __future__ import annotations

import ast
import copy
import inspect
import logging
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping

from . import codegen, costmodel, pragmas, runtime, source
from .analysis import infer
from .analysis.facts import Facts
from .report import Decision
from .lattice import AV, TOP, TupleV, from_runtime
from .errors import Refusal
from .options import Options
from .report import Report
from .runtime.compiled import CompiledRegion
from .signature import abstract_of
from .transforms import hoist, lift, outline

logger = logging.getLogger("looplift")

MAX_RETRIES = 8


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


def analyse(tree: ast.FunctionDef, fn: types.FunctionType, params: Mapping[str, AV],
            marks: Mapping[ast.AST, pragmas.Mark], *, lift_values: bool, opt_in: bool) -> Facts:
    """Run the analysis, excluding names that turn out unliftable (bounded retries)."""
    unliftable: set[str] = set()
    for _ in range(MAX_RETRIES):
        try:
            return infer.Inference(tree, globals_=fn.__globals__, params=params, marks=marks,
                                   lift=lift_values, opt_in=opt_in, unliftable=unliftable).run()
        except infer.RetryWithout as retry:
            logger.debug("analysis retried without lifting %s", retry)
            unliftable |= retry.names
    return infer.Inference(tree, globals_=fn.__globals__, params=params, marks=marks,
                           lift=False, opt_in=opt_in, unliftable=unliftable).run()


def _rewrite(hoisted: ast.FunctionDef, fn: types.FunctionType, params: Mapping[str, AV],
             marks: Mapping[ast.AST, pragmas.Mark], options: Options, filename: str,
             cost: costmodel.CostDecision, *, lift_values: bool,
             compile: bool) -> tuple[ast.FunctionDef, Facts, dict[str, Any], list[Decision]]:
    """Analysis, lift and (with ``compile``) outline, on a copy of the hoisted tree: the tree,
    the facts, the helpers the rewritten code binds, and the compiled regions' decisions."""
    tree, marks = copy.deepcopy((hoisted, dict(marks)))  # one copy: the marks stay keyed by its nodes
    facts = analyse(tree, fn, params, marks, lift_values=lift_values, opt_in=options.opt_in)
    lift.apply(tree, facts)
    helpers: dict[str, Any] = {"__ll": runtime}
    compiled: list[Decision] = []
    if compile:
        regions, compiled = outline.apply(tree, facts, filename, fn, options, numpy_baseline=not cost.accelerator)
        helpers.update(regions)
    return tree, facts, helpers, compiled


def specialize(fn: types.FunctionType, args: tuple[Any, ...], kwargs: dict[str, Any], key: Hashable,
               options: Options) -> Specialization:
    """Rewrite ``fn`` for calls like this one (the original function when nothing applies)."""
    report = Report(function=fn.__qualname__, signature=_describe(args, kwargs), original_source="")
    try:
        loaded = source.load(fn)
        report.original_source = loaded.text
        tree = copy.deepcopy(loaded.node)
        tree.decorator_list = []  # decorators apply to the wrapper, not to the rewritten code
        marks = pragmas.loop_marks(tree, loaded.text, loaded.first_line, fn.__globals__)
        params = parameter_values(fn, args, kwargs)
        cost = costmodel.decide(args, kwargs, options)
        report.cost = cost.reason

        plain = analyse(tree, fn, params, marks, lift_values=False, opt_in=options.opt_in)
        report.hoisted, kept = hoist.apply(tree, plain, marks, fn.__globals__, options.opt_in)
        hoisted = tree
        tree, facts, helpers, report.compiled = _rewrite(hoisted, fn, params, marks, options, loaded.filename, cost,
                                                         lift_values=cost.lift, compile=cost.compile)
        fallback: tuple[ast.FunctionDef, Facts, dict[str, Any], list[Decision]] | None = None
        if cost.only_if_fused:
            fallback = _rewrite(hoisted, fn, params, marks, options, loaded.filename, cost,
                                lift_values=False, compile=False)
            if outline.ops_left(tree) or not report.compiled:
                report.cost = costmodel.NOT_LIFTED + " (here the lifted operations would not all fuse)"
                (tree, facts, helpers, report.compiled), fallback = fallback, None
            else:
                report.cost += "; where NumPy measures faster in every region, the hoist-only rewrite takes over"
        _record(report, facts)
        report.skipped = sorted([*report.skipped, *kept], key=lambda d: d.line)
        report.source = codegen.unparse(tree)
        if not report.changed:
            return Specialization(fn, report)
        rewritten = codegen.build_function(tree, loaded.filename, fn, helpers)
        guards = dict(facts.global_guards)
        if fallback is not None:
            plain_tree, plain_facts, plain_helpers, _ = fallback
            plain_fn = codegen.build_function(plain_tree, loaded.filename, fn, plain_helpers)
            guards.update(plain_facts.global_guards)
    except Refusal as refusal:
        line = f"line {refusal.line}: " if refusal.line else ""
        report.fallback = f"{line}{refusal.reason}"
        return Specialization(fn, report, warnings=[report.fallback])
    notes = [str(d) for d in sorted(facts.skipped.values(), key=lambda d: d.line)]
    spec = Specialization(rewritten, report, tuple(guards.items()), warnings=notes)
    if fallback is not None:
        _hand_over_when_numpy_wins(spec, [h for h in helpers.values() if isinstance(h, CompiledRegion)], plain_fn)
    return spec


def _hand_over_when_numpy_wins(spec: Specialization, regions: list[CompiledRegion], plain: Callable[..., Any]) -> None:
    """``only_if_fused``: once every compiled region has chosen its NumPy baseline, the lifted
    code only wraps NumPy in conversions, so the hoist-only rewrite (``plain``) takes the calls."""

    def settled() -> None:
        if all(region.state == "eager" for region in regions):
            spec.call = plain
            logger.info("%s: NumPy won in every compiled region; the hoist-only rewrite runs from now on",
                        spec.report.function)

    for region in regions:
        region.on_settle = settled


def _record(report: Report, facts: Facts) -> None:
    """Decisions of the analysis, as report lines."""
    for node, (conv, _) in facts.lifted_conversions.items():
        what = f"{conv.describe()} kept as a tensor" if conv.direction == "to_numpy" else \
            f"{conv.describe()} of a lifted value uses it directly"
        report.rewritten.append(Decision(node.lineno, what, "guarded by dtype, ndim and device"))
    for node, conv in facts.shortened_conversions.items():
        report.rewritten.append(Decision(node.lineno, f"{conv.describe()} -> .numpy()",
                                         "one step for a CPU tensor without grad, checked at each call"))
    for node, entry in [*facts.ops.items(), *facts.aug_ops.items()]:
        report.rewritten.append(Decision(node.lineno, f"{entry.key} -> {entry.torch_name}"))
    for node in facts.materialize:
        report.materialized.append(Decision(node.lineno, f"{_text(node)} converted to NumPy here",
                                            "its value leaves the lifted code"))
    for stmt, names in facts.demote.items():
        report.materialized.append(Decision(stmt.lineno, f"{', '.join(names)} converted to NumPy before this line",
                                            "kept, mutated or read by code that is not lifted"))
    report.skipped = sorted(facts.skipped.values(), key=lambda d: d.line)
    for items in (report.rewritten, report.materialized):
        items.sort(key=lambda d: d.line)


def _text(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [_describe_value(a) for a in args] + [f"{k}={_describe_value(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _describe_value(value: Any) -> str:
    abstract = from_runtime(value) if not isinstance(value, (list, tuple)) else abstract_of(value)
    return repr(abstract) if abstract is not TOP else type(value).__name__
