"""Which expressions are known to hold a tensor or a NumPy array (tensor provenance).

``x.numpy()`` is reported whatever ``x`` is, but ``np.asarray(x)`` and ``float(x)`` are
conversions only when ``x`` is a tensor, and flagging every ``np.asarray`` in a loop would drown
users in false positives.  So the scan tracks, per function, which names are *known* to hold a
tensor: assigned from ``torch.*``, ``.detach()``/``.cpu()``/``.to(...)`` and other tensor-only
methods, arithmetic on a tensor, or annotated ``torch.Tensor``.  Unknown stays unknown.

The inference is flow-insensitive within a function (the last assignment visited wins) and
never raises: it only ever answers "known kind" or ``None``.
"""
from __future__ import annotations

import ast
import enum
from typing import Callable, Iterable, Iterator

from looplift.semantics import CONVERSION_STEPS

from .names import ImportAliases


class Kind(enum.Enum):
    """What a name or expression is known to hold."""

    TENSOR = "tensor"
    TENSORS = "list of tensors"  # iterating or indexing it gives a tensor
    ARRAY = "ndarray"
    TENSOR_ARRAY = "ndarray computed from a tensor"  # what @looplift keeps in torch


ARRAYS = (Kind.ARRAY, Kind.TENSOR_ARRAY)

