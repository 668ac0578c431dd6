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
of the operands' dtypes and ranks, it must give NumPy's dtype, rank and kind without a host read
(``HostReads``), or the call stays in NumPy (and the registry tests fail).  Dtype rules are
thereby written once, in NumPy, and verified for each lowering.

A template names only its placeholders and ``SCOPE`` (``torch``, ``lib``, ``math``), which the
generated code provides.  ``as_function`` and ``admits`` compile a ``Lowered`` into plain
functions of its operands (``Lowered.names`` order), as generated code would run it: the tests
and the microbenchmark call them.
"""
from __future__ import annotations

import ast
import itertools
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from ..dtypes import NP_TO_TORCH, TORCH_TO_NP, torch_name
from ..errors import Refusal
from ..lattice import AV, TOP, ArrayV, ConstV, ListV, ObjV, PyScalarV, TopV, TupleV, is_literal
from . import lib, probe
from .entry import OpEntry

#: The names a template may use besides its placeholders; generated code provides the same.
SCOPE: dict[str, Any] = {"torch": torch, "lib": lib, "math": math}


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
        return is_literal(self.value)

    @property
    def literal(self) -> Any:
        """The value of a literal operand, a tuple of literals included (``axis=(1, 2)``);
        ``Refuse`` when it is only known by type."""
        if isinstance(self.value, ConstV):
            return self.value.value
        if isinstance(self.value, ObjV):
            return self.value.obj
        if isinstance(self.value, TupleV) and is_literal(self.value):
            return tuple(item.value for item in self.value.items)
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
    def operands(self) -> tuple[Operand, ...]:
        """Every operand, positional then keyword."""
        return (*self.args, *self.kwargs.values())

    @property
    def device(self) -> str:
        """Where tensors made for this call go: the device of its first lifted operand."""
        for op in self.operands:
            if op.array is not None:
                return f"{op.name}.device"
        raise Refuse("no lifted operand (nothing places the call on a device)")

    @property
    def result_array(self) -> ArrayV:
        """NumPy's result, one array (``Refuse`` otherwise)."""
        options = list(self.result.options())
        if len(options) != 1 or not isinstance(options[0], ArrayV):
            raise Refuse("result is not one array")
        return options[0]

    @property
    def result_dtype(self) -> torch.dtype:
        """The torch dtype of NumPy's (single, array) result."""
        dtype = self.result_array.dtype
        if dtype not in NP_TO_TORCH:
            raise Refuse(f"result dtype {dtype} has no torch dtype")
        return NP_TO_TORCH[dtype]


@dataclass(frozen=True)
class Emit:
    """A lowering: a torch expression over the placeholder names, and the conditions on Python
    operands under which it is exact (checked before it runs)."""

    template: str
    requires: tuple[str, ...] = ()
    helpers: tuple[str, ...] = field(default=())
    """Names of plain helper functions (``looplift.registry.lib``) the template calls as
    ``lib.<name>`` (``lower`` adds those it finds in the template)."""


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


def literal_source(value: Any) -> str:
    """A literal as generated code writes it (``math.nan``/``math.inf`` for non-finite floats)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "math.nan" if math.isnan(value) else ("math.inf" if value > 0 else "-math.inf")
    if isinstance(value, tuple):
        items = ", ".join(map(literal_source, value))
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, (bool, int, float, str, type(None))):
        return repr(value)
    raise Refuse(f"literal {value!r} has no source form")


def operand_source(call: Call, op: Operand, dtype: torch.dtype, *, tensor: bool = False) -> str:
    """An operand as a value of ``dtype`` in generated code: a lifted array cast where it is of
    another dtype; a Python number as it is (torch treats it as weak, like NumPy 2) or, with
    ``tensor``, as a 0-d tensor on the call's device; a NumPy value as a tensor."""
    if op.array is not None:
        return cast(op.name, dtype, op.dtype)
    scalar = python_number(op)
    if scalar is not None:
        text = literal_source(op.literal) if op.is_literal else op.name
        return f"torch.full((), {text}, dtype={dtype_source(dtype)}, device={call.device})" if tensor else text
    options = list(op.value.options())
    if len(options) == 1 and isinstance(options[0], ArrayV) and options[0].dtype in NP_TO_TORCH:
        return f"torch.as_tensor({op.name}, dtype={dtype_source(dtype)}, device={call.device})"
    raise Refuse(f"{op.name} is not an array or a number")


