"""Argument values for ``looplift show``: from the command line, from annotations, or defaults.

``explain`` reads only the types and sizes of its arguments (it does not run the function), so
``show`` needs example values, which come from, in order of precedence:

* ``--args "EXPR, ..., NAME=EXPR"``: Python call arguments, evaluated with the file's own globals
  plus ``torch``, ``np`` and ``numpy`` in scope (``--args "torch.randn(8, 4), n=3"``);
* ``--types "TYPE, ..., NAME=TYPE"``: the same call syntax with a type per argument (below);
* the parameter's annotation (``torch.Tensor``, ``list[torch.Tensor]``, ``np.ndarray``, ...);
* the parameter's default value.

A TYPE is ``Tensor[...]`` or ``ndarray[...]`` whose items, in any order, are a dtype
(``float32``), a shape (``(16, 512)``, ``()`` for 0-d) and, for tensors, a device (``"cuda"``);
what is left out comes from ``--dtype``, ``--shape`` and ``--device``.  ``list[T]`` is a list of
``--length`` items (``list[T, 8]``: of 8), ``tuple[T1, T2]`` and ``tuple[T, ...]`` tuples;
``int``, ``float``, ``bool``, ``str`` stand-in values, and a literal (``3``, ``0.5``, ``None``) is
that value.  Example: ``--types "list[Tensor[float32, (16, 512)]], scale=float"``.
"""
from __future__ import annotations

import ast
import collections.abc
import dataclasses
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any

from .arguments import device_problem

STAND_INS: dict[type, Any] = {int: 10, float: 1.0, bool: False, str: "", complex: 1j}
SEQUENCES = (list, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Collection,
             collections.abc.MutableSequence, typing.List, typing.Sequence, typing.Iterable)
_TENSOR_NAMES = frozenset({"Tensor", "torch.Tensor"})
_ARRAY_NAMES = frozenset({"ndarray", "np.ndarray", "numpy.ndarray", "array", "NDArray", "npt.NDArray"})
_LIST_NAMES = frozenset({"list", "List", "Sequence", "Iterable"})
_TUPLE_NAMES = frozenset({"tuple", "Tuple"})
_SCALAR_NAMES = {"int": int, "float": float, "bool": bool, "str": str, "complex": complex}


class CannotBuild(Exception):
    """No value can be made for this annotation or type (the message says why)."""


class GivenError(ValueError):
    """A malformed or failing ``--args``/``--types`` value (a usage error, one line)."""


Given = tuple[list[tuple[Any, str]], dict[str, tuple[Any, str]]]
"""Positional and keyword values with how each was made."""


