"""Rules both analysis passes apply: what an operation on abstract values gives, and facts about
values and code that the types pass, placement and the dependence pass share.

The types pass computes with them what the original program holds; placement computes with the
same rules what the rewritten program holds (the same values with lifted bits), so the two can
never disagree about a type.
"""
from __future__ import annotations

import ast
import operator
import types
from dataclasses import replace
from typing import Any

import numpy as np

from .. import registry
from ..dtypes import LIFTABLE_NP_DTYPES, TORCH_TO_NP
from ..errors import Refusal
from ..lattice import (AV, BOTTOM, TOP, UNBOUND, ArrayV, ConstV, DictV, ListV, ObjV, PlainV, PyScalarV, RangeV,
                       TensorV, TopV, TupleV, UnionV, contains_lifted, demoted, join)
from ..registry import probe
from . import conversions, typing_torch
from .walker import Env, join_all

_MISSING = object()

#: Builtins that only read their arguments and keep nothing, with their results' types.
READ_BUILTIN_RESULTS: dict[Any, AV] = {
    print: ConstV(None), float: PyScalarV(float), int: PyScalarV(int), bool: PyScalarV(bool),
    complex: PyScalarV(complex), str: PlainV(str), repr: PlainV(str), format: PlainV(str),
    isinstance: PyScalarV(bool), issubclass: PyScalarV(bool), type: TOP, hash: PyScalarV(int),
    callable: PyScalarV(bool), round: TOP, min: TOP, max: TOP, sum: TOP, any: PyScalarV(bool),
    all: PyScalarV(bool), len: PyScalarV(int), abs: TOP,
}

BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
          ast.Mod: "mod", ast.Pow: "pow", ast.LShift: "lshift", ast.RShift: "rshift",
          ast.BitAnd: "and_", ast.BitOr: "or_", ast.BitXor: "xor", ast.MatMult: "matmul"}
UNARYOPS = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "invert"}
COMPARES = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}


def module_attribute(module: types.ModuleType, name: str) -> AV:
    """``np.exp`` is the function itself; ``np.pi``/``np.newaxis`` are constants."""
    obj = getattr(module, name, _MISSING)
    if obj is None or isinstance(obj, (bool, int, float)):
        return ConstV(obj)
    if isinstance(obj, types.ModuleType) or callable(obj) or isinstance(obj, np.dtype):
        return ObjV(obj)
    if type(obj).__module__ == "torch" and type(obj).__name__ in ("dtype", "device"):
        return ObjV(obj)
    return TOP


def numpy_result(entry: registry.OpEntry, args: list[AV], kwargs: dict[str, AV]) -> AV:
    """What NumPy returns for this registry operation on these (plain) operands."""
    try:
        return demoted(probe.infer(entry, [demoted(a) for a in args], {k: demoted(v) for k, v in kwargs.items()}))
    except Refusal:
        return TOP


def tensor_operator(op: str, left: AV, right: AV) -> AV:
    """A Python operator with a tensor operand, typed by torch (meta tensors)."""
    fn = getattr(operator, op, None)
    if fn is None:
        return TOP
    for value in (left, right):  # a NumPy operand: torch converts it (or the array wins): unknown
        if any(isinstance(o, (ArrayV, TopV, ListV)) for o in value.options()):
            return TOP
    return typing_torch.probe_call(fn, [left, right], {})


def tensor_index(base: TensorV, index: AV) -> AV:
    """``t[i]``: torch's own answer for literal indices, else a tensor of unknown rank."""
    result = typing_torch.probe_call(operator.getitem, [base, index], {})
    if isinstance(result, TensorV):
        return result
    return TensorV(base.dtype, None, base.device, base.requires_grad)


def iterator_result(obj: Any, args: list[AV], kwargs: dict[str, AV]) -> AV:
    if kwargs:
        return TOP
    items = [element_of(a) for a in args]
    if obj is enumerate:
        return RangeV(TupleV((PyScalarV(int), items[0]))) if len(items) == 1 else TOP
    return RangeV(TupleV(tuple(items)))


