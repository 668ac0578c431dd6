"""Static result rule of an entry, answered by NumPy itself.

At specialization time the analysis knows each operand's dtype and ndim (or the literal value of
a constant).  Running the entry's NumPy reference on small *probe* values of exactly those
dtypes, ndims and kinds yields NumPy's result dtype, ndim and kind (NumPy scalar vs ndarray)
with NumPy's own promotion rules, so the registry never restates them.  Probes use size 2 on
every axis (so operands of different ndim broadcast) and the value 1 (defined for every
elementwise function NumPy has).  An entry whose result depends on shapes or values overrides
this with its own ``infer``.
"""
from __future__ import annotations

import itertools
import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from ..lattice import AV, BOTTOM, ArrayV, ConstV, ListV, ObjV, PyScalarV, TOP, TupleV, describe, join
from ..dtypes import LIFTABLE_NP_DTYPES
from ..errors import Refusal
from .cases import Lifted, Weak
from .entry import OpEntry

PROBE_SIZE = 2
MAX_COMBINATIONS = 8
#: The ranks an operand of unknown rank stands for when a ``rank_free`` call is typed or lowered:
#: a lifted array of unknown rank is at least 1-d (its conversion's guard checks that).
RANKS = (1, 2, 3)
#: Most operands of unknown rank one call may have (each multiplies the ranks tried).
MAX_UNRANKED = 2


def _dtype_like(obj: object) -> bool:
    """A NumPy scalar type, a dtype, or a Python number type: what ``dtype=`` arguments name."""
    return isinstance(obj, np.dtype) or obj in (bool, int, float, complex) or \
        (isinstance(obj, type) and issubclass(obj, np.generic))


def probe_values(value: AV, size: int = PROBE_SIZE) -> list[Any]:
    """Concrete stand-ins for every alternative of ``value`` (Refusal when one is unknown), with
    ``size`` on every axis."""
    out: list[Any] = []
    for option in value.options():
        if isinstance(option, ArrayV):
            if option.dtype is None or option.ndim is None:
                raise Refusal("operand with unknown dtype or ndim")
            if option.scalar:
                out.append(option.dtype.type(1))
            else:
                out.append(np.ones((size,) * option.ndim, dtype=option.dtype))
        elif isinstance(option, ConstV):
            out.append(option.value)
        elif isinstance(option, ObjV) and _dtype_like(option.obj):
            out.append(option.obj)  # ``dtype=np.float32``: a literal as much as ``"float32"`` is
        elif isinstance(option, PyScalarV):
            out.append(option.type(1))
        elif isinstance(option, ListV):
            out.extend(_mixtures(probe_values(option.elem, size)))
        elif isinstance(option, TupleV):
            if option.items is not None:
                out.extend(itertools.product(*(probe_values(item, size) for item in option.items)))
            else:
                out.extend(map(tuple, _mixtures(probe_values(option.elem, size))))
        else:
            raise Refusal(f"an operand is {describe(option)}, not a NumPy value, a number or a literal")
    return out


def _mixtures(items: list[Any]) -> list[list[Any]]:
    """Lists standing for a list whose items may be any of ``items``: each alternative alone
    (twice) and every mixture of them, since a mixed list promotes (float32 with int32 items
    concatenate to float64)."""
    lists = [[item, item] for item in items]
    for size in range(2, len(items) + 1):
        lists.extend(list(group) for group in itertools.combinations(items, size))
    return lists


def result_value(result: Any) -> AV:
    """The abstract value of a probe's result."""
    if isinstance(result, np.ndarray):
        if result.ndim == 0:  # a 0-d ndarray can never be lifted (see analysis/values.py)
            return ArrayV(result.dtype, 0, scalar=False, lifted=False)
        return ArrayV(result.dtype, result.ndim, scalar=False, lifted=result.dtype in LIFTABLE_NP_DTYPES)
    if isinstance(result, np.generic):
        return ArrayV(result.dtype, 0, scalar=True, lifted=result.dtype in LIFTABLE_NP_DTYPES)
    if isinstance(result, (bool, int, float, complex)):
        return PyScalarV(type(result))
    if isinstance(result, tuple):
        return TupleV(tuple(result_value(r) for r in result))
    if isinstance(result, list):
        return ListV(TOP)
    return TOP