def describe(value: Any) -> str:
    """A short description of a value: dtype, shape, device; containers by their length."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)} on {value.device}"
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, list):
        return f"list of {len(value)} × {describe(value[0])}" if value else "empty list"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    return repr(value)


@dataclass
class Builder:
    """Makes tensors, arrays and containers of them for annotations and ``--types``."""

    device: str
    dtype_name: str
    shape: tuple[int, ...]
    length: int
    shapes: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    """Per-parameter shapes (``--shape NAME=N,M``); ``for_parameter`` applies them."""
    used_shape: bool = False
    """Some value got ``shape`` (not a shape of its own): ``show`` notes when it is small."""

    def __post_init__(self) -> None:
        import numpy as np
        import torch

        torch_dtype = getattr(torch, self.dtype_name, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise GivenError(f"--dtype {self.dtype_name}: not a torch dtype (e.g. float32, float64, int64, bool)")
        self.torch_dtype = torch_dtype
        self.numpy_dtype: np.dtype[Any] | None
        try:
            self.numpy_dtype = np.dtype(self.dtype_name)
        except TypeError:
            self.numpy_dtype = None  # bfloat16 and friends: tensors only
        self.generator = torch.Generator().manual_seed(0)

    def for_parameter(self, name: str) -> Builder:
        """This builder, or a copy whose shape is the parameter's own ``--shape NAME=...``."""
        if name not in self.shapes:
            return self
        return dataclasses.replace(self, shape=self.shapes[name])

    # values ---------------------------------------------------------------------------------
    def tensor(self, dtype: Any = None, shape: tuple[int, ...] | None = None, device: str | None = None) -> Any:
        import torch

        dtype = dtype or self.torch_dtype
        if shape is None:
            shape, self.used_shape = self.shape, True
        if dtype.is_floating_point or dtype.is_complex:
            value = torch.randn(shape, generator=self.generator).to(dtype)
        elif dtype is torch.bool:
            value = torch.rand(shape, generator=self.generator) > 0.5
        else:
            value = torch.randint(0, 10, shape, generator=self.generator).to(dtype)
        return value.to(device or self.device)

    def array(self, dtype: Any = None, shape: tuple[int, ...] | None = None) -> Any:
        if dtype is None:
            if self.numpy_dtype is None:
                raise CannotBuild(f"NumPy has no dtype {self.dtype_name}")
            dtype = self.numpy_dtype
        tensor = self.tensor(shape=shape, device="cpu")
        return (tensor if self.numpy_dtype is not None else tensor.float()).numpy().astype(dtype)

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
            value = self.tensor()
            return value, describe(value)
        if annotation is np.ndarray or origin is np.ndarray:
            value = self.array(_ndarray_dtype(args))
            return value, describe(value)
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
            return _stand_in(annotation)
        if annotation is type(None) or annotation is None:
            return None, "None"
        name = getattr(annotation, "__qualname__", None) or repr(annotation)
        raise CannotBuild(f"annotation {name} is not one show knows how to build")

    # --types ----------------------------------------------------------------------------------
    def build_type(self, node: ast.expr) -> tuple[Any, str]:
        """A value for one ``--types`` entry (an expression tree); ``CannotBuild`` otherwise."""
        if isinstance(node, ast.Constant) and node.value is not ...:
            return node.value, repr(node.value)
        name = _dotted(node.value if isinstance(node, ast.Subscript) else node)
        items = _items(node.slice) if isinstance(node, ast.Subscript) else []
        if name in _TENSOR_NAMES or name in _ARRAY_NAMES:
            return self._array_type(name in _TENSOR_NAMES, items, ast.unparse(node))
        if name in _LIST_NAMES or name in _TUPLE_NAMES:
            return self._container_type(name in _LIST_NAMES, items, ast.unparse(node))
        if name in _SCALAR_NAMES and not items:
            return _stand_in(_SCALAR_NAMES[name])
        raise CannotBuild(f"{ast.unparse(node)!r} is not a type show knows (Tensor[...], ndarray[...], list[...], "
                          "tuple[...], int, float, bool, str, or a literal)")

    def _array_type(self, tensor: bool, items: list[ast.expr], text: str) -> tuple[Any, str]:
        import torch

        dtype: Any = None
        shape: tuple[int, ...] | None = None
        device: str | None = None
        dims = [i for i in items if isinstance(i, ast.Constant) and type(i.value) is int]
        if dims:  # Tensor[16, 512], Tensor[(16, 512)] (the same to Python) and Tensor[float32, 16, 512]
            shape = _shape(ast.Tuple(dims, ast.Load()), text)
        for item in items:
            if item in dims:
                continue
            if isinstance(item, ast.Tuple) and shape is None:
                shape = _shape(item, text)
            elif isinstance(item, ast.Constant) and isinstance(item.value, str) and tensor:
                device = item.value
            elif isinstance(getattr(torch, _dotted(item).rpartition(".")[2], None), torch.dtype):
                dtype = getattr(torch, _dotted(item).rpartition(".")[2])
            else:
                what = "a dtype (float32), a shape ((16, 512)) or a device ('cuda')" if tensor else \
                    "a dtype (float32) or a shape ((16, 512))"
                raise CannotBuild(f"{text!r}: {ast.unparse(item)!r} is not {what}")
        if tensor:
            if device is not None:
                _check_device(device)
            value = self.tensor(dtype, shape, device)
        else:
            value = self.array(None if dtype is None else _numpy_dtype(dtype), shape)
        return value, describe(value)

    def _container_type(self, is_list: bool, items: list[ast.expr], text: str) -> tuple[Any, str]:
        if not items:
            raise CannotBuild(f"{text!r}: give the element type ({'list' if is_list else 'tuple'}[Tensor])")
        if is_list:
            length = self.length
            if len(items) == 2 and isinstance(items[1], ast.Constant) and type(items[1].value) is int:
                length = items[1].value
            elif len(items) != 1:
                raise CannotBuild(f"{text!r}: write list[T] or list[T, LENGTH]")
            built = [self.build_type(items[0]) for _ in range(length)]
            return [v for v, _ in built], f"list of {length} × {built[0][1]}" if built else "empty list"
        if len(items) == 2 and isinstance(items[1], ast.Constant) and items[1].value is ...:
            built = [self.build_type(items[0]) for _ in range(self.length)]
            return tuple(v for v, _ in built), f"tuple of {self.length} × {built[0][1]}"
        built = [self.build_type(item) for item in items]
        return tuple(v for v, _ in built), "(" + ", ".join(h for _, h in built) + ")"


