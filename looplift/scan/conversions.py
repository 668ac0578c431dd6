"""Which calls are tensor<->NumPy conversions, and what each one converts.

A chain such as ``x.detach().cpu().numpy()`` is *one* conversion of ``x``: the calls that do
not change what is converted (``.detach()``, ``.cpu()``, ``.to(...)``, dtype casts) are stripped
off and reported as part of it, never on their own.  What is left, the ``source``, is what the
invariance check looks at.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from looplift.semantics import (ALIASING_ATTRIBUTES, CONVERSION_STEPS, HOST_READ_BUILTINS, HOST_READ_METHODS,
                                LEGACY_TENSOR_CONSTRUCTORS, TO_NUMPY_FUNCTIONS, TO_TENSOR_FUNCTIONS)

from .calls import display_name
from .kinds import ARRAYS, Kind, KindInference

#: Host reads reported as syncs: ``x.item()``, ``x.tolist()`` (``.numpy()`` is a conversion of its own).
_SYNC_METHODS = frozenset(m for m, kind in HOST_READ_METHODS.items() if kind != "array")

#: direction -> how messages name it
NOUNS = {
    "to_numpy": "tensor->NumPy conversion",
    "to_tensor": "NumPy->tensor conversion",
    "sync": "host sync",
    "to_host": "device->host copy",
}


@dataclass(frozen=True)
class Conversion:
    """A conversion call: ``source`` is what is converted once transparent calls are stripped,
    ``extra`` what else the result depends on (``.to(device)``, ``dtype=``), ``absorbed`` the
    ids of the stripped calls."""

    direction: str  # a key of NOUNS
    source: ast.expr
    extra: tuple[ast.expr, ...]
    absorbed: tuple[int, ...]
    what: str = ""  # host syncs: ".item()", "float()", named in the python-level reason
    immutable_result: bool = False
    """The result is a Python scalar (``.item()``, ``float(t)``), not an object one could modify."""


def classify(node: ast.Call, qualified: str, infer: KindInference) -> Conversion | None:
    """The conversion ``node`` performs, or ``None``.  ``qualified`` is its resolved callee."""
    func = node.func
    if isinstance(func, ast.Attribute) and not node.args:
        method = func.attr
        if method == "numpy":
            return _stripped("to_numpy", func.value)
        if method in _SYNC_METHODS and not node.keywords:
            scalar = HOST_READ_METHODS[method] == "scalar"
            sync = _stripped("sync", func.value, (), f".{method}()", scalar)
            # an ndarray's .item() is no sync, but x.numpy().item() is one (of x)
            known_array = not sync.absorbed and infer.kind_of(func.value) in ARRAYS
            return None if known_array else sync
        if method == "cpu":
            return _stripped("to_host", func.value)
    if isinstance(func, ast.Attribute) and func.attr == "to" and _targets_cpu(node):
        return _stripped("to_host", func.value)
    if not node.args:
        return None
    source, rest = node.args[0], (*node.args[1:], *(k.value for k in node.keywords))
    if qualified in TO_NUMPY_FUNCTIONS and infer.is_tensor(source):
        return _stripped("to_numpy", source, rest)
    if qualified in TO_TENSOR_FUNCTIONS or qualified in LEGACY_TENSOR_CONSTRUCTORS and _is_data(node, infer):
        return Conversion("to_tensor", source, rest, ())  # a NumPy source: nothing to strip
    if qualified in HOST_READ_BUILTINS and len(node.args) == 1 and infer.is_tensor(source):
        return _stripped("sync", source, (), f"{display_name(qualified)}()", True)
    return None


def _stripped(direction: str, value: ast.expr, extra: tuple[ast.expr, ...] = (), what: str = "",
              immutable: bool = False) -> Conversion:
    """Strip transparent calls off ``value`` (``x.detach().cpu()`` -> ``x``, ``x.data`` -> ``x``): one conversion.

    Host syncs also absorb a ``.numpy()``: ``x.numpy().tolist()`` is one ``.tolist()``.
    """
    absorbed: list[int] = []
    extras = list(extra)
    while True:
        if isinstance(value, ast.Attribute) and value.attr in ALIASING_ATTRIBUTES:  # x.cpu().data.numpy()
            value = value.value
            continue
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
            break
        method = value.func.attr
        plain = not value.args and not value.keywords
        if not (method in CONVERSION_STEPS and (plain or method == "to")
                or direction == "sync" and method == "numpy" and plain):
            break
        absorbed.append(id(value))
        extras.extend((*value.args, *(k.value for k in value.keywords)))
        value = value.func.value
    return Conversion(direction, value, tuple(extras), tuple(absorbed), what, immutable)


def _targets_cpu(call: ast.Call) -> bool:
    """``x.to("cpu")``, ``x.to(device="cpu")``, ``x.to(torch.device("cpu"))``."""
    values = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "device")]
    for value in values:
        if isinstance(value, ast.Call) and value.args:
            value = value.args[0]
        if isinstance(value, ast.Constant) and value.value == "cpu":
            return True
    return False


def _is_data(call: ast.Call, infer: KindInference) -> bool:
    """``torch.FloatTensor(state)`` copies data; ``torch.FloatTensor(3, 4)``, ``torch.Tensor(n)``
    with an int, ``torch.Tensor(x.shape)`` and ``torch.Tensor(t)`` of a tensor do not convert."""
    if len(call.args) != 1:
        return False
    arg = call.args[0]
    if isinstance(arg, ast.Starred) or isinstance(arg, ast.Constant) and not isinstance(arg.value, (list, tuple)):
        return False
    if isinstance(arg, ast.Attribute) and arg.attr == "shape" or \
            isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "size":
        return False
    return infer.kind_of(arg) is not Kind.TENSOR
