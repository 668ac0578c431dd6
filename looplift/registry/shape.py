"""Shape manipulation and joining: reshape, transposes, squeeze/expand, concatenation, splits,
flips, rolls, tiling, repetition, broadcasting.

NumPy returns views for most of these and so does torch (``reshape``, ``permute``, ``movedim``,
``unsqueeze``, ``squeeze``, ``expand``, slicing); ``torch.flip`` copies, which the notes say.
Axes are validated as NumPy does (torch accepts axis 0/-1 on 0-d tensors), the joined dtype is
NumPy's ``result_type`` of the operands, and the 0-d rules follow NumPy: a NumPy scalar's
``reshape(())`` or ``transpose()`` is a scalar, but ``np.reshape`` of an array to ``()`` or
``np.roll`` of a scalar is a 0-d ndarray, which is never lifted (the tensor path refuses).

The lowerings decide all of this once, from literal shapes, axes and counts (``arguments.py``
normalizes them); where NumPy builds a new array from a scalar, the lowered code clones the 0-d
tensor that stands for it.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..lattice import AV, ConstV, ListV, PyScalarV
from ..dtypes import TORCH_TO_NP
from ..errors import Refusal
from .cases import OMIT, Arr, Axis, Lit, OneOf, Seq, case, custom
from .coerce import (array_result, copy_if_aliased, dtype_arg, normalize_axes, normalize_axis,
                     shape_arg, tensor_of, to_numpy, torch_dtype)
from .declare import (argument, array_of, attribute_reference, length_of, literal_arguments,
                      method_reference, not_given, operand, register_numpy)
from .entry import OpEntry, Unsupported, always
from .arguments import Args, array_sequence, axes, axis, bound, each_item, int_tuple, lifted, source
from .lowering import Call, Emit, Operand, Refuse, atom, cast, python_number
from .table import register

Tensor = torch.Tensor


def _view_of(result: Tensor, x: Tensor) -> Tensor:
    """NumPy returns a view of an array, but a NumPy scalar has no memory to share: what is built
    from one (``s.reshape(1)``, ``np.expand_dims(s, 0)``) is a value of its own."""
    return result.clone() if x.ndim == 0 else result


def _sizes(shape: Any) -> tuple[int, ...]:
    """A reshape target: like a shape, but one -1 may stand for the remaining size."""
    items = to_numpy(shape)
    items = list(items) if isinstance(items, (list, tuple, np.ndarray)) else [items]
    sizes = tuple(operator.index(s) for s in items)
    if sum(s == -1 for s in sizes) > 1 or any(s < -1 for s in sizes):
        raise Unsupported("invalid shape (NumPy raises)")
    return sizes


# ---------------------------------------------------------------------------------------------
# Reshaping and transposing


def _reshaped(x: Tensor, shape: Any, order: Any, copy: Any) -> Tensor:
    if order != "C" or copy not in (None, True):
        raise Unsupported("order other than 'C', or copy=False")
    result = x.reshape(_sizes(shape))
    if result.ndim == 0 and x.ndim:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    return copy_if_aliased(result, x) if copy else _view_of(result, x)


def _reshape(a: Any, shape: Any = None, order: Any = "C", *, copy: Any = None) -> Tensor:
    return _reshaped(tensor_of(a), shape, order, copy)


def _reshape_method(a: Any, *shape: Any, order: Any = "C", copy: Any = None) -> Tensor:
    """``a.reshape(2, 3)`` or ``a.reshape((2, 3))``."""
    if not shape:
        raise Unsupported("reshape() without a shape (NumPy raises)")
    return _reshaped(tensor_of(a), shape[0] if len(shape) == 1 else shape, order, copy)


def _infer_reshape(args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    a = operand(args[0])
    shape = argument(args, kwargs, 1, "shape")
    if shape is None:
        raise Refusal("reshape without a shape")
    ndim = length_of(shape) if len(args) <= 2 else len(args) - 1
    return array_of(a, ndim, zero_d_scalar=a.scalar)


def _ravel(a: Any, order: Any = "C") -> Tensor:
    if order != "C":
        raise Unsupported("order other than 'C'")
    x = tensor_of(a)
    return _view_of(x.reshape(-1), x)


def _flatten(a: Any, order: Any = "C") -> Tensor:
    """Always a copy in NumPy (``reshape(-1)`` may be a view)."""
    x = tensor_of(a)
    return copy_if_aliased(_ravel(x, order), x)


def _permuted(x: Tensor, axes: Any) -> Tensor:
    if axes is None:
        order = tuple(reversed(range(x.ndim)))
    else:
        order = normalize_axes(tuple(axes), x.ndim)
        if len(order) != x.ndim:
            raise Unsupported("axes is not a permutation (NumPy raises)")
    return _view_of(x.permute(order), x)


def _transpose(a: Any, axes: Any = None) -> Tensor:
    return _permuted(tensor_of(a), axes)


def _transpose_method(a: Any, *axes: Any) -> Tensor:
    """``a.transpose()``, ``a.transpose((1, 0))``, ``a.transpose(1, 0)``."""
    if len(axes) == 1:
        axes = axes[0]
    return _permuted(tensor_of(a), axes or None)


def _swapaxes(a: Any, axis1: Any, axis2: Any) -> Tensor:
    x = tensor_of(a)
    return x.transpose(normalize_axis(axis1, x.ndim), normalize_axis(axis2, x.ndim))


def _moveaxis(a: Any, source: Any, destination: Any) -> Tensor:
    x = tensor_of(a)
    src, dst = (normalize_axes(tuple(v) if isinstance(v, (tuple, list)) else (v,), x.ndim)
                for v in (source, destination))
    if len(src) != len(dst):
        raise Unsupported("source and destination of different lengths (NumPy raises)")
    return _view_of(torch.movedim(x, src, dst), x)


def _normalize_list(axis: Any, ndim: int) -> tuple[int, ...]:
    return normalize_axes(tuple(axis) if isinstance(axis, list) else axis, ndim)


def _expand_dims(a: Any, axis: Any) -> Tensor:
    """The new axes are positions in the result (NumPy normalizes against ndim + len(axis))."""
    x = tensor_of(a)
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    result = x
    for d in sorted(_normalize_list(axis, x.ndim + count)):
        result = result.unsqueeze(d)
    return _view_of(result, x)


def _squeeze(a: Any, axis: Any = None) -> Tensor:
    x = tensor_of(a)
    if axis is None:
        result = x.squeeze()
    else:
        axes = normalize_axes(axis, x.ndim)
        if any(x.shape[d] != 1 for d in axes):
            raise Unsupported("squeezing an axis of size other than 1 (NumPy raises)")
        result = x.squeeze(axes) if axes else x.view(x.shape)
    if x.ndim == 0:
        return result.clone()
    return array_result(result)


def _infer_squeeze(args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """Without ``axis`` the result's ndim depends on the runtime shape: only a scalar is known."""
    a = operand(args[0])
    axis = argument(args, kwargs, 1, "axis")
    if a.ndim == 0:
        return array_of(a, 0, zero_d_scalar=True)
    if axis is None or (isinstance(axis, ConstV) and axis.value is None):
        raise Refusal("squeeze without axis: the result's ndim depends on the runtime shape")
    return array_of(a, a.ndim - length_of(axis), zero_d_scalar=False)