def _numpy_dtype(dtype: Any) -> Any:
    import numpy as np

    name = str(dtype).removeprefix("torch.")
    try:
        return np.dtype(name)
    except TypeError:
        raise CannotBuild(f"NumPy has no dtype {name}") from None


def _stand_in(kind: type) -> tuple[Any, str]:
    value = STAND_INS[kind]
    return value, f"{value!r} (a stand-in: looplift specializes on the type, not the value)"


def _ndarray_dtype(args: tuple[Any, ...]) -> Any:
    """The scalar type of ``np.ndarray[shape, np.dtype[T]]`` (``NDArray[T]``), if concrete."""
    import numpy as np

    if len(args) == 2:
        dtype_args = typing.get_args(args[1])
        if dtype_args and inspect.isclass(dtype_args[0]) and issubclass(dtype_args[0], np.generic) \
                and dtype_args[0] not in (np.generic, np.number, np.floating, np.integer, np.inexact):
            return np.dtype(dtype_args[0])
    return None


def _dotted(node: ast.expr) -> str:
    """``torch.Tensor`` -> ``"torch.Tensor"``; anything else -> ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value)
        return f"{owner}.{node.attr}" if owner else ""
    return ""


def _items(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _shape(node: ast.expr, text: str) -> tuple[int, ...]:
    dims = node.elts if isinstance(node, ast.Tuple) else [node]
    if not all(isinstance(d, ast.Constant) and type(d.value) is int and d.value >= 0 for d in dims):
        raise CannotBuild(f"{text!r}: a shape is a tuple of sizes, such as (16, 512)")
    return tuple(d.value for d in dims)  # type: ignore[attr-defined]


def _check_device(device: str) -> None:
    problem = device_problem(device)
    if problem:
        raise CannotBuild(f"device {device!r}: {problem}")


# ----------------------------------------------------------------------------------------------
# --args and --types


def _call_arguments(text: str, option: str) -> tuple[list[ast.expr], dict[str, ast.expr]]:
    """``"a, b, n=3"`` -> the expressions of a call's positional and keyword arguments."""
    try:
        call = ast.parse(f"_(\n{text}\n)", mode="eval").body
    except SyntaxError as exc:
        raise GivenError(f"{option} {text!r}: not a list of arguments ({exc.msg})") from None
    assert isinstance(call, ast.Call)
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise GivenError(f"{option} {text!r}: *values and **values are not supported; list them")
    return list(call.args), {k.arg: k.value for k in call.keywords if k.arg is not None}


def evaluate_args(texts: list[str], namespace: dict[str, Any]) -> Given:
    """``--args`` values: each expression evaluated in ``namespace``."""
    import numpy as np
    import torch

    scope = {"torch": torch, "np": np, "numpy": np, **namespace}
    positional: list[tuple[Any, str]] = []
    keywords: dict[str, tuple[Any, str]] = {}

    def value(node: ast.expr) -> tuple[Any, str]:
        source = ast.unparse(node)
        try:
            result = eval(compile(ast.Expression(node), "<--args>", "eval"), scope)  # noqa: S307 - the user's input
        except Exception as exc:
            raise GivenError(f"--args: {source} failed: {type(exc).__name__}: {exc}") from None
        return result, f"{describe(result)} (--args {source})"

    for text in texts:
        args, kwargs = _call_arguments(text, "--args")
        positional.extend(value(a) for a in args)
        for name, node in kwargs.items():
            keywords[name] = value(node)
    return positional, keywords


def build_types(texts: list[str], builder: Builder) -> Given:
    """``--types`` values: each type built by ``builder``."""
    positional: list[tuple[Any, str]] = []
    keywords: dict[str, tuple[Any, str]] = {}

    def value(node: ast.expr, name: str | None) -> tuple[Any, str]:
        try:
            result, how = (builder.for_parameter(name) if name else builder).build_type(node)
        except CannotBuild as exc:
            raise GivenError(f"--types: {exc}") from None
        return result, f"{how} (--types {ast.unparse(node)})"

    for text in texts:
        args, kwargs = _call_arguments(text, "--types")
        positional.extend(value(a, None) for a in args)
        for name, node in kwargs.items():
            keywords[name] = value(node, name)
    return positional, keywords
