"""Lowering: an entry's NumPy semantics decided once, when the code is generated.

At specialization time every operand's dtype, rank and kind is known (and literal arguments
such as ``axis=0`` are known by value), so what the runtime interpreter (``calling.py``) works
out on every call can be decided once.  An entry's ``lower`` function receives a ``Call``, the
abstract operands under placeholder names (``_0``, ``_1``, ... for positional operands,
``_k_<name>`` for keywords) and NumPy's own result for them, and returns an ``Emit``: a torch
expression over those names that gives exactly NumPy's result, or raises ``Refuse`` with the
reason the call stays in NumPy.

What an expression may assume about its operands:

* a lifted array operand (``ArrayV(lifted=True)``) is a ``torch.Tensor`` whose dtype *is* the
  NumPy dtype, on any device; a 0-d one stands for a NumPy scalar;
* a ``PyScalarV`` operand is a Python ``bool``/``int``/``float`` of that exact type, value unknown;
* a ``ConstV`` operand is that literal; lists and tuples hold such operands.

What it must guarantee: NumPy's dtype, rank and kind (a 0-d tensor only where NumPy returns a
NumPy scalar), values within float rounding, and *no read of tensor data by the host* (no
``.item()``, ``bool(t)``, ``.tolist()``): on an accelerator each one is a sync.  A condition on
Python operands that decides exactness (an int that must fit the array's dtype) goes into
``Emit.requires``; the generated code checks it first, and where it fails the NumPy reference
runs the call (and raises NumPy's error, if NumPy raises).  A condition on tensor *data* is
either written into the expression exactly (``torch.where``) or refused.

``lower`` (below) checks every emitted expression before it is used: evaluated on probe tensors
of the operands' dtypes and ranks, it must give NumPy's dtype, rank and kind, or the call stays in
NumPy (and the registry tests fail).  Dtype rules are thereby written once, in NumPy, and
verified for each lowering.
"""
from __future__ import annotations

import ast
import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..dtypes import NP_TO_TORCH, TORCH_TO_NP, torch_name
from ..errors import Refusal
from ..lattice import AV, ArrayV, ConstV, ListV, ObjV, PyScalarV, TupleV
from . import probe
from .entry import OpEntry


class Refuse(Exception):
    """Raised by a lowering: the call stays in NumPy, for the reason given."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Operand:
    """One argument of a call being lowered: its placeholder name and what it stands for."""

    name: str
    value: AV

    @property
    def array(self) -> ArrayV | None:
        """The lifted array this operand is (a tensor in the generated code), else None."""
        options = list(self.value.options())
        if len(options) == 1 and isinstance(options[0], ArrayV) and options[0].lifted:
            return options[0]
        return None

    @property
    def dtype(self) -> torch.dtype:
        """The torch dtype of a lifted array operand (``Refuse`` for anything else)."""
        array = self.array
        if array is None or array.dtype is None:
            raise Refuse(f"{self.name} is not a lifted array of known dtype")
        return NP_TO_TORCH[array.dtype]

    @property
    def ndim(self) -> int:
        array = self.array
        if array is None or array.ndim is None:
            raise Refuse(f"{self.name} is not a lifted array of known rank")
        return array.ndim

    @property
    def is_literal(self) -> bool:
        return isinstance(self.value, ConstV)

    @property
    def literal(self) -> Any:
        """The value of a literal operand (``Refuse`` when it is only known by type)."""
        if isinstance(self.value, ConstV):
            return self.value.value
        if isinstance(self.value, ObjV):
            return self.value.obj
        raise Refuse(f"{self.name} must be a literal")

    @property
    def python_type(self) -> type | None:
        """``int``/``float``/``bool`` for a Python-number operand of unknown value, else None."""
        return self.value.type if isinstance(self.value, PyScalarV) else None


@dataclass(frozen=True)
class Call:
    """What a lowering function sees: the operands and NumPy's result for them."""

    entry: OpEntry
    args: tuple[Operand, ...]
    kwargs: Mapping[str, Operand]
    result: AV
    """NumPy's result for these operands (``probe.infer``): dtype, rank, kind."""

    def arg(self, index: int, name: str) -> Operand | None:
        """The operand passed at ``index`` or as keyword ``name`` (None when not given)."""
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[index] if index < len(self.args) else None

    @property
    def result_dtype(self) -> torch.dtype:
        """The torch dtype of NumPy's (single, array) result."""
        options = list(self.result.options())
        if len(options) != 1 or not isinstance(options[0], ArrayV) or options[0].dtype not in NP_TO_TORCH:
            raise Refuse("result is not one array of a torch dtype")
        return NP_TO_TORCH[options[0].dtype]


@dataclass(frozen=True)
class Emit:
    """A lowering: a torch expression over the placeholder names, and the conditions on Python
    operands under which it is exact (checked before it runs)."""

    template: str
    requires: tuple[str, ...] = ()
    helpers: tuple[str, ...] = field(default=())
    """Names of plain helper functions (``looplift.registry.lib``) the template calls as ``lib.<name>``."""


LowerFn = Callable[[Call], Emit]


def dtype_source(dtype: torch.dtype) -> str:
    """``torch.float32`` as generated code writes it."""
    return f"torch.{torch_name(dtype)}"


def cast(template: str, to: torch.dtype, frm: torch.dtype | None = None) -> str:
    """``template`` cast to ``to`` (no cast when ``frm`` is already ``to``)."""
    if frm is to:
        return template
    return f"{atom(template)}.to({dtype_source(to)})"


def atom(template: str) -> str:
    """``template`` parenthesized unless it already is one operand (a name, call, attribute,
    subscript or literal)."""
    node = ast.parse(template, mode="eval").body
    if isinstance(node, (ast.Name, ast.Call, ast.Attribute, ast.Subscript, ast.Constant)):
        return template
    return f"({template})"