# ---------------------------------------------------------------------------------------------
# Joining


def _sequence(arrays: Any, device: torch.device | None = None) -> list[Tensor]:
    if not isinstance(arrays, (list, tuple)) or not arrays:
        raise Unsupported("arrays must be a non-empty list or tuple")
    first = next((a for a in arrays if isinstance(a, Tensor)), None)
    return [tensor_of(a, first.device if first is not None else device) for a in arrays]


def _common(items: list[Tensor], dtype: Any, casting: Any) -> list[Tensor]:
    """The operands cast to NumPy's result_type of all of them, or to ``dtype=`` where NumPy's
    ``casting`` rule allows it."""
    dtypes = [TORCH_TO_NP[t.dtype] for t in items]
    target = dtype_arg(dtype)
    if target is None:
        if casting != "same_kind":
            raise Unsupported("casting= without dtype=")
        target = np.result_type(*dtypes)
    elif not all(np.can_cast(d, target, casting) for d in dtypes):
        raise Unsupported("cast not allowed by casting= (NumPy raises)")
    out = torch_dtype(target)
    return [t.to(out) for t in items]


def _cat(items: list[Tensor], axis: int) -> Tensor:
    if len({t.ndim for t in items}) != 1 or items[0].ndim == 0:
        raise Unsupported("operands of different ndim, or 0-d (NumPy raises)")
    return torch.cat(items, dim=normalize_axis(axis, items[0].ndim))


def _concatenate(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None,
                 casting: Any = "same_kind") -> Tensor:
    not_given(out=out)
    items = _sequence(arrays)
    if axis is None:
        items, axis = [t.reshape(-1) for t in items], 0
    return _cat(_common(items, dtype, casting), axis)


def _stack(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: Any = "same_kind") -> Tensor:
    not_given(out=out)
    items = _common(_sequence(arrays), dtype, casting)
    if len({t.shape for t in items}) != 1:
        raise Unsupported("operands of different shapes (NumPy raises)")
    return torch.stack(items, dim=normalize_axis(axis, items[0].ndim + 1))