#: torch namespaces whose functions return tensors (minus ``_NOT_TENSOR``).
_TENSOR_MODULES = frozenset({"torch", "torch.nn.functional", "torch.linalg", "torch.fft", "torch.special"})
_NOT_TENSOR = frozenset({
    "device", "dtype", "Size", "Generator", "finfo", "iinfo", "no_grad", "enable_grad",
    "inference_mode", "set_grad_enabled", "autocast", "numel", "typename", "manual_seed", "seed",
    "initial_seed", "load", "save", "compile", "result_type", "promote_types", "can_cast",
    "broadcast_shapes", "use_deterministic_algorithms",
})
_TENSORS_FUNCTIONS = frozenset({
    "split", "chunk", "unbind", "tensor_split", "hsplit", "vsplit", "dsplit", "meshgrid",
    "broadcast_tensors", "unravel_index",
})
#: Methods that only tensors have, so the receiver and the result are tensors: the steps of a
#: conversion chain (``.detach()``, ``.cpu()``, ``.to(...)``, dtype casts) and a few more.
_TENSOR_METHODS = CONVERSION_STEPS | frozenset({
    "permute", "unsqueeze", "expand", "expand_as", "softmax", "log_softmax", "sigmoid", "masked_fill",
    "type_as", "view_as", "pin_memory",
})
_TENSOR_SCALAR_METHODS = frozenset({
    "item", "tolist", "numpy", "size", "dim", "ndimension", "numel", "nelement", "element_size",
    "data_ptr", "stride", "is_contiguous", "is_floating_point", "get_device", "equal", "allclose",
    "storage", "untyped_storage", "backward", "register_hook", "__len__",
})
_TENSORS_METHODS = frozenset({"split", "chunk", "unbind", "tensor_split"})
_ARRAY_SCALAR_METHODS = frozenset({"item", "tolist", "tobytes", "tofile", "dump", "dumps", "__len__"})
_TENSOR_ATTRIBUTES = frozenset({"data", "T", "mT", "H", "mH", "real", "imag"})
_ARRAY_ATTRIBUTES = frozenset({"T", "real", "imag"})
_TENSOR_TYPES = frozenset({"torch.Tensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_ARRAY_TYPES = frozenset({"numpy.ndarray", "numpy.typing.NDArray"})
_SEQUENCE_TYPES = frozenset({
    "list", "List", "tuple", "Tuple", "Sequence", "MutableSequence", "Iterable", "Iterator",
    "Collection",
})


def _combine(kinds: Iterable[Kind | None]) -> Kind | None:
    """The kind of arithmetic on operands of these kinds: a tensor operand makes a tensor."""
    seen = set(kinds)
    for kind in (Kind.TENSOR, Kind.TENSOR_ARRAY, Kind.ARRAY):
        if kind in seen:
            return kind
    return None


class KindInference:
    """Answers "what does this expression hold?" given the kinds of names in scope."""

    def __init__(self, aliases: ImportAliases, lookup: Callable[[str], Kind | None]) -> None:
        self._aliases = aliases
        self._lookup = lookup

    def kind_of(self, expr: ast.expr) -> Kind | None:
        """The known kind of ``expr``'s value, or ``None`` when it is not known."""
        if isinstance(expr, ast.Name):
            return self._lookup(expr.id)
        if isinstance(expr, ast.Call):
            return self._call_kind(expr)
        if isinstance(expr, ast.Attribute):
            if expr.attr == "grad":
                return Kind.TENSOR
            owner = self.kind_of(expr.value)
            if owner is Kind.TENSOR and expr.attr in _TENSOR_ATTRIBUTES:
                return Kind.TENSOR
            return owner if owner in ARRAYS and expr.attr in _ARRAY_ATTRIBUTES else None
        if isinstance(expr, ast.Subscript):
            owner = self.kind_of(expr.value)
            if owner is Kind.TENSORS and not isinstance(expr.slice, ast.Slice):
                return Kind.TENSOR
            return owner
        if isinstance(expr, ast.BinOp):
            operands = []
            while isinstance(expr, ast.BinOp):  # iterative: generated code has 1000-term chains
                operands.append(expr.right)
                expr = expr.left
            operands.append(expr)
            return _combine(self.kind_of(e) for e in operands)
        if isinstance(expr, ast.UnaryOp) and not isinstance(expr.op, ast.Not):
            return _combine((self.kind_of(expr.operand),))
        if isinstance(expr, ast.IfExp):
            kind = self.kind_of(expr.body)
            return kind if kind is self.kind_of(expr.orelse) else None
        if isinstance(expr, (ast.List, ast.Tuple)) and expr.elts:
            tensors = all(self.kind_of(e) is Kind.TENSOR for e in expr.elts)
            return Kind.TENSORS if tensors else None
        if isinstance(expr, ast.NamedExpr):
            return self.kind_of(expr.value)
        return None

    def is_tensor(self, expr: ast.expr) -> bool:
        """Whether ``expr`` is known to hold a tensor."""
        return self.kind_of(expr) is Kind.TENSOR

    def _call_kind(self, call: ast.Call) -> Kind | None:
        func = call.func
        qualified = self._aliases.resolve(func)
        if qualified is not None and "." in qualified:
            module, _, name = qualified.rpartition(".")
            if module in _TENSOR_MODULES or qualified in _TENSOR_TYPES:
                if name in _NOT_TENSOR or name.startswith(("is_", "get_", "set_")):
                    return None
                return Kind.TENSORS if name in _TENSORS_FUNCTIONS else Kind.TENSOR
            if qualified.startswith("numpy."):
                args = [*call.args, *(k.value for k in call.keywords)]
                derived = any(self.kind_of(a) in (Kind.TENSOR, Kind.TENSOR_ARRAY) for a in args)
                return Kind.TENSOR_ARRAY if derived else Kind.ARRAY
        if not isinstance(func, ast.Attribute):
            return None
        method = func.attr
        if method in _TENSOR_METHODS:
            return Kind.TENSOR
        if method == "numpy":
            return Kind.TENSOR_ARRAY
        owner = self.kind_of(func.value)
        if owner is Kind.TENSOR:
            if method in _TENSORS_METHODS:
                return Kind.TENSORS
            return None if method in _TENSOR_SCALAR_METHODS else Kind.TENSOR
        if owner in ARRAYS:
            return None if method in _ARRAY_SCALAR_METHODS else owner
        return None

    def annotation_kind(self, annotation: ast.expr | None) -> Kind | None:
        """The kind an annotation promises: ``torch.Tensor``, ``list[Tensor]``, ``NDArray``..."""
        if annotation is None:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:  # a string annotation: "torch.Tensor"
                return self.annotation_kind(ast.parse(annotation.value, mode="eval").body)
            except (SyntaxError, ValueError, RecursionError):
                return None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self._union_kind([annotation.left, annotation.right])
        if isinstance(annotation, ast.Subscript):
            base = self._aliases.resolve(annotation.value) or ""
            name = base.rpartition(".")[2]
            inner = annotation.slice
            members = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if base in _ARRAY_TYPES:
                return Kind.ARRAY
            if name in ("Optional", "Union"):
                return self._union_kind(members)
            if name == "Annotated":
                return self.annotation_kind(members[0])
            if name in _SEQUENCE_TYPES:
                elements = [m for m in members if not (isinstance(m, ast.Constant) and m.value is ...)]
                if elements and all(self.annotation_kind(m) is Kind.TENSOR for m in elements):
                    return Kind.TENSORS
            return None
        qualified = self._aliases.resolve(annotation)
        if qualified in _TENSOR_TYPES:
            return Kind.TENSOR
        return Kind.ARRAY if qualified in _ARRAY_TYPES else None

    def _union_kind(self, members: list[ast.expr]) -> Kind | None:
        """``X | None`` and ``Optional[X]`` promise X; a union of different kinds promises nothing."""
        kinds = {self.annotation_kind(m) for m in members
                 if not (isinstance(m, ast.Constant) and m.value is None)}
        return kinds.pop() if len(kinds) == 1 else None

    def assignment(self, target: ast.expr, value: ast.expr | None) -> Iterator[tuple[str, Kind | None]]:
        """The (name, kind) pairs that ``target = value`` binds; ``value=None`` means unknown."""
        if isinstance(target, ast.Name):
            yield target.id, None if value is None else self.kind_of(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if (isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
                    and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))):
                for sub_target, sub_value in zip(target.elts, value.elts):
                    yield from self.assignment(sub_target, sub_value)
                return
            whole = None if value is None else self.kind_of(value)
            element = Kind.TENSOR if whole in (Kind.TENSOR, Kind.TENSORS) else None
            for sub_target in target.elts:
                yield from self._unknown_or(sub_target, element)
        elif isinstance(target, ast.Starred):
            yield from self.assignment(target.value, None)

    def _unknown_or(self, target: ast.expr, kind: Kind | None) -> Iterator[tuple[str, Kind | None]]:
        """Bind every name in ``target`` to ``kind`` (a starred name gets a list: unknown)."""
        if isinstance(target, ast.Name):
            yield target.id, kind
        elif isinstance(target, (ast.Tuple, ast.List)):
            for sub_target in target.elts:
                yield from self._unknown_or(sub_target, kind)
        elif isinstance(target, ast.Starred):
            yield from self.assignment(target.value, None)

    def iteration(self, target: ast.expr, iterable: ast.expr) -> Iterator[tuple[str, Kind | None]]:
        """The (name, kind) pairs that ``for target in iterable`` binds on each iteration.

        Understands ``enumerate(xs)`` and ``zip(xs, ys)`` so that ``for i, t in enumerate(ts)``
        knows ``t`` is a tensor when ``ts`` is a ``list[torch.Tensor]``.
        """
        if isinstance(iterable, ast.Call) and isinstance(target, ast.Tuple) and not iterable.keywords:
            func = self._aliases.resolve(iterable.func)
            elts = target.elts
            if func == "builtins.enumerate" and len(elts) == 2 and iterable.args:
                yield from self._unknown_or(elts[0], None)
                yield from self._unknown_or(elts[1], self.element_kind(iterable.args[0]))
                return
            if func == "builtins.zip" and len(elts) == len(iterable.args):
                for sub_target, source in zip(elts, iterable.args):
                    yield from self._unknown_or(sub_target, self.element_kind(source))
                return
        element = self.element_kind(iterable)
        if isinstance(target, ast.Name):
            yield target.id, element
        else:
            yield from self._unknown_or(target, Kind.TENSOR if element is Kind.TENSOR else None)

    def element_kind(self, iterable: ast.expr) -> Kind | None:
        """The kind of the items of ``iterable`` (a tensor for a ``list[torch.Tensor]``)."""
        kind = self.kind_of(iterable)
        return Kind.TENSOR if kind is Kind.TENSORS else kind