def element_of(value: AV) -> AV:
    """The abstract value of one element produced by iterating over ``value``."""
    element: AV = BOTTOM
    for option in value.options():
        if isinstance(option, ListV):
            item = option.elem
        elif isinstance(option, TupleV):
            item = join_all(option.item_types())
        elif isinstance(option, RangeV):
            item = option.elem
        elif isinstance(option, TensorV) and option.ndim:
            item = replace(option, ndim=option.ndim - 1)
        elif isinstance(option, ArrayV) and not option.scalar and option.ndim:
            item = ArrayV(option.dtype, option.ndim - 1, scalar=option.ndim == 1, lifted=option.lifted)
        else:
            item = TOP
        element = join(element, item)
    return element


def python_binop(left: AV, right: AV, op: str) -> AV:
    """An operator on Python numbers: the result's Python type."""
    kinds = []
    for value in (left, right):
        if isinstance(value, ConstV) and type(value.value) in (bool, int, float):
            kinds.append(type(value.value))
        elif isinstance(value, PyScalarV) and value.type in (bool, int, float):
            kinds.append(value.type)
        else:
            return TOP
    if op in ("eq", "ne", "lt", "le", "gt", "ge"):
        return PyScalarV(bool)
    if op == "truediv" or float in kinds:
        return PyScalarV(float)
    if op in ("and_", "or_", "xor") and kinds == [bool, bool]:
        return PyScalarV(bool)
    if op == "pow":
        return TOP  # int ** negative int is a float
    return PyScalarV(int)


def unpack(value: AV, count: int) -> list[AV] | None:
    if isinstance(value, TupleV):
        if value.items is not None:
            return list(value.items) if len(value.items) == count else None
        return [value.elem] * count
    if isinstance(value, ConstV) and isinstance(value.value, tuple):
        return [ConstV(v) for v in value.value] if len(value.value) == count else None
    if isinstance(value, ListV):
        return [value.elem] * count
    if isinstance(value, TensorV) and value.ndim:
        return [replace(value, ndim=value.ndim - 1)] * count
    if isinstance(value, ArrayV) and value.ndim:
        return [ArrayV(value.dtype, value.ndim - 1, scalar=value.ndim == 1, lifted=value.lifted)] * count
    return None


def is_local_list(value: AV) -> bool:
    return all(isinstance(o, ListV) and o.local for o in value.options())


def list_elem(value: AV) -> AV:
    return join_all(o.elem for o in value.options() if isinstance(o, ListV))


def is_local_dict(value: AV) -> bool:
    return all(isinstance(o, DictV) and o.local for o in value.options())


def dict_value(value: AV) -> AV:
    return join_all(o.value for o in value.options() if isinstance(o, DictV))


#: Expressions that make a new list or dict: stored into a dict, nothing else reaches it.
FRESH = (ast.List, ast.ListComp, ast.Dict, ast.DictComp)