def _at_least(t: Tensor, ndim: int) -> Tensor:
    """``np.atleast_1d``/``atleast_2d``: 0-d -> (1,) or (1, 1); 1-d (n,) -> (1, n)."""
    return t.reshape((1,) * (ndim - t.ndim) + tuple(t.shape)) if t.ndim < ndim else t


def _vstack(tup: Any, *, dtype: Any = None, casting: Any = "same_kind") -> Tensor:
    return _cat(_common([_at_least(t, 2) for t in _sequence(tup)], dtype, casting), 0)


def _hstack(tup: Any, *, dtype: Any = None, casting: Any = "same_kind") -> Tensor:
    items = [_at_least(t, 1) for t in _sequence(tup)]
    return _cat(_common(items, dtype, casting), 0 if items[0].ndim == 1 else 1)


def _column_stack(tup: Any) -> Tensor:
    """0-d and 1-d operands become columns (``array(v, ndmin=2).T``)."""
    items = [_at_least(t, 2).T if t.ndim < 2 else t for t in _sequence(tup)]
    return _cat(_common(items, None, "same_kind"), 1)


# ---------------------------------------------------------------------------------------------
# Splitting


def _division_points(total: int, indices_or_sections: Any) -> list[int]:
    """``np.array_split``'s division points: given indices, or near-equal sections."""
    try:
        len(indices_or_sections)
    except TypeError:
        sections = int(to_numpy(indices_or_sections))
        if sections <= 0:
            raise Unsupported("number of sections must be larger than 0 (NumPy raises)") from None
        each, extras = divmod(total, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        return list(np.cumsum(sizes).tolist())
    return [0, *(operator.index(to_numpy(i)) for i in indices_or_sections), total]


def _array_split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> list[Tensor]:
    x = tensor_of(ary)
    d = normalize_axis(axis, x.ndim)
    points = _division_points(x.shape[d], indices_or_sections)
    moved = x.movedim(d, 0)
    return [moved[start:end].movedim(0, d) for start, end in zip(points, points[1:])]


def _split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> list[Tensor]:
    """``np.split``: ``array_split`` that insists on equal sections."""
    x = tensor_of(ary)
    try:
        len(indices_or_sections)
    except TypeError:
        if x.shape[normalize_axis(axis, x.ndim)] % int(to_numpy(indices_or_sections)):
            raise Unsupported("array split does not result in an equal division (NumPy raises)") from None
    return _array_split(x, indices_or_sections, axis)


def _infer_split(args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    a = operand(args[0])
    if a.ndim == 0:
        raise Refusal("splitting a scalar (NumPy raises)")
    return ListV(array_of(a, a.ndim, zero_d_scalar=False))


# ---------------------------------------------------------------------------------------------
# Reordering and repeating


def _flip(m: Any, axis: Any = None) -> Tensor:
    x = tensor_of(m)
    return torch.flip(x, normalize_axes(axis, x.ndim))


def _roll(a: Any, shift: Any, axis: Any = None) -> Tensor:
    """NumPy: ``axis=None`` rolls the flattened array; shifts broadcast against axes and add up
    per axis.  Rolling a scalar gives a 0-d ndarray."""
    x = tensor_of(a)
    if x.ndim == 0:
        raise Unsupported("NumPy returns a 0-d ndarray here")
    shift = to_numpy(shift)
    if axis is None:
        return torch.roll(x.reshape(-1), int(np.sum(shift)), 0).reshape(x.shape)
    pairs = np.broadcast(shift, axis)
    if pairs.ndim > 1:
        raise Unsupported("'shift' and 'axis' should be scalars or 1D sequences (NumPy raises)")
    totals: dict[int, int] = {}
    for amount, ax in pairs:
        d = normalize_axis(ax, x.ndim)
        totals[d] = totals.get(d, 0) + operator.index(amount)
    return torch.roll(x, tuple(totals.values()), tuple(totals)) if totals else x.clone()


def _tile(A: Any, reps: Any) -> Tensor:
    x = tensor_of(A)
    try:
        counts = tuple(operator.index(to_numpy(r)) for r in reps)
    except TypeError:
        counts = (operator.index(to_numpy(reps)),)
    if any(c < 0 for c in counts):
        raise Unsupported("negative repetitions (NumPy raises)")
    result = x.reshape((1,) * (len(counts) - x.ndim) + tuple(x.shape)).tile(counts) if counts else x
    return copy_if_aliased(array_result(result), x)


def _repeat(a: Any, repeats: Any, axis: Any = None) -> Tensor:
    x = tensor_of(a)
    if isinstance(repeats, (int, np.integer)) or (isinstance(repeats, Tensor) and repeats.ndim == 0):
        counts: Any = operator.index(to_numpy(repeats))
        if counts < 0:
            raise Unsupported("negative repetitions (NumPy raises)")
    else:
        counts = tensor_of(repeats, x.device)
        if counts.dtype.is_floating_point or counts.dtype is torch.bool or counts.ndim > 1:
            raise Unsupported("repeats must be integers")
        counts = counts.to(torch.int64)
    if axis is None:
        return torch.repeat_interleave(x.reshape(-1), counts, dim=0)
    return torch.repeat_interleave(x, counts, dim=normalize_axis(axis, x.ndim))


def _broadcast_to(array: Any, shape: Any, subok: Any = False) -> Tensor:
    x = tensor_of(array)
    # shape_arg refuses negative sizes: NumPy raises, torch reads -1 as "keep this size"
    return _view_of(array_result(torch.broadcast_to(x, shape_arg(shape))), x)


def _infer_broadcast_to(args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    shape = argument(args, kwargs, 1, "shape")
    if shape is None:
        raise Refusal("broadcast_to without a shape")
    return array_of(operand(args[0]), length_of(shape), zero_d_scalar=False)


# ---------------------------------------------------------------------------------------------
# Lowerings: shapes, axes and counts are literals, normalized here once


def _fresh_from_scalar(template: str, a: Operand) -> str:
    """What NumPy builds from a scalar is a value of its own; a view of the 0-d tensor standing for
    the scalar would let a later write through the result change the scalar."""
    return f"{atom(template)}.clone()" if a.ndim == 0 else template


def _reshape_emit(a: Operand, shape: Any, order: Any, copy: Any) -> Emit:
    if order != "C" or copy not in (None, True):
        raise Refuse("order other than 'C', or copy=False")
    sizes = int_tuple(shape)
    if sum(s == -1 for s in sizes) > 1 or any(s < -1 for s in sizes):
        raise Refuse("invalid shape (NumPy raises)")
    if copy:
        return Emit(f"{a.name}.clone(memory_format=torch.contiguous_format).reshape({_arguments(sizes)})")
    return Emit(_fresh_from_scalar(f"{a.name}.reshape({_arguments(sizes)})", a))


def _arguments(sizes: tuple[int, ...]) -> str:
    """Sizes as separate arguments (``reshape(2, -1)``): torch parses those faster than a tuple."""
    return ", ".join(map(str, sizes)) if sizes else "()"


def _lower_reshape(args: Args) -> Emit:
    return _reshape_emit(args.array("a"), args.literal("shape"), args.literal("order"), args.literal("copy"))


def _lower_reshape_method(call: Call) -> Emit:
    """``a.reshape(2, 3)`` or ``a.reshape((2, 3))``."""
    a, sizes = lifted(call.args[0]), [op.literal for op in call.args[1:]]
    keywords = {name: op.literal for name, op in call.kwargs.items()}
    if not sizes or set(keywords) - {"order", "copy"}:
        raise Refuse("reshape() without a shape, or with other keywords")
    shape = sizes[0] if len(sizes) == 1 else tuple(sizes)
    return _reshape_emit(a, shape, keywords.get("order", "C"), keywords.get("copy"))


def _lower_ravel(args: Args) -> Emit:
    """Only order 'C': 'K' and 'A' follow the memory layout, which may differ from it."""
    a = args.array("a")
    if args.literal("order") != "C":
        raise Refuse("order other than 'C'")
    return Emit(_fresh_from_scalar(f"{a.name}.reshape(-1)", a))


def _lower_flatten(args: Args) -> Emit:
    """Always a copy, one copy whatever the layout."""
    a = args.array("a")
    if args.literal("order") != "C":
        raise Refuse("order other than 'C'")
    return Emit(f"{a.name}.clone(memory_format=torch.contiguous_format).reshape(-1)")


def _permutation(a: Operand, order: Any) -> Emit:
    ndim = a.ndim
    perm = tuple(reversed(range(ndim))) if order is None else axes(order, ndim)
    if len(perm) != ndim:
        raise Refuse("axes is not a permutation (NumPy raises)")
    if perm == (1, 0):
        return Emit(f"{a.name}.T")
    return Emit(_fresh_from_scalar(f"{a.name}.permute({_arguments(perm)})", a))


def _lower_transpose(args: Args) -> Emit:
    return _permutation(args.array("a"), args.literal("axes"))


def _lower_transpose_method(call: Call) -> Emit:
    """``a.transpose()``, ``a.transpose(axes)``, ``a.transpose(*axes)``."""
    if call.kwargs:
        raise Refuse("keyword arguments")
    order = [op.literal for op in call.args[1:]]
    return _permutation(lifted(call.args[0]), order[0] if len(order) == 1 else tuple(order) or None)


def _lower_T(call: Call) -> Emit:
    return _permutation(lifted(call.args[0]), None)


def _lower_swapaxes(args: Args) -> Emit:
    a = args.array("a")
    first, second = (axis(args.literal(n), a.ndim) for n in ("axis1", "axis2"))
    return Emit(f"{a.name}.transpose({first}, {second})")


def _lower_moveaxis(args: Args) -> Emit:
    a = args.array("a")
    src, dst = (axes(args.literal(n), a.ndim) for n in ("source", "destination"))
    if len(src) != len(dst):
        raise Refuse("source and destination of different lengths (NumPy raises)")
    return Emit(f"torch.movedim({a.name}, {source(src)}, {source(dst)})")


def _lower_expand_dims(args: Args) -> Emit:
    """The new axes are positions in the result (NumPy normalizes against ndim + len(axis));
    inserting them in ascending order puts each where the result has it."""
    a, value = args.array("a"), args.literal("axis")
    count = len(value) if isinstance(value, (tuple, list)) else 1
    template = a.name + "".join(f".unsqueeze({d})" for d in sorted(axes(value, a.ndim + count)))
    return Emit(_fresh_from_scalar(template, a))


def _lower_squeeze(args: Args) -> Emit:
    a, value = args.array("a"), args.literal("axis")
    if a.ndim == 0:
        return Emit(f"{a.name}.clone()")
    if value is None:
        raise Refuse("squeeze without axis: the result's ndim depends on the runtime shape")
    return Emit(f"lib.squeeze({a.name}, {source(axes(value, a.ndim))})")


def _joined(args: Args, join: Callable[[str], str], items: Operand, flat: bool = False) -> Emit:
    """``join`` of the operand list, in NumPy's result dtype (``dtype=`` or the items' common
    dtype; ``casting=`` is NumPy's to check, on the probes).  Items of one dtype are joined, then
    cast; items of several are each cast first (``flat``: and flattened)."""
    dtypes = array_sequence(items)[1]
    result = args.call.result_dtype
    if len(dtypes) == 1:
        sequence = each_item(items, "_item.reshape(-1)") if flat else items.name
        return Emit(cast(join(sequence), result, dtypes.pop()))
    return Emit(join(each_item(items, cast("_item.reshape(-1)" if flat else "_item", result))))


def _lower_concatenate(args: Args) -> Emit:
    seq = args["arrays"]
    if args.literal("axis") is None:
        return _joined(args, lambda items: f"torch.cat({items})", seq, flat=True)
    d = axis(args.literal("axis"), array_sequence(seq)[0])
    return _joined(args, lambda items: f"torch.cat({items}{_dim(d)})", seq)


def _lower_stack(args: Args) -> Emit:
    seq = args["arrays"]
    d = axis(args.literal("axis"), array_sequence(seq)[0] + 1)
    return _joined(args, lambda items: f"torch.stack({items}{_dim(d)})", seq)


def _dim(d: int) -> str:
    """The ``dim=`` argument of ``torch.cat``/``torch.stack``, left out where it is the default."""
    return f", dim={d}" if d else ""


def _stacking(function: str) -> Callable[[Args], Emit]:
    """``np.vstack``/``hstack``/``column_stack``: torch's functions of the same name make the
    operands at least 1-d or 2-d, and join them, by NumPy's rules."""

    def lower(args: Args) -> Emit:
        return _joined(args, lambda items: f"{function}({items})", args["tup"])

    lower.__name__ = f"_lower_{function.rsplit('.', 1)[1]}"
    return lower


def _lower_split(equal: bool) -> Callable[[Args], Emit]:
    """Views along the axis: ``torch.tensor_split`` divides as ``np.array_split`` does (sections or
    indices); ``np.split`` with sections insists on equal ones, which ``unflatten(d, (n, -1))``
    enforces by raising."""

    def lower(args: Args) -> Emit:
        a = args.array("ary")
        d = axis(args.literal("axis"), a.ndim)
        parts = args["indices_or_sections"]
        if parts.is_literal:
            sections = not isinstance(parts.literal, (tuple, list))
            numbers = int_tuple(parts.literal)
            parts_source = str(numbers[0]) if sections else source(list(numbers))
        elif python_number(parts) is int or _int_list(parts):
            parts_source, sections = parts.name, python_number(parts) is int
        else:
            raise Refuse("indices_or_sections must be an int or a list of ints")
        if equal and sections:
            return Emit(f"[*{a.name}.unflatten({d}, ({parts_source}, -1)).unbind({d})]")
        return Emit(f"[*torch.tensor_split({a.name}, {parts_source}, dim={d})]")

    lower.__name__ = "_lower_split" if equal else "_lower_array_split"
    return lower


def _int_list(op: Operand) -> bool:
    """A list of Python ints of unknown values."""
    return isinstance(op.value, ListV) and all(isinstance(o, PyScalarV) and o.type is int
                                               for o in op.value.elem.options())


def _lower_flip(args: Args) -> Emit:
    a = args.array("m")
    return Emit(f"torch.flip({a.name}, {source(axes(args.literal('axis'), a.ndim))})")


def _lower_roll(args: Args) -> Emit:
    """Shifts broadcast against axes and add up per axis; without an axis torch, like NumPy,
    rolls the flattened array and restores the shape."""
    a, shift, where = args.array("a"), args["shift"], args.literal("axis")
    if not shift.is_literal:
        if python_number(shift) is not int or isinstance(where, (tuple, list)):
            raise Refuse("a shift of unknown value must be an int, with at most one axis")
        dims = "" if where is None else f", {axis(where, a.ndim)}"
        return Emit(f"torch.roll({a.name}, {shift.name}{dims})")
    shifts = int_tuple(shift.literal)
    if where is None:
        return Emit(f"torch.roll({a.name}, {sum(shifts)})")
    try:
        pairs = np.broadcast(shifts if isinstance(shift.literal, (tuple, list)) else shifts[0], where)
    except ValueError:
        raise Refuse("shift and axis do not broadcast (NumPy raises)") from None
    if pairs.ndim > 1:
        raise Refuse("'shift' and 'axis' should be scalars or 1D sequences (NumPy raises)")
    totals: dict[int, int] = {}
    for amount, ax in pairs:
        d = axis(ax, a.ndim)
        totals[d] = totals.get(d, 0) + int(amount)
    if not totals:
        raise Refuse("no axis to roll")
    return Emit(f"torch.roll({a.name}, {source(tuple(totals.values()))}, {source(tuple(totals))})")


def _lower_tile(args: Args) -> Emit:
    """``torch.tile`` pads the repetitions or the shape with leading ones as NumPy does."""
    a, counts = args.array("A"), int_tuple(args.literal("reps"))
    if any(c < 0 for c in counts):
        raise Refuse("negative repetitions (NumPy raises)")
    return Emit(f"torch.tile({a.name}, {source(counts)})")


def _lower_repeat(args: Args) -> Emit:
    """Repetitions by a Python int only: an array of counts makes the result's length data,
    which torch reads on the host."""
    a, repeats = args.array("a"), args["repeats"]
    if repeats.is_literal:
        count = int_tuple(repeats.literal)
        if len(count) != 1 or count[0] < 0 or isinstance(repeats.literal, (tuple, list)):
            raise Refuse("repeats must be one non-negative int")
        repeats_source = str(count[0])
    elif python_number(repeats) is int:
        repeats_source = repeats.name
    else:
        raise Refuse("repeats given as an array: the result's length is data (a host read)")
    where = args.literal("axis")
    dim = "" if where is None else f", dim={axis(where, a.ndim)}"
    return Emit(f"torch.repeat_interleave({a.name}, {repeats_source}{dim})")


def _lower_broadcast_to(args: Args) -> Emit:
    a, shape = args.array("array"), int_tuple(args.literal("shape"))
    if any(s < 0 for s in shape):
        raise Refuse("negative dimensions (NumPy raises; torch reads -1 as 'keep this size')")
    operand = f"{a.name}.clone()" if a.ndim == 0 else a.name  # a view of a new 0-d value, as in NumPy
    return Emit(f"torch.broadcast_to({operand}, {source(shape)})")


# ---------------------------------------------------------------------------------------------
# Registration

_X = Arr()
_NDIM1 = Arr(ndim=(1, 3))


def _reshape_target(d: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Targets that fit, that need -1, that make 0-d, and that do not fit (NumPy raises)."""
    size = math.prod(shape)
    return d.choice([(size,), (-1,), (1, size), (size, 1), (-1, 1), (), (1, -1, 1), (size + 1,),
                     (2, -1) if size % 2 == 0 else (-1, 2)])


def _reshape_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 3))
    x, target = d.array(shape), _reshape_target(d, shape)
    form = d.choice(["tuple", "int", "kw"])
    if form == "int" and len(target) == 1:
        return (x, target[0]), {}
    if form == "kw":
        return (x,), {"shape": target}
    return (x, target), {}


def _reshape_method_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 3))
    x, target = d.array(shape), _reshape_target(d, shape)
    return ((x, target) if d.integer(0, 1) else (x, *target)), {}


def _split_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((1, 3), min_side=0)
    axis = d.integer(-len(shape), len(shape) - 1)
    side = shape[axis]
    sections = d.choice([1, 2, 3, max(side, 1), [1], [0, 2], [-1], [3, 1], (1, 5)])
    return (d.array(shape), sections), ({"axis": axis} if d.integer(0, 1) else {})


def _roll_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = d.array(d.shape((0, 3)))
    ndim = np.ndim(x.value)
    shift = d.choice([1, -2, 5, (1, 2), np.int64(3)])
    axis = d.choice([None, 0, -1, (0, 0), (0, -1)] if ndim else [None])
    return (x, shift), ({} if axis is None and d.integer(0, 1) else {"axis": axis})


def _transpose_star_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``a.transpose(2, 0, 1)``: axes as separate arguments (now and then not a permutation)."""
    return (d.array(d.shape((3, 3))), *d.choice([(2, 0, 1), (1, 2, 0), (0, -1, 1), (1, 1, 0)])), {}


def _tile_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (d.array(d.shape((0, 3))), d.choice([2, 1, 0, (), (2, 1), (1, 1), (1, 2, 3), [2]])), {}


def _repeat_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 3))
    x = d.array(shape)
    axis = d.choice([None] + list(range(-len(shape), len(shape))))
    length = math.prod(shape) if axis is None else shape[axis]
    repeats = d.choice([2, 0, 1, "array"])
    if repeats == "array":
        repeats = d.array((length,), ("int64", "int32"), "positive", lifted=None)
    return (x, repeats), ({} if axis is None else {"axis": axis})


def _broadcast_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 2))
    target = d.choice([(3,) + shape, shape, (2, 1) + shape, ()])
    return (d.array(tuple(1 if d.integer(0, 2) == 0 else s for s in shape)), target), {}


