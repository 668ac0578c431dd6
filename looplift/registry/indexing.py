"""``a[index]`` (``operator.getitem``) with NumPy's indexing rules on tensors.

The index arrives as a Python object: ints, slices, None, Ellipsis, bools, tuples of those, lists,
NumPy arrays or tensors (lifted indices).  Each part is normalized before torch sees it:

* lifted 0-d integers become Python ints and 0-d bools Python bools (NumPy treats them so);
* integer index arrays become int64 tensors (torch reads a uint8 tensor as a mask, NumPy as
  indices), bool arrays stay masks, an empty list is an empty integer index;
* slices with a negative step (torch has none) become positive slices of the operand flipped
  along that axis, so those results are a copy where NumPy returns a view.

Result kinds: a 0-d result is a NumPy scalar unless the index holds an Ellipsis (``a[0, ...]``
and ``s[...]`` are 0-d ndarrays, which the tensor path leaves to NumPy); results that NumPy
builds from a scalar, and 0-d results, are copies, never views of the operand.

The lowering reads the index from its abstract value: basic items are written as a subscript
(negative steps become positive slices of a flipped operand, decided without the axis' size);
index arrays, lists, masks and lifted integer scalars go through ``lib.advanced_index`` and
``lib.scalar_index``, which apply NumPy's rules where torch's differ and read no tensor data.
"""
from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..lattice import AV, BOTTOM, ArrayV, ConstV, ListV, PyScalarV, TupleV, join
from ..errors import Refusal
from .cases import ALL, Lifted, custom
from .coerce import tensor_of, to_numpy
from .entry import OpEntry, Unsupported
from .probe import probe_values, result_value
from .arguments import lifted, source
from .lowering import Call, Emit, Operand, Refuse
from .table import register

Tensor = torch.Tensor

#: Largest probe operand (elements) static inference builds for constant indices.
MAX_PROBE_ELEMENTS = 1 << 20


def _part(part: Any, device: torch.device) -> Any:
    """One index item as torch should see it (see the module docstring)."""
    if part is None or part is Ellipsis or isinstance(part, (bool, slice)):
        return part
    if isinstance(part, (int, np.integer)):
        return operator.index(part)
    if isinstance(part, np.bool_):
        return bool(part)
    if isinstance(part, list) and not part:
        return torch.empty(0, dtype=torch.int64, device=device)
    if isinstance(part, (Tensor, np.ndarray, list)):
        array = tensor_of(part, device)
        if array.dtype is torch.bool:
            return bool(array) if array.ndim == 0 else array
        if array.is_floating_point():
            raise Unsupported("non-integer index (NumPy raises)")
        return operator.index(to_numpy(array)) if array.ndim == 0 else array.to(torch.int64)
    raise Unsupported(f"index of type {type(part).__name__}")


def _consumed(part: Any) -> int:
    """How many operand axes an index item uses up."""
    if part is None or isinstance(part, bool):
        return 0
    if isinstance(part, Tensor) and part.dtype is torch.bool:
        return part.ndim
    return 1


def _prepared(x: Tensor, parts: list[Any]) -> tuple[Tensor, list[Any]]:
    """Index items checked against the axes they index, as NumPy checks them (torch skips the
    bounds check when broadcasting makes the result empty), and negative-step slices rewritten
    as positive slices of ``x`` flipped along their axes."""
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        fill = x.ndim - sum(_consumed(p) for p in parts if p is not Ellipsis)
        if fill < 0 or parts.count(Ellipsis) > 1:
            raise Unsupported("too many indices, or more than one Ellipsis (NumPy raises)")
        parts = parts[:at] + [slice(None)] * fill + parts[at + 1:]
    if sum(_consumed(p) for p in parts) > x.ndim:
        raise Unsupported("too many indices (NumPy raises)")
    flip: list[int] = []
    axis = 0
    for i, part in enumerate(parts):
        if isinstance(part, int) and not isinstance(part, bool):
            _check_bounds(part, part, x.shape[axis])
        elif isinstance(part, Tensor) and part.dtype is torch.bool:
            if tuple(part.shape) != tuple(x.shape[axis:axis + part.ndim]):
                raise Unsupported("mask shape does not match (NumPy raises)")
        elif isinstance(part, Tensor) and part.numel():
            _check_bounds(int(part.min()), int(part.max()), x.shape[axis])
        elif isinstance(part, slice) and part.step is not None and operator.index(part.step) < 0:
            n = x.shape[axis]
            start, stop, step = part.indices(n)
            count = len(range(start, stop, step))
            if count == 0:
                parts[i] = slice(0, 0)
            else:
                first = n - 1 - start
                parts[i] = slice(first, first + (count - 1) * -step + 1, -step)
                flip.append(axis)
        axis += _consumed(part)
    return (torch.flip(x, flip) if flip else x), parts


