"""The abstract values that the analysis assigns to every expression.

A value is what the *original* program would hold at that point, plus one bit that the rewritten
program needs: ``ArrayV.lifted`` says the rewritten program may hold a torch tensor there instead
of the NumPy value (a "shadow").  The invariant that makes shadows safe to materialize without
knowing anything else: a lifted tensor of ndim 0 always stands for a NumPy *scalar*, a lifted
tensor of ndim >= 1 for an ``ndarray``.  Analyses never produce a lifted 0-d ndarray.

Values form a small lattice: ``BOTTOM`` (no value yet / unreachable) < concrete values < ``TOP``
(anything).  ``join`` is used where control flow merges.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import torch


class AV:
    """Base class of abstract values."""

    def options(self) -> Iterator["AV"]:
        """The alternatives this value stands for (itself, unless it is a union)."""
        yield self

    @property
    def may_be_unbound(self) -> bool:
        return any(isinstance(o, UnboundV) for o in self.options())


@dataclass(frozen=True)
class BottomV(AV):
    """No value: not bound yet on this path, or unreachable."""

    def __repr__(self) -> str:
        return "nothing"


@dataclass(frozen=True)
class TopV(AV):
    """Anything: an opaque object the analysis knows nothing about.  ``lifted`` keeps one fact
    through the loss of all others: the rewritten program may hold a tensor here (so it must
    still be materialized where it leaves)."""

    lifted: bool = False

    def __repr__(self) -> str:
        return "?lifted" if self.lifted else "?"


@dataclass(frozen=True)
class UnboundV(AV):
    """A local name that may not be assigned yet on some path (kept apart from ``BOTTOM`` so that
    joins remember it: a transform must not move a use of a maybe-unbound name)."""

    def __repr__(self) -> str:
        return "unbound"


BOTTOM = BottomV()
TOP = TopV()
TOP_LIFTED = TopV(lifted=True)
UNBOUND = UnboundV()


@dataclass(frozen=True)
class TensorV(AV):
    """A ``torch.Tensor`` in the original program. ``None`` fields are unknown."""

    dtype: torch.dtype | None = None
    ndim: int | None = None
    device: str | None = None
    requires_grad: bool | None = None

    def __repr__(self) -> str:
        return f"Tensor[{self.dtype},{self.ndim}d,{self.device},grad={self.requires_grad}]"


@dataclass(frozen=True)
class ArrayV(AV):
    """A NumPy value: an ``ndarray`` (``scalar=False``) or a NumPy scalar (``scalar=True``).

    ``lifted`` means the rewritten program may hold a torch tensor for it (see module docstring).
    """

    dtype: np.dtype | None = None
    ndim: int | None = None
    scalar: bool = False
    lifted: bool = False

    def __repr__(self) -> str:
        kind = "scalar" if self.scalar else f"{self.ndim}d"
        return f"{'Lifted' if self.lifted else 'Array'}[{self.dtype},{kind}]"


@dataclass(frozen=True)
class PyScalarV(AV):
    """A Python ``bool``, ``int``, ``float`` or ``complex`` whose value is not known.

    ``lifted``: the rewritten program may hold a *deferred host read* here instead: the 0-d
    tensor whose ``.item()`` the original took (or an accumulation of such reads), read on the
    host only where the value leaves (see ``runtime/deferred.py``)."""

    type: type
    lifted: bool = False

    def __repr__(self) -> str:
        return f"{'Deferred' if self.lifted else 'Py'}[{self.type.__name__}]"


@dataclass(frozen=True)
class PlainV(AV):
    """A Python object of a known type that is never a tensor nor holds one (a ``str``, say)."""

    type: type

    def __repr__(self) -> str:
        return f"Plain[{self.type.__name__}]"


@dataclass(frozen=True)
class ConstV(AV):
    """A literal known at analysis time (numbers, strings, None, tuples of those)."""

    value: object

    def __hash__(self) -> int:
        try:
            return hash((ConstV, type(self.value), self.value))
        except TypeError:  # a slice (unhashable before Python 3.12), a list of numbers
            return hash((ConstV, type(self.value), repr(self.value)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstV) and type(other.value) is type(self.value) and other.value == self.value

    def __repr__(self) -> str:
        return f"Const[{self.value!r}]"


@dataclass(frozen=True)
class ListV(AV):
    """A Python list.  ``local`` lists were created by the function and never escaped, so the
    rewritten program may keep lifted elements in them until the list escapes."""

    elem: AV = BOTTOM
    local: bool = False

    def __repr__(self) -> str:
        return f"{'LocalList' if self.local else 'List'}[{self.elem!r}]"


@dataclass(frozen=True)
class DictV(AV):
    """A Python dict; its keys are not tracked (they are host values: Python hashes them), its
    values join into ``value``.  A ``local`` dict was made by the function (a display or a
    comprehension) and never escaped, so it may hold lifted values (and lists that are only
    reachable through it, local lists) until it escapes, exactly like a local list."""

    value: AV = BOTTOM
    local: bool = False

    def __repr__(self) -> str:
        return f"{'LocalDict' if self.local else 'Dict'}[{self.value!r}]"


@dataclass(frozen=True)
class TupleV(AV):
    """A Python tuple with known items (``items``) or a known element type (``elem``)."""

    items: tuple[AV, ...] | None = None
    elem: AV = TOP
    fields: tuple[str, ...] | None = None
    """Field names of a named tuple (``torch.return_types.max``: ``values``, ``indices``)."""

    def item_types(self) -> Iterator[AV]:
        if self.items is not None:
            yield from self.items
        else:
            yield self.elem

    def __repr__(self) -> str:
        return f"Tuple{list(self.items) if self.items is not None else [self.elem, '...']}"


@dataclass(frozen=True)
class ObjV(AV):
    """A specific, known Python object: a module, a function, a class (compared by identity)."""

    obj: object

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjV) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"Obj[{getattr(self.obj, '__name__', type(self.obj).__name__)}]"


@dataclass(frozen=True)
class RangeV(AV):
    """The result of ``range(...)``, ``enumerate(x)`` or ``zip(...)``: something to iterate."""

    elem: AV = TOP

    def __repr__(self) -> str:
        return f"Iter[{self.elem!r}]"


@dataclass(frozen=True)
class UnionV(AV):
    """One of several alternatives (kept small; larger unions widen to ``TOP``)."""

    alts: frozenset[AV]

    def options(self) -> Iterator[AV]:
        yield from self.alts

    def __repr__(self) -> str:
        return " | ".join(sorted(map(repr, self.alts)))


MAX_UNION = 4


def _join_same_class(a: AV, b: AV) -> AV | None:
    """Join two values of one class field by field, or None when they must stay apart."""
    if isinstance(a, TensorV) and isinstance(b, TensorV):
        return TensorV(*(x if x == y else None for x, y in
                         zip((a.dtype, a.ndim, a.device, a.requires_grad),
                             (b.dtype, b.ndim, b.device, b.requires_grad))))
    if isinstance(a, ArrayV) and isinstance(b, ArrayV):
        if (a.dtype, a.ndim, a.scalar) == (b.dtype, b.ndim, b.scalar):
            return replace(a, lifted=a.lifted or b.lifted)
        return None
    if isinstance(a, ListV) and isinstance(b, ListV):
        return ListV(join(a.elem, b.elem), a.local and b.local)
    if isinstance(a, DictV) and isinstance(b, DictV):
        return DictV(join(a.value, b.value), a.local and b.local)
    if isinstance(a, TupleV) and isinstance(b, TupleV):
        if a.items is not None and b.items is not None and len(a.items) == len(b.items):
            return TupleV(tuple(join(x, y) for x, y in zip(a.items, b.items)), fields=a.fields if a.fields == b.fields else None)
        elem = BOTTOM
        for item in itertools.chain(a.item_types(), b.item_types()):
            elem = join(elem, item)
        return TupleV(None, elem)
    if isinstance(a, RangeV) and isinstance(b, RangeV):
        return RangeV(join(a.elem, b.elem))
    if isinstance(a, (ConstV, PyScalarV)) and isinstance(b, (ConstV, PyScalarV)):
        ta = type(a.value) if isinstance(a, ConstV) else a.type
        tb = type(b.value) if isinstance(b, ConstV) else b.type
        if ta is tb and ta in (bool, int, float, complex):
            return PyScalarV(ta, lifted=getattr(a, "lifted", False) or getattr(b, "lifted", False))
        return None
    return None


def join(a: AV, b: AV) -> AV:
    """The least value that covers both ``a`` and ``b``."""
    if a == b or isinstance(b, BottomV):
        return a
    if isinstance(a, BottomV):
        return b
    if isinstance(a, TopV) or isinstance(b, TopV):
        return widened(a, b)
    alts: list[AV] = []
    for option in itertools.chain(a.options(), b.options()):
        for i, existing in enumerate(alts):
            merged = existing if existing == option else _join_same_class(existing, option)
            if merged is not None:
                alts[i] = merged
                break
        else:
            alts.append(option)
    if len(alts) == 1:
        return alts[0]
    if len(alts) > MAX_UNION:
        return widened(*alts)
    return UnionV(frozenset(alts))


def widened(*values: AV) -> AV:
    """``TOP``, remembering whether a lifted value was among ``values``."""
    return TOP_LIFTED if any(contains_lifted(v) for v in values) else TOP


def demoted(value: AV) -> AV:
    """The value after materialization: every lifted alternative becomes a plain NumPy value."""
    if isinstance(value, (ArrayV, PyScalarV)):
        return replace(value, lifted=False)
    if isinstance(value, TopV):
        return TOP
    if isinstance(value, UnionV):
        result: AV = BOTTOM
        for option in value.alts:
            result = join(result, demoted(option))
        return result
    if isinstance(value, ListV):
        return ListV(demoted(value.elem), value.local)
    if isinstance(value, DictV):
        return DictV(demoted(value.value), value.local)
    if isinstance(value, TupleV):
        return replace(value, items=tuple(map(demoted, value.items)) if value.items is not None else None,
                       elem=demoted(value.elem))
    return value


def is_literal(value: AV) -> bool:
    """A value known by value: a literal, or a tuple of literals (``axis=(1, 2)``)."""
    if isinstance(value, TupleV):
        return value.items is not None and all(isinstance(item, ConstV) for item in value.items)
    return isinstance(value, ConstV)


def _anywhere(value: AV, test: Callable[[AV], bool]) -> bool:
    """``test`` holds for some alternative of ``value`` or of an element inside it."""
    for option in value.options():
        if test(option):
            return True
        if isinstance(option, ListV) and _anywhere(option.elem, test):
            return True
        if isinstance(option, DictV) and _anywhere(option.value, test):
            return True
        if isinstance(option, TupleV) and any(_anywhere(i, test) for i in option.item_types()):
            return True
    return False


def contains_lifted(value: AV) -> bool:
    """True when the rewritten program may hold a tensor anywhere inside this value."""
    return _anywhere(value, lambda o: isinstance(o, (ArrayV, TopV, PyScalarV)) and o.lifted)


def may_be_real_tensor(value: AV) -> bool:
    """The original program may hold a torch tensor here (one that was never a NumPy value)."""
    return _anywhere(value, lambda o: isinstance(o, (TensorV, TopV)))


def holds_local_container(value: AV) -> bool:
    """A list or dict the function created is here, or inside a tuple or dict here."""
    return _anywhere(value, lambda o: isinstance(o, (ListV, DictV)) and o.local)


def conflicted(value: AV) -> bool:
    """Lifted tensors and real tensors may meet in this value: materializing it could not tell
    them apart, so the analysis must keep such values apart (it retries without lifting them)."""
    return contains_lifted(value) and may_be_real_tensor(value)


def describe(value: AV) -> str:
    """The value in words, for reasons users read (``?`` is "of a type not known here")."""
    if isinstance(value, TopV):
        return "a value of a type not known here (from code looplift does not see into)"
    if isinstance(value, TensorV):
        return "a torch tensor"
    if isinstance(value, UnboundV):
        return "a name that may not be assigned yet"
    if isinstance(value, BottomV):
        return "a value from code that has not run yet (an item of an empty list, say)"
    if isinstance(value, (ListV, TupleV, DictV)):
        return "a list, tuple or dict of values of unknown types"
    if isinstance(value, ObjV):
        return f"the object {getattr(value.obj, '__name__', type(value.obj).__name__)}"
    if isinstance(value, PlainV):
        return "None" if value.type is type(None) else f"a {value.type.__name__}"
    return repr(value)


def sampled(value: AV) -> AV:
    """What a sample says of values no guard checks where they are used (the items of a list
    after its first, which an argument's key does not look at; a call's result at later calls).

    A tensor stays a tensor: every use that relies on it checks it, and a real tensor beside
    lifted values keeps a list plain.  An array, None or another object says nothing: it may be a
    tensor the next time, and materializing a list that holds it beside lifted values would then
    make that tensor NumPy.  Strings (names, keys) and Python numbers are kept: arithmetic and
    accumulators need their types, and a number that is a tensor the next time only gets there
    in a list where a Python number and a tensor take turns (docs/guarantees.md)."""
    if isinstance(value, (TensorV, BottomV, PyScalarV)) or value in _TEXT:
        return value
    if isinstance(value, TupleV):
        items = tuple(map(sampled, value.items)) if value.items is not None else None
        return TupleV(items, sampled(value.elem), value.fields)
    if isinstance(value, ListV):
        return ListV(sampled(value.elem), local=False)
    if isinstance(value, DictV):
        return DictV(sampled(value.value), local=False)
    if isinstance(value, UnionV):
        result: AV = BOTTOM
        for option in value.alts:
            result = join(result, sampled(option))
        return result
    return TOP


_TEXT = (PlainV(str), PlainV(bytes))


def from_runtime(value: object) -> AV:
    """The abstract value of a concrete Python object (globals, defaults, observed values).

    Only exact types count: a subclass of ``float`` (``np.float64`` is one), of ``ndarray`` or of
    ``Tensor`` may behave differently, so it is unknown."""
    cls = type(value)
    if cls in (bool, int, float, complex):
        return PyScalarV(cls)
    if cls is np.ndarray:
        return ArrayV(value.dtype, value.ndim, scalar=False)  # type: ignore[attr-defined]
    if isinstance(value, np.generic) and cls.__module__ == "numpy":
        return ArrayV(value.dtype, 0, scalar=True)
    if cls is torch.Tensor or cls is torch.nn.Parameter:
        assert isinstance(value, torch.Tensor)
        return TensorV(value.dtype, value.dim(), value.device.type, value.requires_grad)
    if cls in (str, bytes) or value is None:
        return PlainV(cls)
    return TOP