def _literal_axes(args: Sequence[AV], kwargs: Mapping[str, AV]) -> str | None:
    """``a.transpose(*axes)``: every axis after the receiver must be a literal."""
    if any(not isinstance(a, ConstV) for a in args[1:]):
        return "axes must be literals"
    return None


def _shape_entry(name: str, impl: Callable[..., Any], torch_name: str, cases: tuple[Any, ...], *,
                 method: bool = False, function: bool = True, forms: str = "", notes: str = "",
                 literals: tuple[str, ...] = (), infer: Any = None,
                 copies_views: Callable[..., bool] | None = None, lower: Callable[[Args], Emit] | None = None) -> None:
    check = literal_arguments(impl, *literals) if literals else None
    register_numpy(name, impl, method=method, function=function, torch_name=torch_name, forms=forms,
                   notes=notes, check=check, infer=infer, cases=cases, copies_views=copies_views,
                   lower=bound(impl, lower) if lower is not None else None)


_shape_entry("reshape", _reshape, "torch.reshape", (custom(_reshape_operands),), infer=_infer_reshape,
             lower=_lower_reshape,
             forms="shape as an int or a tuple (-1 allowed)",
             notes="order other than 'C' and copy=False go to NumPy; an array reshaped to () is a 0-d "
                   "ndarray in NumPy and goes to NumPy")