def holder(node: ast.expr, env: Env) -> str | None:
    """The name a value at ``node`` is kept in: ``x`` itself, or ``d`` for an item ``d[k]`` of a
    dict ``d`` the function made (its items are reached only through it); None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
            not isinstance(node.slice, ast.Slice) and is_local_dict(env.get(node.value.id, UNBOUND)):
        return node.value.id
    return None


def hold(env: Env, node: ast.expr, value: AV) -> None:
    """``node`` (a name, or an item of a local dict: see ``holder``) now holds ``value``; a dict
    item's value joins the dict's values (its keys are not tracked)."""
    if isinstance(node, ast.Name):
        env[node.id] = value
    else:
        name = node.value.id  # type: ignore[attr-defined]
        env[name] = DictV(join(dict_value(env[name]), value), local=True)


def non_local(value: AV) -> AV:
    """The value once a list or dict in it may be seen elsewhere (a dict's values with it: the
    lists in a local dict were local only through it)."""
    if isinstance(value, ListV):
        return ListV(value.elem, local=False)
    if isinstance(value, DictV):
        return DictV(non_local(value.value), local=False)
    if isinstance(value, TupleV):
        return replace(value, items=tuple(map(non_local, value.items)) if value.items is not None else None,
                       elem=non_local(value.elem))
    if isinstance(value, UnionV):
        return join_all(non_local(o) for o in value.alts)
    return value


def is_immutable_scalar(value: AV) -> bool:
    if isinstance(value, ConstV):
        return isinstance(value.value, (bool, int, float, complex))
    return isinstance(value, PyScalarV) or (isinstance(value, ArrayV) and value.scalar)


def is_int(value: AV) -> bool:
    return any(isinstance(o, PyScalarV) and o.type is int or isinstance(o, ConstV) and type(o.value) is int
               for o in value.options())


def hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def unliftable(source: TensorV, conv: conversions.Conversion) -> str | None:
    """Why converting this tensor cannot be lifted, or None.  A tensor of unknown rank (items of
    ``named_parameters()``: weights 2-d, biases 1-d) is lifted as an array of unknown rank, which
    only ``rank_free`` operations take; its guard checks a rank of at least 1 (a 0-d tensor's
    array makes NumPy give scalars, so it takes the original path)."""
    if source.dtype is None:
        return "tensor dtype unknown here"
    if TORCH_TO_NP.get(source.dtype) not in LIFTABLE_NP_DTYPES:
        return f"dtype {source.dtype} is not lifted"
    if source.ndim == 0:
        return "0-d tensor (NumPy gives a 0-d array)"
    if source.requires_grad is not False and "detach" not in conv.chain:
        return "tensor may require grad (the original raises)"
    if source.device != "cpu" and "cpu" not in conv.chain and conv.how == "numpy":
        return "tensor may not be on the CPU (the original raises)"
    return None


def is_tensor(value: AV) -> bool:
    options = list(value.options())
    return len(options) == 1 and isinstance(options[0], TensorV)


def is_python_number(value: AV) -> bool:
    return all(isinstance(o, PyScalarV) and o.type in (int, float, bool) or
               isinstance(o, ConstV) and type(o.value) in (int, float, bool) for o in value.options())


def fold_type(current: AV, value: AV) -> type:
    """The Python type ``x + read`` (or ``-``, ``*``) ends with: float if either is a float, else int."""
    kinds = {o.type if isinstance(o, PyScalarV) else type(o.value) for v in (current, value)
             for o in v.options()}  # type: ignore[union-attr]
    return float if float in kinds else int


def needs_rebind(value: AV) -> bool:
    """A retained value that can be modified: lifted arrays (not scalars) and lists or dicts holding lifted values."""
    for option in value.options():
        if isinstance(option, ArrayV) and option.lifted and option.ndim != 0:
            return True
        if isinstance(option, TopV) and option.lifted:
            return True
        if isinstance(option, (ListV, TupleV, DictV)) and contains_lifted(option):
            return True
    return False


def deferred_number(value: AV) -> bool:
    """A number whose read is deferred: read once into its name where Python needs it (every
    later use then sees the number, not another transfer)."""
    return all(isinstance(o, PyScalarV) and o.lifted for o in value.options())


def writes_in_place(fn: ast.FunctionDef) -> bool:
    """The function may write into an array in place (a syntactic, conservative check)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.AugAssign) or (isinstance(node, (ast.Subscript, ast.Attribute))
                                               and isinstance(node.ctx, (ast.Store, ast.Del))):
            return True
        if isinstance(node, ast.Call) and (any(k.arg == "out" for k in node.keywords) or (
                isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"))):
            return True
    return False


def loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def comprehension_targets(node: ast.AST) -> set[str]:
    return {n.id for gen in getattr(node, "generators", []) for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