def _check_bounds(low: int, high: int, size: int) -> None:
    if low < -size or high >= size:
        raise Unsupported("index out of bounds (NumPy raises IndexError)")


def _getitem(a: Any, index: Any) -> Tensor:
    x = tensor_of(a)
    parts = [_part(p, x.device) for p in (index if isinstance(index, tuple) else (index,))]
    ellipsis = Ellipsis in parts
    x_index, parts = _prepared(x, parts)
    result = x_index[tuple(parts)]
    if result.ndim == 0 and ellipsis:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    return result.clone() if result.ndim == 0 or x.ndim == 0 else result


# ---------------------------------------------------------------------------------------------
# Static result: NumPy indexes a (zero-strided) probe large enough for every constant index


def _constants(value: AV) -> list[int]:
    """The integers an index holds as literals (they set how large the probe must be)."""
    found: list[int] = []
    for option in value.options():
        if isinstance(option, ConstV):
            items = option.value if isinstance(option.value, tuple) else (option.value,)
            for item in items:
                if isinstance(item, int) and not isinstance(item, bool):
                    found.append(abs(item))
                elif isinstance(item, slice):
                    found.extend(abs(v) for v in (item.start, item.stop) if isinstance(v, int))
        elif isinstance(option, TupleV):
            for item in option.item_types():
                found.extend(_constants(item))
        elif isinstance(option, ListV):
            found.extend(_constants(option.elem))
    return found