register(OpEntry(key="ndarray.reshape", reference=method_reference("reshape"), torch_impl=_reshape_method,
                 torch_name="torch.reshape", forms="a.reshape(2, 3) or a.reshape((2, 3))",
                 notes="order other than 'C' and copy=False go to NumPy", infer=_infer_reshape,
                 lower=_lower_reshape_method,
                 cases=(custom(_reshape_method_operands),)))
_shape_entry("ravel", _ravel, "torch.reshape(-1)", (case(_X), case(_X, Lit("C", "F"))), method=True,
             lower=_lower_ravel,
             notes="order other than 'C' goes to NumPy")
_shape_entry("flatten", _flatten, "torch.reshape(-1), copied", (case(_X),), function=False, method=True,
             lower=_lower_flatten,
             notes="order other than 'C' goes to NumPy")
_shape_entry("transpose", _transpose, "Tensor.permute",
             (case(_X), case(Arr(ndim=(2, 2)), Lit((1, 0), (0, 1), (0, 0), [1, 0])),
              case(Arr(ndim=(3, 3)), axes=Lit((2, 0, 1), (0, -1, 1), None))),
             literals=("axes",), forms="axes None or a permutation", lower=_lower_transpose)
register(OpEntry(key="ndarray.transpose", reference=method_reference("transpose"), torch_impl=_transpose_method,
                 torch_name="Tensor.permute", forms="a.transpose(), a.transpose(axes), a.transpose(*axes)",
                 check=_literal_axes, lower=_lower_transpose_method, cases=(case(_X), case(Arr(ndim=(2, 2)), Lit((1, 0), (0, 1), None)),
                                             custom(_transpose_star_operands))))
