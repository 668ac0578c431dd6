"""``looplift show FILE.py:FUNC``: the rewritten source and the decisions for one function.

The file is imported as a module under a name other than ``__main__`` (so its ``if __name__ ==
"__main__":`` block does not run); ``FUNC`` may be ``name`` or ``Class.method``.  ``explain``
needs arguments only for their types and sizes (it does not run the function), so they are
built from the parameter annotations:

* ``torch.Tensor`` -> a random tensor of ``--shape``, ``--dtype`` on ``--device`` (``--shape
  NAME=N,M`` gives one parameter its own shape, e.g. a 1-d bias);
* ``np.ndarray`` (also ``numpy.typing.NDArray[...]``) -> an array of ``--shape`` and ``--dtype``;
* ``list[X]`` / ``Sequence[X]`` / ``Iterable[X]`` -> a list of ``--length`` X; ``tuple[X, Y]``;
* ``int``, ``float``, ``bool``, ``str`` -> the parameter's default, else a stand-in value;
* ``X | None`` -> X (the case where there is a value to lift), unless the default is used;
* ``torch.dtype`` / ``torch.device`` -> ``--dtype`` / ``--device``.

A parameter without an annotation (or with one of another type) takes its default value; with
no default, the command stops and names it.  The default shape, 512x256, has 131072 elements:
the item size from which looplift's CPU cost model lifts values into torch (smaller values only
get their conversions hoisted), so the report shows what a realistic input gets.
"""
from __future__ import annotations

import argparse
import collections.abc
import importlib.util
import inspect
import logging
import re
import sys
import types
import typing
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arguments import positive_int

logger = logging.getLogger("looplift.cli.show")

DEFAULT_SHAPE = (512, 256)
DEFAULT_LENGTH = 4
STAND_INS: dict[type, Any] = {int: 10, float: 1.0, bool: False, str: "", complex: 1j}
SEQUENCES = (list, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Collection,
             collections.abc.MutableSequence, typing.List, typing.Sequence, typing.Iterable)


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
        name, help=help_text, description=help_text + ". Arguments are built from the parameter "
        "annotations (explain does not run the function).",
        epilog="exit status: 0 shown, 1 looplift failed on the function, 2 usage error "
               "(no such file or function, a file that does not import, a parameter it cannot build)",
    )
    parser.add_argument("target", metavar="FILE.py:FUNC", help="a file and a function in it (or Class.method)")
    parser.add_argument("--device", default="cpu", help="device of tensor arguments (default: cpu)")
    parser.add_argument("--dtype", default="float32",
                        help="dtype of tensor and array arguments (default: float32)")
    parser.add_argument("--shape", type=_shape, action="append", metavar="[NAME=]N,M",
                        help="shape of tensor and array arguments (default: 512,256 = 131072 elements, "
                             "the CPU cost model's lifting threshold for items); NAME=N,M sets one parameter's "
                             "shape (repeatable), e.g. --shape bias=128")
    parser.add_argument("--length", type=positive_int("a list needs at least one element (looplift keys on the first)"),
                        default=DEFAULT_LENGTH, metavar="N",
                        help=f"length of list arguments (default: {DEFAULT_LENGTH})")
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
# Building arguments from annotations


class CannotBuild(Exception):
    pass