def _infer_getitem(args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    if len(args) != 2 or kwargs:
        raise Refusal("getitem takes an operand and an index")
    options = list(args[0].options())
    if len(options) != 1 or not isinstance(options[0], ArrayV) or options[0].dtype is None or options[0].ndim is None:
        raise Refusal("operand is not one known array")
    a = options[0]
    size = 2 + max(_constants(args[1]), default=0)
    if size ** a.ndim > MAX_PROBE_ELEMENTS:
        raise Refusal("constant indices too large to probe")
    operand = a.dtype.type(1) if a.scalar else np.broadcast_to(np.ones((), a.dtype), (size,) * a.ndim)
    result: AV = BOTTOM
    for index in probe_values(args[1], size):
        try:
            value = operand[index]
        except Exception as exc:
            raise Refusal(f"NumPy raises {type(exc).__name__} for this index") from None
        result = join(result, result_value(value))
    return result


# ---------------------------------------------------------------------------------------------
# Lowering: the index read from its abstract value, item by item


@dataclass(frozen=True)
class _Item:
    """One index item: what it is, how a torch index writes it, how many operand axes it uses."""

    kind: str
    """"int" (literal or Python int), "scalar" (a lifted integer scalar), "slice", "none",
    "ellipsis", "array" (integer index array or list), "mask" (boolean array or list)."""
    source: str
    axes: int = 1
    value: Any = None
    """The literal, for ints and slices."""


_ADVANCED = ("array", "mask")


def _index_items(index: Operand) -> list[_Item]:
    """The items of ``index`` (a tuple of items, or one item)."""
    value = index.value
    if isinstance(value, ConstV) and isinstance(value.value, tuple):
        return [_literal_item(v) for v in value.value]
    if isinstance(value, TupleV):
        if value.items is None:
            raise Refuse("index tuple of unknown length")
        return [_item(item, f"{index.name}[{i}]") for i, item in enumerate(value.items)]
    return [_item(value, index.name)]


def _item(value: AV, source: str) -> _Item:
    options = list(value.options())
    if len(options) != 1:
        raise Refuse("index item of several possible kinds")
    option = options[0]
    if isinstance(option, ConstV):
        return _literal_item(option.value)
    if isinstance(option, PyScalarV) and option.type is int:
        return _Item("int", source)
    if isinstance(option, ListV):
        return _list_item(option.elem, source)
    if isinstance(option, ArrayV) and option.dtype is not None and option.ndim is not None:
        return _array_item(option, source)
    raise Refuse(f"index item {option!r}")


def _literal_item(value: Any) -> _Item:
    if value is None:
        return _Item("none", "None", axes=0)
    if value is Ellipsis:
        return _Item("ellipsis", "...", axes=0)
    if isinstance(value, slice):
        parts = (value.start, value.stop, value.step)
        if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts) or value.step == 0:
            raise Refuse("slice of non-integers, or step 0 (NumPy raises)")
        return _Item("slice", _slice_source(value), value=value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _Item("int", str(value), value=value)
    if isinstance(value, list) and all(type(v) is int for v in value):
        return _Item("array", source(value))
    if isinstance(value, list) and value and all(type(v) is bool for v in value):
        return _Item("mask", source(value))
    raise Refuse(f"index item {value!r} (bools, floats and nested lists stay in NumPy)")


def _list_item(elem: AV, source: str) -> _Item:
    """A list of Python ints is an index array; of bools, a mask; ``[]`` an empty index array."""
    kinds = {o.type if isinstance(o, PyScalarV) else type(o.value) if isinstance(o, ConstV) else None
             for o in elem.options()}
    if kinds <= {int} or elem is BOTTOM:
        return _Item("array", source)
    if kinds == {bool}:
        return _Item("mask", source)
    raise Refuse("list index of mixed or unknown items")


def _array_item(array: ArrayV, source: str) -> _Item:
    if array.dtype.kind not in "biu":
        raise Refuse("index array of a non-integer dtype (NumPy raises)")
    if not array.lifted and array.ndim == 0:
        raise Refuse("a NumPy scalar or 0-d array as index")
    if array.dtype.kind == "b":
        return _Item("mask", source, axes=array.ndim)
    if array.ndim == 0:
        return _Item("scalar", source)
    return _Item("array", source)


def _expanded(items: list[_Item], ndim: int) -> list[_Item]:
    """The Ellipsis replaced by the full slices it stands for (NumPy raises for more than one,
    or for more indices than axes)."""
    used = sum(i.axes for i in items)
    count = sum(i.kind == "ellipsis" for i in items)
    if count > 1 or used > ndim:
        raise Refuse("more than one Ellipsis, or too many indices (NumPy raises)")
    if count == 0:
        return items
    at = next(k for k, i in enumerate(items) if i.kind == "ellipsis")
    fill = [_Item("slice", ":", value=slice(None))] * (ndim - used)
    return items[:at] + fill + items[at + 1:]


def _positive_steps(items: list[_Item]) -> tuple[list[_Item], tuple[int, ...]]:
    """Negative-step slices (torch has none) as positive slices of the operand flipped along
    their axes.  Flipping maps index ``i`` to ``-1 - i`` for either sign of ``i``, which keeps
    Python's clamping at both ends, so no size is needed."""
    out, flips, axis_at = [], [], 0
    for item in items:
        if item.kind == "slice" and (item.value.step or 1) < 0:
            start, stop, step = item.value.start, item.value.stop, item.value.step
            flipped = slice(None if start is None else -1 - start, None if stop is None else -1 - stop, -step)
            item = _Item("slice", _slice_source(flipped), value=flipped)
            flips.append(axis_at)
        out.append(item)
        axis_at += item.axes
    return out, tuple(flips)


def _slice_source(s: slice) -> str:
    """A slice as written inside ``x[...]``: ``a:b:c`` (``a:b`` for a step of 1)."""
    parts = ["" if v is None else str(v) for v in (s.start, s.stop, s.step)]
    return ":".join(parts[:2]) + (f":{parts[2]}" if s.step not in (None, 1) else "")


def _lower_getitem(call: Call) -> Emit:
    """Basic indices as a subscript; index arrays, lists and masks, and lifted integer scalars
    (torch would read those on the host), through ``lib.advanced_index(x)[...]`` and
    ``lib.scalar_index(x)[...]``."""
    a, index = lifted(call.args[0]), call.args[1]
    items, flips = _positive_steps(_expanded(_index_items(index), a.ndim))
    operand = f"torch.flip({a.name}, {source(flips)})" if flips else a.name
    kinds = {i.kind for i in items}
    helper = "advanced_index" if kinds & set(_ADVANCED) else "scalar_index" if "scalar" in kinds else None
    subscript = ", ".join(i.source for i in items) if items else "()"
    if len(items) == 1 and not flips and _is_int64_tensor(index.value):
        return Emit(f"lib.take({operand}, {subscript})")
    if helper is not None:
        return Emit(f"lib.{helper}({operand})[{subscript}]")
    template = f"{operand}[{subscript}]"
    result = next(iter(call.result.options()))
    if isinstance(result, ArrayV) and (result.ndim == 0 or a.ndim == 0):  # a scalar, or built from one
        template = f"{template}.clone()"
    return Emit(template)


def _is_int64_tensor(value: AV) -> bool:
    """One int64 index array the rewrite holds as a tensor: torch indexes by it as NumPy does."""
    options = list(value.options())
    return len(options) == 1 and isinstance(options[0], ArrayV) and options[0].lifted \
        and options[0].dtype == np.int64 and bool(options[0].ndim)


# ---------------------------------------------------------------------------------------------
# Registration


def _index_item(d: Any, side: int) -> Any:
    kind = d.choice(["int", "int", "slice", "slice", "neg", "none", "lifted_int", "array", "list", "mask"])
    if kind == "int":
        return d.integer(-side - 1, side)
    if kind == "slice":
        return slice(d.choice([None, 0, 1, -1, 5]), d.choice([None, 2, -1, 0]), d.choice([None, 1, 2]))
    if kind == "neg":
        return slice(d.choice([None, 2, -1, 0, 9]), d.choice([None, 0, -5, 1]), d.choice([-1, -2, -3]))
    if kind == "none":
        return None
    if kind == "lifted_int":
        return Lifted(np.int64(d.integer(-side, max(side - 1, 0))))
    if kind == "array":
        return d.array((d.integer(0, 3),), ("int64", "int32", "uint8", "int8"), "positive", lifted=None)
    if kind == "list":
        return d.choice([[0], [], [-1, 0], [1, 1, 0], [True, False]])
    return d.array((side,), ("bool",), "any", lifted=None)


def _getitem_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 3), max_side=3)
    x = d.array(shape, ALL)
    form = d.choice(["one", "tuple", "tuple", "ellipsis", "mask", "empty"])
    sides = itertools.chain(shape, itertools.repeat(1))
    if form == "one":
        index: Any = _index_item(d, next(sides))
    elif form == "mask":
        index = d.array(shape, ("bool",), "any", lifted=None)
    elif form == "empty":
        index = d.choice([(), Ellipsis, None, True, False])
    else:
        items = [_index_item(d, next(sides)) for _ in range(d.integer(1, max(len(shape), 1)))]
        if form == "ellipsis":
            items.insert(d.integer(0, len(items)), Ellipsis)
        index = tuple(items)
    return (x, index), {}