register(OpEntry(key="ndarray.T", reference=attribute_reference("T"), torch_impl=_transpose,
                 torch_name="Tensor.permute (reversed axes)", attribute=True, cases=(case(_X),),
                 lower=_lower_T))
_shape_entry("swapaxes", _swapaxes, "Tensor.transpose",
             (case(Arr(), Axis(none=False, multi=False), Axis(none=False, multi=False)),), method=True,
             lower=_lower_swapaxes)
_shape_entry("moveaxis", _moveaxis, "torch.movedim",
             (case(Arr(), Axis(none=False, multi=False), Axis(none=False, multi=False)),
              case(Arr(ndim=(2, 3)), Lit((0, 1), [1, 0], (0, 0), ()), Lit((1, 0), (-1, 0), ()))),
             literals=("source", "destination"), lower=_lower_moveaxis)
_shape_entry("expand_dims", _expand_dims, "Tensor.unsqueeze",
             (case(_X, Lit(0, -1, 1, 3, (0, 1), (0, -1), (1, 1))),), literals=("axis",),
             forms="axis int or tuple (positions in the result)", lower=_lower_expand_dims)
_shape_entry("squeeze", _squeeze, "torch.squeeze",
             (case(Arr(ndim=(0, 3))), case(Arr(ndim=(0, 3)), Axis(multi=True))), method=True,
             infer=_infer_squeeze, literals=("axis",), lower=_lower_squeeze,
             notes="a result of ndim 0 from an array is a 0-d ndarray in NumPy and goes to NumPy; "
                   "squeezing an axis of size other than 1 goes to NumPy (it raises)")