def python_number(op: Operand) -> type | None:
    """``bool``/``int``/``float`` for a Python-number operand (literal or not), else None."""
    if op.python_type in (bool, int, float):
        return op.python_type
    if isinstance(op.value, ConstV) and type(op.value.value) in (bool, int, float):
        return type(op.value.value)
    return None


def int_fits(op: Operand, dtype: torch.dtype) -> tuple[str, ...]:
    """The ``requires`` under which a Python int operand fits an integer loop dtype (NumPy raises
    OverflowError otherwise); a literal is checked now."""
    if python_number(op) is not int or dtype.is_floating_point or dtype is torch.bool:
        return ()
    info = torch.iinfo(dtype)
    if op.is_literal:
        if not info.min <= op.literal <= info.max:
            raise Refuse(f"Python int {op.literal} out of range for {dtype_source(dtype)} (NumPy raises)")
        return ()
    return (f"{info.min} <= {op.name} <= {info.max}",)


def torch_dtype_of(call: Call, template: str) -> torch.dtype:
    """The dtype torch itself gives ``template`` for this call's operand types (one probe
    evaluation: torch's dtype depends on dtypes and ranks, never on values)."""
    return probe_result(call, template).dtype


def probe_result(call: Call, template: str) -> torch.Tensor:
    """``template`` evaluated on probe operands of this call's types: its dtype and rank are
    what generated code gets."""
    names = [op.name for op in call.operands]
    probes = [_probe_operand(op.value)[0] for op in call.operands]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = eval(compile(template, "<lowering>", "eval"), {**SCOPE, **dict(zip(names, probes))})
        except Exception as exc:  # noqa: BLE001 - whatever torch says, the call stays in NumPy
            raise Refuse(f"torch raises {type(exc).__name__} for {template}") from None
    if not isinstance(value, torch.Tensor):
        raise Refuse(f"{template} gives no tensor")
    return value


def finish(call: Call, template: str, requires: tuple[str, ...] = ()) -> Emit:
    """``template``, cast to NumPy's result dtype only where torch gives another."""
    return Emit(cast(template, call.result_dtype, torch_dtype_of(call, template)), requires)


@dataclass(frozen=True)
class Lowered:
    """A checked lowering, ready for code generation."""

    entry: OpEntry
    expression: ast.expr
    """The torch expression; placeholder names (``Call`` operand names) mark the operands."""
    requires: tuple[ast.expr, ...]
    result: AV
    helpers: tuple[str, ...]
    names: tuple[str, ...] = ()
    """The placeholder names, in operand order (positional operands, then keywords)."""

    @property
    def source(self) -> str:
        """The expression as generated code writes it."""
        return ast.unparse(self.expression)


def placeholders(args: Sequence[AV], kwargs: Mapping[str, AV]) -> tuple[tuple[Operand, ...], dict[str, Operand]]:
    """Operands under their placeholder names."""
    return (tuple(Operand(f"_{i}", value) for i, value in enumerate(args)),
            {name: Operand(f"_k_{name}", value) for name, value in kwargs.items()})


#: Most combinations of operand types one lowering may stand for (``acc`` that is ``0.0`` at the
#: first iteration and a float32 scalar after it is two).
MAX_COMBINATIONS = 4