@dataclass
class Builder:
    device: str
    dtype_name: str
    shape: tuple[int, ...]
    length: int
    shapes: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    """Per-parameter shapes (``--shape NAME=N,M``); ``for_parameter`` applies them."""

    def __post_init__(self) -> None:
        import numpy as np
        import torch

        torch_dtype = getattr(torch, self.dtype_name, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise UsageError(f"--dtype {self.dtype_name}: not a torch dtype (e.g. float32, float64, int64, bool)")
        self.torch_dtype = torch_dtype
        self.numpy_dtype: np.dtype[Any] | None
        try:
            self.numpy_dtype = np.dtype(self.dtype_name)
        except TypeError:
            self.numpy_dtype = None  # bfloat16 and friends: tensors only
        self.generator = torch.Generator().manual_seed(0)

    def for_parameter(self, name: str) -> "Builder":
        if name not in self.shapes:
            return self
        return dataclasses.replace(self, shape=self.shapes[name])

    # values ---------------------------------------------------------------------------------
    def tensor(self, dtype: Any = None) -> Any:
        import torch

        dtype = dtype or self.torch_dtype
        if dtype.is_floating_point or dtype.is_complex:
            value = torch.randn(self.shape, generator=self.generator).to(dtype)
        elif dtype is torch.bool:
            value = torch.rand(self.shape, generator=self.generator) > 0.5
        else:
            value = torch.randint(0, 10, self.shape, generator=self.generator).to(dtype)
        return value.to(self.device)

    def array(self, dtype: Any = None) -> Any:
        if dtype is None:
            if self.numpy_dtype is None:
                raise CannotBuild(f"NumPy has no dtype {self.dtype_name}")
            dtype = self.numpy_dtype
        return self.tensor().cpu().numpy().astype(dtype) if self.numpy_dtype is not None else \
            self.tensor().cpu().float().numpy().astype(dtype)

    def describe_tensor(self) -> str:
        return f"{self.dtype_name} tensor of shape {self.shape} on {self.device}"

    # annotations ----------------------------------------------------------------------------
    def build(self, annotation: Any) -> tuple[Any, str]:
        """A value for ``annotation`` and how it was made; ``CannotBuild`` otherwise."""
        import numpy as np
        import torch

        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if annotation is inspect.Parameter.empty:
            raise CannotBuild("no annotation")
        if isinstance(annotation, str):
            raise CannotBuild(f"annotation {annotation!r} could not be evaluated")
        if inspect.isclass(annotation) and issubclass(annotation, torch.Tensor):
            return self.tensor(), self.describe_tensor()
        if annotation is np.ndarray or origin is np.ndarray:
            dtype = _ndarray_dtype(args)
            value = self.array(dtype)
            return value, f"{value.dtype} array of shape {self.shape}"
        if origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            errors = []
            for member in members:
                try:
                    value, how = self.build(member)
                except CannotBuild as exc:
                    errors.append(str(exc))
                    continue
                return value, how + (" (assumed not None)" if len(members) < len(args) else "")
            raise CannotBuild("; ".join(errors) or "no buildable member")
        if annotation in SEQUENCES or origin in SEQUENCES:
            if not args:
                raise CannotBuild("a list without an element type (write list[torch.Tensor])")
            items = [self.build(args[0]) for _ in range(self.length)]
            return [v for v, _ in items], f"list of {self.length} × {items[0][1]}"
        if annotation is tuple or origin is tuple:
            if not args:
                raise CannotBuild("a tuple without element types")
            if len(args) == 2 and args[1] is Ellipsis:
                items = [self.build(args[0]) for _ in range(self.length)]
                return tuple(v for v, _ in items), f"tuple of {self.length} × {items[0][1]}"
            items = [self.build(a) for a in args]
            return tuple(v for v, _ in items), "(" + ", ".join(h for _, h in items) + ")"
        if annotation is torch.dtype:
            return self.torch_dtype, f"{self.torch_dtype} (--dtype)"
        if annotation is torch.device:
            return torch.device(self.device), f"device {self.device!r} (--device)"
        if annotation in STAND_INS:
            value = STAND_INS[annotation]
            return value, f"{value!r} (a stand-in: looplift specializes on the type, not the value)"
        if annotation is type(None) or annotation is None:
            return None, "None"
        name = getattr(annotation, "__qualname__", None) or repr(annotation)
        raise CannotBuild(f"annotation {name} is not one show knows how to build")


def _ndarray_dtype(args: tuple[Any, ...]) -> Any:
    """The scalar type of ``np.ndarray[shape, np.dtype[T]]`` (``NDArray[T]``), if concrete."""
    import numpy as np

    if len(args) == 2:
        dtype_args = typing.get_args(args[1])
        if dtype_args and inspect.isclass(dtype_args[0]) and issubclass(dtype_args[0], np.generic) \
                and dtype_args[0] not in (np.generic, np.number, np.floating, np.integer, np.inexact):
            return np.dtype(dtype_args[0])
    return None


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


def build_arguments(target: Target, builder: Builder) -> tuple[list[Any], dict[str, Any], list[str], list[str]]:
    """Positional and keyword arguments for ``explain``, a line per parameter, and the assumed ones.

    Tensors, arrays and containers of them come from the annotation (``--shape`` and friends);
    anything else takes its default value when it has one, else a value from its annotation."""
    signature = inspect.signature(target.plain)
    hints = _hints(target.plain)
    params = list(signature.parameters.values())
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    lines: list[str] = []
    assumed: list[str] = []
    for (name, value, how), param in zip(target.bound, params):
        positional.append(value)
        lines.append(f"{param.name}: {how}")
        assumed.append(param.name)
    for param in params[len(target.bound):]:
        annotation = hints.get(param.name, param.annotation)
        shown = _annotation_text(param.annotation)
        if param.kind is param.VAR_POSITIONAL:
            lines.append(f"*{param.name}: empty")
            continue
        if param.kind is param.VAR_KEYWORD:
            lines.append(f"**{param.name}: empty")
            continue
        has_default = param.default is not param.empty
        if has_default and not _is_array_like(annotation):
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
                        f"{' (' + shown + ')' if shown else ''}: {exc}, and it has no default. Annotate it "
                        "(torch.Tensor, np.ndarray, list[torch.Tensor], int, float, ...) or give it a "
                        "default value") from None
            else:
                if "stand-in" in how or "assumed" in how:
                    assumed.append(param.name)
        if param.kind is param.KEYWORD_ONLY:
            keywords[param.name] = value
        else:
            positional.append(value)
        lines.append(f"{param.name}{': ' + shown if shown else ''} -> {how}")
    return positional, keywords, lines, assumed


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
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise UsageError(f"--device {device}: not a torch device ({exc})") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: no CUDA GPU is available here (torch.cuda.is_available() is False)")
    if parsed.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError(f"--device {device}: MPS is not available here")


def run(args: argparse.Namespace) -> int:
    """Print the rewritten source and decisions of ``args.target``."""
    try:
        path, qualname = split_target(args.target)
        _check_device(args.device)
        shapes = dict(args.shape or ())
        builder = Builder(args.device, args.dtype, shapes.pop(None, DEFAULT_SHAPE), args.length, shapes)
        module = import_file(path)
        target = find_function(module, qualname, path)
        unknown = sorted(set(shapes) - set(inspect.signature(target.plain).parameters))
        if unknown:
            raise UsageError(f"--shape {unknown[0]}=...: {qualname} has no parameter {unknown[0]!r}")
        positional, keywords, lines, assumed = build_arguments(target, builder)
    except UsageError as exc:
        print(f"looplift show: error: {exc}", file=sys.stderr)
        return 2

    from looplift import explain
    from looplift.signature import LARGE_NUMEL

    print(f"{path}:{qualname}: arguments (built from the annotations; explain reads their types and "
          "sizes, it does not run the function):")
    for line in lines:
        print(f"  {line}")
    if assumed:
        print(f"assumed: {', '.join(assumed)}")
    numel = 1
    for dim in builder.shape:
        numel *= dim
    if args.device == "cpu" and numel < LARGE_NUMEL:
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
    print(report)
    return 0