_SEQ = Seq(Arr(ndim=(1, 3)), count=(1, 3))
_JOIN_DTYPE = Lit(OMIT, None, "float64", "int32", np.float32, bool)
_shape_entry("concatenate", _concatenate, "torch.cat (operands cast to np.result_type)",
             (case(_SEQ, OneOf(Lit(0, -1, None), Axis(none=False, multi=False))),
              case(Seq(Arr(ndim=(1, 2)), kind=tuple), axis=Lit(0, None, -1), dtype=_JOIN_DTYPE,
                   casting=Lit(OMIT, "same_kind", "unsafe", "no"))),
             literals=("axis",), forms="list/tuple of arrays, axis int/None, dtype=, casting=", lower=_lower_concatenate,
             notes="out= goes to NumPy")
_shape_entry("stack", _stack, "torch.stack (operands cast to np.result_type)",
             (case(Seq(Arr(ndim=(0, 3))), Lit(0, -1, 1, 3)),
              case(Seq(Arr(ndim=(0, 2)), kind=tuple), axis=Lit(0, -1), dtype=_JOIN_DTYPE)),
             literals=("axis",), forms="list/tuple of arrays, axis, dtype=, casting=", notes="out= goes to NumPy",
             lower=_lower_stack)
for _name, _impl, _target in (("vstack", _vstack, "torch.vstack"), ("hstack", _hstack, "torch.hstack")):
    _shape_entry(_name, _impl, _target, (case(Seq(Arr(ndim=(0, 3)))), case(Seq(Arr(ndim=(0, 2))), dtype=_JOIN_DTYPE)),
                 forms="list/tuple of arrays, dtype=, casting=", lower=_stacking(f"torch.{_name}"))