def lower(entry: OpEntry, args: Sequence[AV], kwargs: Mapping[str, AV]) -> Lowered:
    """The entry's lowering for these abstract operands, checked against NumPy's result on probe
    values; ``Refusal`` (with the reason) when the call stays in NumPy.

    An operand that may be one of several types (a union) is lowered for each; one lowering
    stands for all when every one gives the same code and NumPy's result is the same.  An array
    operand of unknown rank is lowered likewise at each of ``probe.RANKS`` (for ``rank_free``
    calls only): the code must be the same at each, so it does not depend on the rank."""
    if probe.unranked(args, kwargs):
        each = [lower(entry, a, k) for a, k in probe.at_ranks(entry, args, kwargs)]
        _same_code(entry, each, "the lowering differs from rank to rank (the rank is unknown here)")
        return replace(each[0], result=probe.join_ranks(entry, [e.result for e in each]))
    options = [list(value.options()) for value in (*args, *kwargs.values())]
    if all(len(o) == 1 for o in options):
        return _lower_one(entry, args, kwargs)
    options = [[_unknown_value(o) for o in each] if len(each) > 1 else each for each in options]
    combinations = list(itertools.islice(itertools.product(*options), MAX_COMBINATIONS + 1))
    if len(combinations) > MAX_COMBINATIONS:
        raise Refusal(f"{entry.key}: operands of too many possible types")
    names = list(kwargs)
    each = [_lower_one(entry, combo[:len(args)], dict(zip(names, combo[len(args):]))) for combo in combinations]
    if any(e.result != each[0].result for e in each[1:]):
        raise Refusal(f"{entry.key}: an operand may be one of several types, for which NumPy's results differ")
    _same_code(entry, each, "an operand may be one of several types, for which NumPy's results differ")
    return each[0]


def _same_code(entry: OpEntry, each: Sequence[Lowered], why: str) -> None:
    """``Refusal`` unless every lowering is the same code (expression and requires)."""
    first = each[0]
    if any(ast.dump(e.expression) != ast.dump(first.expression) or
           [ast.dump(r) for r in e.requires] != [ast.dump(r) for r in first.requires] for e in each[1:]):
        raise Refusal(f"{entry.key}: {why}")


def _unknown_value(option: AV) -> AV:
    """A literal that is one form of a union, as a number of its type: the code must take the
    union's other forms too, so it cannot write the literal in."""
    if isinstance(option, ConstV) and type(option.value) in (bool, int, float, complex):
        return PyScalarV(type(option.value))
    return option


def _lower_one(entry: OpEntry, args: Sequence[AV], kwargs: Mapping[str, AV]) -> Lowered:
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
    names = tuple(op.name for op in (*operands, *keywords.values()))
    unknown = _free_names(expression, *requires) - set(names) - set(SCOPE)
    if unknown:  # a bug in the lowering, never the user's
        raise AssertionError(f"{entry.key} lowered to {emit.template!r}, which names {sorted(unknown)}")
    mismatch = verify(emit, operands, keywords, result, entry.reference)
    if mismatch:
        raise Refusal(f"{entry.key}: lowering disagrees with NumPy ({mismatch})")
    helpers = tuple(sorted(set(emit.helpers) | _lib_names(expression, *requires)))
    return Lowered(entry, expression, requires, result, helpers, names)


def _lib_names(*expressions: ast.expr) -> set[str]:
    """The ``lib.<name>`` helpers the expressions call."""
    return {node.attr for expression in expressions for node in ast.walk(expression)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "lib"}


def _free_names(*expressions: ast.expr) -> set[str]:
    """Names an expression reads that it does not bind itself (comprehension and lambda
    variables are bound)."""
    read, bound = set(), set()
    for expression in expressions:
        for node in ast.walk(expression):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
    return read - bound


def as_function(lowered: Lowered) -> Callable[..., Any]:
    """The lowered expression as a function of its operands (in ``lowered.names`` order),
    compiled as generated code runs it: one expression, ``torch``/``lib``/``math`` as globals."""
    return _function(lowered, lowered.source)


def admits(lowered: Lowered) -> Callable[..., bool]:
    """The ``requires`` conditions as one predicate over the operands (``lowered.names`` order):
    generated code runs the expression only where it holds, and NumPy otherwise."""
    return _function(lowered, " and ".join(f"({ast.unparse(r)})" for r in lowered.requires) or "True")


def _function(lowered: Lowered, body: str) -> Callable[..., Any]:
    source = f"def lowered({', '.join(lowered.names)}):\n    return {body}\n"
    namespace = dict(SCOPE)
    exec(compile(source, f"<lowered {lowered.entry.key}>", "exec"), namespace)  # noqa: S102 - our template
    return namespace["lowered"]


# ---------------------------------------------------------------------------------------------
# Host reads