def infer_by_probe(entry: OpEntry, args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """NumPy's result for probe values of these abstract arguments (joined over alternatives)."""
    arg_probes = [probe_values(a) for a in args]
    kw_names = list(kwargs)
    kw_probes = [probe_values(kwargs[k]) for k in kw_names]
    combos = list(itertools.islice(itertools.product(*arg_probes, *kw_probes), MAX_COMBINATIONS + 1))
    if len(combos) > MAX_COMBINATIONS:
        raise Refusal("too many alternative operand types")
    result: AV = BOTTOM
    for combo in combos:
        call_args = combo[:len(args)]
        call_kwargs = dict(zip(kw_names, combo[len(args):]))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                value = entry.reference(*call_args, **call_kwargs)
            except Exception as exc:
                raise Refusal(f"NumPy raises {type(exc).__name__} for these operand types") from None
        result = join(result, result_value(value))
    return result


def unranked(args: Sequence[AV], kwargs: Mapping[str, AV]) -> int:
    """How many operands are arrays of known dtype and unknown rank."""
    return sum(any(_unranked(o) for o in value.options()) for value in (*args, *kwargs.values()))


def _unranked(option: AV) -> bool:
    return isinstance(option, ArrayV) and not option.scalar and option.dtype is not None and option.ndim is None


def at_ranks(entry: OpEntry, args: Sequence[AV], kwargs: Mapping[str, AV]
             ) -> list[tuple[list[AV], dict[str, AV]]]:
    """The arguments with each operand of unknown rank at each rank of ``RANKS`` (every
    combination), or ``Refusal`` when the entry does not declare the call ``rank_free``."""
    if entry.rank_free is None or not entry.rank_free(args, kwargs):
        raise Refusal(f"{entry.key}: an operand's rank is unknown here (it changes from item to item), "
                      "and this operation depends on it")
    if unranked(args, kwargs) > MAX_UNRANKED:
        raise Refusal(f"{entry.key}: too many operands of unknown rank")
    names = list(kwargs)
    values = [*args, *kwargs.values()]
    out = []
    for ranks in itertools.product(RANKS, repeat=len(values)):
        ranked = [_at_rank(value, rank) for value, rank in zip(values, ranks)]
        if any(r is None for r in ranked):
            continue  # the same as a combination already listed (this operand has a known rank)
        out.append((ranked[:len(args)], dict(zip(names, ranked[len(args):]))))
    return out


def _at_rank(value: AV, rank: int) -> AV | None:
    """``value`` with its unknown-rank array at ``rank``; None for a value of known rank at any
    rank but the first (so each combination appears once)."""
    if not any(_unranked(o) for o in value.options()):
        return value if rank == RANKS[0] else None
    if isinstance(value, ArrayV):
        return ArrayV(value.dtype, rank, scalar=False, lifted=value.lifted)
    raise Refusal("an operand of unknown rank among other types")


def join_ranks(entry: OpEntry, results: Sequence[AV]) -> AV:
    """One result for all ranks: the same value at each (a full reduction's NumPy scalar),
    arrays of one dtype that differ only in rank (element-wise work), as an array of unknown
    rank, or tuples of one kind of item that differ only in length (``a.shape``), as a tuple of
    unknown length; ``Refusal`` otherwise."""
    first = results[0]
    if all(r == first for r in results):
        return first
    if all(isinstance(r, ArrayV) and not r.scalar and r.ndim and (r.dtype, r.lifted) == (first.dtype, first.lifted)
           for r in results):
        assert isinstance(first, ArrayV)
        return ArrayV(first.dtype, None, scalar=False, lifted=first.lifted)
    if all(isinstance(r, TupleV) and r.items and r.fields is None for r in results):
        items = {item for r in results for item in r.item_types()}
        if len(items) == 1:
            return TupleV(None, items.pop())
    raise Refusal(f"{entry.key}: the kind of NumPy's result depends on the operands' rank, unknown here")


def infer(entry: OpEntry, args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """The entry's static result for these abstract arguments, or ``Refusal`` (with reason)."""
    if "out" in kwargs or "where" in kwargs:
        raise Refusal(f"{entry.key} with out= or where= writes into an array")
    if unranked(args, kwargs):
        return join_ranks(entry, [infer(entry, a, k) for a, k in at_ranks(entry, args, kwargs)])
    if entry.check is not None:
        reason = entry.check(args, kwargs)
        if reason:
            raise Refusal(f"{entry.key}: {reason}")
    if entry.infer is not None:
        return entry.infer(args, kwargs)
    return infer_by_probe(entry, args, kwargs)


def abstract_form(value: Any) -> AV:
    """What static analysis would know about the argument."""
    if isinstance(value, Lifted):
        inner = value.value
        return ArrayV(inner.dtype, np.ndim(inner), scalar=isinstance(inner, np.generic), lifted=True)
    if isinstance(value, Weak):
        return PyScalarV(type(value.value))
    if isinstance(value, np.ndarray):
        return ArrayV(value.dtype, value.ndim, scalar=False)
    if isinstance(value, np.generic):
        return ArrayV(value.dtype, 0, scalar=True)
    if isinstance(value, list):
        elem: AV = BOTTOM
        for item in value:
            elem = join(elem, abstract_form(item))
        return ListV(elem)
    if isinstance(value, tuple) and any(isinstance(v, (Lifted, Weak, np.ndarray, np.generic)) for v in value):
        return TupleV(tuple(map(abstract_form, value)))
    return ConstV(value)