_shape_entry("column_stack", _column_stack, "torch.column_stack", (case(Seq(Arr(ndim=(0, 2)))),),
             forms="list/tuple of arrays", lower=_stacking("torch.column_stack"))
for _name, _impl in (("split", _split), ("array_split", _array_split)):
    _shape_entry(_name, _impl, "torch.tensor_split / Tensor.unflatten(...).unbind (views)", (custom(_split_operands),), infer=_infer_split,
                 literals=("axis",), forms="number of sections or a list of indices, axis",
                 notes="returns a list of tensors", lower=_lower_split(_name == "split"))
_shape_entry("flip", _flip, "torch.flip", (case(_X), case(_X, Axis())), literals=("axis",),
             notes="torch.flip returns a copy where NumPy returns a view", copies_views=always, lower=_lower_flip)
_shape_entry("roll", _roll, "torch.roll", (custom(_roll_operands),), literals=("axis",),
             forms="shift int or tuple, axis None/int/tuple",
             notes="rolling a scalar gives a 0-d ndarray in NumPy and goes to NumPy", lower=_lower_roll)
_shape_entry("tile", _tile, "torch.tile", (custom(_tile_operands),), literals=("reps",),
             notes="a 0-d result (a scalar tiled by ()) is a 0-d ndarray in NumPy and goes to NumPy", lower=_lower_tile)
_shape_entry("repeat", _repeat, "torch.repeat_interleave", (custom(_repeat_operands),), method=True,
             literals=("axis",), forms="repeats int or array, axis None/int",
             notes="Tensor.repeat tiles instead; negative or non-integer repeats go to NumPy", lower=_lower_repeat)
_shape_entry("broadcast_to", _broadcast_to, "torch.broadcast_to", (custom(_broadcast_operands),),
             infer=_infer_broadcast_to, literals=("shape",),
             notes="a 0-d result is a 0-d ndarray in NumPy and goes to NumPy; writes through the "
                   "result are an error in NumPy (read-only view)", copies_views=always, lower=_lower_broadcast_to)