@dataclass(frozen=True)
class Lowered:
    """A checked lowering, ready for code generation."""

    entry: OpEntry
    expression: ast.expr
    """The torch expression; placeholder names (``Call`` operand names) mark the operands."""
    requires: tuple[ast.expr, ...]
    result: AV
    helpers: tuple[str, ...]


def placeholders(args: Sequence[AV], kwargs: Mapping[str, AV]) -> tuple[tuple[Operand, ...], dict[str, Operand]]:
    """Operands under their placeholder names."""
    return (tuple(Operand(f"_{i}", value) for i, value in enumerate(args)),
            {name: Operand(f"_k_{name}", value) for name, value in kwargs.items()})


def lower(entry: OpEntry, args: Sequence[AV], kwargs: Mapping[str, AV]) -> Lowered:
    """The entry's lowering for these abstract operands, checked against NumPy's result on probe
    values; ``Refusal`` (with the reason) when the call stays in NumPy."""
    if entry.lower is None:
        raise Refusal(f"{entry.key} has no lowering")
    result = probe.infer(entry, args, kwargs)  # NumPy's result, or Refusal
    if not _liftable(result):
        raise Refusal(f"{entry.key}: NumPy's result {result!r} has no tensor form (a 0-d array, a dtype torch lacks)")
    operands, keywords = placeholders(args, kwargs)
    try:
        emit = entry.lower(Call(entry, operands, keywords, result))
    except Refuse as refused:
        raise Refusal(f"{entry.key}: {refused.reason}") from None
    try:
        expression = ast.parse(emit.template, mode="eval").body
        requires = tuple(ast.parse(r, mode="eval").body for r in emit.requires)
    except SyntaxError as exc:  # a bug in the lowering, never the user's
        raise AssertionError(f"{entry.key} lowered to invalid code {emit.template!r}: {exc}") from None
    mismatch = verify(emit, operands, keywords, result)
    if mismatch:
        raise Refusal(f"{entry.key}: lowering disagrees with NumPy ({mismatch})")
    return Lowered(entry, expression, requires, result, emit.helpers)


def _liftable(result: AV) -> bool:
    """Every array in ``result`` can be a tensor (``probe.result_value`` says so per array)."""
    for option in result.options():
        if isinstance(option, ArrayV) and not option.lifted:
            return False
        if isinstance(option, TupleV) and not all(map(_liftable, option.item_types())):
            return False
        if isinstance(option, ListV) and not _liftable(option.elem):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Verification on probe values

PROBE_SIDE = 2


def _probe_operand(value: AV) -> list[Any]:
    """Concrete stand-ins for an operand in the generated code's form (tensors for lifted
    arrays), one per alternative."""
    out: list[Any] = []
    for option in value.options():
        if isinstance(option, ArrayV) and option.lifted:
            if option.dtype not in NP_TO_TORCH or option.ndim is None:
                raise Refuse(f"operand {option!r}")
            out.append(torch.ones((PROBE_SIDE,) * option.ndim, dtype=NP_TO_TORCH[option.dtype]))
        elif isinstance(option, ListV):
            out.extend([item, item] for item in _probe_operand(option.elem))
        elif isinstance(option, TupleV) and option.items is not None:
            out.extend(itertools.product(*(_probe_operand(i) for i in option.items)))
        else:
            out.extend(probe.probe_values(option, PROBE_SIDE))
    return out


def _kind(value: Any) -> AV | str:
    """The abstract value a generated-code result stands for (tensors as lifted arrays)."""
    if isinstance(value, torch.Tensor):
        dtype = TORCH_TO_NP.get(value.dtype)
        return ArrayV(dtype, value.ndim, scalar=value.ndim == 0, lifted=True)
    if isinstance(value, tuple):
        kinds = [_kind(v) for v in value]
        return TupleV(tuple(kinds)) if all(isinstance(k, AV) for k in kinds) else "tuple"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _same(expected: AV, got: AV | str) -> bool:
    if isinstance(expected, ArrayV) and isinstance(got, ArrayV):
        return (expected.dtype, expected.ndim, expected.scalar) == (got.dtype, got.ndim, got.scalar)
    if isinstance(expected, TupleV) and isinstance(got, TupleV) and expected.items is not None:
        return got.items is not None and len(got.items) == len(expected.items) and \
            all(map(_same, expected.items, got.items))
    if isinstance(expected, ListV):
        return got == "list"
    return False


def verify(emit: Emit, args: Sequence[Operand], kwargs: Mapping[str, Operand], result: AV) -> str | None:
    """Evaluate ``emit`` on probe operands; what differs from NumPy's ``result``, or None."""
    from . import lib  # plain helpers the templates may call

    names = [op.name for op in (*args, *kwargs.values())]
    try:
        probes = [_probe_operand(op.value) for op in (*args, *kwargs.values())]
    except (Refuse, Refusal) as exc:
        return str(exc)
    expected = list(result.options())
    code = compile(ast.Expression(ast.parse(emit.template, mode="eval").body), "<lowering>", "eval")
    for combo in itertools.islice(itertools.product(*probes), 8):
        scope = {"torch": torch, "lib": lib, "math": __import__("math"), **dict(zip(names, combo))}
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                value = eval(code, scope)  # noqa: S307 - our own generated template
            except Exception as exc:  # probes of size 2 are valid operands for every lowering
                return f"raises {type(exc).__name__}: {exc}"
        got = _kind(value)
        if not any(_same(option, got) for option in expected):
            return f"gives {got!r} where NumPy gives {result!r}"
    return None