#: Tensor methods that read tensor data on the host (each a device sync on an accelerator).
HOST_READS = frozenset({"item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__",
                        "__array__", "__format__", "cpu"})


class HostReads(TorchFunctionMode):
    """Records every read of tensor data by the host while active (``reads``: the method names):
    lowered code must make none."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in HOST_READS or (name == "to" and _to_host(args, kwargs)):
            self.reads.append(name)
        return func(*args, **kwargs)


def _to_host(args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """``t.to("cpu")`` and the like: a copy to the host."""
    targets = [*args[1:], kwargs.get("device")]
    return any(str(target) == "cpu" or (isinstance(target, torch.device) and target.type == "cpu")
               for target in targets if isinstance(target, (str, torch.device)))


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
    """The abstract value a generated-code result stands for (tensors as lifted arrays, Python
    numbers and other objects as ``probe.result_value`` has NumPy's)."""
    if isinstance(value, torch.Tensor):
        dtype = TORCH_TO_NP.get(value.dtype)
        return ArrayV(dtype, value.ndim, scalar=value.ndim == 0, lifted=True)
    if isinstance(value, tuple):
        kinds = [_kind(v) for v in value]
        return TupleV(tuple(kinds)) if all(isinstance(k, AV) for k in kinds) else "tuple"
    if isinstance(value, list):
        return "list"
    if isinstance(value, (bool, int, float)):
        return PyScalarV(type(value))
    if isinstance(value, (np.ndarray, np.generic)):
        return type(value).__name__  # a NumPy value where the generated code holds tensors
    return TOP


def _same(expected: AV, got: AV | str) -> bool:
    if isinstance(expected, ArrayV) and isinstance(got, ArrayV):
        return (expected.dtype, expected.ndim, expected.scalar) == (got.dtype, got.ndim, got.scalar)
    if isinstance(expected, TupleV) and isinstance(got, TupleV) and expected.items is not None:
        return got.items is not None and len(got.items) == len(expected.items) and \
            all(map(_same, expected.items, got.items))
    if isinstance(expected, ListV):
        return got == "list"
    if isinstance(expected, (PyScalarV, TopV)):
        return expected == got
    return False


def _raises(reference: Callable[..., Any], combo: Sequence[Any], npos: int, keywords: list[str]) -> bool:
    """Whether NumPy raises for the NumPy form of probe operands ``combo``."""
    from .coerce import to_numpy

    values = [to_numpy(v) for v in combo]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            reference(*values[:npos], **dict(zip(keywords, values[npos:])))
        except Exception:
            return True
    return False


def verify(emit: Emit, args: Sequence[Operand], kwargs: Mapping[str, Operand], result: AV,
           reference: Callable[..., Any] | None = None) -> str | None:
    """Evaluate ``emit`` on probe operands; what differs from NumPy's ``result`` (or a read of
    tensor data by the host), or None.

    Literal shapes and sizes (``reshape((3, 1))``, ``split(a, 3)``) may not fit the probes: where
    NumPy's ``reference`` raises on a probe too, the template may raise there."""
    names = [op.name for op in (*args, *kwargs.values())]
    try:
        probes = [_probe_operand(op.value) for op in (*args, *kwargs.values())]
    except (Refuse, Refusal) as exc:
        return str(exc)
    expected = list(result.options())
    code = compile(ast.Expression(ast.parse(emit.template, mode="eval").body), "<lowering>", "eval")
    for combo in itertools.islice(itertools.product(*probes), 8):
        scope = {**SCOPE, **dict(zip(names, combo))}
        with warnings.catch_warnings(), np.errstate(all="ignore"), HostReads() as host:
            warnings.simplefilter("ignore")
            try:
                value = eval(code, scope)  # noqa: S307 - our own generated template
            except Exception as exc:
                if reference is not None and _raises(reference, combo, len(args), list(kwargs)):
                    continue
                return f"raises {type(exc).__name__}: {exc}"
        if host.reads:
            return f"reads tensor data on the host ({', '.join(host.reads)})"
        got = _kind(value)
        if not any(_same(option, got) for option in expected):
            return f"gives {got!r} where NumPy gives {result!r}"
    return None
