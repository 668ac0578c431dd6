"""``looplift show FILE.py:FUNC``: the rewritten source and the decisions for one function.

The file is imported as a module under a name other than ``__main__`` (so its ``if __name__ ==
"__main__":`` block does not run); ``FUNC`` may be ``name`` or ``Class.method``.  ``explain``
needs arguments only for their types and sizes (it does not run the function); they come from
``--args`` (expressions), ``--types`` (type specs), the parameter annotations or the defaults,
in that order (see `looplift.cli.values`).  Annotations become values like this:

* ``torch.Tensor`` -> a random tensor of ``--shape``, ``--dtype`` on ``--device`` (``--shape
  NAME=N,M`` gives one parameter its own shape, e.g. a 1-d bias);
* ``np.ndarray`` (also ``numpy.typing.NDArray[...]``) -> an array of ``--shape`` and ``--dtype``;
* ``list[X]`` / ``Sequence[X]`` / ``Iterable[X]`` -> a list of ``--length`` X; ``tuple[X, Y]``;
* ``int``, ``float``, ``bool``, ``str`` -> the parameter's default, else a stand-in value;
* ``X | None`` -> X (the case where there is a value to lift), unless the default is used;
* ``torch.dtype`` / ``torch.device`` -> ``--dtype`` / ``--device``.

A parameter without any of these (no value given, no annotation it can build, no default) stops
the command with its name.  The default shape, 512x256, has 131072 elements: the item size from
which looplift's CPU cost model lifts values into torch (smaller values only get their
conversions hoisted), so the report shows what a realistic input gets.  ``--diff`` prints the
rewrite as a diff against the original, as ``looplift demo`` does.
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import logging
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arguments import device_problem, positive_int
from .render import Style, color_diff, decisions, source_diff, use_color
from .values import Builder, CannotBuild, Given, GivenError, build_types, evaluate_args

logger = logging.getLogger("looplift.cli.show")

DEFAULT_SHAPE = (512, 256)
DEFAULT_LENGTH = 4


class UsageError(Exception):
    """Printed as ``looplift show: error: ...``, exit status 2."""


def _shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """``N,M`` (every tensor and array) or ``NAME=N,M`` (that parameter only)."""
    name, sep, rest = text.partition("=")
    if sep:
        if not name.strip().isidentifier():
            raise argparse.ArgumentTypeError(f"not a parameter name: {name!r} (write NAME=N,M)")
        return name.strip(), _dims(rest)
    return None, _dims(text)


def _dims(text: str) -> tuple[int, ...]:
    text = text.strip().strip("()[]")
    if not text:
        return ()
    try:
        dims = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shape: {text!r} (write e.g. 128,128)") from None
    if any(d < 0 for d in dims):
        raise argparse.ArgumentTypeError(f"negative dimension in {text!r}")
    return dims


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               help_text: str) -> argparse.ArgumentParser:
    """Add the ``show`` subcommand to the ``looplift`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text + ". explain does not run the function: it needs example "
        "arguments only for their types and sizes, taken from --args, --types, the parameter annotations or "
        "the defaults, in that order.",
        epilog="examples: looplift show train.py:evaluate --args 'torch.randn(64, 512), n=3'; "
               "looplift show train.py:evaluate --types 'list[Tensor[float32, (16, 512)]], n=int'. "
               "exit status: 0 shown, 1 looplift failed on the function, 2 usage error "
               "(no such file or function, a file that does not import, a parameter it cannot build)",
    )
    parser.add_argument("target", metavar="FILE.py:FUNC", help="a file and a function in it (or Class.method)")
    parser.add_argument("--args", "--arg", dest="given_args", action="append", default=[], metavar="'EXPR, NAME=EXPR'",
                        help="argument values as Python call arguments, evaluated with the file's globals, torch, np "
                             "and numpy in scope (repeatable)")
    parser.add_argument("--types", "--type", dest="given_types", action="append", default=[],
                        metavar="'TYPE, NAME=TYPE'",
                        help="argument types, e.g. 'list[Tensor[float32, (16, 512)]], scale=float': Tensor[...] and "
                             "ndarray[...] take a dtype, a shape and (tensors) a device in any order; list[T], "
                             "list[T, N], tuple[...], int, float, bool, str or a literal (repeatable)")
    parser.add_argument("--device", default="cpu", help="device of built tensors (default: cpu)")
    parser.add_argument("--dtype", default="float32",
                        help="dtype of built tensors and arrays (default: float32)")
    parser.add_argument("--shape", type=_shape, action="append", metavar="[NAME=]N,M",
                        help="shape of built tensors and arrays (default: 512,256 = 131072 elements, "
                             "the CPU cost model's lifting threshold for items); NAME=N,M sets one parameter's "
                             "shape (repeatable), e.g. --shape bias=128")
    parser.add_argument("--length", type=positive_int("a list needs at least one element (looplift keys on the first)"),
                        default=DEFAULT_LENGTH, metavar="N",
                        help=f"length of built lists (default: {DEFAULT_LENGTH})")
    parser.add_argument("--diff", action="store_true",
                        help="show the rewrite as a diff against the original (as the demo does) instead of "
                             "the rewritten source")
    parser.add_argument("--no-color", action="store_true",
                        help="plain --diff output (also when stdout is not a terminal or NO_COLOR is set)")
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log more")
    parser.set_defaults(func=run)
    return parser


# ----------------------------------------------------------------------------------------------
# Finding the function


def split_target(target: str) -> tuple[Path, str]:
    path, sep, qualname = target.rpartition(":")
    if not sep or not path or not qualname:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", qualname):
        raise UsageError(f"{qualname!r} is not a function name (FUNC or Class.method)")
    return Path(path), qualname


def import_file(path: Path) -> types.ModuleType:
    """Import ``path`` as a module (not ``__main__``), with its directory on ``sys.path``."""
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    resolved = path.resolve()
    name = "_looplift_show_" + re.sub(r"\W", "_", resolved.stem)
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = str(resolved.parent)
    sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = f"{exc.filename or path}:{exc.lineno}" if exc.lineno else str(path)
        raise UsageError(f"{where}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        logger.debug("importing %s failed", path, exc_info=True)
        raise UsageError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from None
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass
    return module


@dataclass
class Target:
    function: Any
    """What ``explain`` gets: the decorated wrapper (its options apply) or the plain function."""
    plain: types.FunctionType
    """The function whose signature and annotations are read."""
    bound: list[tuple[str, Any, str]]
    """Leading parameters filled in without annotations: ``self`` or ``cls``."""


def find_function(module: types.ModuleType, qualname: str, path: Path) -> Target:
    parts = qualname.split(".")
    owner: Any = module
    for i, part in enumerate(parts[:-1]):
        owner = getattr(owner, part, None)
        if owner is None:
            raise UsageError(f"{path}: no {'.'.join(parts[:i + 1])!r} in the file")
    last = parts[-1]
    if inspect.isclass(owner):
        try:
            raw = inspect.getattr_static(owner, last)
        except AttributeError:
            raise UsageError(f"{path}: class {owner.__qualname__} has no {last!r}") from None
    else:
        raw = getattr(owner, last, None)
        if raw is None:
            names = sorted(n for n, v in vars(module).items()
                           if inspect.isfunction(v) and getattr(v, "__module__", None) == module.__name__)
            hint = f"; its functions: {', '.join(names)}" if names else ""
            raise UsageError(f"{path}: no function {qualname!r}{hint}")
    bound: list[tuple[str, Any, str]] = []
    if isinstance(raw, staticmethod):
        function = raw.__func__
    elif isinstance(raw, classmethod):
        function = raw.__func__
        bound.append(("cls", owner, f"the class {owner.__qualname__}"))
    else:
        function = raw
        if inspect.isclass(owner):
            bound.append(("self", _bare_instance(owner), f"an uninitialized {owner.__qualname__} (not constructed)"))
    plain = inspect.unwrap(function) if callable(function) else function
    if not isinstance(plain, types.FunctionType):
        raise UsageError(f"{path}: {qualname} is a {type(raw).__name__}, not a Python function")
    return Target(function, plain, bound)


def _bare_instance(cls: Any) -> Any:
    try:
        return object.__new__(cls)
    except TypeError:
        try:
            return cls.__new__(cls)
        except Exception:
            return types.SimpleNamespace()


# ----------------------------------------------------------------------------------------------
# Building arguments


def _hints(fn: types.FunctionType) -> dict[str, Any]:
    """Evaluated annotations (string annotations too); unevaluable ones stay strings."""
    try:
        return typing.get_type_hints(fn)
    except Exception:
        hints: dict[str, Any] = {}
        for name, annotation in getattr(fn, "__annotations__", {}).items():
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, fn.__globals__)  # noqa: S307 - the user's own file
                except Exception:
                    pass
            hints[name] = annotation
        return hints


def _is_array_like(annotation: Any) -> bool:
    import numpy as np
    import torch

    if inspect.isclass(annotation) and issubclass(annotation, (torch.Tensor, np.ndarray)):
        return True
    origin = typing.get_origin(annotation)
    if origin is np.ndarray:
        return True
    return any(_is_array_like(a) for a in typing.get_args(annotation) if a is not Ellipsis)


def build_arguments(target: Target, builder: Builder, given: Given = ([], {})) -> tuple[
        list[Any], dict[str, Any], list[str], list[str]]:
    """Positional and keyword arguments for ``explain``, a line per parameter, and the assumed ones.

    ``given``: values from ``--args``/``--types``, by position (after ``self``/``cls``) and by
    name.  The other tensors, arrays and containers of them come from the annotation (``--shape``
    and friends); anything else takes its default value when it has one, else a value from its
    annotation."""
    signature = inspect.signature(target.plain)
    hints = _hints(target.plain)
    params = list(signature.parameters.values())
    by_name = _assign(params, len(target.bound), given)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    lines: list[str] = []
    assumed: list[str] = []
    for (name, value, how), param in zip(target.bound, params):
        if param.name in by_name:
            value, how = by_name.pop(param.name)
        else:
            assumed.append(param.name)
        positional.append(value)
        lines.append(f"{param.name}: {how}")
    for param in params[len(target.bound):]:
        annotation = hints.get(param.name, param.annotation)
        shown = _annotation_text(param.annotation)
        if param.kind is param.VAR_POSITIONAL:
            extra = by_name.pop(f"*{param.name}", [])
            positional.extend(v for v, _ in extra)
            lines.append(f"*{param.name}: " + (", ".join(h for _, h in extra) or "empty"))
            continue
        if param.kind is param.VAR_KEYWORD:
            extra = by_name.pop(f"**{param.name}", {})
            keywords.update((k, v) for k, (v, _) in extra.items())
            lines.append(f"**{param.name}: " + (", ".join(f"{k}={h}" for k, (_, h) in extra.items()) or "empty"))
            continue
        has_default = param.default is not param.empty
        if param.name in by_name:
            value, how = by_name.pop(param.name)
        elif has_default and not _is_array_like(annotation):
            value, how = param.default, f"{param.default!r} (its default)"
        else:
            try:
                value, how = builder.for_parameter(param.name).build(annotation)
            except CannotBuild as exc:
                if has_default:
                    value, how = param.default, f"{param.default!r} (its default; {exc})"
                else:
                    raise UsageError(
                        f"cannot build an argument for parameter {param.name!r}"
                        f"{' (' + shown + ')' if shown else ''}: {exc}, and it has no default. Give it with "
                        f"--args '{param.name}=...' or --types '{param.name}=...', annotate it (torch.Tensor, "
                        "list[torch.Tensor], np.ndarray, int, ...) or give it a default value") from None
            else:
                if "stand-in" in how or "assumed" in how:
                    assumed.append(param.name)
        if param.kind is param.KEYWORD_ONLY:
            keywords[param.name] = value
        else:
            positional.append(value)
        lines.append(f"{param.name}{': ' + shown if shown else ''} -> {how}")
    return positional, keywords, lines, assumed


def _assign(params: list[inspect.Parameter], bound: int, given: Given) -> dict[str, Any]:
    """Map ``--args``/``--types`` values onto parameter names (``*args``/``**kwargs`` as
    ``"*args"``/``"**kwargs"``), or raise `UsageError` as a call with them would fail.

    Positional values start after the ``bound`` first parameters (``self``, ``cls``), which
    may still be given by name (``--args "self=Model()"``)."""
    positional, keywords = given
    slots = [p for p in params[bound:] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    double_star = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    assigned: dict[str, Any] = {}
    for param, value in zip(slots, positional):
        assigned[param.name] = value
    if len(positional) > len(slots):
        if star is None:
            raise UsageError(f"{len(positional)} positional values given, but the function takes {len(slots)}")
        assigned[f"*{star.name}"] = positional[len(slots):]
    names = {p.name for p in params if p.kind is not p.POSITIONAL_ONLY}
    for name, value in keywords.items():
        if name in assigned:
            raise UsageError(f"{name!r} is given twice (by position and by name, or in --args and --types)")
        if name in names:
            assigned[name] = value
        elif double_star is not None:
            assigned.setdefault(f"**{double_star.name}", {})[name] = value
        else:
            raise UsageError(f"the function has no parameter {name!r}")
    return assigned


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    if inspect.isclass(annotation) and not typing.get_args(annotation):
        module = annotation.__module__
        prefix = {"torch": "torch.", "numpy": "np.", "builtins": ""}.get(module, f"{module}.")
        return prefix + annotation.__qualname__
    return repr(annotation).replace("typing.", "")


# ----------------------------------------------------------------------------------------------
# The command


def _check_device(device: str) -> None:
    problem = device_problem(device)
    if problem:
        raise UsageError(f"--device {device}: {problem}")


def _given(args: argparse.Namespace, module: types.ModuleType, builder: Builder) -> Given:
    """``--args`` and ``--types`` together; positional values may come from one of them only."""
    values = evaluate_args(args.given_args, vars(module))
    typed = build_types(args.given_types, builder)
    if values[0] and typed[0]:
        raise UsageError("positional values in both --args and --types: give the others by name (NAME=...)")
    both = sorted(set(values[1]) & set(typed[1]))
    if both:
        raise UsageError(f"{both[0]!r} is given in both --args and --types")
    return values[0] or typed[0], {**typed[1], **values[1]}


def prepare(args: argparse.Namespace) -> tuple[Path, str, Target, Builder, tuple[list[Any], dict[str, Any], list[str], list[str]]]:
    """Everything ``run`` needs before ``explain``; `UsageError` for what the user must fix."""
    path, qualname = split_target(args.target)
    _check_device(args.device)
    shapes = dict(args.shape or ())
    try:
        builder = Builder(args.device, args.dtype, shapes.pop(None, DEFAULT_SHAPE), args.length, shapes)
    except GivenError as exc:
        raise UsageError(str(exc)) from None
    module = import_file(path)
    target = find_function(module, qualname, path)
    unknown = sorted(set(shapes) - set(inspect.signature(target.plain).parameters))
    if unknown:
        raise UsageError(f"--shape {unknown[0]}=...: {qualname} has no parameter {unknown[0]!r}")
    try:
        given = _given(args, module, builder)
    except GivenError as exc:
        raise UsageError(str(exc)) from None
    try:
        built = build_arguments(target, builder, given)
    except UsageError as exc:
        raise UsageError(f"{qualname}: {exc}") from None
    return path, qualname, target, builder, built


def run(args: argparse.Namespace) -> int:
    """Print the arguments used, then the decisions and the rewrite (or its diff) of ``args.target``."""
    try:
        path, qualname, target, builder, (positional, keywords, lines, assumed) = prepare(args)
    except UsageError as exc:
        print(f"looplift show: error: {exc}", file=sys.stderr)
        return 2

    from looplift import explain
    from looplift.signature import LARGE_NUMEL

    print(f"{path}:{qualname}: arguments (explain reads their types and sizes, it does not run the function):")
    for line in lines:
        print(f"  {line}")
    if assumed:
        print(f"assumed: {', '.join(assumed)}")
    numel = 1
    for dim in builder.shape:
        numel *= dim
    if builder.used_shape and args.device == "cpu" and numel < LARGE_NUMEL:
        print(f"note: --shape {','.join(map(str, builder.shape))} has {numel} elements, under the CPU cost "
              f"model's {LARGE_NUMEL} per item: only conversions are hoisted, nothing is lifted")
    print()
    try:
        report = explain(target.function, *positional, **keywords)
    except Exception as exc:
        logger.debug("explain failed", exc_info=True)
        print(f"looplift show: looplift failed on {qualname}: {type(exc).__name__}: {exc} "
              "(run with -vv for the traceback)", file=sys.stderr)
        return 1
    if not args.diff:
        print(report)
        return 0
    for line in decisions(report):
        print(line)
    print()
    diff = source_diff(report, target.plain.__name__, "looplift")
    if report.fallback or not diff:
        print("source: unchanged")
    else:
        print("\n".join(color_diff(diff, Style(use_color(args.no_color, sys.stdout)))))
    return 0