def _may_copy_a_view(args: Sequence[AV]) -> bool:
    """Only a slice with a negative (or unknown) step gives a copy where NumPy gives a view."""
    if len(args) != 2:
        return True

    def plain(option: AV) -> bool:
        if isinstance(option, ConstV) and isinstance(option.value, slice):
            step = option.value.step
            return step is None or (isinstance(step, int) and step > 0)
        return isinstance(option, (ConstV, PyScalarV))

    parts = [i for o in args[1].options() for i in (o.item_types() if isinstance(o, TupleV) else [o])]
    return not all(plain(option) for part in parts for option in part.options())


register(OpEntry(
    key="operator.getitem", reference=operator.getitem, torch_impl=_getitem, torch_name="Tensor.__getitem__",
    forms="ints (lifted too), slices (negative steps too), None, Ellipsis, bools, integer arrays/lists, masks",
    notes="negative-step slices and lifted integer indices return a copy where NumPy returns a view; a 0-d "
          "result of an index with Ellipsis is a 0-d ndarray in NumPy and goes to NumPy; float indices go to NumPy "
          "(it raises); a mask's result size is data: torch reads it on the host (a sync on CUDA), as NumPy's "
          "result needs it; index arrays out of range raise IndexError on the CPU and trip a device-side assert "
          "on CUDA (torch checks them on the device)",
    infer=_infer_getitem, cases=(custom(_getitem_operands),), copies_views=_may_copy_a_view,
    lower=_lower_getitem))
